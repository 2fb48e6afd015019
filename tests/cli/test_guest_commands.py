"""`vcenter-guest run`, `ps` and `kill` against the embedded mock and a served one, secrets from the environment."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
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
    serve,
)


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """The command line; without `env` (no server set), against the embedded mock: `--mock` before
    the subcommand (the group's option, as `vcenter-guest --mock run ...`)."""
    given = list(args) if env is not None or args[:1] == ("--help",) else ["--mock", *args]
    return CliRunner().invoke(main, given, env=env, input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture
def served_env(served: str) -> dict[str, str]:
    return {
        "VCENTER_URL": served,
        "VCENTER_USER": DEMO_API_USER,
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
    }


def test_help_lists_run_ps_and_kill() -> None:
    out = invoke("--help").stdout
    for command in ("run", "ps", "kill"):
        assert f"  {command} " in out


@pytest.mark.parametrize("command", [["run", "--vm", DEMO_VM, "/bin/true"], ["ps", "--vm", DEMO_VM], ["fuzz"]])
def test_without_a_server_a_command_refuses_in_one_line_and_names_mock(command: list[str]) -> None:
    """Point 3 of issue 13: no silent fake server (a script whose VCENTER_URL was not exported fails)."""
    result = CliRunner().invoke(main, command, catch_exceptions=False)
    assert result.exit_code == 2
    assert "VCENTER_URL" in result.stderr
    assert "--mock" in result.stderr
    assert "Traceback" not in result.stderr


def test_mock_is_the_embedded_mock_before_or_after_the_subcommand() -> None:
    command = ["--vm", DEMO_VM, "/bin/echo", "hello"]
    for args in (["--mock", "run", *command], ["run", "--mock", *command]):
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert (result.exit_code, result.stdout) == (0, "hello\n")
    both = CliRunner().invoke(main, ["--mock", "--server", "vc.example.com", "ps", "--vm", DEMO_VM])
    assert both.exit_code == 2
    assert "exclude each other" in both.stderr


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_run_on_one_vm_exits_with_the_programs_exit_code(code: int) -> None:
    result = invoke("run", "--vm", DEMO_VM, "/opt/app/exit", str(code))
    assert result.exit_code == code
    assert result.stdout == ""
    uncaptured = invoke("run", "--vm", DEMO_VM, "--no-capture", "/opt/app/exit", str(code))
    assert uncaptured.exit_code == code
    assert uncaptured.stdout.startswith(f"{DEMO_VM}: pid ")
    assert f"exit code {code}, duration" in uncaptured.stdout


def test_run_prints_the_programs_stdout_and_stderr_byte_for_byte_on_its_own() -> None:
    result = invoke("run", "--vm", DEMO_VM, "/bin/sh", "-c", "printf 'out\\n'; printf 'err' >&2; printf 'more'; exit 7")
    assert result.exit_code == 7
    assert result.stdout_bytes == b"out\nmore"
    assert result.stderr_bytes.endswith(b"err")
    assert b"error:" not in result.stderr_bytes


def test_run_json_includes_the_output_as_text_or_base64() -> None:
    (text,) = json.loads(invoke("run", "--vm", DEMO_VM, "--json", "/bin/printf", "caf\\303\\251").stdout)
    assert (text["stdout"], text["stderr"], text["stdout_truncated"]) == ("café", "", False)
    (binary,) = json.loads(invoke("run", "--vm", DEMO_VM, "--json", "/bin/printf", "\\377\\376").stdout)
    assert "stdout" not in binary
    assert binary["stdout_base64"] == "//4="


def test_run_on_many_vms_prefixes_each_line_or_writes_an_output_directory(tmp_path: Any) -> None:
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--prefix", "/bin/sh", "-c", "echo a; echo b")
    assert result.exit_code == 0
    assert f"{DEMO_VM}: a\n{DEMO_VM}: b\nvm-50: a\nvm-50: b\n" in result.stdout
    out = tmp_path / "out"
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--output-dir", str(out), "/bin/cat", "/etc/hostname")
    assert result.exit_code == 0
    assert (out / f"{DEMO_VM}.stdout").read_text() == "demo-linux\n"
    assert (out / "vm-50.stdout").read_text() == "demo-solaris\n"
    assert (out / "vm-50.stderr").read_bytes() == b""
    assert "demo-linux" not in result.stdout


def test_run_refuses_output_options_without_capture() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--no-capture", "--output-dir", "x", "/bin/true")
    assert result.exit_code == 2
    assert "drop --no-capture" in result.stderr


def test_run_json_prints_pid_exit_code_times_and_duration() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--json", "/bin/sleep", "0.1")
    (data,) = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (data["server"], data["vm"]) == ("embedded-mock", DEMO_VM)
    assert data["exit_code"] == 0
    assert isinstance(data["pid"], int)
    assert data["duration_seconds"] == pytest.approx(0.1, abs=0.01)
    assert data["started"]
    assert data["finished"]


def test_run_passes_program_options_through_without_a_double_dash() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--json", "/opt/app/job", "0", "4")
    assert json.loads(result.stdout)[0]["exit_code"] == 4


def test_run_raw_passes_shell_syntax_verbatim() -> None:
    assert invoke("run", "--vm", DEMO_VM, "--raw", "/opt/app/exit", "6", ">/dev/null").exit_code == 6
    quoted = invoke("run", "--vm", DEMO_VM, "/opt/app/exit", "6 >/dev/null")
    assert quoted.exit_code == 2, "without --raw the whole arg is one quoted word"


def test_run_timeout_exits_124_and_can_terminate() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--timeout", "0.1", "--terminate-on-timeout", "/bin/sleep", "60")
    assert result.exit_code == 124
    assert "asked to terminate" in result.stderr
    left = invoke("run", "--vm", DEMO_VM, "--timeout", "0.1", "--json", "/bin/sleep", "60")
    assert left.exit_code == 124
    (record,) = json.loads(left.stdout)
    pid = record["error"]["pid"]
    assert f"pid {pid}" in left.stderr, "after a timeout the pid is shown, not only inside the error text"
    assert f"vcenter-guest wait --vm {DEMO_VM} {pid}" in left.stderr
    assert "terminate_on_timeout" not in left.stderr, "the CLI speaks of its options, not of Python keywords"
    alone = invoke("run", "--vm", DEMO_VM, "--terminate-on-timeout", "/bin/true")
    assert alone.exit_code == 2
    assert "--terminate-on-timeout needs --timeout" in alone.stderr


def test_an_error_is_one_clear_line_with_its_type_and_message_and_exit_125() -> None:
    result = invoke("run", "--vm", "vm-999", "/bin/true")
    assert result.exit_code == 125
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: NotFound (directories.create_temporary on vm-999): The virtual machine vm-999 was not found."
    ]
    assert "Traceback" not in result.stderr


def test_debug_adds_the_traceback_and_the_requests() -> None:
    result = invoke("run", "--vm", "vm-999", "--debug", "/bin/true")
    assert result.exit_code == 125
    assert "Traceback (most recent call last)" in result.stderr
    assert "HTTP Request: POST" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: NotFound")


def test_run_on_many_vms_prints_a_summary_table_and_exits_0_when_all_exit_0() -> None:
    # Captured, stdout is the programs' output alone: the table goes to stderr.
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--no-prefix", "/bin/echo", "hi")
    assert result.exit_code == 0
    assert result.stdout == "hi\nhi\n"
    assert "2 VMs" in result.stderr
    assert "vm-50" in result.stderr
    assert "2 exited 0, 0 exited non-zero, 0 could not run it" in result.stderr
    # Uncaptured, the table is the output.
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--no-capture", "/bin/true")
    assert result.exit_code == 0
    assert "2 exited 0, 0 exited non-zero, 0 could not run it" in result.stdout


def test_run_on_many_vms_says_on_stderr_which_stream_was_cut_at_max_output(tmp_path: Any) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run", "--vm", DEMO_VM, "--vm", "vm-50", "--max-output", "5", "--output-dir", str(out), "/bin/echo", "hello"
    )
    assert result.exit_code == 0
    assert (out / f"{DEMO_VM}.stdout").read_bytes() == b"hello"
    assert f"warning: {DEMO_VM}: stdout was cut at 5 bytes (--max-output)" in result.stderr
    assert "warning: vm-50: stdout was cut at 5 bytes" in result.stderr
    assert "stderr was cut" not in result.stderr


