"""The commands a govc user expects under govc's names (`start`, `mv`, `mktemp`, `chmod`, `chown`,
`touch`) and `download`'s refusal to replace a local file, on the embedded mock (`--mock`: its state
lasts one invocation, so each test does its work in one command or checks what one command says)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from vcenter_guest import Client, Credentials
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM, serve

CREDS = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


def cli(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["--mock", *args], input=input, catch_exceptions=False)


def assert_one_error_line(result: Result, words: str) -> None:
    """A bad command line: click's usage lines, then one error line holding `words`; no traceback."""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("Error:", "error:"))]
    assert len(errors) == 1, result.stderr
    assert words in errors[0]


def test_download_refuses_to_replace_a_local_file_without_force(tmp_path: Path) -> None:
    local = tmp_path / "os-release"
    local.write_bytes(b"mine\n")
    refused = cli("download", "--vm", DEMO_VM, "/etc/os-release", str(local))
    assert refused.exit_code == 2
    assert_one_error_line(refused, "exists: pass --force to replace it")
    assert local.read_bytes() == b"mine\n"
    forced = cli("download", "--vm", DEMO_VM, "--force", "/etc/os-release", str(local))
    assert forced.exit_code == 0, forced.stderr
    assert local.read_bytes().startswith(b"PRETTY_NAME=")


def test_download_into_a_directory_refuses_to_replace_the_file_of_that_name_there(tmp_path: Path) -> None:
    (tmp_path / "hostname").write_bytes(b"mine\n")
    refused = cli("download", "--vm", DEMO_VM, "/etc/hostname", str(tmp_path))
    assert refused.exit_code == 2
    assert (tmp_path / "hostname").read_bytes() == b"mine\n"
    assert cli("download", "--vm", DEMO_VM, "-f", "/etc/hostname", str(tmp_path)).exit_code == 0
    assert (tmp_path / "hostname").read_bytes() == b"demo-linux\n"


def test_download_to_a_new_local_file_needs_no_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("download", "--vm", DEMO_VM, "/etc/hostname").exit_code == 0
    assert (tmp_path / "hostname").read_bytes() == b"demo-linux\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A served mock: its state lasts across the commands of a test (and the module)."""
    with serve() as served:
        yield served


def served(url: str, *args: str) -> Result:
    env = {
        "VCENTER_URL": url,
        "VCENTER_USER": DEMO_API_USER,
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def client(url: str) -> Client:
    return Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD)


def test_start_prints_the_pid_at_once_and_leaves_the_program_running(url: str) -> None:
    started = served(url, "start", "--vm", DEMO_VM, "/opt/app/stuck", "it's", "a b")
    assert started.exit_code == 0, started.stderr
    pid = int(started.stdout)
    with client(url) as vc:
        info = vc.processes.get(DEMO_VM, CREDS, pid)
        from_python = vc.processes.start(DEMO_VM, CREDS, "/opt/app/stuck", "it's", "a b")
        assert vc.processes.get(DEMO_VM, CREDS, from_python).command == info.command, "the CLI's start is the API's"
    assert info.exit_code is None, "start does not wait for the program"
    assert info.command == """"/opt/app/stuck" 'it'"'"'s' 'a b'""", "each ARG quoted as run quotes it"
    (shown,) = json.loads(served(url, "start", "--vm", DEMO_VM, "--json", "/bin/true").stdout)
    assert set(shown) == {"server", "vm", "pid"}
    assert shown["pid"] > pid


def test_start_raw_passes_the_arguments_verbatim_as_govc_does(url: str) -> None:
    started = served(url, "start", "--vm", DEMO_VM, "--raw", "/opt/app/stuck", "$HOME", ">", "/dev/null")
    with client(url) as vc:
        assert vc.processes.get(DEMO_VM, CREDS, int(started.stdout)).command == '"/opt/app/stuck" $HOME > /dev/null'


def test_mv_moves_files_and_directories_and_replaces_a_file_only_with_overwrite(url: str) -> None:
    assert served(url, "mkdir", "--vm", DEMO_VM, "-p", "/tmp/mv/dir").exit_code == 0
    assert served(url, "touch", "--vm", DEMO_VM, "/tmp/mv/a").exit_code == 0
    assert served(url, "touch", "--vm", DEMO_VM, "/tmp/mv/b").exit_code == 0
    refused = served(url, "mv", "--vm", DEMO_VM, "/tmp/mv/a", "/tmp/mv/b")
    assert refused.exit_code == 125
    assert "AlreadyExists" in refused.stderr
    assert served(url, "mv", "--vm", DEMO_VM, "-n", "/tmp/mv/a", "/tmp/mv/b").exit_code == 125
    assert served(url, "mv", "--vm", DEMO_VM, "--overwrite", "/tmp/mv/a", "/tmp/mv/b").exit_code == 0
    assert served(url, "mv", "--vm", DEMO_VM, "/tmp/mv/dir", "/tmp/mv/moved").exit_code == 0
    with client(url) as vc:
        names = {(f.filename, f.type) for f in vc.files.list(DEMO_VM, CREDS, "/tmp/mv")}
    assert names == {("b", "FILE"), ("moved", "DIRECTORY")}


