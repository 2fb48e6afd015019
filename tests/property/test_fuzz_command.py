"""`vcenter-guest fuzz` finds real server bugs, keeps its safety rules and secrets, and exits 0/1/2.

Each broken variant of the mock has one realistic bug; the command must exit 1 and name a check
that caught it, and exit 0 on the correct mock. The variants are served over a real socket and
fuzzed through `--url`, the way a user fuzzes their own server.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner, Result
from starlette.types import ASGIApp
from vcenter_guest.cli import main
from vcenter_guest.fuzz import SAFETY_RULES
from vcenter_guest.fuzz._shaping import UNSTARTABLE_PATHS
from vcenter_guest.fuzz._state import NO_SUCH_PID
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    DEMO_VM,
    TERMINATED_EXIT_CODE,
    Simulator,
    create_app,
    serve,
)

from tests.property.proxy import Proxy, json_answer

# Each test runs a whole fuzz suite: seconds, not milliseconds.
pytestmark = pytest.mark.slow

PROGRAMS = ("/bin/true", "/bin/false", "/bin/sleep", "/opt/app/job", "/opt/app/stuck")
DAEMON = "/usr/sbin/daemon"


def _inventory(**changes: Any) -> dict[str, Any]:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    demo = next(vm for vm in inventory["vms"] if vm["id"] == DEMO_VM)
    demo["programs"] = {**demo["programs"], DAEMON: {"duration": math.inf}}
    inventory.update(changes)
    return inventory


def fuzz(url: str, *extra: str, env: dict[str, str] | None = None, examples: int = 8, seed: int = 1) -> Result:
    """Runs `vcenter-guest fuzz --server ...` against a served mock with the demo credentials."""
    args = ["fuzz", "--server", url, "--user", DEMO_API_USER, "--vm", DEMO_VM]
    if not any(a == "--program" for a in extra):
        for program in PROGRAMS:
            args += ["--program", program]
    args += ["--ignores-termination", "/opt/app/stuck", "--max-examples", str(examples), "--seed", str(seed), *extra]
    environment = {
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
        **(env or {}),
    }
    return CliRunner().invoke(main, args, env=environment)


# -- deliberately broken servers: each has one bug of a kind real servers have ----------------------


class CrashesOnEmptyArguments(Simulator):
    """Takes the first word of `arguments` as the process title: `arguments: ""` crashes (500)."""

    def create_process(self, vm_id: str, credentials: Any, spec: Any) -> int:
        if "arguments" in spec:
            _title = spec["arguments"].split()[0]
        return super().create_process(vm_id, credentials, spec)


class ExitCodeAsString(Simulator):
    """Serialises the exit code as a string ("0"): the body violates Processes.Info."""

    def info(self, process: Any) -> dict[str, Any]:
        info = super().info(process)
        if "exit_code" in info:
            info["exit_code"] = str(info["exit_code"])
        return info


class PasswordOptional(Simulator):
    """Treats a USERNAME_PASSWORD credentials object without `password` as "no password needed"."""

    def check_guest_credentials(self, vm: Any, credentials: Any) -> Any:
        if credentials.get("type") == "USERNAME_PASSWORD" and "password" not in credentials:
            return next(iter(vm.users.values()))
        return super().check_guest_credentials(vm, credentials)


class ReusesPids(Simulator):
    """Hands the pid of a process that ended to the next create while get still shows the old one
    (a pid pool freed at exit, or at delete, instead of when retention lapses).

    Freeing at delete only showed in most runs, not all (a create has to follow a 204 delete); an
    instant program ends in nearly every run, so the bug reaches the check whatever the schedule.
    """

    def allocate_pid(self, vm: Any) -> int:
        now = self.now()
        for pid, process in vm.processes.items():
            finished = process.finished_at()
            if process.from_create and finished is not None and finished <= now:
                return int(pid)
        return super().allocate_pid(vm)


class DeleteLeavesProgramRunning(Simulator):
    """Signals the shell that started the program, not the program: delete ends nothing."""

    def terminate(self, vm: Any, process: Any) -> None:
        return None


def _rewrite_responses(app: ASGIApp, rewrite: Callable[[int, Any], tuple[int, Any]]) -> ASGIApp:
    """The app behind the proxy, every JSON answer going through rewrite(status, body) -> (status, body)."""
    return Proxy(app, answer=json_answer(lambda request, status, body: rewrite(status, body)))


def _not_found_as_400(status: int, body: Any) -> tuple[int, Any]:
    """A missing pid answered 400: the status a NOT_FOUND error must not have."""
    if status == 404 and isinstance(body, dict) and body.get("error_type") == "NOT_FOUND":
        return 400, body
    return status, body


def _without_error_type(status: int, body: Any) -> tuple[int, Any]:
    """Errors of an older implementation: no `error_type` in the body (VMware's specs allow it)."""
    if status >= 400 and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "error_type"}
    return status, body