def test_run_output_dir_that_cannot_be_made_fails_before_running_and_unwritable_files_are_said(
    tmp_path: Any,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--output-dir", str(blocker / "sub"), "/bin/true")
    assert result.exit_code == 2, "bad local input, like a LOCAL file upload cannot read"
    assert f"cannot make {blocker / 'sub'}" in result.stderr
    assert "Traceback" not in result.stderr
    out = tmp_path / "out"
    (out / f"{DEMO_VM}.stdout").mkdir(parents=True)  # a directory where the file should go
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "--output-dir", str(out), "/bin/cat", "/etc/hostname")
    assert result.exit_code == 1
    assert f"error: cannot write {out / (DEMO_VM + '.stdout')}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "vm-50.stdout").read_text() == "demo-solaris\n"  # the others are still written
    assert "2 exited 0" in result.stderr


def test_run_on_many_vms_exits_1_when_a_program_failed_and_125_when_a_vm_could_not_run_it() -> None:
    assert invoke("run", "--vm", DEMO_VM, "--vm", "vm-50", "/bin/false").exit_code == 1
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-44", "/bin/true")
    assert result.exit_code == 125
    assert "NotAllowedInCurrentState" in result.stderr


def test_run_on_many_vms_as_json_lists_outcomes_in_the_order_given() -> None:
    vms = ["vm-50", "vm-999", DEMO_VM, "vm-44"]
    args = [arg for vm in vms for arg in ("--vm", vm)]
    result = invoke("run", *args, "--json", "/bin/true")
    data = json.loads(result.stdout)
    assert [d["vm"] for d in data] == vms
    assert [("error" in d) for d in data] == [False, True, False, True]
    assert data[1]["error"]["error_type"] == "NOT_FOUND"


