"""`run` with capture against the mock vCenter: output, exit codes, exchanges, and cleanup on every path."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import AsyncClient, Credentials, ProcessResult, errors, user_command
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_INVENTORY,
    DEMO_VM,
    TERMINATED_EXIT_CODE,
    MockError,
    Simulator,
    create_app,
)

from tests.conftest import FAST_RETRY

from .conftest import Interruptions

RUN_PREFIX = "vcenter-guest-run-"


class Counting(httpx.AsyncBaseTransport):
    """An in-process transport that counts the operations it carries (by path and action)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app)
        self.seen: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        action = request.url.params.get("action")
        key = "guestFile" if path == "/guestFile" else f"{path.rsplit('/', 1)[-1]}?{action}"
        if "/processes/" in path:
            key = f"processes/pid?{action}"
        self.seen[key] += 1
        return await self.inner.handle_async_request(request)

    def exchanges(self) -> int:
        """Exchanges besides the login and the polls (Processes.get)."""
        return sum(n for k, n in self.seen.items() if k not in {"processes/pid?get", "session?None"})


def _leftovers(app: Any, vm: str = DEMO_VM) -> list[str]:
    sim: Simulator = app.state.simulator
    root = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
    listed = sim.list_files(vm, root, {"path": "/tmp", "iteration": {"size": 100000}})
    return [f["filename"] for f in listed["files"] if f["filename"].startswith(RUN_PREFIX)]


def test_run_returns_the_output_and_exit_code_and_leaves_nothing(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    assert isinstance(result, ProcessResult)
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    assert (result.stdout_text, result.stderr_text) == ("out\n", "err\n")
    assert not result.stdout_truncated
    assert not result.stderr_truncated
    assert _leftovers(server.app) == []


def test_each_argument_reaches_the_program_unchanged(server: Any, guest: Credentials) -> None:
    args = ["hello world", "it's", '"double"', "$HOME", "`uname`", "a;b && c", "new\nline", "ünï", "*", "~", ""]
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/printf", "[%s]\\n", *args)
    assert result.stdout_text == "".join(f"[{a}]\n" for a in args)


def test_verbatim_arguments_with_shell_syntax_have_all_their_output_captured(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        both = vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="a; /bin/echo b >&2 && /bin/echo c # x")
        assert (both.stdout, both.stderr, both.exit_code) == (b"a\nc\n", b"b\n", 0)
        exited = vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="a; exit 3")
        assert (exited.stdout, exited.exit_code) == (b"a\n", 3)
        assert _leftovers(server.app) == []


def test_output_without_a_final_newline_is_kept_exactly(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        assert vc.processes.run(DEMO_VM, guest, "/bin/printf", "no newline").stdout == b"no newline"
        assert vc.processes.run(DEMO_VM, guest, "/bin/true").stdout == b""


def test_a_stream_longer_than_max_output_bytes_is_cut_and_flagged(server: Any, guest: Credentials) -> None:
    data = bytes(range(256)) * 400  # 100 KiB
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, data, "/tmp/big.bin")
        cut = vc.processes.run(DEMO_VM, guest, "/bin/cat", "/tmp/big.bin", max_output_bytes=1000)
        whole = io.BytesIO()
        streamed = vc.processes.run(DEMO_VM, guest, "/bin/cat", "/tmp/big.bin", stdout=whole, max_output_bytes=10)
    assert (cut.stdout, cut.stdout_truncated, cut.exit_code) == (data[:1000], True, 0)
    assert whole.getvalue() == data  # a file object gets all of it, whatever the cap
    assert streamed.stdout is None
    assert not streamed.stdout_truncated


def test_a_named_encoding_decodes_the_text_views(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, "café\n".encode("latin-1"), "/tmp/latin.txt")
        result = vc.processes.run(DEMO_VM, guest, "/bin/cat", "/tmp/latin.txt", encoding="latin-1")
        default = vc.processes.run(DEMO_VM, guest, "/bin/cat", "/tmp/latin.txt")
    assert result.stdout_text == "café\n"
    assert default.stdout_text == "caf\ufffd\n"


