"""What `run` reports is what happened: verbatim arguments ending in a line break, a line the shell cannot
parse, and NUL characters (which no program, path or environment can hold) refused before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from vcenter_guest import Client, CreateSpec, Credentials, errors
from vcenter_guest.mock import DEMO_VM

from tests.conftest import MockServer


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\n\n", " \n"])
def test_verbatim_arguments_ending_in_a_line_break_give_the_programs_exit_code_and_output(
    server: MockServer, guest: Credentials, ending: str
) -> None:
    with server.client() as vc:
        exited = vc.processes.run(DEMO_VM, guest, "/opt/app/exit", arguments="3" + ending)
        echoed = vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="hi" + ending)
    assert exited.exit_code == 3
    # As a shell reads the line: a carriage return is part of the last word.
    assert (echoed.exit_code, echoed.stdout) == (0, b"hi\r\n" if ending == "\r\n" else b"hi\n")


def test_a_verbatim_line_the_shell_cannot_parse_gives_the_shells_exit_code_and_message(
    server: MockServer, guest: Credentials
) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="'unbalanced")
        with pytest.raises(errors.ProcessFailed) as checked:
            vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="'unbalanced", check=True)
    assert result.exit_code == 2
    assert b"syntax error" in result.stderr.lower()
    assert result.stdout == b""
    assert checked.value.result.exit_code == 2


def test_a_windows_verbatim_line_with_a_line_break_is_refused_under_capture_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []
    vc = Client("http://vc.test", user="u", password="pw", transport=httpx.MockTransport(sent.append))  # type: ignore[arg-type]
    creds = Credentials.password("u", "p")
    with pytest.raises(errors.UsageError, match="line break"):
        vc.processes.run("vm-1", creds, "C:\\Tools\\argv.exe", arguments="3\r\n")
    assert sent == []
    vc.close()


def _creds() -> Credentials:
    return Credentials.password("root", "pw")


NUL_CALLS: dict[str, Callable[[Client], Any]] = {
    "arguments=": lambda vc: vc.processes.run("vm-1", _creds(), "/bin/echo", arguments="a\0b"),
    "an environment value": lambda vc: vc.processes.run(
        "vm-1", _creds(), "/bin/echo", environment_variables={"A": "x\0"}
    ),
    "an environment name": lambda vc: vc.processes.run(
        "vm-1", _creds(), "/bin/echo", environment_variables={"A\0B": "x"}
    ),
    "working_directory": lambda vc: vc.processes.run("vm-1", _creds(), "/bin/echo", working_directory="/tmp\0"),
    "the program's path": lambda vc: vc.processes.run("vm-1", _creds(), "/bin/echo\0"),
    "a CreateSpec's path": lambda vc: vc.processes.create("vm-1", _creds(), CreateSpec("/bin/echo\0x")),
    "an interpreter": lambda vc: vc.processes.run_script("vm-1", _creds(), "echo", interpreter="/bin/sh\0"),
    "a temporary directory's prefix": lambda vc: vc.files.mkdtemp("vm-1", _creds(), prefix="a\0"),
    "a temporary directory's suffix": lambda vc: vc.files.mkdtemp("vm-1", _creds(), suffix="\0"),
    "a guest user name": lambda vc: vc.processes.run("vm-1", Credentials.password("ro\0ot", "x"), "/bin/true"),
    "a guest password": lambda vc: vc.processes.run("vm-1", Credentials.password("root", "x\0"), "/bin/true"),
}


@pytest.mark.parametrize("where", list(NUL_CALLS))
def test_a_nul_character_anywhere_is_a_usage_error_before_anything_is_sent(where: str) -> None:
    sent: list[httpx.Request] = []
    vc = Client("http://vc.test", user="u", password="pw", transport=httpx.MockTransport(sent.append))  # type: ignore[arg-type]
    with pytest.raises(errors.UsageError, match="NUL"):
        NUL_CALLS[where](vc)
    assert sent == []
    vc.close()


def test_an_environment_name_with_an_equals_sign_is_a_usage_error() -> None:
    with pytest.raises(errors.UsageError, match="="):
        CreateSpec("/bin/env", environment_variables={"A=B": "x"})


def test_capture_without_the_modify_privilege_fails_naming_it_and_no_capture_and_from_then_on_before_anything_runs(
    make_server: Callable[..., MockServer], demo_inventory: dict[str, Any], guest: Credentials
) -> None:
    """processes.create documents Execute and Query; capture also needs what its run directory needs.
    On a guest the Identity service names, the line makes the run directory: the program runs once,
    its output is refused, and the error names the directory left (its removal is refused too). From
    then on this client has the server make the directory, which is refused before anything runs."""
    from .test_capture import _leftovers

    demo_inventory["users"].append(
        {
            "name": "runner@vsphere.local",
            "password": "Run!23",
            "privileges": ["VirtualMachine.GuestOperations.Execute", "VirtualMachine.GuestOperations.Query"],
        }
    )
    server = make_server(demo_inventory)
    program = ("/bin/sh", "-c", "echo ran >>/root/ran")
    with server.client(user="runner@vsphere.local", password="Run!23") as vc:
        with pytest.raises(errors.Unauthorized) as first:
            vc.processes.run(DEMO_VM, guest, *program)
        [left] = _leftovers(server.app)
        for said in ("VirtualMachine.GuestOperations.Modify", "capture=False", "The program ran", f"/tmp/{left}"):
            assert said in str(first.value)
        with pytest.raises(errors.Unauthorized) as caught:
            vc.processes.run(DEMO_VM, guest, *program)
        assert "VirtualMachine.GuestOperations.Modify" in str(caught.value)
        assert "capture=False" in str(caught.value)
        assert "Nothing was started" in str(caught.value)
        assert caught.value.operation == "directories.create_temporary"
        assert vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi", capture=False).exit_code == 0
    with server.client() as admin:
        assert admin.files.download(DEMO_VM, guest, "/root/ran") == b"ran\n"  # it ran once