def test_ps_lists_the_guests_processes() -> None:
    result = invoke("ps", "--vm", DEMO_VM)
    assert result.exit_code == 0
    assert "vmtoolsd" in result.stdout
    assert "612" in result.stdout
    (data,) = json.loads(invoke("ps", "--vm", DEMO_VM, "--json").stdout)
    assert data["vm"] == DEMO_VM
    assert {p["pid"] for p in data["processes"]} >= {1, 612}
    assert "1 processes" not in invoke("ps", "--vm", "vm-43").stdout


def test_kill_terminates_and_reports_an_unknown_pid_as_not_found() -> None:
    result = invoke("kill", "--vm", DEMO_VM, "612")
    assert result.exit_code == 0
    assert "612" in result.stdout
    assert "terminated process 612" in result.stdout
    (record,) = json.loads(invoke("kill", "--vm", DEMO_VM, "--json", "612").stdout)
    assert record["outcome"] == "terminated"
    missing = invoke("kill", "--vm", DEMO_VM, "99999")
    assert missing.exit_code == 1
    assert "no process 99999" in missing.stderr
    huge = invoke("kill", "--vm", DEMO_VM, "99999999999999999999")
    assert huge.exit_code == 2, "a pid beyond int64 is refused before anything is sent"


def test_commands_work_against_a_server_given_by_the_environment(served_env: dict[str, str]) -> None:
    result = invoke("run", "--vm", DEMO_VM, "/opt/app/exit", "9", env=served_env)
    assert result.exit_code == 9
    assert "embedded mock" not in result.stderr
    assert invoke("ps", "--vm", DEMO_VM, "--json", env=served_env).exit_code == 0


def test_a_missing_password_without_a_terminal_names_the_variable_to_set(served_env: dict[str, str]) -> None:
    env = {k: v for k, v in served_env.items() if k != "VCENTER_PASSWORD"}
    result = invoke("ps", "--vm", DEMO_VM, env=env)
    assert result.exit_code == 2
    assert "VCENTER_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_passwords_are_prompted_for_on_a_terminal_without_echo(
    served_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vcenter_guest.cli import _common

    monkeypatch.setattr(_common, "_interactive", lambda: True)
    env = {k: v for k, v in served_env.items() if "PASSWORD" not in k}
    result = invoke("run", "--vm", DEMO_VM, "/bin/true", env=env, input=f"{DEMO_API_PASSWORD}\n{DEMO_GUEST_PASSWORD}\n")
    assert result.exit_code == 0, result.stderr
    assert DEMO_API_PASSWORD not in result.output
    assert DEMO_GUEST_PASSWORD not in result.output


def test_secrets_cannot_be_given_as_options() -> None:
    for option in ("--password", "--guest-password"):
        result = CliRunner().invoke(main, ["run", "--vm", DEMO_VM, option, "x", "/bin/true"])
        assert result.exit_code == 2


def test_no_secret_is_printed_even_with_debug_on_errors(served_env: dict[str, str]) -> None:
    env = served_env | {"VCENTER_GUEST_PASSWORD": "Wrong-Guest-Pw-1"}
    result = invoke("run", "--vm", DEMO_VM, "--debug", "/bin/true", env=env)
    assert result.exit_code == 125
    assert "Unauthenticated" in result.stderr
    for secret in (DEMO_API_PASSWORD, "Wrong-Guest-Pw-1"):
        assert secret not in result.output


