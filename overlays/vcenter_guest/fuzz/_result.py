"""What a fuzz run found, tallied: per operation, per check, per scenario, and the distinct failures.

The runner fills these in; the verdict reads them. Neither imports the other for them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import attrs

from ._scenarios import ScenarioOutcome

__all__ = ["CheckTally", "FuzzFailure", "FuzzResult", "OperationStats"]


@attrs.define
class CheckTally:
    """Cases a check judged, and how many of them failed."""

    exercised: int = 0
    failed: int = 0


@attrs.define
class OperationStats:
    """What one operation got: cases sent, responses by status, failures by check."""

    cases: int = 0
    statuses: Counter[int] = attrs.field(factory=Counter)
    not_http: int = 0
    """Cases whose generated headers were not valid HTTP: answered by the HTTP parser, not judged."""
    failures: Counter[str] = attrs.field(factory=Counter)


@attrs.frozen
class FuzzFailure:
    """One distinct failure: which check caught what, and a request that reproduces it (secrets filtered)."""

    operation: str
    check: str
    title: str
    message: str
    status: int | None
    curl: str
    count: int = 1


@attrs.define
class FuzzResult:
    """The outcome of a run.

    >>> FuzzResult().ok
    True
    """

    operations: dict[str, OperationStats] = attrs.field(factory=dict)
    failures: list[FuzzFailure] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    positive_create_statuses: Counter[int] = attrs.field(factory=Counter)
    reports: list[Path] = attrs.field(factory=list)
    checks: dict[str, CheckTally] = attrs.field(factory=dict)
    """Per check, the cases it judged and how many failed (every check of the run, 0 when it never judged)."""
    scenarios: list[ScenarioOutcome] = attrs.field(factory=list)
    seconds: dict[str, float] = attrs.field(factory=dict)
    """Where the run's time went: the scenarios, then each phase of the engine, in order."""

    @property
    def unexercised(self) -> list[str]:
        """The checks no case exercised and the scenarios that did not run: what a PASSED cannot vouch for."""
        checks = [f"check {name}" for name, tally in sorted(self.checks.items()) if not tally.exercised]
        return checks + [f"scenario {o.name} ({o.not_run})" for o in self.scenarios if not o.exercised]

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing went wrong."""
        return not self.failures and not self.errors

    @property
    def total_cases(self) -> int:
        """Cases sent over all operations."""
        return sum(s.cases for s in self.operations.values())

    @property
    def failed_checks(self) -> set[str]:
        """Names of the checks that failed."""
        return {f.check for f in self.failures}

    @property
    def positive_create_success_share(self) -> float:
        """Share of positive create cases that got 201 (0 when there were none)."""
        total = sum(self.positive_create_statuses.values())
        return self.positive_create_statuses[201] / total if total else 0.0
