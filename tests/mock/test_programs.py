"""Programs in the mock's guests read and write the guest's files, as the capture in `run` will need.

Through the API only: create a process whose command line redirects its output, wait for it, read
the files back through a transfer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from vcenter_guest.mock import DEMO_INVENTORY
from vcenter_guest.mock._budget import BUDGET_EXIT_CODE

from .conftest import SVC_CREDS, Api


def _run(api: Api, path: str, arguments: str = "", vm: str = "vm-42", creds: Any = None, **spec: Any) -> dict[str, Any]:
    created = api.op("create", vm, creds=creds, spec={"path": path, "arguments": arguments, **spec})
    assert created.status_code == 201, created.text
    api.clock.advance(60)
    info: dict[str, Any] = api.op("get", vm=vm, pid=created.json(), creds=creds).json()
    return info


def test_output_redirected_to_files_can_be_downloaded(api: Api) -> None:
    info = _run(api, "/bin/echo", "hello world > /tmp/out 2> /tmp/err; cat /nope 2>> /tmp/err")
    assert info["exit_code"] == 1
    assert api.download("/tmp/out") == b"hello world\n"
    assert api.download("/tmp/err") == b"cat: /nope: No such file or directory\n"


def test_the_exit_code_of_the_line_is_its_last_commands(api: Api) -> None:
    assert _run(api, "/bin/true", "&& false || exit 7")["exit_code"] == 7
    assert _run(api, "/bin/false", "; exit")["exit_code"] == 1


@pytest.mark.parametrize("interpreter", ["/bin/sh", "/bin/bash", "/usr/bin/bash"])
def test_an_uploaded_script_runs_with_its_arguments(api: Api, interpreter: str) -> None:
    api.upload("/tmp/s.sh", b'echo "$0:$#:$1:$2" > /tmp/args\nexit 3\n')
    info = _run(api, interpreter, "/tmp/s.sh 'one two' three")
    assert info["exit_code"] == 3
    assert api.download("/tmp/args") == b"/tmp/s.sh:2:one two:three\n"


def test_an_executable_script_with_a_shebang_runs_directly(api: Api) -> None:
    api.upload("/tmp/run.sh", b"#!/bin/sh\nprintf '%s|' \"$@\" > /tmp/printed\n", posix={"permissions": "755"})
    assert _run(api, "/tmp/run.sh", "a 'b c'")["exit_code"] == 0
    assert api.download("/tmp/printed") == b"a|b c|"


def test_a_script_that_is_not_executable_is_refused_with_126(api: Api) -> None:
    api.upload("/tmp/plain.sh", b"echo hi\n")
    assert _run(api, "/tmp/plain.sh")["exit_code"] == 126


def test_environment_variables_are_the_whole_environment(api: Api) -> None:
    _run(api, "/usr/bin/env", "> /tmp/env", environment_variables={"A": "1", "PATH": "/usr/bin"})
    assert api.download("/tmp/env") == b"A=1\nPATH=/usr/bin\n"
    _run(api, "/usr/bin/env", "> /tmp/env2")
    env = api.download("/tmp/env2").decode()
    assert "HOME=/root\n" in env
    assert "USER=root\n" in env


def test_the_working_directory_is_where_relative_paths_go(api: Api) -> None:
    api.fs("/directories?action=create", path="/tmp/wd")
    _run(api, "/bin/echo", "here > rel.txt", working_directory="/tmp/wd")
    assert api.download("/tmp/wd/rel.txt") == b"here\n"
    _run(api, "/bin/echo", "home > at-home.txt")  # unset: the user's home
    assert api.download("/root/at-home.txt") == b"home\n"


def test_a_guest_user_writes_only_where_it_may(api: Api) -> None:
    info = _run(api, "/bin/echo", "x > /root/nope.txt", creds=SVC_CREDS)
    assert info["exit_code"] == 1  # bash: /root/nope.txt: Permission denied
    assert _run(api, "/bin/echo", "x > /tmp/svc.txt", creds=SVC_CREDS)["exit_code"] == 0
    assert api.fs("/files//tmp/svc.txt?action=get").json()["attributes"]["posix_attributes"]["owner"] == 1000


def test_a_construct_outside_the_subset_exits_2(api: Api) -> None:
    assert _run(api, "/bin/echo", "$(id) > /tmp/x")["exit_code"] == 2
    gone = api.fs("/files//tmp/x?action=get")
    assert gone.status_code == 404, "nothing of the line ran"


def test_sleep_in_a_line_decides_when_the_process_ends(api: Api) -> None:
    pid = api.create("/bin/sleep", arguments="2; echo done > /tmp/slept")
    api.clock.advance(1)
    assert "exit_code" not in api.op("get", pid=pid).json()
    api.clock.advance(1.5)
    assert api.op("get", pid=pid).json()["exit_code"] == 0


def test_a_program_with_declared_output_writes_it(make_api: Any) -> None:
    vm = {**DEMO_INVENTORY["vms"][0]}
    vm["programs"] = {
        **vm["programs"],
        "/opt/app/report": {"stdout": "report:\n", "output_bytes": 100, "stderr": "warn\n", "exit_code": 4},
    }
    api: Api = make_api({**DEMO_INVENTORY, "vms": [vm]})
    info = _run(api, "/opt/app/report", "> /tmp/r.out 2> /tmp/r.err")
    assert info["exit_code"] == 4
    out = api.download("/tmp/r.out")
    assert out.startswith(b"report:\n")
    assert len(out) == len("report:\n") + 100
    assert api.download("/tmp/r.err") == b"warn\n"


def test_base64_and_head_round_trip_through_pipes(api: Api) -> None:
    api.upload("/tmp/bin", bytes(range(256)))
    _run(api, "/usr/bin/base64", "/tmp/bin | base64 -d | head -c 10 > /tmp/head")
    assert api.download("/tmp/head") == bytes(range(10))


def test_the_solaris_guest_runs_lines_through_its_shell_too(api: Api) -> None:
    assert _run(api, "/bin/echo", "s > /tmp/sol", vm="vm-50")["exit_code"] == 0
    assert api.download("/tmp/sol", vm="vm-50") == b"s\n"


# -- What the command line's --help examples run (`run -- /bin/ls -l /tmp`, `run -- /usr/bin/uptime`,
# `echo 'uname -a' | script -`, a program without a path through /bin/sh -c) ----------------------------


def test_ls_l_lists_the_demo_guests_files_as_gnu_ls_does(api: Api) -> None:
    api.upload("/tmp/app.log", b"x" * 5000)
    assert _run(api, "/bin/ls", "-l /tmp /etc/hostname > /tmp/listing")["exit_code"] == 0
    lines = api.download("/tmp/listing").decode().splitlines()
    assert re.fullmatch(r"-rw-r--r-- 1 root root +\d+ \w{3} [ \d]\d (\d\d:\d\d| \d{4}) /etc/hostname", lines[0]), lines
    assert lines[1:3] == ["", "/tmp:"]
    assert lines[3] == "total 8"  # 5000 bytes take two 4 KiB blocks
    assert re.fullmatch(r"-rw-r--r-- 1 root root 5000 \w{3} [ \d]\d \d\d:\d\d app\.log", lines[4]), lines


def test_ls_l_shows_a_link_given_on_the_command_line_as_a_link(api: Api) -> None:
    _run(api, "/bin/ls", "-l /bin > /tmp/bin")
    assert re.fullmatch(rb"lrwxrwxrwx 1 root root 7 .{12} /bin -> usr/bin\n", api.download("/tmp/bin"))


def test_ls_l_names_each_files_owner_from_the_guest_users(api: Api) -> None:
    _run(api, "/bin/ls", "-l /home/svc/notes.txt > /tmp/owner")
    assert api.download("/tmp/owner").startswith(b"-rw-r--r-- 1 svc svc 12 ")


def test_uptime_counts_from_the_guests_boot(api: Api) -> None:
    api.clock.advance(2 * 3600 + 5 * 60)
    assert _run(api, "/usr/bin/uptime", "> /tmp/up")["exit_code"] == 0
    line = api.download("/tmp/up").decode()
    assert re.fullmatch(r" \d\d:\d\d:\d\d up  2:0[56],  0 user,  load average: 0\.00, 0\.00, 0\.00\n", line), line


@pytest.mark.parametrize(
    ("vm", "expected"),
    [
        (
            "vm-42",
            b"Linux demo-linux 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux\n",
        ),
        ("vm-50", b"SunOS demo-solaris 5.11 11.4.0.15.0 i86pc i386 i86pc Solaris\n"),
    ],
)
def test_uname_a_names_the_guests_kernel_and_host(api: Api, vm: str, expected: bytes) -> None:
    # a program without a path: the command line runs it through /bin/sh -c, as govc does
    assert _run(api, "/bin/sh", "-c 'uname -a' > /tmp/uname", vm=vm)["exit_code"] == 0
    assert api.download("/tmp/uname", vm=vm) == expected


def test_a_script_of_loops_and_functions_runs_in_the_guest(api: Api) -> None:
    script = (
        b"#!/bin/sh\n"
        b'count() {\n  local n=0\n  for f in "$@"; do\n    case $f in *.log) n=${n}x ;; esac\n  done\n'
        b'  echo "$n"\n}\n'
        b"if [ -d /var/log ]; then count /var/log/* /etc/hostname > /tmp/counted; else exit 3; fi\n"
        b"while true; do echo once >> /tmp/counted; break; done\n"
    )
    api.upload("/tmp/s.sh", script, posix={"permissions": "755"})
    assert _run(api, "/tmp/s.sh")["exit_code"] == 0
    assert api.download("/tmp/counted") == b"0x\nonce\n"


def test_a_loop_that_never_ends_ends_the_process_with_the_budgets_exit(api: Api) -> None:
    """`while true` in the guest does not hold the mock: the run's budget of commands ends it (152),
    and says why on the stderr the line redirected."""
    info = _run(api, "/bin/sh", "-c 'while true; do :; done' 2> /tmp/why; echo never > /tmp/after")
    assert info["exit_code"] == BUDGET_EXIT_CODE
    assert b"Budget.steps" in api.download("/tmp/why")
    assert api.fs("/files//tmp/after?action=get").status_code == 404


# -- Windows: no shell, and cmd.exe /c for redirections -------------------------------------------------

WIN = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "Administrator", "password": "vmware"}
CMD = "C:\\Windows\\System32\\cmd.exe"
HOME = "C:\\Users\\Administrator"


def _cmd(api: Api, line: str, **spec: Any) -> dict[str, Any]:
    return _run(api, CMD, f"/c {line}", vm="vm-43", creds=WIN, **spec)


def test_cmd_redirects_echo_and_type_with_crlf(api: Api) -> None:
    assert _cmd(api, f"echo hello> {HOME}\\o.txt & type {HOME}\\o.txt >> {HOME}\\o.txt")["exit_code"] == 0
    assert api.download(f"{HOME}\\o.txt", vm="vm-43", creds=WIN) == b"hello\r\nhello\r\n"


def test_cmd_expands_variables_and_errorlevel_and_joins_with_and_or(api: Api) -> None:
    info = _cmd(api, f"type C:\\nope 2> {HOME}\\e.txt || echo %GREETING% %UNSET% was %ERRORLEVEL% >> {HOME}\\e.txt",
                environment_variables={"greeting": "hi"})  # fmt: skip
    assert info["exit_code"] == 0
    assert api.download(f"{HOME}\\e.txt", vm="vm-43", creds=WIN) == (
        b"The system cannot find the file specified.\r\nhi %UNSET% was 0 \r\n"
    )  # %ERRORLEVEL% expands when the whole line is read, before type ran, as cmd does


def test_cmd_exit_b_sets_the_exit_code(api: Api) -> None:
    assert _cmd(api, "echo x >nul && exit /b 3")["exit_code"] == 3


@pytest.mark.parametrize("line", ["if 1==1 echo x", "for %i in (a) do echo", "echo a | more", "(echo a)"])
def test_cmd_outside_its_subset_fails_loudly(api: Api, line: str) -> None:
    assert _cmd(api, f"{line} 2> {HOME}\\u.txt")["exit_code"] == 1


def test_cmd_reports_an_unknown_command_as_cmd_does(api: Api) -> None:
    assert _cmd(api, f"nosuch 2> {HOME}\\n.txt")["exit_code"] == 9009
    assert b"is not recognized as an internal or external command" in api.download(
        f"{HOME}\\n.txt", vm="vm-43", creds=WIN
    )


def test_a_windows_program_runs_with_no_shell(api: Api) -> None:
    """`> x` is only an argument to a program started without cmd.exe: no file appears."""
    info = _run(api, "C:\\Windows\\System32\\ping.exe", f"localhost > {HOME}\\ping.txt", vm="vm-43", creds=WIN)
    assert info["exit_code"] == 0
    assert api.fs(f"/files/{HOME}\\ping.txt?action=get", vm="vm-43", creds=WIN).status_code == 404
