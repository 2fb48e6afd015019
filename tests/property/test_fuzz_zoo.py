"""The zoo: servers that each break exactly one fact of the API, and the scenario or check that catches each.

Every broken server is the mock behind the one recording/breaking proxy (`tests/property/proxy.py`)
or a mock with one method changed. Two registries, each held complete against the run's own:

* `ZOO`: one broken server per scenario (`SCENARIOS`). The scenarios are deterministic and run before
  the random phases, so what catches a broken server here catches it at any budget; these tests run
  the scenarios alone (`scenarios_only`) to stay fast, and one runs the command end to end.
* `CHECK_ZOO`: one broken server per check the run judges cases with (`run_checks()`: schemathesis's
  that the run leaves on, and the project's own). Each runs at the default budget (`vcenter-guest fuzz
  --mock` without options: `FuzzOptions()`, with the seed fixed), bounded by `max_failures=1`: the run
  stops at its first failure, so each costs the cases it took to catch its bug, not the whole budget.

`python -m tests.property.zoo_table` prints, for every broken server, what caught it and after how
many cases.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from vcenter_guest.cli import main
from vcenter_guest.fuzz import SCENARIOS, FuzzOptions, FuzzResult, Verdict, mock_target, run, run_checks, verdict_of
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    DEMO_VM,
    MockError,
    Simulator,
    create_app,
    serve,
)

from tests.property.conftest import SEED
from tests.property.proxy import Exchange, Proxy, json_answer
from tests.property.test_fuzz_command import (
    CrashesOnEmptyArguments,
    DeleteLeavesProgramRunning,
    ExitCodeAsString,
    PasswordOptional,
    ReusesPids,
)

pytestmark = pytest.mark.slow


class UploadStoredTruncated(Simulator):
    """Writes an upload without its last 16 bytes (a short write nobody checked)."""

    def finish_upload(self, transfer: Any, data: Any, reserved: Any = None) -> None:
        content = b"".join(bytes(p) for p in data.parts) if hasattr(data, "parts") else bytes(data)
        super().finish_upload(transfer, content[:-16] if len(content) > 16 else content, reserved)


def _is(request: Exchange, path_end: str, action: str) -> bool:
    return request.path.endswith(path_end) and request.params.get("action") == action


def _transfer_served_twice() -> dict[str, Any]:
    """Caches each /guestFile answer and serves it again for the same id and token."""
    served: dict[tuple[str, str], tuple[int, bytes]] = {}

    def intercept(request: Exchange) -> tuple[int, bytes] | None:
        return served.get((request.method, request.query)) if request.path == "/guestFile" else None

    def answer(request: Exchange, status: int, body: bytes) -> tuple[int, bytes]:
        if request.path == "/guestFile" and 200 <= status < 300:
            served[(request.method, request.query)] = (status, body)
        return status, body

    return {"intercept": intercept, "answer": answer}


def _exit_codes_forgotten() -> dict[str, Any]:
    """Answers the end of a process once; the next get shows neither exit code nor end time."""
    told: set[str] = set()

    def rewrite(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
        if _is(request, "", "get") and "/processes/" in request.path and isinstance(body, dict) and "finished" in body:
            if request.path in told:
                body = {k: v for k, v in body.items() if k not in {"finished", "exit_code"}}
            told.add(request.path)
        return status, body

    return {"answer": json_answer(rewrite)}


def _exit_code_always_0(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    if isinstance(body, dict) and "exit_code" in body:
        body = {**body, "exit_code": 0}
    return status, body


def _created_missing_from_list() -> dict[str, Any]:
    created: set[int] = set()

    def rewrite(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
        if _is(request, "/guest/processes", "create") and isinstance(body, int):
            created.add(body)
        if _is(request, "/guest/processes", "list") and isinstance(body, list):
            body = [p for p in body if not (isinstance(p, dict) and p.get("pid") in created)]
        return status, body

    return {"answer": json_answer(rewrite)}


def _files_get_size_off_by_one(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    is_file_get = _is(request, "", "get") and "/filesystem/files/" in request.path
    if is_file_get and isinstance(body, dict) and isinstance(body.get("size"), int):
        body = {**body, "size": body["size"] + 1}
    return status, body


def _listing_pages_shifted(by: int) -> Callable[[Exchange], Exchange]:
    """Starts every page but the first `by` entries off: -1 repeats the last entry of a page, +1 drops one."""

    def forward(request: Exchange) -> Exchange:
        if _is(request, "/filesystem/files", "list"):
            sent = request.json()
            iteration = sent.get("iteration") if isinstance(sent, dict) else None
            if isinstance(iteration, dict) and iteration.get("index", 0) > 0:
                iteration["index"] += by
                return Exchange(request.method, request.path, request.query, json.dumps(sent).encode())
        return request

    return forward


def _create_temporary_hands_back_the_first() -> dict[str, Any]:
    """After the first createTemporary of a directory, answers every later one with that same path."""
    first: list[Any] = []

    def rewrite(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
        if _is(request, "/filesystem/directories", "createTemporary") and status == 200:
            first.append(body)
            body = first[0]
        return status, body

    return {"answer": json_answer(rewrite)}


def _delete_keeps_the_file(request: Exchange) -> tuple[int, bytes] | None:
    return (204, b"") if _is(request, "", "delete") and "/filesystem/files/" in request.path else None


def _not_found_without_data(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    if status == 404 and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "data"}
    return status, body


def _already_exists_typed_not_found(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """ALREADY_EXISTS answered at its status (400) but typed NOT_FOUND, a type the document gives 404."""
    if isinstance(body, dict) and body.get("error_type") == "ALREADY_EXISTS":
        body = {**body, "error_type": "NOT_FOUND"}
    return status, body


def _file_errors_without_data(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """Errors about a guest path without their FileErrorDetails (a pid's ProcessErrorDetails stay)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "file_path" in body["data"]:
        body = {k: v for k, v in body.items() if k != "data"}
    return status, body


def _move_always_overwrites(request: Exchange) -> Exchange:
    if _is(request, "/filesystem/files", "move"):
        sent = request.json()
        if isinstance(sent, dict):
            sent["overwrite"] = True
            return Exchange(request.method, request.path, request.query, json.dumps(sent).encode())
    return request


def _move_does_nothing(request: Exchange) -> tuple[int, bytes] | None:
    return (204, b"") if _is(request, "/filesystem/files", "move") else None


def _logout_ignored(request: Exchange) -> tuple[int, bytes] | None:
    return (204, b"") if request.method == "DELETE" and request.path == "/api/session" else None


ERRORS = "errors_match_their_status_and_carry_their_data"

# name -> (simulator class, proxy hooks, the scenario that must catch it, or the scenarios that must
# when the bug breaks two facts: a pid's NOT_FOUND is its own scenario's fact and one of the error
# scenario's cases)
ZOO: dict[str, tuple[type[Simulator], Callable[[], dict[str, Any]], str | frozenset[str]]] = {
    "deleted-processes-still-running": (
        DeleteLeavesProgramRunning,
        dict,
        "delete_ends_the_process_and_its_exit_code_stays",
    ),
    "a-reusable-transfer-url": (Simulator, _transfer_served_twice, "a_transfer_url_serves_once"),
    "exit-codes-forgotten-at-once": (
        Simulator,
        _exit_codes_forgotten,
        "delete_ends_the_process_and_its_exit_code_stays",
    ),
    "exit-code-always-0": (
        Simulator,
        lambda: {"answer": json_answer(_exit_code_always_0)},
        "delete_ends_the_process_and_its_exit_code_stays",
    ),
    "created-processes-missing-from-list": (
        Simulator,
        _created_missing_from_list,
        "create_then_list_shows_the_process",
    ),
    "an-upload-stored-truncated": (UploadStoredTruncated, dict, "upload_then_download_gives_the_same_bytes"),
    "files-get-with-a-wrong-size": (
        Simulator,
        lambda: {"answer": json_answer(_files_get_size_off_by_one)},
        "upload_then_download_gives_the_same_bytes",
    ),
    "listing-pages-that-repeat-entries": (
        Simulator,
        lambda: {"forward": _listing_pages_shifted(-1)},
        "a_listing_pages_through_every_entry_once",
    ),
    "listing-pages-that-drop-entries": (
        Simulator,
        lambda: {"forward": _listing_pages_shifted(+1)},
        "a_listing_pages_through_every_entry_once",
    ),
    "create-temporary-handing-back-an-existing-directory": (
        Simulator,
        _create_temporary_hands_back_the_first,
        "create_temporary_makes_a_new_empty_distinct_directory",
    ),
    "delete-answering-204-and-keeping-the-file": (
        Simulator,
        lambda: {"intercept": _delete_keeps_the_file},
        # it answers 204 to files.delete of a directory too, which is INVALID_ARGUMENT
        frozenset({"delete_removes_the_file", ERRORS}),
    ),
    "not-found-without-the-pid": (
        Simulator,
        lambda: {"answer": json_answer(_not_found_without_data)},
        frozenset({"get_of_an_unknown_pid_is_not_found", ERRORS}),
    ),
    "an-error-typed-wrong-for-its-status": (
        Simulator,
        lambda: {"answer": json_answer(_already_exists_typed_not_found)},
        ERRORS,
    ),
    "path-errors-without-their-file-error-details": (
        Simulator,
        lambda: {"answer": json_answer(_file_errors_without_data)},
        ERRORS,
    ),
    "a-move-that-overwrites-unasked": (
        Simulator,
        lambda: {"forward": _move_always_overwrites},
        "move_moves_and_refuses_to_overwrite",
    ),
    "a-move-answering-204-and-moving-nothing": (
        Simulator,
        lambda: {"intercept": _move_does_nothing},
        "move_moves_and_refuses_to_overwrite",
    ),
    "a-deleted-session-still-accepted": (
        Simulator,
        lambda: {"intercept": _logout_ignored},
        "a_deleted_session_is_refused",
    ),
}


# -- one broken server per check ------------------------------------------------------------------


def _pid_of(request: Exchange) -> int:
    last = request.path.rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else 0


def _created_process_not_found(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """Answers a get that found a process with NOT_FOUND (a process table that loses entries)."""
    if _is(request, "", "get") and "/processes/" in request.path and status == 200:
        message = {"id": "com.vmware.vcenter.vm.guest.processes.not_found", "default_message": "gone", "args": []}
        return 404, {"error_type": "NOT_FOUND", "messages": [message], "data": {"pid": _pid_of(request)}}
    return status, body


def _not_found_as_410(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """A pid that is not there answered 410 Gone, a status the document does not give."""
    return (410, body) if status == 404 and "/processes/" in request.path else (status, body)


def _session_as_text(request: Exchange, status: int, headers: dict[str, str]) -> dict[str, str]:
    """The session's Info (JSON) labelled text/plain."""
    if request.method == "GET" and request.path == "/api/session" and status == 200:
        return {**headers, "content-type": "text/plain"}
    return headers


def _list_without_validation(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """processes.list answers a malformed body with an empty list instead of INVALID_ARGUMENT."""
    invalid = isinstance(body, dict) and body.get("error_type") == "INVALID_ARGUMENT"
    if _is(request, "/guest/processes", "list") and status == 400 and invalid:
        return 200, []
    return status, body


def _list_refused(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    """processes.list refuses every valid request with 409 CONCURRENT_CHANGE."""
    if _is(request, "/guest/processes", "list") and status == 200:
        return 409, {"error_type": "CONCURRENT_CHANGE", "messages": []}
    return status, body


def _no_allow_on_405(request: Exchange, status: int, headers: dict[str, str]) -> dict[str, str]:
    """405 Method Not Allowed without the Allow header RFC 9110 requires."""
    return {k: v for k, v in headers.items() if k != "allow"} if status == 405 else headers


def _allow_too_much(request: Exchange, status: int, headers: dict[str, str]) -> dict[str, str]:
    """An Allow header that also lists PATCH, which no path of the document has."""
    return {**headers, "allow": headers["allow"] + ", PATCH"} if "allow" in headers else headers


def _login_without_authorization(request: Exchange) -> tuple[int, bytes] | None:
    """POST /api/session without an Authorization header gets a session anyway."""
    if request.method == "POST" and request.path == "/api/session" and "authorization" not in request.headers:
        return 201, b'"zoo-session-without-authorization"'
    return None


class IgnoresSessions(Simulator):
    """Any call without a valid session runs in some other user's session."""

    def session(self, session_id: str | None) -> Any:
        try:
            return super().session(session_id)
        except MockError:  # UNAUTHENTICATED, ignored: the bug
            return next(iter(self._sessions.values()))


# check -> (simulator class, proxy hooks)
CHECK_ZOO: dict[str, tuple[type[Simulator], Callable[[], dict[str, Any]]]] = {
    "allow_header_conformance": (Simulator, lambda: {"headers": _allow_too_much}),
    "content_type_conformance": (Simulator, lambda: {"headers": _session_as_text}),
    "create_returns_a_fresh_pid": (ReusesPids, dict),
    "created_process_is_available": (Simulator, lambda: {"answer": json_answer(_created_process_not_found)}),
    "guest_credentials_are_enforced": (PasswordOptional, dict),
    "ignored_auth": (IgnoresSessions, dict),
    "missing_required_header": (Simulator, lambda: {"intercept": _login_without_authorization}),
    "negative_data_rejection": (Simulator, lambda: {"answer": json_answer(_list_without_validation)}),
    "no_undocumented_server_error": (CrashesOnEmptyArguments, dict),
    "positive_data_acceptance": (Simulator, lambda: {"answer": json_answer(_list_refused)}),
    "response_schema_conformance": (ExitCodeAsString, dict),
    "status_code_conformance": (Simulator, lambda: {"answer": json_answer(_not_found_as_410)}),
    "terminated_process_is_finished": (DeleteLeavesProgramRunning, dict),
    "transfer_urls_serve_once": (Simulator, _transfer_served_twice),
    "unsupported_method": (Simulator, lambda: {"headers": _no_allow_on_405}),
}


def run_at_the_default_budget(proxy: Proxy, tmp_path: Path) -> FuzzResult:
    """`vcenter-guest fuzz --mock` without options (seed fixed), stopped at its first failure."""
    return run(mock_target(proxy), FuzzOptions(seed=SEED, max_failures=1, report_dir=tmp_path))


def test_every_check_of_the_run_has_a_broken_server_in_the_zoo() -> None:
    assert set(CHECK_ZOO) == set(run_checks())


@pytest.mark.parametrize("check", sorted(CHECK_ZOO))
def test_a_broken_server_is_caught_by_the_check_of_the_fact_it_breaks_at_the_default_budget(
    check: str, tmp_path: Path
) -> None:
    simulator_cls, hooks = CHECK_ZOO[check]
    result = run_at_the_default_budget(Proxy(create_app(simulator_cls=simulator_cls), **hooks()), tmp_path)
    assert verdict_of(result) is Verdict.FAILED, _report(result)
    assert check in result.failed_checks, _report(result)


def _not_found_typed_invalid_argument(request: Exchange, status: int, body: Any) -> tuple[int, Any]:
    if status == 404 and isinstance(body, dict) and body.get("error_type") == "NOT_FOUND":
        body = {**body, "error_type": "INVALID_ARGUMENT"}
    return status, body


def test_the_random_phases_hold_every_error_s_type_to_its_status_by_response_schema_conformance(
    tmp_path: Path,
) -> None:
    """Each error status of an operation is an anyOf of the error schemas the document gives it there, each
    fixing its error_type: a 404 typed INVALID_ARGUMENT (a 400 type) matches none of them. So the random
    phases' error answers are judged by response_schema_conformance; no further check is needed."""
    proxy = Proxy(create_app(), answer=json_answer(_not_found_typed_invalid_argument))
    result = run(mock_target(proxy), FuzzOptions(seed=SEED, max_failures=1, scenarios=False, report_dir=tmp_path))
    assert "response_schema_conformance" in result.failed_checks, _report(result)


def _scenarios(proxy: Proxy, tmp_path: Path) -> FuzzResult:
    return run(mock_target(proxy), FuzzOptions(scenarios_only=True, seed=1, report_dir=tmp_path))


def _report(result: FuzzResult) -> str:
    lines = [f"{o.name}: {o.cases} requests, failure {o.failure!r}, not run {o.not_run!r}" for o in result.scenarios]
    return "\n".join(lines + [f"FAILED {f.check}: {f.message}" for f in result.failures] + result.errors)


def _catchers(expected: str | frozenset[str]) -> frozenset[str]:
    return frozenset({expected}) if isinstance(expected, str) else expected


def test_every_scenario_has_a_broken_server_in_the_zoo() -> None:
    assert {scenario for _, _, expected in ZOO.values() for scenario in _catchers(expected)} == set(SCENARIOS)


def test_the_clean_mock_passes_every_scenario(tmp_path: Path) -> None:
    result = _scenarios(Proxy(create_app()), tmp_path)
    assert [o.name for o in result.scenarios] == list(SCENARIOS)
    assert all(o.exercised and o.failure is None for o in result.scenarios), _report(result)
    assert result.ok, _report(result)


@pytest.mark.parametrize("name", list(ZOO))
def test_a_broken_server_is_caught_by_the_scenario_of_the_fact_it_breaks(name: str, tmp_path: Path) -> None:
    simulator_cls, hooks, expected = ZOO[name]
    proxy = Proxy(create_app(simulator_cls=simulator_cls), **hooks())
    result = _scenarios(proxy, tmp_path)
    assert verdict_of(result) is Verdict.FAILED, _report(result)
    caught = {o.name for o in result.scenarios if o.failure is not None}
    assert caught == _catchers(expected), _report(result)


def _with_daemon() -> dict[str, Any]:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    demo = next(vm for vm in inventory["vms"] if vm["id"] == DEMO_VM)
    demo["programs"] = {**demo["programs"], "/usr/sbin/daemon": {"duration": math.inf}}
    return inventory


def test_the_command_exits_1_naming_the_broken_fact_and_writes_it_to_junit(tmp_path: Path) -> None:
    junit = tmp_path / "fuzz.xml"
    runner = CliRunner()
    app = create_app(_with_daemon(), simulator_cls=DeleteLeavesProgramRunning)
    with serve(app=app) as url:
        result = runner.invoke(
            main,
            [
                *("fuzz", "--server", url, "--user", DEMO_API_USER, "--vm", DEMO_VM),
                *("--program", "/usr/sbin/daemon", "--scenarios-only", "--junit-xml", str(junit)),
            ],
            env={
                "VCENTER_PASSWORD": DEMO_API_PASSWORD,
                "VCENTER_GUEST_USER": DEMO_GUEST_USER,
                "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
            },
        )
    assert result.exit_code == 1, result.output
    assert ": delete_ends_the_process_and_its_exit_code_stays" in result.output
    text = junit.read_text(encoding="utf-8")
    assert 'name="delete_ends_the_process_and_its_exit_code_stays"' in text
    assert "<failure" in text


def test_a_scenario_that_cannot_run_on_the_programs_named_is_not_exercised_and_says_why(tmp_path: Path) -> None:
    """A program that ends at once never meets delete running: the fact is not judged, and the run says so."""
    proxy = Proxy(create_app())
    target = attrs.evolve(mock_target(proxy), programs=("/bin/true",), any_program=False)
    result = run(target, FuzzOptions(scenarios_only=True, seed=1, report_dir=tmp_path))
    outcome = next(o for o in result.scenarios if o.name == "delete_ends_the_process_and_its_exit_code_stays")
    assert outcome.not_run is not None
    assert "/bin/true" in outcome.not_run
    assert any(name.startswith("scenario delete_ends_the_process") for name in result.unexercised)
    assert verdict_of(result) is Verdict.NOT_EXERCISED


def test_without_guest_credentials_no_scenario_of_the_guest_runs_and_each_says_why(tmp_path: Path) -> None:
    proxy = Proxy(create_app())
    target = attrs.evolve(mock_target(proxy), guest_user=None, guest_password=None)
    result = run(target, FuzzOptions(scenarios_only=True, seed=1, report_dir=tmp_path))
    assert result.ok, _report(result)
    guest = [o for o in result.scenarios if o.name != "a_deleted_session_is_refused"]
    # Without credentials the run has no scratch directory either: file scenarios say that.
    reasons = ("no guest credentials", "no guest directory of its own")
    assert all(o.not_run and any(r in o.not_run for r in reasons) for o in guest), _report(result)
    assert not [r for r in proxy.requests if "/guest/" in r.path], "a guest call was sent without guest credentials"
