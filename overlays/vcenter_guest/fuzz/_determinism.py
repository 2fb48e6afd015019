"""A run depends on the server and the seed only, never on what else the process has imported.

WHY: Hypothesis (since 6.131) draws, in about one draw in twenty, a literal constant found in the
source of every *local* module in `sys.modules` (files outside site-packages and outside test
folders: this package when it runs from a checkout, the mock, the benchmarks). Which modules are
loaded depends on what ran before in the process, so the same seed generated different cases after
other tests had imported more of the package: `test_stateful_chains_reach_get_after_delete` passed
alone and failed in whole-suite runs (issue 28, item 0). schemathesis's own `analysis.constants`
is a different switch (off in `_runner._config`); Hypothesis has no setting for this one.

`no_local_constants()` makes Hypothesis see an empty pool of local constants for the duration of a
run (its global constants, the same in every process, stay), and clears the cache of permitted
constants on the way in and out so that no draw of the run uses a pool computed before it.

WHEN IT CAN GO: when Hypothesis offers a setting to turn local constants off (then set it in
`_config`). `tests/property/test_fuzz_determinism.py` fails if the private names it replaces move
(a Hypothesis upgrade), and shows the order dependence without it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["no_local_constants"]

_lock = threading.Lock()
_depth = 0
_original: Any = None


@contextlib.contextmanager
def no_local_constants() -> Iterator[None]:
    """Within the block, Hypothesis draws no constant from the source of the modules loaded."""
    global _depth, _original  # noqa: PLW0603 - Hypothesis's pool is process-wide
    from hypothesis.internal.conjecture import providers  # noqa: PLC0415 - the fuzz extra
    from hypothesis.internal.constants_ast import Constants  # noqa: PLC0415

    with _lock:
        if _depth == 0:
            _original = providers._get_local_constants
            empty = Constants()
            providers._get_local_constants = lambda: empty
            providers.CONSTANTS_CACHE.cache.clear()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                providers._get_local_constants = _original
                providers.CONSTANTS_CACHE.cache.clear()
