"""The command line as a daily tool (issue 13): one set of connection options before or after the
subcommand, profiles, kept API sessions, follow-up commands (wait, ps, kill), one JSON shape,
checks before sending, log lines above a live progress bar, and Ctrl-C that cleans up."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
)


class Mock:
    """A served mock whose logins and requests are counted."""

    def __init__(self, app: Any, url: str) -> None:
        self.app, self.url = app, url
        self.logins = 0
        simulator = app.state.simulator
        real = simulator.create_session

        def counting(*args: Any) -> str:
            self.logins += 1
            return real(*args)

        simulator.create_session = counting

    @property
    def simulator(self) -> Simulator:
        return self.app.state.simulator  # type: ignore[no-any-return]

    def alive(self, session_id: str) -> bool:
        import httpx

        return httpx.get(self.url + "/api/session", headers={"vmware-api-session-id": session_id}).status_code == 200


@pytest.fixture
def mock(make_loopback_server: Callable[..., Any]) -> Mock:
    server = make_loopback_server()
    return Mock(server.app, server.url)


@pytest.fixture
def secrets_env() -> dict[str, str]:
    return {"VCENTER_PASSWORD": DEMO_API_PASSWORD, "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD}


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def served(mock: Mock, secrets_env: dict[str, str]) -> dict[str, str]:
    return {"VCENTER_URL": mock.url, "VCENTER_USER": DEMO_API_USER, "VCENTER_GUEST_USER": DEMO_GUEST_USER} | secrets_env


def sessions_dir() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "vcenter-guest" / "sessions"


def kept_files() -> list[Path]:
    """The kept sessions' files (beside them: the lock files concurrent invocations take turns with)."""
    return sorted(sessions_dir().glob("*.json"))


# --- one set of connection options -------------------------------------------------------------


def test_connection_options_go_before_or_after_the_subcommand(mock: Mock, secrets_env: dict[str, str]) -> None:
    after = cli("run", "--server", mock.url, "--user", DEMO_API_USER, "--guest-user", DEMO_GUEST_USER,
                "--vm", DEMO_VM, "/bin/echo", "x", env=secrets_env)  # fmt: skip
    before = cli("--server", mock.url, "--user", DEMO_API_USER, "--guest-user", DEMO_GUEST_USER,
                 "run", "--vm", DEMO_VM, "/bin/echo", "x", env=secrets_env)  # fmt: skip
    assert (after.exit_code, after.stdout) == (before.exit_code, before.stdout) == (0, "x\n")
    debug_first = cli("--mock", "--debug", "run", "--vm", DEMO_VM, "/bin/true")
    assert debug_first.exit_code == 0
    assert "HTTP Request: POST" in debug_first.stderr, "--debug before the subcommand is honoured"


def test_the_option_after_the_subcommand_wins_over_the_one_before_and_the_environment(mock: Mock) -> None:
    env = {"VCENTER_URL": "http://127.0.0.1:9"}
    result = cli("--server", "http://127.0.0.1:9", "ps", "--mock", "--vm", DEMO_VM, env=env)
    assert result.exit_code == 2, "--server and --mock given on the command line exclude each other"
    mocked = cli("ps", "--mock", "--vm", DEMO_VM, env=env)
    assert mocked.exit_code == 0, "--mock wins over VCENTER_URL from the environment"


def test_insecure_and_ca_bundle_have_environment_variables(mock: Mock, secrets_env: dict[str, str]) -> None:
    env = served(mock, secrets_env) | {"VCENTER_INSECURE": "maybe"}
    bad = cli("ps", "--vm", DEMO_VM, env=env)
    assert bad.exit_code == 2
    assert "VCENTER_INSECURE must be true or false" in bad.stderr
    missing = cli("ps", "--vm", DEMO_VM, env=served(mock, secrets_env) | {"VCENTER_CA_BUNDLE": "/no/such.pem"})
    assert missing.exit_code == 2
    assert "VCENTER_CA_BUNDLE: no such file" in missing.stderr
    both = cli("ps", "--vm", DEMO_VM, "--insecure", env=served(mock, secrets_env) | {"VCENTER_CA_BUNDLE": __file__})
    assert both.exit_code == 2
    assert "--insecure and --ca-bundle contradict" in both.stderr, "the CLI's words, not `verify=False`"


