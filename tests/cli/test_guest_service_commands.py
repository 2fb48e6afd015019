"""`vcenter-guest getenv`, `df`, `info` and `power` (issue 27) on the embedded mock and a served one:
many `--vm` with `run`'s conventions (tab-separated lines into a pipe, `--json`, `--json-lines`, exit
codes), POSIX and Windows guests, and every example of their `--help` runs on `--mock`."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, serve

COMMANDS = ["getenv", "df", "info", "power"]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    given = list(args) if env is not None else ["--mock", *args]
    return CliRunner().invoke(main, given, env=env, catch_exceptions=False)


def _examples(command: str) -> list[list[str]]:
    text = invoke(command, "--help", env={}).stdout
    return [shlex.split(line.strip())[1:] for line in text.splitlines() if line.strip().startswith("vcenter-guest ")]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_example_of_the_help_runs_on_the_mock(command: str) -> None:
    examples = _examples(command)
    assert examples, f"{command} --help shows no example"
    for example in examples:
        result = invoke(*example)
        assert result.exit_code == 0, f"{shlex.join(example)}: {result.stderr}"
        assert "Traceback" not in result.stderr


def test_getenv_prints_name_value_lines_and_the_vm_first_with_several() -> None:
    one = invoke("getenv", "--vm", "vm-42", "HOME", "LANG")
    assert (one.exit_code, one.stdout) == (0, "HOME=/root\nLANG=C.UTF-8\n")
    many = invoke("getenv", "--vm", "vm-42", "--vm", "demo-windows", "PATH")
    assert many.exit_code == 0, many.stderr
    lines = many.stdout.splitlines()
    assert lines[0].startswith("vm-42\tPATH=/usr/local/sbin")
    assert lines[1] == "demo-windows\tPath=C:\\Windows\\system32;C:\\Windows"


def test_getenv_without_names_prints_every_variable_and_exits_1_for_an_unset_one() -> None:
    everything = invoke("getenv", "--vm", "vm-42")
    assert "USER=root" in everything.stdout.splitlines()
    unset = invoke("getenv", "--vm", "vm-42", "HOME", "NOT_SET")
    assert (unset.exit_code, unset.stdout) == (1, "HOME=/root\n")
    assert "vm-42: NOT_SET is not set" in unset.stderr


def test_getenv_refuses_a_name_with_an_equals_sign() -> None:
    result = invoke("getenv", "--vm", "vm-42", "A=B")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_df_prints_tab_separated_bytes_into_a_pipe() -> None:
    result = invoke("df", "--vm", "vm-42", "--vm", "vm-43")
    assert result.exit_code == 0
    linux, windows = (line.split("\t") for line in result.stdout.splitlines())
    assert linux[:3] == ["vm-42", "/", "ext4"]
    assert windows[:3] == ["vm-43", "C:\\", "NTFS"]
    capacity, used, free = map(int, linux[3:6])
    assert capacity == used + free
    assert re.fullmatch(r"\d+%", linux[6])


def test_info_shows_power_tools_and_what_the_guest_is_and_only_the_vm_side_when_its_off() -> None:
    result = invoke("info", "--vm", "vm-42", "--vm", "vm-43", "--vm", "vm-44")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0][:5] == ["vm-42", "POWERED_ON", "RUNNING 12.5.0", "LINUX", "Debian GNU/Linux 12 (64-bit)"]
    assert rows[0][5] == "demo-linux"
    assert "192.0.2.44" in rows[0][6].split(",")
    assert rows[1][3] == "WINDOWS"
    assert rows[2][:3] == ["vm-44", "POWERED_OFF", "NOT_RUNNING 12.5.0"]
    assert rows[2][3:] == ["", "", "", ""]


def test_info_json_has_one_object_per_vm_and_names_the_error_of_an_unknown_one() -> None:
    result = invoke("info", "--vm", "vm-42", "--vm", "vm-404", "--json")
    assert result.exit_code == 125
    ok, missing = json.loads(result.stdout)
    assert (ok["vm"], ok["power_state"], ok["guest_family"], ok["host_name"]) == (
        "vm-42",
        "POWERED_ON",
        "LINUX",
        "demo-linux",
    )
    assert missing["vm"] == "vm-404"
    assert missing["error"]["error_type"] == "NOT_FOUND"


def test_power_json_lines_prints_one_line_per_vm() -> None:
    result = invoke("power", "suspend", "--vm", "vm-42", "--vm", "vm-43", "--json-lines")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["vm"], r["power_state"]) for r in records] == [("vm-42", "SUSPENDED"), ("vm-43", "SUSPENDED")]


def test_power_leaves_a_vm_already_in_the_state_and_says_so() -> None:
    result = invoke("power", "off", "--vm", "vm-44")
    assert (result.exit_code, result.stdout) == (0, "POWERED_OFF\talready powered off\n")


def test_power_reports_each_failing_vm_and_exits_125_while_the_others_are_done() -> None:
    result = invoke("power", "reset", "--vm", "vm-42", "--vm", "vm-44")
    assert result.exit_code == 125
    assert result.stdout == "vm-42\tPOWERED_ON\n"
    assert "vm-44: error: NotAllowedInCurrentState" in result.stderr


def test_power_on_with_wait_ready_lets_a_guest_operation_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("power", "on", "--vm", "vm-44", "--wait-ready", "30", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["power_state"] == "POWERED_ON"


@pytest.mark.parametrize(
    "args",
    [
        ["power", "off", "--vm", "vm-42", "--wait-ready", "10"],
        ["power", "sideways", "--vm", "vm-42"],
        ["power", "on"],
        ["df"],
    ],
)
def test_a_bad_command_line_is_one_line_and_exit_2(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_the_mock_lasts_one_invocation_so_a_powered_off_vm_is_on_again_next_time() -> None:
    assert invoke("power", "off", "--vm", "vm-42").exit_code == 0
    assert invoke("info", "--vm", "vm-42").stdout.startswith("POWERED_ON\t")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with serve() as url:
        yield url


def test_the_commands_work_against_a_served_mock_with_credentials_from_the_environment(served: str) -> None:
    env = {
        "VCENTER_URL": served,
        "VCENTER_USER": DEMO_API_USER,
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
    }
    assert invoke("getenv", "--vm", "demo-linux", "USER", env=env).stdout == "USER=root\n"
    assert invoke("power", "suspend", "--vm", "vm-50", env=env).stdout == "SUSPENDED\n"
    assert invoke("info", "--vm", "vm-50", env=env).stdout.startswith("SUSPENDED\t")
    assert invoke("power", "on", "--vm", "vm-50", "--wait-ready", "30", env=env).stdout == "POWERED_ON\n"
    assert invoke("df", "--vm", "vm-50", env=env).stdout.startswith("/\text4\t")
    assert DEMO_GUEST_PASSWORD not in invoke("getenv", "--vm", "vm-50", env=env).stdout


def test_on_a_terminal_the_results_are_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from vcenter_guest.cli import _guest

    monkeypatch.setattr(_guest, "_on_terminal", lambda: True)
    result = invoke("info", "--vm", "vm-42", "--vm", "vm-43")
    assert result.exit_code == 0
    assert "\t" not in result.stdout
    assert "demo-linux" in result.stdout
    assert "guest OS" in result.stdout
    df = invoke("df", "--vm", "vm-42")
    assert "512.0M" in df.stdout
