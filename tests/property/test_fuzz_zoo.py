"""The zoo: servers that each break exactly one fact of the API, and the scenario that catches each.

Every broken server is the mock behind the one recording/breaking proxy (`tests/property/proxy.py`)
or a mock with one method changed. The scenarios are deterministic and run before the random
phases, so what catches a broken server here catches it at any budget; the tests run the scenarios
alone (`scenarios_only`) to stay fast, and one runs the command end to end at its default budget.
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
from vcenter_guest.fuzz import SCENARIOS, FuzzOptions, FuzzResult, Verdict, mock_target, run, verdict_of
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    DEMO_VM,
    Simulator,
    create_app,
    serve,
)

from tests.property.proxy import Exchange, Proxy, json_answer

pytestmark = pytest.mark.slow


class DeleteLeavesProgramRunning(Simulator):
    """Signals the shell that started the program, not the program: delete ends nothing."""

    def terminate(self, vm: Any, process: Any) -> None:
        return None


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
