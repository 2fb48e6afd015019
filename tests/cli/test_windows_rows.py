"""Each row of issue 27's table against a Windows guest of the mock (vm-43): it works, or it says in one
line why it cannot (POSIX modes and owners do not fit a Windows file: the server refuses them, as it
refuses govc's). Also `touch -d` in govc's date format (Go's time.UnixDate, what `date` prints).

A served mock, so that one command's work is seen by the next (`--mock` lasts one invocation)."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from vcenter_guest import Client, Credentials, user_command
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM, serve

WINDOWS_VM = "vm-43"
HOSTS = "C:\\Windows\\System32\\drivers\\etc\\hosts"
CREDS = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve() as served:
        yield served


def cli(url: str, *args: str, input: bytes | None = None) -> Result:
    env = {
        "VCENTER_URL": url,
        "VCENTER_USER": DEMO_API_USER,
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
    }
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def client(url: str) -> Client:
    return Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD)


def one_error_line(result: Result) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_run_of_a_program_without_a_path_goes_through_cmd_with_or_without_capture(url: str) -> None:
    """govc runs a name without a path through cmd.exe /c: Identity names the guest Windows, so the
    uncaptured run needs no --guest-os either."""
    captured = cli(url, "run", "--vm", WINDOWS_VM, "timeout", "0")
    uncaptured = cli(url, "run", "--vm", WINDOWS_VM, "--no-capture", "timeout", "0")
    assert (captured.exit_code, uncaptured.exit_code) == (0, 0), captured.stderr + uncaptured.stderr
    with client(url) as vc:
        commands = [p.command for p in vc.processes.list(WINDOWS_VM, CREDS)[-2:]]
    assert [user_command(c) for c in commands] == [
        "timeout 0",
        '"C:\\Windows\\System32\\cmd.exe" /d /s /c "timeout 0"',
    ]


def test_run_gives_a_windows_programs_output_arguments_and_exit_code(url: str) -> None:
    result = cli(url, "run", "--vm", WINDOWS_VM, "C:\\Tools\\argv.exe", 'a "b"', "50%", "x&y")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == ['a "b"', "50%", "x&y"]
    failed = cli(url, "run", "--vm", WINDOWS_VM, "C:\\Windows\\System32\\cmd.exe", "/c", "exit 3")
    assert failed.exit_code == 3


def test_start_prints_the_pid_and_ps_shows_it_in_one_tab_separated_line(url: str) -> None:
    started = cli(url, "start", "--vm", WINDOWS_VM, "C:\\Windows\\System32\\timeout.exe", "30")
    assert started.exit_code == 0, started.stderr
    pid = int(started.stdout)
    listed = cli(url, "ps", "--vm", WINDOWS_VM, "--pid", str(pid))
    assert listed.exit_code == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.split("\t")[0] == str(pid)
    # a backslash is written as two, so that `\t` and `\n` in a cell stay unambiguous (see `ps`)
    assert line.endswith('"C:\\\\Windows\\\\System32\\\\timeout.exe" 30')


def test_mktemp_mv_touch_and_download_work_on_windows_paths(url: str, tmp_path: Path) -> None:
    folder = cli(url, "mktemp", "--vm", WINDOWS_VM, "-d").stdout.strip()
    assert folder.startswith("C:\\Users\\root\\AppData\\Local\\Temp\\vcenter-guest-")
    made = cli(url, "mktemp", "--vm", WINDOWS_VM, "-p", folder, "-s", ".txt").stdout.strip()
    assert made.startswith(folder + "\\")
    assert made.endswith(".txt")
    assert cli(url, "touch", "--vm", WINDOWS_VM, f"{folder}\\new.txt").exit_code == 0
    moved = cli(url, "mv", "--vm", WINDOWS_VM, made, f"{folder}\\moved.txt")
    assert moved.exit_code == 0, moved.stderr
    local = tmp_path / "moved.txt"
    local.write_bytes(b"mine")
    refused = cli(url, "download", "--vm", WINDOWS_VM, f"{folder}\\moved.txt", str(local))
    assert refused.exit_code == 2
    assert local.read_bytes() == b"mine"
    assert cli(url, "download", "--vm", WINDOWS_VM, "-f", HOSTS, str(local)).exit_code == 0
    assert local.read_bytes() == b"127.0.0.1 localhost\r\n"
    with client(url) as vc:
        names = sorted(f.filename for f in vc.files.list(WINDOWS_VM, CREDS, folder))
    assert names == ["moved.txt", "new.txt"]


def test_touch_takes_govcs_date_format_on_windows_and_posix_guests(url: str) -> None:
    for vm, path in ((WINDOWS_VM, "C:\\Temp\\dated.txt"), (DEMO_VM, "/tmp/dated")):
        result = cli(url, "touch", "--vm", vm, "-d", "Thu Jan  1 12:34:56 UTC 2026", path)
        assert result.exit_code == 0, result.stderr
        accessed = cli(url, "touch", "--vm", vm, "-a", "-d", "Fri Jan  2 00:00:00 +0100 2026", path)
        assert accessed.exit_code == 0, accessed.stderr
        with client(url) as vc:
            info = vc.files.stat(vm, CREDS, path)
        assert info.last_modified == datetime.datetime(2026, 1, 1, 12, 34, 56, tzinfo=datetime.timezone.utc)
        assert info.last_accessed == datetime.datetime(2026, 1, 1, 23, 0, tzinfo=datetime.timezone.utc)


def test_touch_reads_govcs_date_in_this_machines_own_zone_and_refuses_an_unknown_one(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    try:
        local = cli(url, "touch", "--vm", WINDOWS_VM, "-d", "Thu Jan  1 01:00:00 CET 2026", "C:\\Temp\\cet.txt")
        unknown = cli(url, "touch", "--vm", WINDOWS_VM, "-d", "Thu Jan  1 01:00:00 PST 2026", "C:\\Temp\\pst.txt")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert local.exit_code == 0, local.stderr
    with client(url) as vc:
        info = vc.files.stat(WINDOWS_VM, CREDS, "C:\\Temp\\cet.txt")
    assert info.last_modified == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert unknown.exit_code == 2
    assert "the zone 'PST'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.parametrize(
    ("args", "what"),
    [(["chmod", "0600"], "no POSIX permissions"), (["chown", "1000:1000"], "no POSIX owner or group")],
)
def test_chmod_and_chown_on_a_windows_file_say_in_one_line_that_windows_has_no_posix_attributes(
    url: str, args: list[str], what: str
) -> None:
    with client(url) as vc:
        before = vc.files.stat(WINDOWS_VM, CREDS, HOSTS)
    result = cli(url, args[0], "--vm", WINDOWS_VM, args[1], HOSTS)
    assert result.exit_code == 125
    line = one_error_line(result)
    assert what in line
    assert "Windows guest" in line
    assert "nothing was changed" in line
    with client(url) as vc:
        assert vc.files.stat(WINDOWS_VM, CREDS, HOSTS) == before


def test_getenv_df_and_info_report_the_windows_guest(url: str) -> None:
    path = cli(url, "getenv", "--vm", WINDOWS_VM, "path")  # Windows names ignore case
    assert path.exit_code == 0, path.stderr
    assert path.stdout.startswith("Path=C:\\Windows")
    df = cli(url, "df", "--vm", WINDOWS_VM)
    assert df.exit_code == 0, df.stderr
    assert df.stdout.split("\t")[:2] == ["C:\\", "NTFS"]
    info = cli(url, "info", "--vm", WINDOWS_VM, "--json")
    assert info.exit_code == 0, info.stderr
    [record] = json.loads(info.stdout)
    assert record["guest_family"] == "WINDOWS"
    assert record["power_state"] == "POWERED_ON"


def test_power_reboot_waits_until_the_windows_guest_runs_programs_again() -> None:
    with serve() as own:
        rebooted = cli(own, "power", "--vm", WINDOWS_VM, "reboot", "--wait-ready", "30")
        assert rebooted.exit_code == 0, rebooted.stderr
        ran = cli(own, "run", "--vm", WINDOWS_VM, "timeout", "0")
        assert ran.exit_code == 0, ran.stderr