def test_check_raises_process_failed_with_the_output(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.ProcessFailed) as caught:
        vc.processes.run(DEMO_VM, guest, "/bin/cat", "/nope", check=True)
    assert caught.value.result.exit_code == 1
    assert caught.value.result.stderr == b"cat: /nope: No such file or directory\n"
    assert _leftovers(server.app) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Identity (then the line makes its directory), create, transfer + GET of stdout, delete
        ("echo only-stdout", 5),
        ("echo out; echo err >&2", 7),  # and transfer + GET of stderr
    ],
)
def test_a_captured_run_takes_five_exchanges_or_seven_with_stderr(line: str, expected: int, guest: Credentials) -> None:
    app = create_app()
    counting = Counting(app)

    async def main() -> None:
        async with AsyncClient(
            "http://mock.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=counting
        ) as vc:
            counting.seen.clear()
            await vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", line)
            assert counting.exchanges() == expected, counting.seen
            counting.seen.clear()
            await vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", line, capture=False)
            assert counting.exchanges() == 1, counting.seen

    anyio.run(main)


class _Forgetful(Simulator):
    """A server that forgets a process right after showing it running once (as after a lost poll
    window), for every process whose command holds `forgotten`: its exit code must come from what
    the run recorded."""

    forgotten = ""

    def get_process(self, vm_id: str, pid: int, credentials: Any) -> dict[str, Any]:
        info = super().get_process(vm_id, pid, credentials)
        process = self._vms[vm_id].processes.get(pid)
        if process is None or self.forgotten not in process.command:
            return info
        seen = self.__dict__.setdefault("_seen", set())
        if pid in seen:
            raise MockError(
                "NOT_FOUND", "x.process_not_found", "The process {0} was not found.", pid, data={"pid": pid}
            )
        seen.add(pid)
        info.pop("exit_code", None)
        info.pop("finished", None)
        return info


class _ForgetsSome(_Forgetful):
    forgotten = "exit 9"


def test_the_exit_code_survives_a_process_the_server_forgot(make_in_process_server: Any, guest: Credentials) -> None:
    server = make_in_process_server(simulator_cls=_Forgetful)
    app = server.app
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", "echo gone; exit 4")
        with pytest.raises(errors.ProcessVanished):
            vc.processes.run(DEMO_VM, guest, "/bin/sh", "-c", "exit 4", capture=False)
    assert (result.exit_code, result.stdout) == (4, b"gone\n")
    assert result.finished is None
    assert _leftovers(app) == []


def test_a_thousand_runs_ending_every_way_leave_no_run_directory(guest: Credentials, clock: Any) -> None:
    """Success, failure, check=True, time-outs (terminated or not), a forgotten process, Ctrl-C and a
    cancelled task: afterwards the guest's /tmp holds no run directory, and no program that a
    Ctrl-C or a cancellation interrupted is still running."""
    inventory = {**DEMO_INVENTORY, "max_processes": 100_000, "max_running_processes": 100_000}
    app = create_app(inventory, clock=clock, simulator_cls=_ForgetsSome)
    endings: Counter[str] = Counter()

    async def main() -> None:
        stops = Interruptions(clock)
        transport = httpx.ASGITransport(app)
        async with AsyncClient(
            "http://mock.test",
            user=DEMO_API_USER,
            password=DEMO_API_PASSWORD,
            transport=transport,
            clock=clock,
            sleep=stops.sleep,
            retry=FAST_RETRY,
        ) as vc:
            run = vc.processes.run
            ways: list[tuple[Callable[[], Any], str]] = [
                (lambda: run(DEMO_VM, guest, "/bin/echo", "ok"), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/sh", "-c", "echo no >&2; exit 1"), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/false", check=True), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/sleep", "60", timeout=1, terminate_on_timeout=True), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/sleep", "60", timeout=1), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/sh", "-c", "exit 9"), "plain"),
                (lambda: run(DEMO_VM, guest, "/bin/sleep", "600"), "ctrl-c"),  # Ctrl-C at the first wait
                (lambda: run(DEMO_VM, guest, "/bin/sleep", "600"), "cancel"),  # the task cancelled there
            ]
            for index in range(1000):
                call, how = ways[index % len(ways)]
                endings[await stops.ending(call, how)] += 1

    anyio.run(main)
    assert _leftovers(app) == []
    assert endings["returned"] >= 375
    assert endings["ProcessFailed"] == endings["interrupted"] == endings["cancelled"] == 125
    assert endings["ProcessTimeout"] == 250
    # Ctrl-C and cancellation terminated their programs (sleep 600: nothing else ends them in time).
    sim: Simulator = app.state.simulator
    root = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
    # (a captured run's command line is the wrapper, which user_command reads back as the user's command)
    listed = sim.list_processes(DEMO_VM, root)
    interrupted = [p for p in listed if user_command(p["command"]).startswith('"/bin/sleep" 600')]
    assert len(interrupted) == 250
    exits = {sim.get_process(DEMO_VM, p["pid"], root).get("exit_code") for p in interrupted}
    assert exits == {TERMINATED_EXIT_CODE}