@pytest.mark.parametrize(
    ("server", "message"),
    [("not a url", "URL or a host"), ("http://vc.example.com/api", "without /api"), ("vc:99999", "TCP port")],
)
def test_a_server_that_is_not_a_url_exits_2_before_sending_anything(server: str, message: str) -> None:
    started = time.monotonic()
    result = cli("--server", server, "--user", "u", "ps", "--vm", DEMO_VM, env={"VCENTER_PASSWORD": "p"})
    assert result.exit_code == 2
    assert message in result.stderr
    assert time.monotonic() - started < 5, "no retries: nothing was sent"


def test_a_guest_password_without_a_guest_user_is_an_error_not_ignored(mock: Mock) -> None:
    env = {"VCENTER_URL": mock.url, "VCENTER_USER": DEMO_API_USER, "VCENTER_PASSWORD": DEMO_API_PASSWORD,
           "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD}  # fmt: skip
    result = cli("ps", "--vm", DEMO_VM, env=env)
    assert result.exit_code == 2
    assert "VCENTER_GUEST_PASSWORD is set" in result.stderr


# --- profiles ------------------------------------------------------------------------------------


def write_profiles(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "vcenter-guest" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_profile_gives_server_user_and_guest_user(mock: Mock, secrets_env: dict[str, str]) -> None:
    write_profiles(
        f'default_profile = "lab"\n[profiles.lab]\nserver = "{mock.url}"\nuser = "{DEMO_API_USER}"\n'
        f'guest_user = "{DEMO_GUEST_USER}"\n[profiles.other]\nserver = "http://127.0.0.1:9"\nuser = "x"\n'
    )
    result = cli("run", "--vm", DEMO_VM, "--json", "/bin/echo", "hi", env=secrets_env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["server"] == mock.url
    other = cli("--profile", "other", "ps", "--vm", DEMO_VM, "--attempts", "1", env=secrets_env)
    assert other.exit_code == 125, "--profile picks another profile"
    by_env = cli("ps", "--vm", DEMO_VM, "--attempts", "1", env=secrets_env | {"VCENTER_PROFILE": "other"})
    assert by_env.exit_code == 125
    unknown = cli("--profile", "nope", "ps", "--vm", DEMO_VM, env=secrets_env)
    assert unknown.exit_code == 2
    assert "no profile 'nope'" in unknown.stderr
    assert "lab, other" in unknown.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[profiles.lab]\nserver = "vc"\npassword = "s3cret"\n', "secrets never go in the profile file"),
        ('[profiles.lab]\nserver = "vc"\nguest_password = "s3cret"\n', "secrets never go in the profile file"),
        ('[profiles.lab]\nserver = "vc"\ncolour = "red"\n', "unknown key(s) colour"),
        ('[profiles.lab]\ninsecure = "yes"\n', "must be true or false"),
        ("[profiles.lab\n", "not valid TOML"),
    ],
)
def test_a_bad_profile_file_is_one_line_naming_the_file_and_never_echoes_a_secret(body: str, message: str) -> None:
    path = write_profiles(body)
    result = cli("--profile", "lab", "ps", "--vm", DEMO_VM)
    assert result.exit_code == 2
    assert message in result.stderr
    assert str(path) in result.stderr
    assert "s3cret" not in result.output


# --- kept sessions ---------------------------------------------------------------------------------


def test_the_api_session_is_kept_owner_only_reused_and_ended_by_logout(mock: Mock, secrets_env: dict[str, str]) -> None:
    env = served(mock, secrets_env)
    assert cli("run", "--vm", DEMO_VM, "/bin/true", env=env).exit_code == 0
    assert cli("ps", "--vm", DEMO_VM, env=env).exit_code == 0
    assert mock.logins == 1, "the second invocation reuses the session"
    (kept,) = kept_files()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions_dir().stat().st_mode) == 0o700
    session_id = json.loads(kept.read_text())["session_id"]
    assert mock.alive(session_id)
    without_password = cli("ps", "--vm", DEMO_VM, env={k: v for k, v in env.items() if k != "VCENTER_PASSWORD"})
    assert without_password.exit_code == 0, "a kept session needs no password"
    out = cli("logout", env={k: v for k, v in env.items() if k != "VCENTER_PASSWORD"})
    assert out.exit_code == 0
    assert "logged out" in out.stdout
    assert not mock.alive(session_id), "logout ends the session on the server"
    assert kept_files() == []
    assert session_id not in out.output


def test_an_expired_kept_session_is_replaced(mock: Mock, secrets_env: dict[str, str]) -> None:
    env = served(mock, secrets_env)
    assert cli("ps", "--vm", DEMO_VM, env=env).exit_code == 0
    (kept,) = kept_files()
    first = json.loads(kept.read_text())["session_id"]
    assert cli("logout", env=env).exit_code == 0
    kept.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(kept, os.O_CREAT | os.O_WRONLY, 0o600)  # the dead session, as if it had expired
    os.write(descriptor, json.dumps({"server": mock.url, "user": DEMO_API_USER, "session_id": first}).encode())
    os.close(descriptor)
    assert cli("ps", "--vm", DEMO_VM, env=env).exit_code == 0
    assert mock.logins == 2
    assert json.loads(kept.read_text())["session_id"] not in {first, ""}