@pytest.fixture
def served() -> Iterator[Callable[..., str]]:
    """served(simulator_cls=..., wrap=..., inventory=...) -> URL of a mock on a loopback socket."""
    with_stack: list[Any] = []

    def start(
        simulator_cls: type[Simulator] = Simulator,
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
        inventory: dict[str, Any] | None = None,
    ) -> str:
        app = create_app(inventory or _inventory(), simulator_cls=simulator_cls)
        context = serve(app=wrap(app) if wrap else app)
        url = context.__enter__()
        with_stack.append(context)
        return url

    yield start
    for context in reversed(with_stack):
        context.__exit__(None, None, None)


def test_fuzz_command_states_its_safety_rules_first_and_passes_on_the_correct_mock(served: Callable[..., str]) -> None:
    result = fuzz(served())
    lines = result.output.splitlines()
    assert lines[0] == "Safety rules of this run:", result.output
    for rule in SAFETY_RULES:
        assert rule[:40] in result.output
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output
    assert "POST /api/vcenter/vm/{vm}/guest/processes?action=create" in result.output


def test_fuzz_command_without_url_fuzzes_the_embedded_mock_and_lists_what_a_small_run_never_exercised() -> None:
    """3 examples without the stateful phase never get a process after a delete: nothing failed, but the
    check of that fact vouches for nothing, so the run is not PASSED and exits 3 naming it."""
    result = CliRunner().invoke(main, ["fuzz", "--mock", "--max-examples", "3", "--seed", "1", "--no-stateful"])
    assert result.exit_code == 3, result.output
    assert "the embedded mock vCenter" in result.output
    assert "PASSED" not in result.output
    assert "NOT EXERCISED" in result.output
    assert "  - check terminated_process_is_finished" in result.output


VARIANTS = [
    pytest.param({"simulator_cls": CrashesOnEmptyArguments}, {"no_undocumented_server_error"},
                 id="500-on-empty-arguments"),
    pytest.param({"wrap": lambda app: _rewrite_responses(app, _not_found_as_400)},
                 {"response_schema_conformance"}, id="not-found-answered-400"),
    pytest.param({"simulator_cls": ExitCodeAsString}, {"response_schema_conformance"}, id="exit-code-as-string"),
    pytest.param({"simulator_cls": PasswordOptional}, {"guest_credentials_are_enforced"}, id="password-optional"),
    pytest.param({"simulator_cls": ReusesPids}, {"create_returns_a_fresh_pid"}, id="pid-reused-after-delete"),
    pytest.param({"simulator_cls": DeleteLeavesProgramRunning}, {"terminated_process_is_finished"},
                 id="delete-leaves-program-running"),
]  # fmt: skip


