"""No single request can hold the mock up (issue 25, M5, L10, L11).

Each request has a budget (`vcenter_guest.mock.Budget`): shell steps, nesting, parsed source, output,
printf widths, tree depth, pattern-matching time. A budget exceeded ends the program with
`BUDGET_EXIT_CODE` and a message on its stderr, or answers a 4xx standard error, never a 5xx. The
quota bounds the mock's memory: every entry costs `NODE_OVERHEAD`, and uploads in flight count.
Only facts are asserted here (exit codes, statuses, counts, bytes held), never wall-clock times;
`benchmarks/mock_stall.py` measures how long other clients wait.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from vcenter_guest.mock import BUDGET_EXIT_CODE, DEMO_INVENTORY, NODE_OVERHEAD, Budget, _budget
from vcenter_guest.mock._errors import shown
from vcenter_guest.mock._filesystem import Account, Kind, Node
from vcenter_guest.mock._records import Program

from .conftest import CREDS, Api


def _run(api: Api, path: str, arguments: str = "") -> dict[str, Any]:
    created = api.op("create", spec={"path": path, "arguments": arguments})
    assert created.status_code == 201, created.text
    api.clock.advance(60)
    info: dict[str, Any] = api.op("get", pid=created.json()).json()
    return info


def _budgeted(make_api: Any, **limits: Any) -> Api:
    api: Api = make_api(budget=Budget(**limits))
    return api


# -- M5: shell steps, parsed source, output, widths ---------------------------------------------------


def test_a_script_that_runs_itself_three_times_ends_with_the_budget_exit_code_and_says_why(make_api: Any) -> None:
    api = _budgeted(make_api, steps=300)
    api.upload("/tmp/s", b"sh $0;sh $0;sh $0\n")
    info = _run(api, "/bin/sh", "/tmp/s 2>/tmp/err")
    assert info["exit_code"] == BUDGET_EXIT_CODE
    assert b"exceeds the mock's budget of 300 (Budget.steps)" in api.download("/tmp/err")


def test_the_default_step_budget_stops_a_script_that_runs_itself(api: Api) -> None:
    api.upload("/tmp/s", b"sh $0;sh $0;sh $0\n")
    assert _run(api, "/bin/sh", "/tmp/s")["exit_code"] == BUDGET_EXIT_CODE


def test_a_script_longer_than_the_source_budget_is_not_parsed(make_api: Any) -> None:
    api = _budgeted(make_api, source_chars=10_000)
    api.upload("/tmp/big.sh", b"true\n" * 4000)
    info = _run(api, "/bin/sh", "/tmp/big.sh 2>/tmp/err")
    assert info["exit_code"] == BUDGET_EXIT_CODE
    assert b"(Budget.source_chars)" in api.download("/tmp/err")
    api.upload("/tmp/small.sh", b"true\n" * 100 + b"exit 4\n")
    assert _run(api, "/bin/sh", "/tmp/small.sh")["exit_code"] == 4


def test_a_printf_width_over_the_budget_ends_the_program_without_making_the_text(make_api: Any) -> None:
    api = _budgeted(make_api, format_width=1000)
    info = _run(api, "/bin/bash", "-c 'printf %50000000s x' 2>/tmp/err")
    assert info["exit_code"] == BUDGET_EXIT_CODE
    assert b"the printf width 50000000 exceeds the mock's budget of 1000" in api.download("/tmp/err")
    assert _run(api, "/bin/printf", "%900s x > /tmp/out")["exit_code"] == 0
    assert api.download("/tmp/out") == b" " * 899 + b"x"


def test_a_printf_width_beyond_what_bash_takes_prints_nothing_for_that_directive_as_bash_does(api: Api) -> None:
    assert _run(api, "/bin/printf", "'a%2147483648sb|%.99999999999sc' x y > /tmp/out")["exit_code"] == 0
    assert api.download("/tmp/out") == b"ab|c"


def test_base64_of_a_file_bigger_than_the_output_budget_stops_at_the_budget(make_api: Any) -> None:
    api = _budgeted(make_api, output_bytes=1 << 20)
    api.upload("/tmp/big.bin", bytes(3 << 20))
    info = _run(api, "/bin/base64", "/tmp/big.bin > /tmp/out 2>/tmp/err")
    assert info["exit_code"] == BUDGET_EXIT_CODE
    assert b"(Budget.output_bytes)" in api.download("/tmp/err")
    assert len(api.download("/tmp/out")) <= 1 << 20
    api.upload("/tmp/small.bin", b"\xff" * 100)
    assert _run(api, "/bin/base64", "/tmp/small.bin > /tmp/out")["exit_code"] == 0
    assert api.download("/tmp/out") == b"/" * 76 + b"\n" + b"/" * 57 + b"w==\n"  # as GNU base64 writes it


def test_a_windows_batch_file_that_starts_itself_three_times_stops_at_the_step_budget(make_api: Any) -> None:
    api = _budgeted(make_api, steps=200)
    line = b"C:\\Windows\\System32\\cmd.exe /c C:\\Users\\Administrator\\s.cmd\r\n"
    bat = b"@echo off\r\n" + line * 3
    api.upload("C:\\Users\\Administrator\\s.cmd", bat, vm="vm-43", creds={**CREDS, "user_name": "Administrator"})
    created = api.op(
        "create",
        "vm-43",
        creds={**CREDS, "user_name": "Administrator"},
        spec={"path": "C:\\Windows\\System32\\cmd.exe", "arguments": "/c C:\\Users\\Administrator\\s.cmd"},
    )
    assert created.status_code == 201, created.text
    api.clock.advance(60)
    info = api.op("get", "vm-43", pid=created.json(), creds={**CREDS, "user_name": "Administrator"}).json()
    assert info["exit_code"] == BUDGET_EXIT_CODE


# -- L10: big numbers, deep trees -------------------------------------------------------------------

_HUGE = "1" * 5000  # over Python's 4,300-digit limit of int()


@pytest.mark.parametrize(
    ("arguments", "exit_code", "stderr"),
    [
        (f"-c 'exit {_HUGE}'", 2, f"exit: {_HUGE}: numeric argument required"),
        (f"-c 'printf %d {_HUGE}'", 0, f"printf: warning: {_HUGE}: Numerical result out of range"),
        (f"-c 'head -n {_HUGE} /etc/hostname'", 0, ""),
        (f"-c 'echo ${{{_HUGE}}}'", 0, ""),
    ],
)
def test_numbers_of_thousands_of_digits_are_answered_as_bash_answers_them(
    api: Api, arguments: str, exit_code: int, stderr: str
) -> None:
    info = _run(api, "/bin/bash", arguments + " >/tmp/out 2>/tmp/err")
    assert info["exit_code"] == exit_code
    assert stderr.encode() in api.download("/tmp/err")


def test_printf_clamps_an_out_of_range_number_to_64_bits_as_bash_does(api: Api) -> None:
    _run(api, "/bin/printf", "'%d|%d' 99999999999999999999 -99999999999999999999 > /tmp/out")
    assert api.download("/tmp/out") == b"9223372036854775807|-9223372036854775808"


def _deep(api: Api, top: str, levels: int) -> None:
    """A tree `levels` directories deep under `top`, made directly in the guest's file system."""
    fs = api.simulator.filesystem(api.simulator.find_vm("vm-42"))
    node, _ = fs.lookup(top, Account("root", 0, True, "/root"))
    for _ in range(levels):
        child = Node(Kind.DIRECTORY, "a", mode=0o755)
        node.children["a"] = child
        fs.entries += 1
        node = child


