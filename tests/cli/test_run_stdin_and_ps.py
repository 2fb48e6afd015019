"""`run --stdin` / `-d`, a program without a path, `--guest-os`, and `ps` into a pipe, on the embedded mock."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_VM


def invoke(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(main, ["--mock", *args], input=input, catch_exceptions=False)


def test_run_stdin_feeds_this_processs_stdin_to_the_program() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--stdin", "--", "/bin/cat", input=b"hi\x00\xff there\n")
    assert (result.exit_code, result.stdout_bytes) == (0, b"hi\x00\xff there\n")


def test_d_dash_is_stdin_and_d_data_is_the_data_as_govc_takes_them() -> None:
    assert invoke("run", "--vm", DEMO_VM, "-d", "-", "--", "/bin/cat", input="piped").stdout == "piped"
    assert invoke("run", "--vm", DEMO_VM, "-d", "given", "--", "/bin/cat", input="ignored").stdout == "given"


def test_stdin_on_many_vms_reaches_each_that_runs() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--vm", "vm-44", "--json", "--stdin", "/bin/cat", input="x")
    ran, stopped = json.loads(result.stdout)
    assert (ran["vm"], ran["stdout"], stopped["vm"]) == (DEMO_VM, "x", "vm-44")
    assert "error" in stopped


def test_stdin_without_capture_or_with_two_sources_is_a_usage_error() -> None:
    for args in (["--no-capture", "--stdin"], ["--stdin", "-d", "data"]):
        result = CliRunner().invoke(main, ["--mock", "run", "--vm", DEMO_VM, *args, "/bin/cat"], input="x")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_a_program_without_a_path_runs_through_the_shell_with_its_arguments_exact() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--", "printf", "[%s]", "a  b", "it's", "$HOME")
    assert (result.exit_code, result.stdout) == (0, "[a  b][it's][$HOME]")


def test_guest_os_linux_runs_as_without_it() -> None:
    result = invoke("run", "--vm", DEMO_VM, "--guest-os", "linux", "--", "/bin/sh", "-c", "echo out; exit 3")
    assert (result.exit_code, result.stdout) == (3, "out\n")


def test_ps_into_a_pipe_prints_one_tab_separated_line_per_process_with_the_users_command() -> None:
    runner = CliRunner()
    # One invocation of the mock holds both: run, then ps (the mock's state lasts one invocation).
    result = runner.invoke(main, ["--mock", "ps", "--vm", DEMO_VM], catch_exceptions=False)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert all(len(line.split("\t")) == 8 for line in lines), lines
    assert any(line.split("\t")[0] == "612" and line.endswith("/usr/bin/vmtoolsd") for line in lines)
    assert "┃" not in result.stdout
    assert "━" not in result.stdout


def test_ps_shows_a_captured_run_as_the_command_its_user_gave() -> None:
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, serve

    with serve() as url:
        env = {
            "VCENTER_URL": url,
            "VCENTER_USER": DEMO_API_USER,
            "VCENTER_PASSWORD": DEMO_API_PASSWORD,
            "VCENTER_GUEST_USER": DEMO_GUEST_USER,
            "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
        }
        runner = CliRunner()
        ran = runner.invoke(main, ["run", "--vm", DEMO_VM, "--", "/bin/echo", "from the user"], env=env)
        assert (ran.exit_code, ran.stdout) == (0, "from the user\n")
        listed = runner.invoke(main, ["ps", "--vm", DEMO_VM], env=env, catch_exceptions=False).stdout
    commands = [line.split("\t")[-1] for line in listed.splitlines()]
    assert "\"/bin/echo\" 'from the user'" in commands
    assert not any("stdout" in command for command in commands)


def test_ps_on_a_terminal_prints_the_box_table_with_its_title(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    runner = CliRunner()
    with runner.isolation() as (out, _err, _):
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        main(["--mock", "ps", "--vm", DEMO_VM], standalone_mode=False)
        text = out.getvalue().decode()
    assert f"{DEMO_VM}: " in text
    assert "processes" in text
    assert "┃" in text or "│" in text
    assert "612" in text