def test_mktemp_prints_the_path_of_a_new_private_file_or_directory(url: str) -> None:
    made = served(url, "mktemp", "--vm", DEMO_VM, "-t", "job-", "-s", ".txt")
    directory = served(url, "mktemp", "--vm", DEMO_VM, "-d", "-p", "/var/log")
    assert made.exit_code == 0
    assert directory.exit_code == 0
    path, folder = made.stdout.strip(), directory.stdout.strip()
    assert path.startswith("/tmp/job-")
    assert path.endswith(".txt")
    assert folder.startswith("/var/log/vcenter-guest-")
    with client(url) as vc:
        assert vc.files.stat(DEMO_VM, CREDS, path).type == "FILE"
        assert vc.files.stat(DEMO_VM, CREDS, folder).type == "DIRECTORY"
        assert vc.files.stat(DEMO_VM, CREDS, path).permissions == "600"


def test_chmod_and_chown_change_a_files_mode_and_ids(url: str) -> None:
    assert served(url, "touch", "--vm", DEMO_VM, "/tmp/owned").exit_code == 0
    assert served(url, "chmod", "--vm", DEMO_VM, "0751", "/tmp/owned").exit_code == 0
    assert served(url, "chown", "--vm", DEMO_VM, "1000:1001", "/tmp/owned").exit_code == 0
    assert served(url, "chown", "--vm", DEMO_VM, ":1002", "/tmp/owned").exit_code == 0
    with client(url) as vc:
        info = vc.files.stat(DEMO_VM, CREDS, "/tmp/owned")
    assert (info.permissions, info.owner, info.group) == ("751", 1000, 1002)


def test_touch_makes_a_missing_file_unless_c_and_sets_the_time_asked_for(url: str) -> None:
    missing = served(url, "touch", "--vm", DEMO_VM, "-c", "/tmp/touched")
    assert missing.exit_code == 125
    assert "NotFound" in missing.stderr
    assert served(url, "touch", "--vm", DEMO_VM, "-d", "2020-02-03T04:05:06Z", "/tmp/touched").exit_code == 0
    assert served(url, "touch", "--vm", DEMO_VM, "-a", "-d", "@1000000000", "/tmp/touched").exit_code == 0
    with client(url) as vc:
        info = vc.files.stat(DEMO_VM, CREDS, "/tmp/touched")
    assert info.size == 0
    assert info.last_modified == datetime.datetime(2020, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
    assert info.last_accessed == datetime.datetime.fromtimestamp(1000000000, tz=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["chmod", "--vm", DEMO_VM, "u+x", "/tmp/f"], "is not an octal mode"),
        (["chmod", "--vm", DEMO_VM, "0999", "/tmp/f"], "is not an octal mode"),
        (["chown", "--vm", DEMO_VM, "root", "/tmp/f"], "is not a numeric UID"),
        (["chown", "--vm", DEMO_VM, "1000:staff", "/tmp/f"], "is not a numeric GID"),
        (["chown", "--vm", DEMO_VM, ":", "/tmp/f"], "give UID, UID:GID or :GID"),
        (["touch", "--vm", DEMO_VM, "-d", "yesterday", "/tmp/f"], "is not a date"),
        (["mv", "--vm", DEMO_VM, "--overwrite", "-n", "/tmp/a", "/tmp/b"], "contradict each other"),
        (["upload", "--vm", DEMO_VM, "--vm", "vm-50", "-", "/tmp/f"], "stdin (-) can be read once"),
    ],
)
def test_bad_input_to_the_new_commands_is_one_error_line_and_exit_2(args: list[str], words: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert_one_error_line(result, words)


WINDOWS_VM = "vm-43"


def test_the_new_commands_work_on_a_windows_guest(url: str) -> None:
    started = served(url, "start", "--vm", WINDOWS_VM, "C:\\Tools\\argv.exe", 'a "b"', "50%")
    assert started.exit_code == 0, started.stderr
    folder = served(url, "mktemp", "--vm", WINDOWS_VM, "-d").stdout.strip()
    assert served(url, "touch", "--vm", WINDOWS_VM, f"{folder}\\made.txt").exit_code == 0
    assert served(url, "mv", "--vm", WINDOWS_VM, f"{folder}\\made.txt", f"{folder}\\moved.txt").exit_code == 0
    refused = served(url, "chmod", "--vm", WINDOWS_VM, "644", f"{folder}\\moved.txt")
    assert refused.exit_code == 125, "POSIX modes do not fit a Windows guest: the server says so"
    with client(url) as vc:
        assert vc.processes.get(WINDOWS_VM, CREDS, int(started.stdout)).command == (
            '"C:\\Tools\\argv.exe" "a \\"b\\"" 50%'
        ), "quoted for CommandLineToArgvW, as run quotes a Windows program's arguments"
        assert [f.filename for f in vc.files.list(WINDOWS_VM, CREDS, folder)] == ["moved.txt"]
