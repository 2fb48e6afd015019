"""A fuzz run with a seed sends the same cases whatever else the process has imported (issue 28, item 0).

Hypothesis draws constants from the source of the local modules loaded; a whole-suite run had loaded
more of them than a run of one file, and the same seed sent other cases (the stateful test that
passed alone failed in the suite).

The mock these runs fuzz keeps time by the requests it has received, not by the wall clock
(`_MOCK_SECONDS_PER_REQUEST`). WHY: a live server's answers depend on when a request arrives, and
answers decide what a run sends next. The run sends guest Power.standby and Power.start/stop to the
demo's second VM (the target is a sandbox), whose guest takes `shutdown_seconds` (0.5 s) to go down
and `boot_seconds` (1 s) to come up; processes end after their seconds. On a loaded machine (the
whole suite, load 3-6) fewer requests fit in those seconds: vm-43 answered its Tools' reports 503
(already in standby) or a createTemporary 400 (suspended) where an unloaded run got 200, and
schemathesis's `ignored_auth` replays only a case that succeeded (twice: without and with wrong
credentials). So the requests that followed differed: one fewer (2070 instead of 2071), or as many
but shifted between VMs ("10 of 2,060 requests went to vm-43 instead of vm-42"). A server 10 ms
slower a request, or a mock clock ten times faster than the wall clock, shows this every time. The
difference is the server's, not the seed's: with request-counted time the same seed must send the
same requests however slow the machine is, so the test still fails on any nondeterminism of the run
itself (the pool of constants above). The budget's pattern time limits, wall-clock too, are raised
far above what matching the generated patterns takes, for the same reason.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from vcenter_guest.fuzz import FuzzOptions, mock_target, run
from vcenter_guest.mock import Budget, create_app

from tests.property.proxy import Exchange, Proxy

pytestmark = pytest.mark.slow

_RANDOM = re.compile(r"[0-9a-zA-Z_-]*[0-9a-f]{6,}[0-9a-zA-Z_-]*|token=[^&]+|id=[0-9]+")

# About the pace of an unloaded run (2,071 requests in 8 to 10 s), so that the run reaches the states
# it reaches against a live mock: a guest boots within 200 requests, `sleep 1` ends after 200.
_MOCK_SECONDS_PER_REQUEST = 0.005
# Matching a generated pattern against the few names of a run's directory takes microseconds; the
# default limits (0.05 s a name) could be hit by a thread that waits for a core on a loaded machine.
_UNHURRIED = Budget(pattern_seconds=60.0, pattern_match_seconds=10.0)


def _sent(tmp_path: Path) -> list[tuple[str, str, str]]:
    requests: list[Exchange] = []
    # The mock's clock counts the requests the proxy has passed to it (see the module's docstring).
    app = create_app(clock=lambda: len(requests) * _MOCK_SECONDS_PER_REQUEST, budget=_UNHURRIED)
    proxy = Proxy(app, requests=requests)
    run(mock_target(proxy), FuzzOptions(max_examples=3, seed=7, stateful=False, report_dir=tmp_path))
    # What the server or the run's nonces make random (directory names, transfer ids and tokens) aside.
    return [
        (r.method, _RANDOM.sub("*", f"{r.path}?{r.query}"), _RANDOM.sub("*", r.body.decode("latin-1")))
        for r in proxy.requests
    ]


def _load_module_full_of_constants(where: Path) -> str:
    """A local module (outside any test folder, outside site-packages) whose source holds many literals."""
    source = where / "lots_of_constants.py"
    literals = ", ".join(f"'constant-{i}-{chr(0x41 + i % 26)}'" for i in range(400))
    numbers = ", ".join(str(7919 * i) for i in range(400))
    source.write_text(f"STRINGS = ({literals},)\nNUMBERS = ({numbers},)\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("vcenter_guest_lots_of_constants", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return spec.name


def test_a_seeded_run_sends_the_same_cases_after_the_process_imported_more_modules(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    before = _sent(tmp_path_factory.mktemp("before"))
    name = _load_module_full_of_constants(tmp_path_factory.mktemp("src"))
    try:
        after = _sent(tmp_path_factory.mktemp("after"))
    finally:
        sys.modules.pop(name, None)
    assert len(before) == len(after)
    differ = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert not differ, f"{len(differ)} of {len(before)} requests differ, e.g. {differ[0]}"


def test_the_hypothesis_internals_the_run_replaces_still_exist() -> None:
    """A Hypothesis upgrade that moves them must show here, not as a silent return of the order dependence."""
    from hypothesis.internal.conjecture import providers

    assert callable(providers._get_local_constants)
    assert hasattr(providers.CONSTANTS_CACHE, "cache")