def test_a_kept_session_others_could_read_is_not_used(mock: Mock, secrets_env: dict[str, str]) -> None:
    env = served(mock, secrets_env)
    assert cli("ps", "--vm", DEMO_VM, env=env).exit_code == 0
    (kept,) = kept_files()
    kept.chmod(0o644)
    assert cli("ps", "--vm", DEMO_VM, env=env).exit_code == 0
    assert mock.logins == 2


def test_no_session_cache_logs_in_each_time_and_keeps_nothing(mock: Mock, secrets_env: dict[str, str]) -> None:
    env = served(mock, secrets_env)
    for _ in range(2):
        assert cli("ps", "--vm", DEMO_VM, "--no-session-cache", env=env).exit_code == 0
    assert cli("ps", "--vm", DEMO_VM, env=env | {"VCENTER_SESSION_CACHE": "0"}).exit_code == 0
    assert mock.logins == 3
    assert kept_files() == []


# --- follow-up commands, one JSON shape -----------------------------------------------------------


def test_wait_follows_a_run_that_timed_out_and_exits_with_its_code(make_loopback_server: Callable[..., Any]) -> None:
    # One embedded mock per invocation: wait needs a server that outlives the run, so serve one.
    url = make_loopback_server().url
    env = {"VCENTER_URL": url, "VCENTER_USER": DEMO_API_USER, "VCENTER_PASSWORD": DEMO_API_PASSWORD,
           "VCENTER_GUEST_USER": DEMO_GUEST_USER, "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD}  # fmt: skip
    timed_out = cli("run", "--vm", DEMO_VM, "--no-capture", "--timeout", "0.2", "--json", "/opt/app/job", "1", "3",
                    env=env)  # fmt: skip
    assert timed_out.exit_code == 124
    pid = json.loads(timed_out.stdout)[0]["error"]["pid"]
    early = cli("wait", "--vm", DEMO_VM, str(pid), "--timeout", "0.1", env=env)
    assert early.exit_code == 124
    waited = cli("wait", "--vm", DEMO_VM, str(pid), "--json", env=env)
    assert waited.exit_code == 3, "wait passes the exit code through"
    (record,) = json.loads(waited.stdout)
    assert (record["server"], record["vm"], record["pid"], record["exit_code"]) == (url, DEMO_VM, pid, 3)
    listed = cli("ps", "--vm", DEMO_VM, "--pid", str(pid), "--json", env=env)
    (shown,) = json.loads(listed.stdout)[0]["processes"]
    assert (shown["state"], shown["exit_code"]) == ("finished", 3)
    assert shown["finished"]
    table = cli("ps", "--vm", DEMO_VM, env=env).stdout
    assert "finished" in table
    finished = cli("kill", "--vm", DEMO_VM, str(pid), env=env)
    assert finished.exit_code == 0
    assert f"process {pid} had already finished (exit code 3)" in finished.stdout
    unknown = cli("wait", "--vm", DEMO_VM, "99999", env=env)
    assert unknown.exit_code == 1
    assert "no process 99999" in unknown.stderr


def test_json_is_a_list_for_one_vm_or_many_and_json_lines_streams_one_object_per_line() -> None:
    one = json.loads(cli("--mock", "run", "--vm", DEMO_VM, "--json", "/bin/true").stdout)
    many = json.loads(cli("--mock", "run", "--vm", DEMO_VM, "--vm", "vm-50", "--json", "/bin/true").stdout)
    assert isinstance(one, list)
    assert [r["vm"] for r in one] == [DEMO_VM]
    assert sorted(r["vm"] for r in many) == sorted([DEMO_VM, "vm-50"])
    assert set(one[0]) == set(many[0]), "the same fields whatever the VM count"
    lines = cli("--mock", "run", "--vm", DEMO_VM, "--vm", "vm-50", "--vm", "vm-999", "--json-lines", "/bin/true")
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert sorted(r["vm"] for r in records) == sorted([DEMO_VM, "vm-50", "vm-999"])
    assert all(r["server"] == "embedded-mock" for r in records)
    assert lines.exit_code == 125
    both = cli("--mock", "run", "--vm", DEMO_VM, "--json", "--json-lines", "/bin/true")
    assert both.exit_code == 2


# --- terminal output -----------------------------------------------------------------------------


def test_log_lines_print_above_a_live_progress_bar_not_into_it() -> None:
    from rich.console import Console
    from rich.progress import Progress
    from vcenter_guest.cli._common import resolve
    from vcenter_guest.cli._outcome import _configure_logging

    conn = resolve({}, {"mock": True})
    sink = io.StringIO()
    conn._stderr = Console(file=sink, force_terminal=True, width=80)
    logger = logging.getLogger("vcenter_guest")
    saved = list(logger.handlers), logger.level
    try:
        _configure_logging(conn)
        with Progress(console=conn.stderr) as progress:
            task = progress.add_task("running /bin/true", total=2)
            progress.advance(task)
            logger.warning("retrying processes.create on vm-42")
            progress.advance(task)
    finally:
        logger.handlers[:], logger.level = saved
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sink.getvalue())
    lines = [segment for line in plain.split("\n") for segment in line.split("\r")]
    (warning,) = [line for line in lines if "retrying" in line]
    assert warning.strip() == "WARNING: retrying processes.create on vm-42", "the bar must not share its line"


