"""Shared settings of the property tests: fixed seeds and small budgets in CI, large under `nox -s fuzz`.

`nox -s fuzz` sets VCENTER_GUEST_FUZZ_SCALE (a multiplier of every example budget) so the same tests
run with a much larger budget; seeds and derandomization stay fixed so that a failure reproduces.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable

import pytest

SEED = 20_261_127

# schemathesis (the fuzz extra) needs Python 3.11; on 3.10 the suites built on it are not collected.
if importlib.util.find_spec("schemathesis") is None:
    collect_ignore_glob = [
        "test_model_roundtrip.py",
        "test_mock_conformance.py",
        "test_fuzz_command.py",
        "test_fuzz_safety.py",
    ]


@pytest.fixture(scope="session")
def budget() -> Callable[[int], int]:
    """budget(n): the example budget of a test whose CI budget is n."""
    scale = max(1, int(os.environ.get("VCENTER_GUEST_FUZZ_SCALE", "1")))
    return lambda ci_budget: ci_budget * scale


@pytest.fixture(scope="session")
def seed() -> int:
    """The fixed seed every generator in these tests starts from."""
    return SEED