@pytest.mark.parametrize(("server", "catching_checks"), VARIANTS)
def test_fuzz_command_fails_on_a_broken_server_and_names_the_check(
    served: Callable[..., str], server: dict[str, Any], catching_checks: set[str]
) -> None:
    chains = server.get("simulator_cls") is DeleteLeavesProgramRunning
    extra = ("--program", DAEMON) if chains else ()
    # That bug shows only to a get after a delete of the same running process: a larger budget
    # gives the run enough of both (8 examples reached it in most runs, not all).
    result = fuzz(served(**server), *extra, examples=16 if chains else 8)
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    named = {check for check in catching_checks if f": {check}" in result.output}
    assert named == catching_checks, f"expected {catching_checks} to be named:\n{result.output}"
    assert "Reproduce with:" in result.output
    assert "curl -X POST" in result.output


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_no_secret_reaches_reports_or_printed_curl_lines(served: Callable[..., str], tmp_path: Path) -> None:
    api_password, guest_password, token = "Api-Pa55word-3!", "Gu3st-Pa55!", "saml-token-5ecret-42"
    inventory = _inventory(
        users=[
            {"name": DEMO_API_USER, "password": api_password, "privileges": DEMO_INVENTORY["users"][0]["privileges"]}
        ]
    )
    demo = next(vm for vm in inventory["vms"] if vm["id"] == DEMO_VM)
    demo["guest_users"] = [{"name": DEMO_GUEST_USER, "password": guest_password, "saml_token": token}]
    demo["files"] = {path: f for path, f in demo["files"].items() if f.get("owner") in {None, DEMO_GUEST_USER}}
    sessions: list[str] = []

    class RecordingSessions(ExitCodeAsString):  # a failure, so that curl lines are printed too
        def create_session(self, user: str, password: str) -> str:
            session_id: str = super().create_session(user, password)
            sessions.append(session_id)
            return session_id

    url = served(simulator_cls=RecordingSessions, inventory=inventory)
    result = fuzz(
        url,
        *("--report", "junit", "--report", "har", "--report", "ndjson", "--report-dir", str(tmp_path)),
        env={"VCENTER_PASSWORD": api_password, "VCENTER_GUEST_PASSWORD": guest_password},
    )
    assert result.exit_code == 1, result.output
    assert "curl" in result.output
    assert sessions, "the run never logged in"
    files = sorted(tmp_path.iterdir())
    assert {f.name for f in files} == {"junit.xml", "network.har", "events.ndjson"}
    texts = {"stdout": result.output, **{f.name: f.read_text(encoding="utf-8") for f in files}}
    # The NDJSON report keeps bodies in base64: search them decoded too.
    for line in texts["events.ndjson"].splitlines():
        for blob in _base64_blobs(json.loads(line)):
            texts["events.ndjson"] += "\n" + base64.b64decode(blob).decode("utf-8", "replace")
    secrets = [api_password, guest_password, _b64(f"{DEMO_API_USER}:{api_password}"), *sessions]
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({len(secret)} chars) leaked into {name}"
    assert guest_password not in texts["network.har"]
    assert "<redacted>" in texts["network.har"]


def _base64_blobs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            yield value["$base64"]
        for v in value.values():
            yield from _base64_blobs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _base64_blobs(v)


def test_requests_only_target_the_named_vm_programs_and_the_runs_own_processes(served: Callable[..., str]) -> None:
    proxies: list[Proxy] = []

    def record(app: ASGIApp) -> ASGIApp:
        proxies.append(Proxy(app))
        return proxies[0]

    pids: list[int] = []
    transfers: set[tuple[str, str]] = set()
    temporary_directories: list[str] = []

    class RecordingPids(Simulator):
        def allocate_pid(self, vm: Any) -> int:
            pid: int = super().allocate_pid(vm)
            pids.append(pid)
            return pid

        def create_transfer(self, *args: Any) -> str:
            url: str = super().create_transfer(*args)
            query = parse_qs(urlsplit(url).query)
            transfers.add((query["id"][0], query["token"][0]))
            return url

        def create_temporary_directory(self, *args: Any) -> str:
            path: str = super().create_temporary_directory(*args)
            temporary_directories.append(path)
            return path

    result = fuzz(served(simulator_cls=RecordingPids, wrap=record), "--program", "/bin/sleep", examples=10)
    assert result.exit_code in {0, 3}, result.output  # 3: a small run may leave a check unexercised
    requests = [(r.path, r.query, r.json()) for r in proxies[0].requests]
    guest = [r for r in requests if r[0].startswith("/api/vcenter/vm/")]
    assert guest, "no guest request was sent"
    deleted: list[str] = []
    sent_paths: set[str] = set()
    # The first temporary directory is the run's own: every file operation stays inside it.
    run_directory = temporary_directories[0]
    assert run_directory.startswith("/tmp/vcenter-guest-fuzz-"), run_directory
    file_requests = [r for r in guest if "/guest/filesystem" in r[0]]
    assert file_requests, "no file operation was sent"
    for path, query, body in file_requests:
        for guest_path in _guest_paths(path, body):
            # Checked here with plain string rules, not with the harness's own RunDirectory.inside.
            parts = guest_path.removeprefix(run_directory + "/").split("/")
            inside = guest_path.startswith(run_directory + "/") and not {"", ".", ".."} & set(parts)
            assert guest_path == run_directory or (inside and "\x00" not in guest_path), (path, query, guest_path)
    teardown = [r for r in file_requests if isinstance(r[2], dict) and r[2].get("path") == run_directory]
    assert [r[1] for r in teardown if "directories" in r[0]] == ["action=delete"], "the run removes its directory once"
    assert file_requests[-1] == teardown[-1], "and last"
    for path, query, _ in requests:
        if path == "/guestFile":
            sent = parse_qs(query)
            key = (sent.get("id", [""])[0], sent.get("token", [""])[0])
            assert key in transfers or key == ("0", "not-a-transfer-of-this-run"), key
    for path, query, body in guest:
        assert path.startswith(f"/api/vcenter/vm/{DEMO_VM}/"), path  # its guest, its power state, its Tools
        if "/guest/filesystem" in path:
            continue
        spec = body.get("spec") if isinstance(body, dict) else None
        if path.endswith("/processes") and isinstance(spec, dict) and isinstance(spec.get("path"), str):
            assert spec["path"] in {"/bin/sleep", *UNSTARTABLE_PATHS}, spec["path"]
            sent_paths.add(spec["path"])
        if "action=delete" in query:
            deleted.append(path.rsplit("/", 1)[1])
    allowed = {str(pid) for pid in pids} | {str(NO_SUCH_PID)}
    assert deleted, "no delete was sent"
    for pid in deleted:
        assert pid in allowed or not any(ch.isdigit() for ch in pid), f"delete targeted pid {pid!r}"
    assert {str(pid) for pid in pids} & set(deleted), "no delete reached a process the run started"
    # Without --any-program the run still probes the paths no guest can start (a server crashing on them).
    assert set(UNSTARTABLE_PATHS) <= sent_paths, sent_paths


