"""The mock's cmd.exe: the switches, `call`, `set`, batch files and the argument text a program gets,
as the capture of `run` on Windows guests relies on them (and the argv utility that reports it).

Through the API only, as tests/mock/test_programs.py: create a process, wait for it, read back the
files its command line wrote.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from vcenter_guest.mock._argv import argv_of

from .conftest import Api

WIN = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "Administrator", "password": "vmware"}
CMD = "C:\\Windows\\System32\\cmd.exe"
ARGV = "C:\\Tools\\argv.exe"
HOME = "C:\\Users\\Administrator"


def _run(api: Api, path: str, arguments: str, **spec: Any) -> dict[str, Any]:
    created = api.op("create", "vm-43", creds=WIN, spec={"path": path, "arguments": arguments, **spec})
    assert created.status_code == 201, created.text
    api.clock.advance(60)
    info: dict[str, Any] = api.op("get", vm="vm-43", pid=created.json(), creds=WIN).json()
    return info


def _read(api: Api, name: str) -> bytes:
    return api.download(f"{HOME}\\{name}", vm="vm-43", creds=WIN)


def test_s_strips_the_first_and_the_last_quote_of_the_line(api: Api) -> None:
    line = f'"{ARGV}" "a b" c >"{HOME}\\o.txt"'
    assert _run(api, CMD, f'/d /s /c "{line}"')["exit_code"] == 0
    assert json.loads(_read(api, "o.txt")) == ["a b", "c"]
    # Without /s, a line of more than two quotes keeps them: its first word is no program.
    assert _run(api, CMD, f'/d /c "{line}"')["exit_code"] == 9009


def test_unknown_switches_fail_loudly_and_q_and_d_are_taken(api: Api) -> None:
    assert _run(api, CMD, f"/q /d /c echo hi >{HOME}\\q.txt")["exit_code"] == 0
    assert _read(api, "q.txt") == b"hi \r\n"  # echo keeps the blank before the redirection, as cmd does
    assert _run(api, CMD, f"/v:on /c echo hi >{HOME}\\v.txt")["exit_code"] == 1


def test_a_program_gets_its_argument_text_without_carets_and_redirections(api: Api) -> None:
    line = f'{ARGV} a^&b "c ^ d" >{HOME}\\t.txt e\\^"f 2>nul "g h"'
    assert _run(api, CMD, f"/c {line}")["exit_code"] == 0
    # cmd removed the carets outside quotes and the redirections; the program split the rest.
    assert json.loads(_read(api, "t.txt")) == ["a&b", "c ^ d", 'e"f', "g h"]


def test_call_expands_the_rest_again_after_what_ran_before_it(api: Api) -> None:
    line = (
        f"{ARGV} >nul & >{HOME}\\e.txt call echo now %^ERRORLEVEL%& >>{HOME}\\e.txt echo read %ERRORLEVEL%"
        f"& >>{HOME}\\e.txt call echo %^UNSET%"
    )
    assert _run(api, CMD, f"/c {line}", environment_variables={"EXIT": "-1073741819"})["exit_code"] == 0
    # %ERRORLEVEL% expanded when the line was read; %^ERRORLEVEL% once `call` ran, after the program;
    # an undefined name stays as written; call leaves ERRORLEVEL 0 after echo.
    assert _read(api, "e.txt") == b"now -1073741819\r\nread 0\r\n%UNSET%\r\n"


def test_set_keeps_a_value_that_call_expands_and_leaves_errorlevel(api: Api) -> None:
    line = f"{ARGV} >nul & call set RC=%^ERRORLEVEL%& >{HOME}\\s.txt call echo [%^RC%]"
    assert _run(api, CMD, f"/c {line}", environment_variables={"EXIT": "7"})["exit_code"] == 0
    assert _read(api, "s.txt") == b"[7]\r\n"


def test_a_batch_file_runs_line_by_line_with_its_arguments(api: Api) -> None:
    script = (
        b"@echo off\r\n:: a comment\r\nset WHO=%~1\r\n"
        b"echo [%WHO%] [%2] [%UNSET%] 100%%>%~3\r\nexit /b 3\r\necho never\r\n"
    )
    api.upload(f"{HOME}\\s.cmd", script, vm="vm-43", creds=WIN)
    line = f'"{HOME}\\s.cmd" "a b" "c" {HOME}\\b.txt & >>{HOME}\\b.txt call echo after %^ERRORLEVEL%'
    assert _run(api, CMD, f'/d /s /c "{line}"')["exit_code"] == 0
    assert _read(api, "b.txt") == b'[a b] ["c"] [] 100%\r\nafter 3\r\n'


def test_exit_without_b_in_a_batch_file_ends_cmd(api: Api) -> None:
    api.upload(f"{HOME}\\x.bat", b"@exit 5\r\n", vm="vm-43", creds=WIN)
    assert _run(api, CMD, f"/c {HOME}\\x.bat & echo not here >{HOME}\\x.txt")["exit_code"] == 5
    assert api.fs(f"/files/{HOME}\\x.txt?action=get", vm="vm-43", creds=WIN).status_code == 404


@pytest.mark.parametrize(
    "script",
    [b"echo echo is on\r\n", b"@goto end\r\n", b"@echo off\r\n:end\r\n", b"@echo off\r\nif 1==1 echo x\r\n"],
)
def test_a_batch_file_outside_the_subset_fails_loudly(api: Api, script: bytes) -> None:
    api.upload(f"{HOME}\\u.cmd", script, vm="vm-43", creds=WIN)
    assert _run(api, CMD, f"/c {HOME}\\u.cmd 2>{HOME}\\u.txt")["exit_code"] == 1
    assert b"not supported by the simulated cmd.exe" in _read(api, "u.txt")


def test_the_argv_utility_started_without_cmd_splits_its_command_line(api: Api) -> None:
    env = {"WRITE_ARGV_TO": f"{HOME}\\argv.json", "EXIT": "4294967295"}
    info = _run(api, ARGV, 'a "b c" d\\"e > f', environment_variables=env)
    assert info["exit_code"] == -1  # a DWORD, as cmd shows it
    assert json.loads(_read(api, "argv.json")) == ["a", "b c", 'd"e', ">", "f"]  # no cmd: `>` is an argument


def test_argv_of_follows_commandlinetoargvw() -> None:
    assert argv_of(r'"a\\" b\c "" "x""y"') == ["a\\", "b\\c", "", 'x"y']
    assert argv_of("  ") == []
