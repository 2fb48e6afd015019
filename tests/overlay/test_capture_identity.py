"""`run` learns the guest's OS from the Identity service, once per VM and client, when the caller did
not say it and nothing was learnt yet; an Identity answer it cannot use falls back to the server's run
directory (createTemporary), and a wrong one never makes the client read or delete what is not its own.

Each test runs sync and async where the client matters, in process and over loopback (the recorder
wraps the mock's ASGI app, so it sees every exchange either way).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest
from vcenter_guest import Credentials, errors
from vcenter_guest.mock import DEMO_VM, create_app
from vcenter_guest.mock._demo import DEMO_INVENTORY

from tests.conftest import MockServer

from .test_capture import RUN_PREFIX, _leftovers

WINDOWS_VM = "vm-43"
SOLARIS_VM = "vm-50"
IDENTITY = "identity?None"
CREATE_TEMPORARY = "directories?createTemporary"
_NOT_EXCHANGES = {"processes/pid?get", "session?None"}


class Recorder:
    """The mock's ASGI app, wrapped: records each call (its path's last part and action), and answers
    Identity itself with `identity` (status, body) when that is set."""

    def __init__(self, app: Any, identity: tuple[int, bytes] | None = None) -> None:
        self.app = app
        self.state = app.state
        self.identity = identity
        self.calls: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            action = parse_qs(scope["query_string"].decode()).get("action", [None])[0]
            key = "guestFile" if path == "/guestFile" else f"{path.rsplit('/', 1)[-1]}?{action}"
            if "/processes/" in path:
                key = f"processes/pid?{action}"
            self.calls.append(key)
            if self.identity is not None and path.endswith("/guest/identity"):
                status, body = self.identity
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def take(self) -> list[str]:
        """The exchanges since the last take (besides the login and the polls)."""
        taken = [c for c in self.calls if c not in _NOT_EXCHANGES]
        self.calls.clear()
        return taken


Make = Callable[..., tuple[MockServer, Recorder]]


@pytest.fixture
def recorded(mock_mode: str, portal: Any, loopback: Callable[[Any], str]) -> Make:
    def make(inventory: Any = None, identity: tuple[int, bytes] | None = None) -> tuple[MockServer, Recorder]:
        recorder = Recorder(create_app(inventory), identity)
        url = loopback(recorder) if mock_mode == "loopback" else "http://mock.test"
        return MockServer(recorder, url, mock_mode, portal), recorder

    return make


def _runs(
    server: MockServer, recorder: Recorder, runs: list[dict[str, Any]], *, asynchronous: bool
) -> list[tuple[Any, list[str]]]:
    """Each of `runs` (run's keywords, `argv` = [vm, program, *args], `user` = a guest user), by one
    client: its result (or the error it raised) and its exchanges."""
    outcomes: list[tuple[Any, list[str]]] = []
    plans = [dict(run) for run in runs]

    def credentials(run: dict[str, Any]) -> Credentials:
        user = run.pop("user", "root")
        return Credentials.password(user, {"root": "vmware", "svc": "svc-pass"}[user])

    if asynchronous:

        async def main() -> None:
            async with server.async_client() as avc:
                await avc.guest.readiness(DEMO_VM)  # the login, outside the counts
                recorder.take()
                for run in plans:
                    creds = credentials(run)
                    vm, program, *args = run.pop("argv")
                    try:
                        outcome: Any = await avc.processes.run(vm, creds, program, *args, **run)
                    except errors.VcenterGuestError as exc:
                        outcome = exc
                    outcomes.append((outcome, recorder.take()))

        anyio.run(main)
        return outcomes
    with server.client() as vc:
        vc.guest.readiness(DEMO_VM)
        recorder.take()
        for run in plans:
            creds = credentials(run)
            vm, program, *args = run.pop("argv")
            try:
                outcome = vc.processes.run(vm, creds, program, *args, **run)
            except errors.VcenterGuestError as exc:
                outcome = exc
            outcomes.append((outcome, recorder.take()))
    return outcomes


@pytest.fixture(params=["sync", "async"])
def asynchronous(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "async")


def _without_operations(calls: list[str]) -> list[str]:
    return [c for c in calls if c != "operations?None"]


def test_the_first_captured_run_on_a_posix_vm_asks_identity_once_and_the_line_makes_its_directory(
    recorded: Make, asynchronous: bool
) -> None:
    server, recorder = recorded()
    runs = [{"argv": [DEMO_VM, "/bin/echo", "hi"]} for _ in range(3)]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [o.stdout for o, _ in outcomes] == [b"hi\n"] * 3
    calls = [c for _, c in outcomes]
    assert [len(c) for c in calls] == [5, 4, 4]  # Identity once, then create, transfer + GET, delete
    assert calls[0].count(IDENTITY) == 1
    assert all(CREATE_TEMPORARY not in c for c in calls)
    assert all(IDENTITY not in c for c in calls[1:])
    assert _leftovers(server.app) == []


def test_identity_is_learnt_per_vm_so_another_guest_user_on_it_takes_four_exchanges(
    recorded: Make, asynchronous: bool
) -> None:
    server, recorder = recorded()
    runs = [
        {"argv": [DEMO_VM, "/bin/echo", "hi"]},
        {"argv": [DEMO_VM, "/bin/echo", "hi"], "user": "svc"},
        {"argv": [SOLARIS_VM, "/bin/echo", "hi"]},  # SOLARIS: a POSIX family too
    ]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [o.stdout for o, _ in outcomes] == [b"hi\n"] * 3
    assert [len(c) for _, c in outcomes] == [5, 4, 5]
    assert _leftovers(server.app) == []


def test_the_callers_guest_os_wins_and_identity_is_not_asked(recorded: Make, asynchronous: bool) -> None:
    server, recorder = recorded()
    runs = [
        {"argv": [DEMO_VM, "/bin/echo", "hi"], "guest_os": "linux"},
        # the caller's word is the OS; on Windows the user's temporary directory is still learnt first
        {"argv": [WINDOWS_VM, "C:\\Tools\\argv.exe", "x"], "guest_os": "windows"},
    ]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [o.exit_code for o, _ in outcomes] == [0, 0]
    assert [len(c) for _, c in outcomes] == [4, 7]
    assert all(IDENTITY not in c for _, c in outcomes)


def test_a_windows_guest_told_by_identity_still_learns_its_temporary_directory_from_the_server(
    recorded: Make, asynchronous: bool
) -> None:
    """Identity says WINDOWS, but not where the user's temporary directory is: the first run has the
    server make its directory (Identity + 7), later ones the line (6, stderr always fetched)."""
    server, recorder = recorded()
    runs = [{"argv": [WINDOWS_VM, "C:\\Tools\\argv.exe", "x"]} for _ in range(2)]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [json.loads(o.stdout) for o, _ in outcomes] == [["x"]] * 2
    calls = [c for _, c in outcomes]
    assert [len(c) for c in calls] == [8, 6]
    assert IDENTITY in calls[0]
    assert CREATE_TEMPORARY in calls[0]
    assert CREATE_TEMPORARY not in calls[1]


_UNUSABLE = {
    "not found": (404, b'{"error_type":"NOT_FOUND","messages":[]}'),
    "no privilege": (403, b'{"error_type":"UNAUTHORIZED","messages":[]}'),
    "tools not running": (503, b'{"error_type":"SERVICE_UNAVAILABLE","messages":[]}'),
    "server error": (500, b'{"error_type":"ERROR","messages":[]}'),
    "not json": (200, b"<html>hello</html>"),
    "not an object": (200, b'["LINUX"]'),
    "no family": (200, b'{"name":"X","full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}'),
    "null family": (
        200,
        b'{"name":"X","family":null,"full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}',
    ),
    "unknown family": (
        200,
        b'{"name":"X","family":"BEOS","full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}',
    ),
    "family OTHER": (
        200,
        b'{"name":"X","family":"OTHER","full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}',
    ),
    "family not a string": (
        200,
        b'{"name":"X","family":7,"full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}',
    ),
}


@pytest.mark.parametrize("answer", sorted(_UNUSABLE))
def test_an_identity_answer_the_client_cannot_use_falls_back_to_the_servers_run_directory(
    recorded: Make, answer: str
) -> None:
    """Nothing is guessed: the run goes as on a guest whose OS is not known (the server makes its
    directory, whose path tells the OS), Identity is not asked again, and the second run learnt the
    layout from that directory."""
    server, recorder = recorded(identity=_UNUSABLE[answer])
    runs = [{"argv": [DEMO_VM, "/bin/echo", "hi"]} for _ in range(2)]
    outcomes = _runs(server, recorder, runs, asynchronous=False)
    assert [o.stdout for o, _ in outcomes] == [b"hi\n"] * 2
    calls = [c for _, c in outcomes]
    # Identity (an error the retry policy resends, such as 503, is resent within it), then as today
    assert [len([c for c in run if c != IDENTITY]) for run in calls] == [5, 4]
    assert IDENTITY in calls[0]
    assert CREATE_TEMPORARY in calls[0]
    assert IDENTITY not in calls[1]
    assert _leftovers(server.app) == []


@pytest.mark.parametrize(("family", "fault"), [("OTHER", None), ("LINUX", "SERVICE_UNAVAILABLE"), ("LINUX", "ERROR")])
def test_an_identity_the_mock_itself_gives_that_names_no_usable_family_falls_back(
    recorded: Make, asynchronous: bool, family: str, fault: str | None
) -> None:
    inventory = json.loads(json.dumps(DEMO_INVENTORY))
    inventory["vms"][0]["guest_os_family"] = family
    if fault is not None:
        inventory["faults"] = {"rules": [{"operation": "identity.get", "error_type": fault, "rate": 1.0}]}
    server, recorder = recorded(inventory)
    outcomes = _runs(server, recorder, [{"argv": [DEMO_VM, "/bin/echo", "hi"]}] * 2, asynchronous=asynchronous)
    assert [o.stdout for o, _ in outcomes] == [b"hi\n"] * 2
    assert [len([c for c in run if c != IDENTITY]) for _, run in outcomes] == [5, 4]
    assert IDENTITY not in outcomes[1][1]
    assert _leftovers(server.app) == []


def test_identity_claiming_linux_on_a_windows_guest_reads_and_deletes_nothing(recorded: Make) -> None:
    """A wrong answer: the POSIX line fails on the Windows guest; the client then asks what its run
    directory's path is, sees no directory it made, and reads and deletes nothing."""
    linux = b'{"name":"X","family":"LINUX","full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}'
    server, recorder = recorded(identity=(200, linux))
    sim = server.simulator
    before = sim.list_files(
        WINDOWS_VM,
        {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"},
        {"path": "C:\\Temp", "iteration": {"size": 1000}},
    )
    [(outcome, calls)] = _runs(server, recorder, [{"argv": [WINDOWS_VM, "/bin/echo", "hi"]}], asynchronous=False)
    assert isinstance(outcome, errors.VcenterGuestError)
    assert not any(c.startswith(("filesystem?create", "guestFile")) for c in calls)
    assert not any(c.endswith("?delete") for c in calls)
    after = sim.list_files(
        WINDOWS_VM,
        {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"},
        {"path": "C:\\Temp", "iteration": {"size": 1000}},
    )
    assert after == before


def test_identity_claiming_windows_on_a_posix_guest_is_corrected_by_the_servers_directory(recorded: Make) -> None:
    windows = b'{"name":"X","family":"WINDOWS","full_name":{"id":"a","default_message":"b","args":[]},"host_name":"h"}'
    server, recorder = recorded(identity=(200, windows))
    outcomes = _runs(server, recorder, [{"argv": [DEMO_VM, "/bin/echo", "hi"]}] * 2, asynchronous=False)
    assert [o.stdout for o, _ in outcomes] == [b"hi\n"] * 2
    assert [len(c) for _, c in outcomes] == [6, 4]
    assert _leftovers(server.app) == []


def test_a_run_that_uploads_first_or_has_a_path_without_capture_does_not_ask_identity(
    recorded: Make, asynchronous: bool
) -> None:
    server, recorder = recorded()
    runs = [
        {"argv": [DEMO_VM, "/bin/cat"], "stdin": b"x"},  # the server's directory: it holds stdin first
        {"argv": [DEMO_VM, "/bin/true"], "capture": False},  # the OS changes nothing
    ]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [o.exit_code for o, _ in outcomes] == [0, 0]
    assert all(IDENTITY not in c for _, c in outcomes)
    assert len(outcomes[1][1]) == 1


def test_a_program_without_a_path_and_without_capture_runs_through_cmd_on_a_windows_guest_identity_names(
    recorded: Make, asynchronous: bool
) -> None:
    server, recorder = recorded()
    outcomes = _runs(
        server, recorder, [{"argv": [WINDOWS_VM, "timeout", "0"], "capture": False}] * 2, asynchronous=asynchronous
    )
    assert [o.exit_code for o, _ in outcomes] == [0, 0]
    assert [len(c) for _, c in outcomes] == [2, 1]  # Identity once, then create alone
    sim = server.simulator
    listed = sim.list_processes(
        WINDOWS_VM,
        {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"},
    )
    assert [p["command"] for p in listed[-2:]] == ['"C:\\Windows\\System32\\cmd.exe" /d /s /c "timeout 0"'] * 2


def test_run_many_asks_identity_once_per_vm(recorded: Make) -> None:
    server, recorder = recorded()

    async def main() -> list[Any]:
        async with server.async_client() as avc:
            guest = Credentials.password("root", "vmware")
            first = await avc.processes.run_many([DEMO_VM, SOLARIS_VM], guest, "/bin/echo", "hi")
            second = await avc.processes.run_many([DEMO_VM, SOLARIS_VM], guest, "/bin/echo", "hi")
            return [*first, *second]

    results = anyio.run(main)
    assert [r.stdout for r in results] == [b"hi\n"] * 4
    calls = _without_operations(recorder.take())
    assert calls.count(IDENTITY) == 2
    assert CREATE_TEMPORARY not in calls
    assert len(calls) == 2 + 4 * 4
    assert not [n for n in _leftovers(server.app) if n.startswith(RUN_PREFIX)]


# A POSIX guest without `/bin/mkdir` (NixOS has only `/bin/sh` and `/usr/bin/env` there; a mock
# inventory may name only the programs it needs, as the README's does): the line that makes its own
# run directory cannot start, the server says NOT_FOUND at create, nothing ran and nothing was made,
# so the run goes on with the server's directory (createTemporary), and later runs on that VM go
# that way at once.
def _without_mkdir() -> dict[str, Any]:
    inventory: dict[str, Any] = json.loads(json.dumps(DEMO_INVENTORY))
    programs = inventory["vms"][0]["programs"]
    assert programs.pop("/usr/bin/mkdir")  # the demo's Linux VM, with every other program it has
    return inventory


def test_a_guest_without_bin_mkdir_gets_the_servers_run_directory_and_the_vm_is_remembered(
    recorded: Make, asynchronous: bool
) -> None:
    server, recorder = recorded(_without_mkdir())
    runs = [{"argv": [DEMO_VM, "/bin/echo", "hi"]} for _ in range(2)]
    outcomes = _runs(server, recorder, runs, asynchronous=asynchronous)
    assert [o if isinstance(o, Exception) else o.stdout for o, _ in outcomes] == [b"hi\n"] * 2
    first, second = (calls for _, calls in outcomes)
    # Identity, the line's create refused (NOT_FOUND: no /bin/mkdir), then the server's directory.
    assert first[0] == IDENTITY
    assert first.count("processes?create") == 2
    assert CREATE_TEMPORARY in first
    assert IDENTITY not in second
    assert second.count("processes?create") == 1
    assert CREATE_TEMPORARY in second
    assert _leftovers(server.app) == []


def test_a_vm_that_does_not_exist_is_still_not_found(recorded: Make, asynchronous: bool) -> None:
    server, recorder = recorded()
    ((outcome, _),) = _runs(server, recorder, [{"argv": ["vm-999", "/bin/echo", "hi"]}], asynchronous=asynchronous)
    assert isinstance(outcome, errors.NotFound)
