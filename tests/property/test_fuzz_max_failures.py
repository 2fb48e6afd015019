"""`max_failures` / `--max-failures N`: the random phases stop after N distinct failures; the run is FAILED."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from vcenter_guest.cli import main
from vcenter_guest.fuzz import FuzzOptions, Verdict, mock_target, run, verdict_of
from vcenter_guest.mock import create_app

from tests.property.conftest import SEED
from tests.property.proxy import Exchange, Proxy, json_answer

pytestmark = pytest.mark.slow


def _not_found_as_410(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    return (410, body) if status == 404 else (status, body)


def test_a_run_limited_to_one_failure_stops_at_it_and_is_failed(tmp_path: Path) -> None:
    """A 404 answered 410 shows within the first cases; the whole default budget is ~4,000 cases."""
    proxy = Proxy(create_app(), answer=json_answer(_not_found_as_410))
    options = FuzzOptions(seed=SEED, max_failures=1, scenarios=False, report_dir=tmp_path)
    result = run(mock_target(proxy), options)
    assert verdict_of(result) is Verdict.FAILED
    assert "status_code_conformance" in result.failed_checks
    assert result.total_cases < 500, result.total_cases


def test_max_failures_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_failures must be at least 1"):
        FuzzOptions(max_failures=0)
    result = CliRunner().invoke(main, ["fuzz", "--mock", "--max-failures", "0"])
    assert result.exit_code == 2, result.output
    assert "--max-failures" in result.output