# --- Ctrl-C ---------------------------------------------------------------------------------------


def _start(url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCENTER_")}
    env |= {"VCENTER_URL": url, "VCENTER_USER": DEMO_API_USER, "VCENTER_PASSWORD": DEMO_API_PASSWORD,
            "VCENTER_GUEST_USER": DEMO_GUEST_USER, "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD}  # fmt: skip
    code = "from vcenter_guest.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _started(mock: Mock, vms: list[str], timeout: float = 30) -> list[int]:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        pids = [p.pid for vm in vms for p in mock.simulator.find_vm(vm).processes.values() if p.from_create]
        if len(pids) >= len(vms):
            return pids
        time.sleep(0.05)
    pytest.fail("the programs never started")


def _running(mock: Mock, vm: str, pid: int) -> bool:
    process = mock.simulator.find_vm(vm).processes[pid]
    ended = process.finished_at()
    return ended is None or ended > time.monotonic()


def _leftovers(mock: Mock, vm: str) -> list[str]:
    root = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
    listed = mock.simulator.list_files(vm, root, {"path": "/tmp", "iteration": {"size": 100000}})
    return [f["filename"] for f in listed["files"] if f["filename"].startswith("vcenter-guest-run-")]


@pytest.mark.slow
def test_ctrl_c_terminates_every_started_program_says_so_and_exits_130(mock: Mock) -> None:
    vms = [DEMO_VM, "vm-50"]
    child = _start(mock.url, "run", *[a for vm in vms for a in ("--vm", vm)], "/bin/sleep", "600")
    pids = _started(mock, vms)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    text = err.decode()
    assert child.returncode == 130, text
    for pid in pids:
        assert f"pid {pid}" in text
    assert "terminated" in text
    for vm in vms:
        for process in mock.simulator.find_vm(vm).processes.values():
            if process.from_create:
                assert not _running(mock, vm, process.pid), f"{vm}: pid {process.pid} left running"
    assert [name for vm in vms for name in _leftovers(mock, vm)] == [], "run directories are removed"


class _SlowDelete(Simulator):
    def latency(self, operation: str) -> float:
        return 30.0 if operation.endswith("delete") else 0.0


@pytest.mark.slow
def test_a_second_ctrl_c_exits_at_once_saying_the_program_may_still_run(
    make_loopback_server: Callable[..., Any],
) -> None:
    server = make_loopback_server(simulator_cls=_SlowDelete)
    app, url = server.app, server.url
    mock = Mock(app, url)
    child = _start(url, "run", "--vm", DEMO_VM, "--no-capture", "/bin/sleep", "600")
    _started(mock, [DEMO_VM])
    child.send_signal(signal.SIGINT)
    time.sleep(1.0)  # the terminating delete is now waiting on the slow server
    child.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130, err.decode()
    assert time.monotonic() - started < 10
    assert "may still run" in err.decode()


def test_a_plain_http_server_given_as_host_port_gets_a_plain_http_hint_not_a_private_ca_one(mock: Mock) -> None:
    host_port = mock.url.removeprefix("http://")
    result = cli("ps", "--server", host_port, "--user", DEMO_API_USER, "--vm", DEMO_VM, "--attempts", "1",
                 env={"VCENTER_PASSWORD": DEMO_API_PASSWORD})  # fmt: skip
    assert result.exit_code == 125
    assert f"give the server as http://{host_port}" in result.stderr
    assert "private CA" not in result.stderr
