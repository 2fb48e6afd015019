"""Property-based fuzz testing of a server that implements the guest processes API.

Conformance scenarios first (the API's facts no schema can see, `SCENARIOS`), then schemathesis
drives it from the shipped OpenAPI document: every default check, a stateful phase
through the document's links (create -> get -> delete -> get), session authentication, and checks
of this API's own contract. The same harness runs the project's property tests against the mock
vCenter and `vcenter-guest fuzz` against anyone's server.

    >>> from vcenter_guest.fuzz import FuzzOptions, mock_target, run
    >>> from vcenter_guest.mock import create_app
    >>> result = run(mock_target(create_app()), FuzzOptions(max_examples=10, seed=1))  # doctest: +SKIP
    >>> result.ok  # doctest: +SKIP
    True
"""

from vcenter_guest.extras import needs

with needs("fuzz", "vcenter_guest.fuzz"):
    from ._auth import LoginError
    from ._checks import CUSTOM_CHECKS
    from ._embedded import mock_target
    from ._runner import DEFAULT_CHECKS, FuzzFailure, FuzzResult, OperationStats, run, run_checks
    from ._scenarios import SCENARIOS, ScenarioOutcome
    from ._settings import REPORT_FORMATS, SAFETY_RULES, FuzzOptions, FuzzTarget, safety_rules
    from ._verdict import CheckTally, Verdict, verdict_of

__all__ = [
    "CUSTOM_CHECKS",
    "DEFAULT_CHECKS",
    "REPORT_FORMATS",
    "SAFETY_RULES",
    "SCENARIOS",
    "CheckTally",
    "FuzzFailure",
    "FuzzOptions",
    "FuzzResult",
    "FuzzTarget",
    "LoginError",
    "OperationStats",
    "ScenarioOutcome",
    "Verdict",
    "mock_target",
    "run",
    "run_checks",
    "safety_rules",
    "verdict_of",
]