def test_a_tree_as_deep_as_the_budget_is_deleted_and_moved_without_a_5xx(make_api: Any) -> None:
    api = _budgeted(make_api, tree_depth=3000)
    api.fs("/directories?action=create", path="/tmp/deep")
    _deep(api, "/tmp/deep", 2500)
    moved = api.fs("/directories?action=move", path="/tmp/deep", new_path="/tmp/moved")
    assert moved.status_code == 204, moved.text
    deleted = api.fs("/directories?action=delete", path="/tmp/moved", recursive=True)
    assert deleted.status_code == 204, deleted.text


def test_mkdir_p_deeper_than_the_budget_is_path_too_long(make_api: Any) -> None:
    api = _budgeted(make_api, tree_depth=100)
    response = api.fs("/directories?action=create", path="/tmp/deep" + "/a" * 150, create_parents=True)
    api.expect_error(
        response,
        400,
        "INVALID_ARGUMENT",
        "com.vmware.vcenter.vm.guest.filesystem.path_too_long",
        data={"reason": "PATH_TOO_LONG", "file_path": shown("/tmp/deep" + "/a" * 150)},
    )
    fits = api.fs("/directories?action=create", path="/tmp/ok" + "/a" * 90, create_parents=True)
    assert fits.status_code == 204, fits.text


