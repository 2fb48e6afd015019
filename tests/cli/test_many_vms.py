"""Commands other than `run` given many `--vm` follow `run`'s conventions (cli/_many.py): each VM's
output in VM order (prefixed by the VM with --prefix, as on a terminal), a summary table on stderr,
--json a list with one object per VM (an error object for a VM that failed), --json-lines one line
per VM, and exit 0 / 125 (some VM could not do it) / 2 (each failure was bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main

POWERED_OFF = "vm-44"


def cli(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["--mock", *args], input=input, catch_exceptions=False)


def test_ls_in_two_vms_prints_each_vms_lines_prefixed_and_a_summary_on_stderr() -> None:
    result = cli("ls", "--vm", "vm-42", "--vm", "demo-solaris", "--prefix", "/var/log")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["vm-42: - 262144 app.log", "demo-solaris: - 262144 app.log"]
    assert "2 succeeded, 0 ended otherwise, 0 could not do it" in result.stderr


def test_without_a_terminal_the_lines_are_not_prefixed_unless_asked() -> None:
    result = cli("ls", "--vm", "vm-42", "--vm", "vm-50", "/var/log")
    assert result.stdout.splitlines() == ["- 262144 app.log", "- 262144 app.log"]


def test_a_vm_that_cannot_do_it_is_named_in_the_json_and_the_exit_is_125() -> None:
    result = cli("mkdir", "--vm", "vm-42", "--vm", POWERED_OFF, "--json", "/tmp/new")
    assert result.exit_code == 125
    ok, failed = json.loads(result.stdout)
    assert (ok["vm"], ok["made"]) == ("vm-42", True)
    assert failed["vm"] == POWERED_OFF
    assert failed["error"]["type"] == "NotAllowedInCurrentState"


def test_json_lines_prints_one_line_per_vm() -> None:
    result = cli("start", "--vm", "vm-42", "--vm", "vm-50", "--vm", POWERED_OFF, "--json-lines", "/bin/true")
    assert result.exit_code == 125
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["vm"] for r in records) == sorted(["vm-42", "vm-50", POWERED_OFF])
    assert {r["vm"] for r in records if "pid" in r} == {"vm-42", "vm-50"}


def test_the_same_vm_twice_works_once() -> None:
    result = cli("start", "--vm", "vm-42", "--vm", "vm-42", "--json", "/bin/true")
    assert [r["vm"] for r in json.loads(result.stdout)] == ["vm-42"]


def test_bad_input_in_every_vm_exits_2_and_says_so_per_vm() -> None:
    result = cli("rm", "--vm", "vm-42", "--vm", "vm-50", "--json", "/var/log")
    assert result.exit_code == 2
    assert [r["error"]["type"] for r in json.loads(result.stdout)] == ["UsageError", "UsageError"]


def test_upload_copies_a_local_file_into_each_vm(tmp_path: Path) -> None:
    local = tmp_path / "f.txt"
    local.write_bytes(b"hello\n")
    result = cli("upload", "--vm", "vm-42", "--vm", "vm-50", "--json", str(local), "/tmp/f.txt")
    assert result.exit_code == 0, result.stderr
    assert [(r["vm"], r["bytes"]) for r in json.loads(result.stdout)] == [("vm-42", 6), ("vm-50", 6)]


def test_script_runs_in_each_vm_with_runs_output_and_exit_codes(tmp_path: Path) -> None:
    local = tmp_path / "job.sh"
    local.write_text("cat /etc/hostname\nexit 3\n", encoding="utf-8")
    result = cli("script", "--vm", "vm-42", "--vm", "vm-50", "--prefix", str(local))
    assert result.exit_code == 1, "as run: 1 when some script exited otherwise than 0"
    assert result.stdout.splitlines() == ["vm-42: demo-linux", "vm-50: demo-solaris"]
    (first, second) = json.loads(cli("script", "--vm", "vm-42", "--vm", "vm-50", "--json", str(local)).stdout)
    assert (first["exit_code"], second["stdout"]) == (3, "demo-solaris\n")


@pytest.mark.parametrize("command", [["kill", "612"], ["wait", "612"], ["ps"], ["download", "/etc/hostname"]])
def test_a_command_of_one_vm_refuses_a_second_saying_why(command: list[str]) -> None:
    result = cli(command[0], "--vm", "vm-42", "--vm", "vm-50", *command[1:])
    assert result.exit_code == 2
    assert f"{command[0]} takes one --vm (vm-42, vm-50 given): " in result.stderr


def test_script_in_many_vms_writes_each_vms_output_into_output_dir_as_run_does(tmp_path: Path) -> None:
    local = tmp_path / "job.sh"
    local.write_text("cat /etc/hostname\necho oops >&2\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("script", "--vm", "vm-42", "--vm", "vm-50", "--output-dir", str(out), "--max-output", "4", str(local))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert (out / "vm-42.stdout").read_bytes() == b"demo"
    assert (out / "vm-50.stderr").read_bytes() == b"oops"
    assert "vm-42: stdout was cut at 4 bytes (--max-output)" in result.stderr


def test_script_in_one_vm_refuses_output_dir_as_run_does(tmp_path: Path) -> None:
    local = tmp_path / "job.sh"
    local.write_text("true\n", encoding="utf-8")
    result = cli("script", "--vm", "vm-42", "--output-dir", str(tmp_path / "out"), str(local))
    assert result.exit_code == 2
    assert "--output-dir is for many VMs" in result.stderr
