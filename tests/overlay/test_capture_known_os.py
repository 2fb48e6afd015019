"""A captured run on a guest whose OS is known: the command line makes its run directory (4 exchanges),
and fails closed when it cannot; `stdin=`; a program named without a path; `user_command`.
"""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest
from vcenter_guest import AsyncClient, Credentials, errors, user_command
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM, Simulator, create_app

from .test_capture import RUN_PREFIX, Counting, _leftovers

WINDOWS_VM = "vm-43"
ROOT = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}


def _counted(runs: list[dict[str, Any]]) -> list[int]:
    """The exchanges (besides login and polls) of each of `runs` (keywords of `run`), one client."""
    app = create_app()
    counting = Counting(app)
    counts: list[int] = []

    async def main() -> None:
        async with AsyncClient(
            "http://mock.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=counting
        ) as vc:
            guest = Credentials.password("root", "vmware")
            for run in runs:
                counting.seen.clear()
                vm, program, *args = run.pop("argv")
                result = await vc.processes.run(vm, guest, program, *args, **run)
                assert result.exit_code == 0, result
                counts.append(counting.exchanges())

    anyio.run(main)
    assert _leftovers(app) == []
    return counts


def test_a_captured_run_on_a_posix_guest_the_caller_names_takes_four_exchanges() -> None:
    # create, transfer + GET of stdout, delete: the line made the run directory
    assert _counted([{"argv": [DEMO_VM, "/bin/echo", "hi"], "guest_os": "linux"}]) == [4]


def test_the_os_is_learnt_once_per_vm_so_the_second_run_takes_four_exchanges() -> None:
    runs = [{"argv": [DEMO_VM, "/bin/echo", "hi"]} for _ in range(3)]
    assert _counted(runs) == [5, 4, 4]


def test_stderr_adds_its_transfer_and_a_windows_guest_learns_its_temporary_directory_first() -> None:
    runs = [
        {"argv": [DEMO_VM, "/bin/sh", "-c", "echo err >&2"], "guest_os": "LINUX"},
        # the caller's word is not enough on Windows: the user's temporary directory is learnt first
        {"argv": [WINDOWS_VM, "C:\\Tools\\argv.exe", "x"], "guest_os": "windows"},
        {"argv": [WINDOWS_VM, "C:\\Tools\\argv.exe", "x"]},  # then cmd makes it: stdout, stderr, delete
    ]
    assert _counted(runs) == [6, 7, 6]


def test_output_exit_codes_and_verbatim_lines_come_back_when_the_line_makes_its_directory(
    server: Any, guest: Credentials
) -> None:
    with server.client() as vc:
        run = vc.processes.run
        both = run(DEMO_VM, guest, "/bin/sh", "-c", "echo out; echo err >&2; exit 3", guest_os="linux")
        assert (both.exit_code, both.stdout, both.stderr) == (3, b"out\n", b"err\n")
        # 125 is what a line says when mkdir failed: a program's own 125 is still its exit code
        assert run(DEMO_VM, guest, "/bin/sh", "-c", "exit 125", guest_os="linux").exit_code == 125
        assert run(DEMO_VM, guest, "/bin/sh", "-c", "exit 124", guest_os="linux").exit_code == 124
        verbatim = run(DEMO_VM, guest, "/bin/echo", arguments="a; /bin/echo b >&2 && exit 4", guest_os="linux")
        assert (verbatim.stdout, verbatim.stderr, verbatim.exit_code) == (b"a\n", b"b\n", 4)
        with pytest.raises(errors.ProcessTimeout):
            run(DEMO_VM, guest, "/bin/sleep", "60", timeout=1, terminate_on_timeout=True, guest_os="linux")
    assert _leftovers(server.app) == []


@pytest.mark.parametrize("planted", ["directory", "symlink"])
def test_when_the_run_directory_is_there_already_nothing_runs_and_nothing_is_read_or_deleted(
    in_process_server: Any, guest: Credentials, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    """Someone made the directory's name first (as one who read the line in the process table could):
    the line's mkdir fails, the program never runs, the client reads and deletes nothing."""
    from vcenter_guest._services import capture
    from vcenter_guest.mock._nodes import Account

    name = f"{RUN_PREFIX}0123456789abcdef-"
    monkeypatch.setattr(capture, "claim_prefix", lambda prefix: name)
    sim: Simulator = in_process_server.app.state.simulator
    other = Account("mallory", 4242, False, "/tmp")
    with in_process_server.client() as vc:
        vc.files.mkdir(DEMO_VM, guest, "/root/victim")
        fs = sim._vms[DEMO_VM].fs
        assert fs is not None
        vc.files.upload(DEMO_VM, guest, b"keep", "/root/victim/precious")
        if planted == "directory":
            fs.make_directory(f"/tmp/{name}", other, mode=0o777)
            fs.write_file(f"/tmp/{name}/stdout", b"forged\n", other, overwrite=False, mode=0o666)
        else:
            fs.symlink(f"/tmp/{name}", "/root/victim", other)
        with pytest.raises(errors.ProcessError, match="could not be made") as caught:
            vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", "echo ran >/root/ran", guest_os="linux")
        assert type(caught.value) is errors.ProcessError
        assert vc.files.download(DEMO_VM, guest, "/root/victim/precious") == b"keep"
        with pytest.raises(errors.NotFound):
            vc.files.stat(DEMO_VM, guest, "/root/ran")
        assert vc.files.stat(DEMO_VM, guest, f"/tmp/{name}").type == (
            "DIRECTORY" if planted == "directory" else "SYMLINK"
        )
        if planted == "directory":
            assert vc.files.download(DEMO_VM, guest, f"/tmp/{name}/stdout") == b"forged\n"


def test_stdin_bytes_or_a_file_object_is_what_the_program_reads(server: Any, guest: Credentials) -> None:
    data = bytes(range(256)) * 300
    with server.client() as vc:
        assert vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"hi\n").stdout == b"hi\n"
        assert vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=io.BytesIO(data)).stdout == data
        known = vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"known", guest_os="linux")
        assert known.stdout == b"known"
        windows = vc.processes.run(WINDOWS_VM, guest, "C:\\Windows\\System32\\cmd.exe", "/c", "type con", stdin=b"x")
        assert windows.exit_code is not None
        with pytest.raises(errors.UsageError, match="need capture=True"):
            vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"x", capture=False)
        with pytest.raises(errors.UsageError, match="stdin must be bytes"):
            vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin="text")  # type: ignore[typeddict-item]
    assert _leftovers(server.app) == []


