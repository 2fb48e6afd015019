"""`run` and `run_script` on a Windows guest (the mock's vm-43): arguments, output, exit codes,
exchanges and cleanup, through the mock's cmd.exe and its argv utility (tests/mock/test_cmd.py
checks those pieces of the mock on their own).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest import AsyncClient, Client, Credentials, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_INVENTORY, Simulator, create_app

from tests.conftest import FAST_RETRY, SyncASGITransport

from .conftest import Interruptions
from .test_capture import RUN_PREFIX, Counting, _Forgetful

WINDOWS_VM = "vm-43"
ARGV = "C:\\Tools\\argv.exe"
TEMP = "C:\\Users\\root\\AppData\\Local\\Temp"
HOME = "C:\\Users\\root"
ROOT = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}

# Any text without NUL, and the characters cmd.exe and CommandLineToArgvW treat specially.
_arg = st.text(st.characters(exclude_characters="\0\r\n", exclude_categories=("Cs",)), max_size=10)
_special = st.sampled_from(
    ['"', " ", "%", "^", "&", "|", "<", ">", "\\", '\\"', '\\\\"', "!", "(", ")", "%PATH%", "%^ERRORLEVEL%", "é€", "\t"]
)
_args = st.lists(st.one_of(_arg, _special, st.lists(_special, max_size=5).map("".join)), max_size=6)


def _leftovers(app: Any) -> list[str]:
    sim: Simulator = app.state.simulator
    listed = sim.list_files(WINDOWS_VM, ROOT, {"path": TEMP, "iteration": {"size": 100000}})
    return [f["filename"] for f in listed["files"] if f["filename"].startswith(RUN_PREFIX)]


@pytest.fixture(scope="module")
def windows_client(portal: Any) -> Any:
    """One in-process client of one demo mock, for the property tests (hypothesis runs many examples)."""
    app = create_app()
    client = Client(
        "http://mock.test",
        user=DEMO_API_USER,
        password=DEMO_API_PASSWORD,
        transport=SyncASGITransport(app, portal),
        retry=FAST_RETRY,
    )
    with client:
        yield client, app


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=_args)
def test_every_argument_reaches_the_program_unchanged_through_cmd(
    windows_client: Any, guest: Credentials, args: list[str]
) -> None:
    vc, app = windows_client
    result = vc.processes.run(WINDOWS_VM, guest, ARGV, *args)
    assert (result.exit_code, result.stderr) == (0, b""), result
    assert json.loads(result.stdout) == args
    assert _leftovers(app) == []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.one_of(_arg, _special, st.sampled_from(["\n", "a\r\nb"])), max_size=6))
def test_every_argument_reaches_the_program_unchanged_without_capture(
    windows_client: Any, guest: Credentials, args: list[str]
) -> None:
    vc, _ = windows_client
    report = f"{HOME}\\argv.json"
    result = vc.processes.run(
        WINDOWS_VM, guest, ARGV, *args, capture=False, environment_variables={"WRITE_ARGV_TO": report}
    )
    assert result.exit_code == 0
    assert json.loads(vc.files.download(WINDOWS_VM, guest, report)) == args  # what the program received


def test_a_line_break_cannot_go_through_cmd(in_process_server: Any, guest: Credentials) -> None:
    with in_process_server.client() as vc, pytest.raises(errors.UsageError, match="line break"):
        vc.processes.run(WINDOWS_VM, guest, ARGV, "a\nb")
    assert _leftovers(in_process_server.app) == []


@pytest.mark.parametrize("code", [0, 1, 255, 2147483647, -1073741819])
def test_output_bytes_and_exit_codes_come_back(server: Any, guest: Credentials, code: int) -> None:
    env = {"EXIT": str(code), "WRITE_STDERR": "oops\r\n"}
    with server.client() as vc:
        result = vc.processes.run(WINDOWS_VM, guest, ARGV, "a b", "c", environment_variables=env)
    assert (result.exit_code, result.stdout, result.stderr) == (code, b'["a b", "c"]', b"oops\r\n")
    assert (result.stdout_text, result.encoding) == ('["a b", "c"]', "cp437")
    assert _leftovers(server.app) == []


def test_check_raises_process_failed_and_cleans_up(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.ProcessFailed) as caught:
        vc.processes.run(WINDOWS_VM, guest, ARGV, environment_variables={"EXIT": "3"}, check=True)
    assert caught.value.result.exit_code == 3
    assert _leftovers(server.app) == []


def test_a_captured_run_on_windows_takes_seven_exchanges_besides_the_first_runs_identity(guest: Credentials) -> None:
    app = create_app()
    counting = Counting(app)

    async def main() -> None:
        async with AsyncClient(
            "http://mock.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=counting
        ) as vc:
            counting.seen.clear()
            result = await vc.processes.run(WINDOWS_VM, guest, ARGV, "x")
            assert result.stdout == b'["x"]'
            # createTemporary, create, transfer + GET of stdout, transfer + GET of stderr, delete; and
            # the first time on the VM, Identity (which names Windows, not the temporary directory)
            assert counting.exchanges() == 8, counting.seen
            assert counting.seen["identity?None"] == 1
            counting.seen.clear()
            await vc.processes.run(WINDOWS_VM, guest, ARGV, "x", capture=False)
            assert counting.exchanges() == 1, counting.seen

    anyio.run(main)


class _ForgetsArgv(_Forgetful):
    forgotten = "argv.exe"


def test_the_exit_code_survives_a_process_the_server_forgot(make_in_process_server: Any, guest: Credentials) -> None:
    server = make_in_process_server(simulator_cls=_ForgetsArgv)
    app = server.app
    with server.client() as vc:
        marked = vc.processes.run(WINDOWS_VM, guest, ARGV, "x", environment_variables={"EXIT": "-2"})
        # stdout cut before the marker line: the exit code comes from D\rc.
        recorded = vc.processes.run(
            WINDOWS_VM, guest, ARGV, "y" * 300, max_output_bytes=10, environment_variables={"EXIT": "6"}
        )
        with pytest.raises(errors.ProcessVanished):
            vc.processes.run(WINDOWS_VM, guest, ARGV, "x", capture=False)
    assert (marked.exit_code, marked.stdout, marked.finished) == (-2, b'["x"]', None)
    assert (recorded.exit_code, recorded.stdout, recorded.stdout_truncated) == (6, b'["yyyyyyyy', True)
    assert _leftovers(app) == []


def test_the_run_directory_is_gone_however_the_run_ends(guest: Credentials, clock: Any) -> None:
    """Success, failure, a time-out (terminated), Ctrl-C and a cancelled task, a few times each."""
    inventory = {**DEMO_INVENTORY, "max_processes": 10_000, "max_running_processes": 10_000}
    app = create_app(inventory, clock=clock)
    endings: Counter[str] = Counter()
    sleeper = "C:\\Windows\\System32\\timeout.exe"

    async def main() -> None:
        stops = Interruptions(clock)
        async with AsyncClient(
            "http://mock.test",
            user=DEMO_API_USER,
            password=DEMO_API_PASSWORD,
            transport=httpx.ASGITransport(app),
            clock=clock,
            sleep=stops.sleep,
            retry=FAST_RETRY,
        ) as vc:
            run = vc.processes.run
            ways: list[tuple[Callable[[], Any], str]] = [
                (lambda: run(WINDOWS_VM, guest, ARGV, "ok"), "plain"),
                (lambda: run(WINDOWS_VM, guest, ARGV, environment_variables={"EXIT": "1"}, check=True), "plain"),
                (lambda: run(WINDOWS_VM, guest, sleeper, "60", timeout=1, terminate_on_timeout=True), "plain"),
                (lambda: run(WINDOWS_VM, guest, sleeper, "600"), "ctrl-c"),
                (lambda: run(WINDOWS_VM, guest, sleeper, "600"), "cancel"),
            ]
            for index in range(25):
                call, how = ways[index % len(ways)]
                endings[await stops.ending(call, how)] += 1

    anyio.run(main)
    assert _leftovers(app) == []
    assert endings == {"returned": 5, "ProcessFailed": 5, "ProcessTimeout": 5, "interrupted": 5, "cancelled": 5}


def test_utf16_and_the_oem_code_page_are_decoded_unless_an_encoding_is_named(server: Any, guest: Credentials) -> None:
    text = "héllo ─ wörld\r\n"
    with server.client() as vc:
        vc.files.upload(WINDOWS_VM, guest, text.encode("utf-16"), f"{HOME}\\u16.txt")
        vc.files.upload(WINDOWS_VM, guest, text.encode("utf-16-le"), f"{HOME}\\u16le.txt")
        vc.files.upload(WINDOWS_VM, guest, text.encode("cp437"), f"{HOME}\\oem.txt")
        u16 = vc.processes.run_script(WINDOWS_VM, guest, f"@type {HOME}\\u16.txt")
        u16le = vc.processes.run_script(WINDOWS_VM, guest, f"@type {HOME}\\u16le.txt")
        oem = vc.processes.run_script(WINDOWS_VM, guest, f"@type {HOME}\\oem.txt")
        named = vc.processes.run_script(WINDOWS_VM, guest, f"@type {HOME}\\oem.txt", encoding="latin-1")
    assert (u16.stdout_text, u16.encoding) == (text, "utf-16")
    assert (u16le.stdout_text, u16le.encoding) == (text, "utf-16-le")
    assert (oem.stdout_text, oem.encoding) == (text, "cp437")
    assert named.stdout_text == text.encode("cp437").decode("latin-1")
    assert _leftovers(server.app) == []


def test_run_script_runs_a_cmd_script_with_its_arguments(server: Any, guest: Credentials) -> None:
    script = "@echo off\nset GREETING=hello\necho %GREETING% [%~1] [%~2]\necho to stderr 1>&2\nexit /b 4\n"
    with server.client() as vc:
        result = vc.processes.run_script(WINDOWS_VM, guest, script, "a b", "50%")
        raw = vc.processes.run_script(WINDOWS_VM, guest, b"@echo off\r\nexit 9\r\n")
        with pytest.raises(errors.ProcessFailed):
            vc.processes.run_script(WINDOWS_VM, guest, "@exit /b 1", check=True)
    assert (result.exit_code, result.stdout, result.stderr) == (4, b"hello [a b] [50%]\r\n", b"to stderr \r\n")
    assert raw.exit_code == 9  # `exit` ended cmd itself: cmd's own exit code
    assert _leftovers(server.app) == []


class _Recording(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app)
        self.specs: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("action") == "create" and request.url.path.endswith("/processes"):
            self.specs.append(json.loads(request.content)["spec"])
        return await self.inner.handle_async_request(request)


def test_run_script_with_powershell_or_an_interpreter_and_on_the_async_client(guest: Credentials) -> None:
    app = create_app()
    recording = _Recording(app)

    async def main() -> list[Any]:
        async with AsyncClient(
            "http://mock.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=recording
        ) as vc:
            shell = await vc.processes.run_script(WINDOWS_VM, guest, "Write-Output hi", "x y", interpreter="powershell")
            tool = await vc.processes.run_script(WINDOWS_VM, guest, "data", "z", interpreter=ARGV)
            many = await vc.processes.run_many([WINDOWS_VM, WINDOWS_VM], guest, ARGV, "m n")
            return [shell, tool, many]

    shell, tool, many = anyio.run(main)
    ps_line, tool_line = recording.specs[0]["arguments"], recording.specs[1]["arguments"]
    assert recording.specs[0]["path"] == "C:\\Windows\\System32\\cmd.exe"
    assert ps_line.startswith('/d /q /s /c "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe ')
    assert "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File " in ps_line
    assert '\\script.ps1 "x y" >' in ps_line
    # The demo guest has no PowerShell: cmd says so, on the run's stderr.
    assert shell.exit_code == 9009
    assert b"is not recognized" in shell.stderr
    assert tool.exit_code == 0
    path, rest = json.loads(tool.stdout)
    assert (path.startswith(TEMP + "\\" + RUN_PREFIX), path.endswith("\\script"), rest) == (True, True, "z")
    assert "\\script" in tool_line
    assert [json.loads(r.stdout) for r in many] == [["m n"], ["m n"]]
    assert _leftovers(app) == []
