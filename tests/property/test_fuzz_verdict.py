"""The verdict is honest: PASSED only when every check and scenario was exercised; the JSON and JUnit say the same."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from vcenter_guest.fuzz import CheckTally, FuzzFailure, FuzzResult, ScenarioOutcome, Verdict, verdict_of
from vcenter_guest.fuzz._verdict import summary, write_json, write_junit


def _result(*, judged: int = 3, not_run: str | None = None) -> FuzzResult:
    return FuzzResult(
        checks={"status_code_conformance": CheckTally(5, 0), "terminated_process_is_finished": CheckTally(judged, 0)},
        scenarios=[ScenarioOutcome("a_transfer_url_serves_once", "A transfer URL serves once.", 8, None, not_run)],
    )


def test_a_run_that_exercised_everything_and_failed_nothing_is_passed() -> None:
    assert verdict_of(_result()) is Verdict.PASSED
    assert Verdict.PASSED.value == 0


def test_a_check_that_judged_no_case_makes_the_run_not_exercised_and_is_named() -> None:
    result = _result(judged=0)
    assert verdict_of(result) is Verdict.NOT_EXERCISED
    assert Verdict.NOT_EXERCISED.value == 3
    assert result.unexercised == ["check terminated_process_is_finished"]


def test_a_scenario_that_could_not_run_is_named_with_the_reason() -> None:
    result = _result(not_run="transfer URLs name another host")
    assert verdict_of(result) is Verdict.NOT_EXERCISED
    assert result.unexercised == ["scenario a_transfer_url_serves_once (transfer URLs name another host)"]


def test_a_failure_outranks_what_was_not_exercised() -> None:
    result = _result(judged=0)
    result.failures.append(FuzzFailure("scenario", "a_transfer_url_serves_once", "t", "served twice", None, "curl"))
    assert verdict_of(result) is Verdict.FAILED


def test_the_json_and_junit_reports_give_per_check_and_per_scenario_counts(tmp_path: Path) -> None:
    result = _result(judged=0)
    write_json(result, tmp_path / "verdict.json")
    data = json.loads((tmp_path / "verdict.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(summary(result), default=str))
    assert data["verdict"] == "NOT_EXERCISED"
    assert data["checks"]["status_code_conformance"] == {"exercised": 5, "failed": 0}
    assert data["scenarios"][0]["cases"] == 8
    write_junit(result, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"status_code_conformance", "terminated_process_is_finished", "a_transfer_url_serves_once"}
    assert cases["terminated_process_is_finished"].find("skipped") is not None
    assert cases["status_code_conformance"].find("skipped") is None


def test_the_default_run_against_the_clean_mock_exercises_every_check_and_scenario_and_passes() -> None:
    """Issue 28's promise: at the default budget the clean mock passes with nothing left unexercised.
    (The mock's transfer URLs name the address it was reached at: the scenarios that move bytes take a
    URL naming the server called as the server's own, or they would not run and the verdict exits 3.)"""
    from click.testing import CliRunner
    from vcenter_guest.cli import main

    result = CliRunner().invoke(main, ["fuzz", "--mock"])
    assert result.exit_code == 0, result.output
    assert "PASSED: no check or scenario failed, and every one was exercised" in result.output
    assert "NOT EXERCISED" not in result.output
    assert "not run" not in result.output