def test_run_script_uploads_runs_and_removes_a_script_with_its_arguments(
    server: Any, guest: Credentials, tmp_path: Any
) -> None:
    local = tmp_path / "report.sh"
    local.write_bytes(b'#!/bin/sh\nprintf "%s|" "$@"\necho "from $0" >&2\nexit 5\n')
    with server.client() as vc:
        text = vc.processes.run_script(DEMO_VM, guest, 'echo "[$1] [$2]"\n', "a b", "it's")
        shebang = vc.processes.run_script(DEMO_VM, guest, local, "x y", "$HOME")
        chosen = vc.processes.run_script(DEMO_VM, guest, b"echo $0\n", interpreter="/bin/sh")
        with pytest.raises(errors.ProcessFailed):
            vc.processes.run_script(DEMO_VM, guest, "exit 1", check=True)
    assert (text.exit_code, text.stdout) == (0, b"[a b] [it's]\n")
    assert (shebang.exit_code, shebang.stdout) == (5, b"x y|$HOME|")
    assert shebang.stderr is not None
    assert shebang.stderr.startswith(b"from /tmp/vcenter-guest-run-")
    assert chosen.stdout is not None
    assert chosen.stdout.endswith(b"/script\n")
    assert _leftovers(server.app) == []


def test_run_script_refuses_what_is_not_a_script_before_sending_anything(
    in_process_server: Any, guest: Credentials
) -> None:
    with in_process_server.client() as vc:
        for script, message in ((42, "script must be its text"), (Path("/no/such.sh"), "cannot read the script")):
            with pytest.raises(errors.UsageError, match=message):
                vc.processes.run_script(DEMO_VM, guest, script)
        with pytest.raises(errors.UsageError, match="interpreter must be"):
            vc.processes.run_script(DEMO_VM, guest, "true", interpreter="")
    assert _leftovers(in_process_server.app) == []


def test_run_script_on_the_async_client(server: Any, guest: Credentials) -> None:
    async def main() -> bytes | None:
        async with server.async_client() as vc:
            return (await vc.processes.run_script(DEMO_VM, guest, "echo async")).stdout

    assert anyio.run(main) == b"async\n"


def test_a_plan_given_up_while_it_waits_closes_without_sending_more(in_process_server: Any, guest: Credentials) -> None:
    """A driver that abandons a run (a second Ctrl-C) closes its plan: the clean-up cannot send then,
    and must not turn the close into "generator ignored GeneratorExit"."""
    from vcenter_guest import Processes
    from vcenter_guest._engine import Sleep, Stepper

    with in_process_server.client() as vc:
        stepper = Stepper(Processes.run.plan(vc.processes, DEMO_VM, guest, "/bin/sleep", "60"))
        effects = iter(stepper)
        for effect in effects:
            if isinstance(effect, Sleep):
                break
            stepper.reply(vc._perform(effect))
        effects.close()  # raises RuntimeError if the plan yields while it is being closed
