"""The API sessions the command line keeps between invocations (issue 25).

L6: a session-cache folder that is a symbolic link (the CLI made none) is never chmod-ed, written,
read or deleted through: the cache is ignored, said in one line, and the command goes on.
L7: a kept session the server ends mid-command (even right after the CLI checked it) leads to a new
login and the command going on, never exit 125 with a run directory left.
L8: concurrent invocations on an empty cache log in once and share the session (a file lock):
the server holds one session at the end, not one per invocation.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_VM,
    Simulator,
    create_app,
    serve,
)

SESSION_HEADER = "vmware-api-session-id"


class EndsSessions:
    """The mock, as an ASGI app that can end the caller's API session right before the n-th API request
    (GET /api/session, the CLI's check, not counted) that carries it: as a vCenter whose administrator
    ends sessions, or whose sessions expire, in the middle of a command."""

    def __init__(self) -> None:
        self.app = create_app()
        self.before: int | None = None  # None: never
        self.seen = 0
        self.ended: list[str] = []
        self.created: list[str] = []
        real = self.simulator.create_session

        def counting(*args: Any) -> str:
            session_id = real(*args)
            self.created.append(session_id)
            return session_id

        self.simulator.create_session = counting  # type: ignore[method-assign]

    @property
    def simulator(self) -> Simulator:
        return self.app.state.simulator  # type: ignore[no-any-return]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.before is not None and scope["path"].startswith("/api/"):
            headers = dict(scope["headers"])
            session_id = headers.get(SESSION_HEADER.encode(), b"").decode()
            if session_id and scope["path"] != "/api/session":
                self.seen += 1
                if self.seen == self.before:
                    self.simulator.delete_session(self.simulator.session(session_id))
                    self.ended.append(session_id)
        await self.app(scope, receive, send)


@pytest.fixture
def ends() -> Iterator[tuple[EndsSessions, str]]:
    app = EndsSessions()
    with serve(app=app) as url:
        yield app, url


def alive(url: str, session_id: str) -> bool:
    return httpx.get(url + "/api/session", headers={SESSION_HEADER: session_id}).status_code == 200


def cache_root() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "vcenter-guest"


def kept_sessions() -> list[str]:
    folder = cache_root() / "sessions"
    return [json.loads(p.read_text())["session_id"] for p in sorted(folder.glob("*.json"))]


def environment(url: str, *, password: bool = True) -> dict[str, str]:
    env = {"VCENTER_URL": url, "VCENTER_USER": DEMO_API_USER, "VCENTER_GUEST_USER": DEMO_GUEST_USER,
           "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD}  # fmt: skip
    return env | ({"VCENTER_PASSWORD": DEMO_API_PASSWORD} if password else {})


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def run_directories(simulator: Simulator) -> list[str]:
    root = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
    listed = simulator.list_files(DEMO_VM, root, {"path": "/tmp", "iteration": {"size": 100000}})
    return [f["filename"] for f in listed["files"] if f["filename"].startswith("vcenter-guest-")]


# --- L7: a kept session ended mid-command ---------------------------------------------------------


@pytest.mark.parametrize("before", [1, 2, 3, 4, 5])
def test_a_kept_session_ended_mid_command_leads_to_a_new_login_and_the_command_goes_on(
    ends: tuple[EndsSessions, str], before: int
) -> None:
    app, url = ends
    command = ("run", "--vm", DEMO_VM, "/bin/echo", "still here")
    app.before = 10**9  # counting only: how many API requests the command makes on a kept session
    assert cli(environment(url), *command).exit_code == 0
    (first,) = kept_sessions()
    requests, app.seen = app.seen, 0
    app.before = min(before, requests)  # this request after the check (within 2 s of it) finds the session ended
    result = cli(environment(url), *command)
    assert app.ended == [first], "the session was ended mid-command"
    assert (result.exit_code, result.stdout) == (0, "still here\n"), result.stderr
    assert run_directories(app.simulator) == [], "the run directory is removed"
    assert len(app.created) == 2, "one new login (the first invocation's and this one)"
    (second,) = kept_sessions()
    assert second != first, "the new session is kept in place of the ended one"
    assert alive(url, second)
    app.before = None
    assert cli(environment(url, password=False), "ps", "--vm", DEMO_VM).exit_code == 0
    assert len(app.created) == 2, "and used by the next invocation"


def test_a_kept_session_ended_mid_command_without_a_password_to_log_in_again_says_what_to_set(
    ends: tuple[EndsSessions, str],
) -> None:
    app, url = ends
    assert cli(environment(url), "ps", "--vm", DEMO_VM).exit_code == 0
    app.before = 1
    result = cli(environment(url, password=False), "ps", "--vm", DEMO_VM)
    assert result.exit_code == 125
    assert "the kept API session ended mid-command" in result.stderr
    assert "set VCENTER_PASSWORD" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_wrong_guest_credentials_on_a_kept_session_are_not_taken_for_an_ended_session(
    ends: tuple[EndsSessions, str],
) -> None:
    _, url = ends
    assert cli(environment(url), "ps", "--vm", DEMO_VM).exit_code == 0
    wrong = environment(url, password=False) | {"VCENTER_GUEST_PASSWORD": "not-the-password"}
    result = cli(wrong, "ps", "--vm", DEMO_VM)
    assert result.exit_code == 125
    assert "Unauthenticated" in result.stderr
    assert "session ended" not in result.stderr, "the API session is alive: the guest credentials are wrong"


# --- L6: a session-cache folder that is a link --------------------------------------------------


@pytest.mark.parametrize("linked", ["vcenter-guest", "vcenter-guest/sessions"])
def test_a_linked_session_cache_folder_is_never_used_and_its_target_never_changed(
    ends: tuple[EndsSessions, str], tmp_path: Path, linked: str
) -> None:
    app, url = ends
    assert cli(environment(url), "ps", "--vm", DEMO_VM).exit_code == 0  # a session kept in the real folder
    (kept,) = kept_sessions()
    cache = Path(os.environ["XDG_CACHE_HOME"])
    target = tmp_path / "someone-elses"
    (cache / linked).rename(target)  # the kept session moves along: it must not be used through the link
    target.chmod(0o755)
    (cache / linked).symlink_to(target, target_is_directory=True)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    for args in (["ps", "--vm", DEMO_VM], ["run", "--vm", DEMO_VM, "/bin/true"], ["logout"]):
        result = cli(environment(url), *args)
        assert result.exit_code == 0, result.output
        (line,) = [line for line in result.stderr.splitlines() if "session cache" in line]
        assert "symbolic link" in line
        assert str(cache / linked) in line
    assert stat.S_IMODE(target.stat().st_mode) == 0o755, "the link's target was chmod-ed"
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before, "written or deleted through the link"
    assert len(app.created) == 1 + 2, "the kept session was not read through the link: each command logged in"
    assert alive(url, kept), "logout did not end the session it could only have read through the link"


def test_a_session_cache_folder_others_may_write_to_is_made_private_not_followed(
    ends: tuple[EndsSessions, str],
) -> None:
    _, url = ends
    sessions = cache_root() / "sessions"
    sessions.mkdir(parents=True)
    sessions.chmod(0o777)
    cache_root().chmod(0o777)
    assert cli(environment(url), "ps", "--vm", DEMO_VM).exit_code == 0
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_root().stat().st_mode) & 0o022 == 0
    assert len(kept_sessions()) == 1


@pytest.mark.parametrize("blocked", [".", "vcenter-guest", "vcenter-guest/sessions"])
def test_a_cache_folder_that_cannot_be_made_costs_one_warning_line_not_the_command(
    ends: tuple[EndsSessions, str], blocked: str
) -> None:
    app, url = ends
    cache = Path(os.environ["XDG_CACHE_HOME"])
    (cache / blocked).parent.mkdir(parents=True, exist_ok=True)
    if blocked == ".":
        cache.write_text("a file where the user's cache directory should be")
    else:
        (cache / blocked).write_text("a file where a folder should be")
    for args in (["ps", "--vm", DEMO_VM], ["logout"]):
        result = cli(environment(url), *args)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        assert "session cache" in warning
    assert len(app.created) == 1
    assert [s for s in app.created if alive(url, s)] == [], "a session that could not be kept is ended"


# --- L8: concurrent invocations on an empty cache --------------------------------------------------


@pytest.mark.slow
def test_concurrent_invocations_on_an_empty_cache_log_in_once_and_leave_one_session(
    ends: tuple[EndsSessions, str],
) -> None:
    app, url = ends
    env = {**os.environ, **environment(url)}  # the test's own home and cache (tests/conftest.py)
    code = "from vcenter_guest.cli import main; main()"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, "ps", "--vm", DEMO_VM, "--no-status"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(20)
    ]
    started = time.monotonic()
    outcomes = [(child.wait(timeout=300), child.stderr.read().decode()) for child in children if child.stderr]
    for child in children:
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in outcomes] == [0] * 20, [err for _, err in outcomes if err]
    still_open = [s for s in app.created if alive(url, s)]
    assert kept_sessions() == still_open, "the server holds one session: the one kept"
    assert len(app.created) == 1, f"{len(app.created)} logins for 20 invocations in {time.monotonic() - started:.1f} s"