def test_a_program_without_a_path_runs_through_the_guests_shell_with_its_arguments_exact(
    server: Any, guest: Credentials
) -> None:
    args = ["a  b", "it's", "$HOME", "`x`", "*"]
    with server.client() as vc:
        unknown = vc.processes.run(DEMO_VM, guest, "printf", "[%s]", *args)
        known = vc.processes.run(DEMO_VM, guest, "printf", "[%s]", *args, guest_os="linux")
        uncaptured = vc.processes.run(DEMO_VM, guest, "true", capture=False)
    expected = "".join(f"[{a}]" for a in args).encode()
    assert (unknown.stdout, known.stdout, uncaptured.exit_code) == (expected, expected, 0)


def test_user_command_reads_back_the_command_the_user_gave_from_every_captured_line(
    server: Any, guest: Credentials
) -> None:
    with server.client() as vc:
        vc.processes.run(DEMO_VM, guest, "/bin/echo", "a b")  # the server's directory
        vc.processes.run(DEMO_VM, guest, "/bin/echo", "c")  # the line's own
        vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="d; e")
        vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"f")
        vc.processes.run(WINDOWS_VM, guest, "C:\\Tools\\argv.exe", "g h")
        posix = [p.command for p in vc.processes.list(DEMO_VM, guest)[-4:]]
        windows = vc.processes.list(WINDOWS_VM, guest)[-1].command
    assert [user_command(c) for c in posix] == ["\"/bin/echo\" 'a b'", '"/bin/echo" c', "/bin/echo d; e", '"/bin/cat"']
    assert user_command(windows) == 'C:\\Tools\\argv.exe "g h"'
    assert user_command('"/usr/sbin/sshd" -D >/tmp/x') == '"/usr/sbin/sshd" -D >/tmp/x'


def test_a_program_without_a_path_on_a_windows_guest_runs_through_cmd(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        captured = vc.processes.run(WINDOWS_VM, guest, "timeout", "0")
        uncaptured = vc.processes.run(WINDOWS_VM, guest, "timeout", "0", capture=False, guest_os="windows")
        names = [user_command(p.command) for p in vc.processes.list(WINDOWS_VM, guest)[-2:]]
    assert (captured.exit_code, uncaptured.exit_code) == (0, 0)
    assert names == ["timeout 0", '"C:\\Windows\\System32\\cmd.exe" /d /s /c "timeout 0"']


def test_a_keyword_a_run_method_does_not_take_is_pythons_type_error_before_anything_is_sent(
    in_process_server: Any, guest: Credentials
) -> None:
    with in_process_server.client() as vc:
        before = len(vc.processes.list(DEMO_VM, guest))
        for call, message in (
            (lambda: vc.processes.run(DEMO_VM, guest, "/bin/true", colour=True), r"^run\(\) got an unexpected keyword"),
            (lambda: vc.processes.run_script(DEMO_VM, guest, "true", capture=False), r"^run_script\(\) got an"),
            (lambda: vc.processes.run(DEMO_VM, guest, "/bin/true", guest_os="beos"), "guest_os must be one of"),
        ):
            with pytest.raises((TypeError, errors.UsageError), match=message):
                call()
        assert len(vc.processes.list(DEMO_VM, guest)) == before  # nothing was started

    async def many() -> None:
        async with in_process_server.async_client() as avc:
            with pytest.raises(TypeError, match="run_many"):
                await avc.processes.run_many([DEMO_VM], guest, "/bin/true", stdout=io.BytesIO())
            with pytest.raises(errors.UsageError, match="as bytes"):
                await avc.processes.run_many([DEMO_VM], guest, "/bin/cat", stdin=io.BytesIO(b"x"))

    anyio.run(many)


def test_on_windows_a_batch_files_exit_125_is_its_exit_code_and_its_directory_is_removed(
    server: Any, guest: Credentials
) -> None:
    """`exit 125` in a batch file ends cmd with 125, as the line's failed mkdir does: the client tells
    them apart by what the run directory is, and the program's code comes from the line's record."""
    batch = "C:\\Users\\root\\exit125.cmd"
    with server.client() as vc:
        vc.files.upload(WINDOWS_VM, guest, b"@echo before\r\n@exit 125\r\n", batch)
        first = vc.processes.run(WINDOWS_VM, guest, batch)  # the server's directory; the layout is learnt
        second = vc.processes.run(WINDOWS_VM, guest, batch)  # cmd makes the directory
        temp = "C:\\Users\\root\\AppData\\Local\\Temp"
        left = [f.name for f in vc.files.list(WINDOWS_VM, guest, temp) if f.name.startswith(RUN_PREFIX)]
    assert (first.exit_code, first.stdout) == (125, b"before\r\n")
    assert (second.exit_code, second.stdout) == (125, b"before\r\n")
    assert left == []
