"""The run's verdict: per check and per scenario, the cases that exercised it and those that failed.

PASSED needs every check and every scenario exercised at least once: a check that never had a case
to judge vouches for nothing. The verdict, the summary JSON (`verdict.json`) and a JUnit XML file
(`--junit-xml`, one test case per check and per scenario) say the same.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import attrs

from ._result import CheckTally, FuzzResult

__all__ = ["CheckTally", "Verdict", "verdict_of", "write_json", "write_junit"]


class Verdict(enum.Enum):
    """What a run concludes, and the exit code `vcenter-guest fuzz` gives it."""

    PASSED = 0
    FAILED = 1
    ERRORS = 2
    NOT_EXERCISED = 3


def verdict_of(result: FuzzResult) -> Verdict:
    """FAILED on any failure, ERRORS when the run could not test everything, NOT_EXERCISED when a check
    or scenario never ran, else PASSED."""
    if result.failures:
        return Verdict.FAILED
    if result.errors:
        return Verdict.ERRORS
    if result.unexercised:
        return Verdict.NOT_EXERCISED
    return Verdict.PASSED


def summary(result: FuzzResult) -> dict[str, Any]:
    """The run as JSON: verdict, checks, scenarios, operations, failures (secrets already filtered)."""
    return {
        "verdict": verdict_of(result).name,
        "not_exercised": result.unexercised,
        "checks": {name: attrs.asdict(t) for name, t in sorted(result.checks.items())},
        "scenarios": [attrs.asdict(o) for o in result.scenarios],
        "operations": {
            label: {"cases": s.cases, "statuses": dict(s.statuses), "failures": dict(s.failures)}
            for label, s in sorted(result.operations.items())
        },
        "failures": [attrs.asdict(f) for f in result.failures],
        "errors": result.errors,
        "total_cases": result.total_cases,
        "seconds": {name: round(seconds, 2) for name, seconds in result.seconds.items()},
    }


def write_json(result: FuzzResult, path: Path) -> None:
    path.write_text(json.dumps(summary(result), indent=2, default=str), encoding="utf-8")


def _case(suite: ET.Element, name: str, classname: str, failures: Iterable[str], skipped: str | None) -> None:
    case = ET.SubElement(suite, "testcase", name=name, classname=classname)
    for message in failures:
        ET.SubElement(case, "failure", message=message[:200]).text = message
    if skipped is not None:
        ET.SubElement(case, "skipped", message=skipped)


def write_junit(result: FuzzResult, path: Path) -> None:
    """One test case per check (failed with each distinct failure, skipped if never exercised) and per scenario."""
    suites = ET.Element("testsuites", name="vcenter-guest fuzz")
    checks = ET.SubElement(suites, "testsuite", name="checks")
    for name, tally in sorted(result.checks.items()):
        found = [f"{f.operation}: {f.title}\n{f.message}\n{f.curl}" for f in result.failures if f.check == name]
        _case(checks, name, "checks", found, None if tally.exercised else "no case exercised this check")
    scenarios = ET.SubElement(suites, "testsuite", name="scenarios")
    for outcome in result.scenarios:
        failed = [f"{outcome.fact}\n{outcome.failure}"] if outcome.failure else []
        _case(scenarios, outcome.name, "scenarios", failed, outcome.not_run)
    for suite in (checks, scenarios):
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