def _guest_paths(path: str, body: Any) -> list[str]:
    """The guest paths a file operation's request names: in its URL and in its body."""
    found = [unquote(path.split("/files/", 1)[1])] if "/files/" in path else []
    if isinstance(body, dict):
        found += [body[f] for f in ("path", "new_path", "parent_path") if isinstance(body.get(f), str)]
        spec = body.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("path"), str):
            found.append(spec["path"])
    return found


def test_fuzz_command_exits_2_on_usage_and_connection_errors(served: Callable[..., str]) -> None:
    url = served()
    no_vm = CliRunner().invoke(main, ["fuzz", "--server", url, "--user", DEMO_API_USER, "--program", "/bin/true"])
    assert no_vm.exit_code == 2
    assert "--vm" in no_vm.output
    no_user = CliRunner().invoke(main, ["fuzz", "--server", url, "--vm", DEMO_VM, "--program", "/bin/true"])
    assert no_user.exit_code == 2
    assert "--user" in no_user.output
    wrong_password = fuzz(url, env={"VCENTER_PASSWORD": "not-the-password"})
    assert wrong_password.exit_code == 2, wrong_password.output
    assert "401" in wrong_password.output
    assert "not-the-password" not in wrong_password.output
    assert "Traceback" not in wrong_password.output
    refused = fuzz("http://127.0.0.1:9")
    assert refused.exit_code == 2, refused.output
    assert "cannot reach the server" in refused.output
    assert "Traceback" not in refused.output


@pytest.mark.parametrize("guest_dir", ["tmp", "./work", "~/x", "/tmp\x00x", "C:relative"])
def test_fuzz_command_refuses_a_guest_dir_that_is_not_an_absolute_guest_path(guest_dir: str) -> None:
    """Not a run that reports every createTemporary answer as a server failure."""
    refused = CliRunner().invoke(
        main, ["fuzz", "--mock", "--vm", DEMO_VM, "--program", "/bin/true", "--guest-dir", guest_dir]
    )
    assert refused.exit_code == 2, refused.output
    assert "--guest-dir" in refused.output
    assert "Traceback" not in refused.output


def test_terminated_exit_code_is_the_one_the_check_documents() -> None:
    assert TERMINATED_EXIT_CODE == 143


@pytest.mark.parametrize(
    ("server", "exit_code"),
    [
        pytest.param({}, 0, id="correct-mock"),
        pytest.param({"simulator_cls": CrashesOnEmptyArguments}, 1, id="500-on-empty-arguments"),
    ],
)
def test_fuzz_command_with_several_workers_passes_the_mock_and_still_catches_a_bug(
    served: Callable[..., str], server: dict[str, Any], exit_code: int
) -> None:
    result = fuzz(served(**server), "--workers", "2")
    assert result.exit_code == exit_code, result.output
    if exit_code:
        assert ": no_undocumented_server_error" in result.output


def test_a_server_whose_errors_carry_no_error_type_passes(served: Callable[..., str]) -> None:
    """`error_type` is optional in VMware's error structures (older implementations leave it unset): the
    fuzz checks accept such errors at their documented statuses."""
    result = fuzz(served(wrap=lambda app: _rewrite_responses(app, _without_error_type)))
    assert result.exit_code == 0, result.output