def test_a_wrong_api_password_is_one_line(served_env: dict[str, str]) -> None:
    result = invoke("ps", "--vm", DEMO_VM, env=served_env | {"VCENTER_PASSWORD": "nope-nope"})
    assert result.exit_code == 125
    assert "error: Unauthenticated (session.create)" in result.stderr
    assert "nope-nope" not in result.output


def test_an_unreachable_server_is_one_line_saying_nothing_was_sent(served_env: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = invoke(
        "ps", "--vm", DEMO_VM, "--attempts", "2", env=served_env | {"VCENTER_URL": f"http://127.0.0.1:{port}"}
    )
    assert result.exit_code == 125
    assert "RequestNotSent" in result.stderr
    assert "not sent" in result.stderr


def test_a_bad_server_url_is_a_usage_error(served_env: dict[str, str]) -> None:
    result = invoke("ps", "--vm", DEMO_VM, "--server", "ftp://x", env=served_env)
    assert result.exit_code == 2
    assert "http:// or https://" in result.stderr


def test_saml_token_from_the_environment_is_used_for_the_guest(served_env: dict[str, str]) -> None:
    env: dict[str, Any] = {k: v for k, v in served_env.items() if not k.startswith("VCENTER_GUEST")}
    env["VCENTER_GUEST_SAML_TOKEN"] = "token-svc"
    result = invoke("run", "--vm", DEMO_VM, "--json", "/bin/true", env=env)
    assert result.exit_code == 0, result.stderr
    assert "token-svc" not in result.output


def test_attempts_bounds_the_retries_of_a_transient_fault() -> None:
    once = invoke("run", "--vm", "vm-47", "--attempts", "1", "--debug", "/bin/true")
    assert once.exit_code == 125
    assert "ResourceBusy" in once.stderr
    assert "retrying in" not in once.stderr
    twice = invoke("run", "--vm", "vm-47", "--attempts", "2", "--debug", "/bin/true")
    assert twice.stderr.count("retrying in") == 1


def test_vm_takes_a_name_that_is_looked_up() -> None:
    assert invoke("run", "--vm", "demo-linux", "/bin/cat", "/etc/hostname").stdout == "demo-linux\n"
    assert "vmtoolsd" in invoke("ps", "--vm", "demo-linux").stdout
    missing = invoke("run", "--vm", "no-such-vm", "/bin/true")
    assert missing.exit_code == 125
    assert "no virtual machine is named 'no-such-vm'" in missing.stderr


def test_wait_ready_waits_for_the_guest_and_gives_up_with_125() -> None:
    assert invoke("run", "--vm", DEMO_VM, "--wait-ready", "5", "/bin/true").exit_code == 0
    result = invoke("run", "--vm", "vm-44", "--wait-ready", "0.3", "/bin/true")  # powered off
    assert result.exit_code == 125
    assert "TimedOut" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("run", "--vm", DEMO_VM, "--terminate-on-timeout", "/bin/true"),
        ("script", "--vm", DEMO_VM, "--terminate-on-timeout", "-"),
        ("wait", "--vm", DEMO_VM, "--terminate-on-timeout", "1001"),
    ],
    ids=["run", "script", "wait"],
)
def test_terminate_on_timeout_without_a_timeout_exits_2_on_every_command_that_takes_it(
    command: tuple[str, ...],
) -> None:
    result = invoke(*command)
    assert result.exit_code == 2, result.stderr
    assert "--terminate-on-timeout needs --timeout SECONDS" in result.stderr


def test_download_to_stdout_refuses_json_which_would_share_it() -> None:
    result = invoke("--json", "download", "--vm", DEMO_VM, "/etc/hostname", "-")
    assert result.exit_code == 2
    assert "--json and - both want stdout" in result.stderr
    assert "demo-linux" not in result.stdout


def test_a_reader_that_goes_away_ends_the_command_quietly_not_as_an_internal_error() -> None:
    # `vcenter-guest run ... | head -c1`: the pipe's reader closes after one byte of 200,000.
    code = "from vcenter_guest.cli import main; main()"
    args = ["--mock", "run", "--vm", DEMO_VM, "--", "/bin/printf", "%0200000d", "0"]
    reader_gone = subprocess.run(
        f'{shlex.join([sys.executable, "-c", code, *args])} | head -c1 >/dev/null; echo "${{PIPESTATUS[0]}}" >&2',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "internal error" not in reader_gone.stderr
    assert "Traceback" not in reader_gone.stderr
    assert reader_gone.stderr.strip().splitlines()[-1] == "1"