def test_a_move_that_would_make_the_tree_deeper_than_the_budget_is_path_too_long(make_api: Any) -> None:
    api = _budgeted(make_api, tree_depth=100)
    assert api.fs("/directories?action=create", path="/tmp/x" + "/a" * 60, create_parents=True).status_code == 204
    assert api.fs("/directories?action=create", path="/tmp/y" + "/b" * 60, create_parents=True).status_code == 204
    response = api.fs("/directories?action=move", path="/tmp/x", new_path="/tmp/y" + "/b" * 60 + "/x")
    assert response.status_code == 400, response.text
    assert response.json()["error_type"] == "INVALID_ARGUMENT"


# -- Files.list: pattern time --------------------------------------------------------------------


def test_a_match_pattern_that_takes_longer_than_the_budget_in_all_is_refused(make_api: Any) -> None:
    api = _budgeted(make_api, pattern_seconds=0.2, pattern_match_seconds=30)
    api.fs("/directories?action=create", path="/tmp/many")
    for n in range(40):
        api.fs("/directories?action=create", path=f"/tmp/many/{'a' * 26}!{n}")
    response = api.fs("/files?action=list", path="/tmp/many", filter={"match_pattern": "^(a|aa)+$"})
    api.expect_error(response, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.pattern_too_slow")


# -- L11: the quota bounds memory -------------------------------------------------------------------


def test_empty_files_cost_the_quota_their_overhead(make_api: Any) -> None:
    vm = {**DEMO_INVENTORY["vms"][0], "disk_bytes": 20 * NODE_OVERHEAD}
    api: Api = make_api({**DEMO_INVENTORY, "vms": [vm]})
    made = 0
    for n in range(100):
        response = api.fs("?action=create", spec={"path": f"/tmp/e{n}", "attributes": {"size": 0}})
        if response.status_code != 201:
            api.expect_error(
                response, 500, "UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.vcenter.vm.guest.filesystem.no_disk_space"
            )
            break
        assert (
            api.request("PUT", "/guestFile?" + response.json().partition("/guestFile?")[2], content=b"").status_code
            == 200
        )
        made += 1
    assert made == 20


def test_concurrent_uploads_beyond_the_quota_are_refused_and_the_bytes_held_stay_within_it(
    portal: Any, clock: Any, make_in_process_server: Any
) -> None:
    size, count = 300 << 10, 6  # 1.8 MiB sent at once to a guest with 1 MiB free
    vm = {**DEMO_INVENTORY["vms"][0], "disk_bytes": 1 << 20}
    server = make_in_process_server({**DEMO_INVENTORY, "vms": [vm]}, clock=clock)
    app, simulator = server.app, server.simulator
    fs = simulator.filesystem(simulator.find_vm("vm-42"))
    urls = [
        simulator.create_transfer("vm-42", CREDS, {"path": f"/tmp/u{n}", "attributes": {"size": size}}, "http")
        for n in range(count)
    ]
    # What the mock holds: the files it keeps, and the bytes of each upload it has read and not yet answered.
    delivered = dict.fromkeys(range(count), 0)
    before = fs.used
    held: list[int] = []
    statuses: list[int] = []
    waiting = [count]

    async def put(n: int, url: str, everyone_in: anyio.Event) -> None:
        scope = {
            "type": "http",
            "method": "PUT",
            "path": "/guestFile",
            "raw_path": b"/guestFile",
            "query_string": url.split("?", 1)[1].encode(),
            "headers": [(b"content-length", str(size).encode())],
            "scheme": "http",
            "server": ("127.0.0.1", 80),
        }
        pieces = [b"x" * (size - 1), b"x"]

        def arrived() -> None:
            waiting[0] -= 1
            if waiting[0] == 0:
                everyone_in.set()

        async def receive() -> dict[str, Any]:
            sent = len(pieces) - len([p for p in pieces if p])
            if sent == 1:
                arrived()
                await everyone_in.wait()  # every upload has sent all but its last byte before any ends
            held.append(fs.used - before + sum(delivered.values()))
            piece = pieces[sent]
            pieces[sent] = b""
            delivered[n] += len(piece)
            return {"type": "http.request", "body": piece, "more_body": sent == 0}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                if delivered[n] < size:
                    arrived()  # answered before its body was read: it will not wait for the others
                delivered[n] = 0

        await app(scope, receive, send)

    async def main() -> None:
        everyone_in = anyio.Event()
        async with anyio.create_task_group() as group:
            for n, url in enumerate(urls):
                group.start_soon(put, n, "/guestFile?" + url.partition("/guestFile?")[2], everyone_in)

    portal.call(main)
    assert sorted(statuses) == [200, 200, 200, 507, 507, 507]
    assert max(held) <= 1 << 20, f"the mock held {max(held)} bytes of a 1 MiB quota"


# -- long work holds no global lock -----------------------------------------------------------------


def test_a_simulated_run_holds_no_lock_between_its_commands(
    monkeypatch: pytest.MonkeyPatch, clock: Any, make_in_process_server: Any
) -> None:
    simulator = make_in_process_server(clock=clock).simulator
    root = Account("root", 0, True, "/root")
    simulator.filesystem(simulator.find_vm("vm-42")).write_file("/tmp/s", b"true; echo a > /tmp/o; cat /tmp/o\n", root)
    held: list[bool] = []
    step = _budget.Meter.step

    def watched(meter: _budget.Meter) -> None:
        held.append(simulator._lock._is_owned())
        step(meter)

    monkeypatch.setattr(_budget.Meter, "step", watched)
    simulator.create_process("vm-42", CREDS, {"path": "/bin/sh", "arguments": "/tmp/s"})
    assert len(held) >= 4
    assert not any(held), "a run's commands ran under the simulator's lock: every other request waits"


@pytest.mark.parametrize(
    ("path", "arguments", "quick"),
    [
        ("/bin/true", "", True),
        ("/opt/app/job", "3 0 > /tmp/out 2>&1", True),
        ("/bin/echo", "a && true; exit 3", True),
        ("/bin/sh", "/tmp/s", False),
        ("/bin/echo", "a; sh /tmp/s", False),
        ("/bin/cat", "/var/log/app.log", False),
        ("/bin/echo", "$X", True),
        ("/bin/true", "; $X", False),
        ("/bin/true", "x" * 5000, False),
    ],
)
def test_only_starts_sure_to_be_short_run_on_the_event_loop(
    path: str, arguments: str, quick: bool, make_in_process_server: Any
) -> None:
    simulator = make_in_process_server().simulator
    assert simulator.quick_start("vm-42", {"path": path, "arguments": arguments}) is quick


def test_a_declared_output_bigger_than_the_budget_is_not_made(make_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = DEMO_INVENTORY["vms"][0]
    vm = {**demo, "programs": {**demo["programs"], "/opt/app/loud": {"output_bytes": 1 << 30}}}
    api: Api = make_api({**DEMO_INVENTORY, "vms": [vm]}, budget=Budget(output_bytes=1 << 20))
    made: list[int] = []
    stdout_data = Program.stdout_data

    def counted(program: Program) -> bytes:
        data = stdout_data(program)
        made.append(len(data))
        return data

    monkeypatch.setattr(Program, "stdout_data", counted)
    assert _run(api, "/bin/bash", "-c '/opt/app/loud > /tmp/out'")["exit_code"] == BUDGET_EXIT_CODE
    assert api.download("/tmp/out") == b""
    assert _run(api, "/opt/app/loud", "> /dev/null")["exit_code"] == 0
    assert max(made, default=0) <= 1 << 20, "the mock made a gigabyte of output nobody could keep"
