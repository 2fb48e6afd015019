"""The mock vCenter holds the document's contract under schemathesis: every default check, stateful too.

Both in process (ASGI) and over a real uvicorn socket, with a fixed seed and a small budget here;
`nox -s fuzz` runs the same tests with VCENTER_GUEST_FUZZ_SCALE raising the budget.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from vcenter_guest.fuzz import CUSTOM_CHECKS, FuzzOptions, FuzzResult, mock_target, run, run_checks
from vcenter_guest.mock import DEMO_INVENTORY, DEMO_VM, create_app, serve
from vcenter_guest.operations import load_document, operations

# Each test runs a whole fuzz suite: seconds, not milliseconds.
pytestmark = pytest.mark.slow

DAEMON = "/usr/sbin/daemon"


def _with_daemon() -> dict[str, Any]:
    """The demo inventory with a program that runs until it is terminated in the demo VM."""
    inventory = copy.deepcopy(DEMO_INVENTORY)
    demo = next(vm for vm in inventory["vms"] if vm["id"] == DEMO_VM)
    demo["programs"] = {**demo["programs"], DAEMON: {"duration": math.inf}}
    return inventory


# Every operation of the document, as the fuzz result labels them.
OPERATIONS = {op.label for op in operations().values()}


def _report(name: str, result: FuzzResult) -> str:
    lines = [f"{name}: {result.total_cases} cases"]
    for label, stats in sorted(result.operations.items()):
        lines.append(f"  {label}: {stats.cases} cases {dict(sorted(stats.statuses.items()))}")
    lines.append(f"  positive create -> 201: {result.positive_create_success_share:.0%}")
    lines += [f"  FAILED {f.check} on {f.operation}: {f.title}\n    {f.message}\n    {f.curl}" for f in result.failures]
    lines += [f"  ERROR {e}" for e in result.errors]
    return "\n".join(lines)


def _assert_contract_holds(result: FuzzResult) -> None:
    report = _report("mock", result)
    print(report)  # the per-operation counts, shown with -s and by nox -s fuzz
    assert result.ok, report
    assert set(result.operations) == OPERATIONS, report
    # The generated inputs reach the interesting states, not just validation errors.
    assert result.positive_create_success_share >= 0.25, report
    for label in OPERATIONS:
        statuses = result.operations[label].statuses
        assert any(200 <= code < 300 for code in statuses), f"{label} never succeeded\n{report}"
        assert any(400 <= code < 500 for code in statuses), f"{label} never failed validation or auth\n{report}"


@pytest.fixture
def options(budget: Callable[[int], int], seed: int, tmp_path: Any) -> FuzzOptions:
    return FuzzOptions(max_examples=budget(12), seed=seed, report_dir=tmp_path)


def test_the_checks_that_run_are_schemathesis_s_that_can_judge_this_api_and_the_api_contract() -> None:
    checks = set(run_checks())
    assert {
        "no_undocumented_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
        "allow_header_conformance",
    } <= checks
    # Replaced by contract-aware checks, or never judging a case of this document (see DEFAULT_CHECKS):
    # the shipped document declares no response header, and the run logs in as one API identity.
    off = {
        "use_after_free",
        "not_a_server_error",
        "ensure_resource_availability",
        "object_level_authorization",
        "response_headers_conformance",
    }
    assert off.isdisjoint(checks)
    assert set(CUSTOM_CHECKS) == {
        "no_undocumented_server_error",
        "transfer_urls_serve_once",
        "create_returns_a_fresh_pid",
        "created_process_is_available",
        "terminated_process_is_finished",
        "guest_credentials_are_enforced",
    }
    assert set(CUSTOM_CHECKS) <= checks


def test_a_document_that_declares_a_response_header_has_it_checked() -> None:
    document = copy.deepcopy(load_document())
    ok = document["paths"]["/api/session"]["get"]["responses"]["200"]
    ok["headers"] = {"X-Request-Id": {"required": True, "schema": {"type": "string"}}}
    assert "response_headers_conformance" in run_checks(document)
    assert "response_headers_conformance" not in run_checks()


def test_mock_holds_the_contract_in_process(options: FuzzOptions) -> None:
    _assert_contract_holds(run(mock_target(create_app()), options))


def test_mock_holds_the_contract_over_a_uvicorn_socket(options: FuzzOptions) -> None:
    app = create_app()
    with serve(app=app) as url:
        result = run(mock_target(app, url=url), options)
    _assert_contract_holds(result)


def test_stateful_chains_reach_get_after_delete(options: FuzzOptions) -> None:
    """create -> get -> delete -> get runs through the links, and get shows the terminated process finished."""
    app = create_app(_with_daemon())
    simulator = app.state.simulator
    seen: list[tuple[str, int]] = []
    original = simulator.get_process

    def recording_get(vm: str, pid: int, credentials: Any) -> Any:
        info = original(vm, pid, credentials)
        process = simulator._vms[vm].processes.get(pid)
        if process is not None and process.terminated_at is not None:
            seen.append((vm, pid))
        return info

    simulator.get_process = recording_get
    # A program that runs until it is terminated: every delete of a process it started meets it running,
    # whatever the timing (a program that runs for its argument's seconds may end first on a loaded machine).
    target = attrs.evolve(mock_target(app), programs=(DAEMON,))
    result = run(target, options)
    assert result.ok, _report("mock", result)
    assert seen, "no get ever saw a process that delete had terminated: the stateful chain did not run"


class _TemporaryFileTransfers:
    """Records the transfers a simulator makes of files its create_temporary made."""

    def __init__(self, simulator: Any) -> None:
        self.made: set[str] = set()
        self.transferred: list[str] = []
        self._make, self._transfer = simulator.create_temporary_file, simulator.create_transfer
        simulator.create_temporary_file, simulator.create_transfer = self.make, self.transfer

    def make(self, vm: str, credentials: Any, body: Any) -> str:
        path: str = self._make(vm, credentials, body)
        self.made.add(path)
        return path

    def transfer(self, vm: str, credentials: Any, spec: Any, *rest: Any) -> str:
        # The simulator's own further arguments (the scheme, the address the call reached) pass through
        # whatever they are: a wrapper that names them fails every Transfers.create (a 500) once they change.
        url: str = self._transfer(vm, credentials, spec, *rest)
        if spec.get("path") in self.made:
            self.transferred.append(spec["path"])
        return url


def test_stateful_chains_transfer_the_file_create_temporary_made(options: FuzzOptions) -> None:
    """createTemporary -> Transfers.create runs through the link, with the path the server made.

    Whether a scenario takes that link depends on the server's answers (temporary names are random),
    so up to three seeded runs; one that takes it is what the link must make possible."""
    for attempt in range(3):
        app = create_app()
        recorder = _TemporaryFileTransfers(app.state.simulator)
        result = run(mock_target(app), attrs.evolve(options, seed=(options.seed or 0) + attempt))
        assert result.ok, _report("mock", result)
        if recorder.transferred:
            break
    assert recorder.transferred, "no transfer was made of a file create_temporary had made: the link did not run"
