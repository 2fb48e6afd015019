"""Every method of Client and AsyncClient against the mock vCenter, in process and over loopback."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from vcenter_guest import CreateSpec, Credentials, ProcessInfo, ProcessResult, ProcessSummary, errors
from vcenter_guest.mock import DEMO_VM, TERMINATED_EXIT_CODE


def test_create_returns_the_pid_of_a_started_program_that_get_and_list_then_show(
    server: Any, guest: Credentials
) -> None:
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, CreateSpec("/bin/sleep", arguments="30"))
        info = vc.processes.get(DEMO_VM, guest, pid)
        listed = vc.processes.list(DEMO_VM, guest)
    assert isinstance(pid, int)
    assert isinstance(info, ProcessInfo)
    assert (info.pid, info.name, info.owner, info.running) == (pid, "sleep", "root", True)
    assert info.finished is None
    assert info.exit_code is None
    assert info.started.tzinfo is not None, "times must be timezone-aware so .timestamp() is right"
    assert pid in {p.pid for p in listed}
    assert all(isinstance(p, ProcessSummary) and isinstance(p.started, datetime.datetime) for p in listed)


def test_get_reports_exit_code_and_end_time_once_the_program_exited(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, CreateSpec("/opt/app/exit", arguments="7"))
        info = vc.processes.get(DEMO_VM, guest, pid)
    assert (info.exit_code, info.running) == (7, False)
    assert info.finished is not None
    assert info.finished >= info.started


def test_create_accepts_a_program_path_as_shorthand_for_a_spec(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, "/bin/true")
        assert vc.processes.get(DEMO_VM, guest, pid).exit_code == 0


def test_create_sends_working_directory_and_environment(server: Any, guest: Credentials) -> None:
    spec = CreateSpec("/bin/echo", arguments="hi", working_directory="/tmp", environment_variables={"A": "1"})
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, spec)
        info = vc.processes.get(DEMO_VM, guest, pid)
    assert info.command == '"/bin/echo" hi'


def test_delete_terminates_a_running_program(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, CreateSpec("/bin/sleep", arguments="600"))
        assert vc.processes.delete(DEMO_VM, guest, pid) is None
        info = vc.processes.get(DEMO_VM, guest, pid)
    assert info.exit_code == TERMINATED_EXIT_CODE


def test_run_returns_exit_code_0_as_a_result(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/true", timeout=30)
    assert isinstance(result, ProcessResult)
    assert (result.exit_code, result.ok, result.vm) == (0, True, DEMO_VM)
    assert result.duration is not None
    assert result.duration >= datetime.timedelta(0)


def test_run_returns_a_non_zero_exit_code_as_a_result_not_an_exception(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/false")
    assert (result.exit_code, result.ok) == (1, False)


def test_run_with_check_raises_process_failed_carrying_the_result(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.ProcessFailed) as caught:
        vc.processes.run(DEMO_VM, guest, "/opt/app/exit", "3", check=True)
    assert caught.value.result.exit_code == 3
    assert caught.value.exit_code == 3
    assert caught.value.vm == DEMO_VM


def test_run_quotes_each_argument_for_the_guest_shell(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/opt/app/job", "0", "5", capture=False)
        info = vc.processes.get(DEMO_VM, guest, result.pid)
        spaced = vc.processes.run(DEMO_VM, guest, "/bin/echo", "two words", capture=False)
        spaced_info = vc.processes.get(DEMO_VM, guest, spaced.pid)
    assert result.exit_code == 5
    assert info.command == '"/opt/app/job" 0 5'
    assert spaced_info.command == "\"/bin/echo\" 'two words'"


def test_run_passes_arguments_keyword_verbatim_for_shell_syntax(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/echo", arguments="hi > /tmp/out", capture=False)
        info = vc.processes.get(DEMO_VM, guest, result.pid)
    assert info.command == '"/bin/echo" hi > /tmp/out'


def test_run_waits_for_a_program_that_takes_a_while(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/sleep", "0.3", timeout=30)
    assert result.exit_code == 0
    assert result.duration is not None
    assert result.duration >= datetime.timedelta(seconds=0.3)


def test_run_timeout_raises_process_timeout_and_leaves_the_program_running(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        with pytest.raises(errors.ProcessTimeout) as caught:
            vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", timeout=0.2)
        still = vc.processes.get(DEMO_VM, guest, caught.value.pid)
    assert caught.value.terminated is False
    assert caught.value.timeout == 0.2
    assert still.running, "without terminate_on_timeout the program must keep running"


def test_run_timeout_with_termination_terminates_the_program_first(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        with pytest.raises(errors.ProcessTimeout) as caught:
            vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", timeout=0.2, terminate_on_timeout=True)
        after = vc.processes.get(DEMO_VM, guest, caught.value.pid)
    assert caught.value.terminated is True
    assert after.exit_code == TERMINATED_EXIT_CODE


def test_run_raises_process_vanished_when_the_exit_was_forgotten_before_it_was_seen(
    make_server: Any, demo_inventory: dict[str, Any], guest: Credentials
) -> None:
    demo_inventory["process_retention"] = 0  # the server forgets a process the moment it ends
    server = make_server(demo_inventory)
    with server.client() as vc, pytest.raises(errors.ProcessVanished) as caught:
        # (capture=True reads the exit code the run recorded instead: tests/overlay/test_capture.py)
        vc.processes.run(DEMO_VM, guest, "/bin/sleep", "0.05", timeout=30, capture=False)
    assert caught.value.vm == DEMO_VM
    assert "5 minutes" in str(caught.value)
    assert isinstance(caught.value.__cause__, errors.NotFound)


def test_run_accepts_a_create_spec(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, CreateSpec("/opt/app/exit", arguments="4"))
    assert result.exit_code == 4


@pytest.mark.anyio
async def test_async_client_offers_the_same_methods(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        pid = await vc.processes.create(DEMO_VM, guest, CreateSpec("/bin/sleep", arguments="30"))
        info = await vc.processes.get(DEMO_VM, guest, pid)
        listed = await vc.processes.list(DEMO_VM, guest)
        await vc.processes.delete(DEMO_VM, guest, pid)
        after = await vc.processes.get(DEMO_VM, guest, pid)
        result = await vc.processes.run(DEMO_VM, guest, "/opt/app/exit", "2")
        with pytest.raises(errors.ProcessTimeout):
            await vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", timeout=0.1)
    assert info.running
    assert pid in {p.pid for p in listed}
    assert after.exit_code == TERMINATED_EXIT_CODE
    assert result.exit_code == 2


def test_saml_credentials_run_as_the_user_the_token_names(server: Any) -> None:
    with server.client() as vc:
        result = vc.processes.run(DEMO_VM, Credentials.saml("token-svc"), "/bin/true")
        info = vc.processes.get(DEMO_VM, Credentials.saml("token-svc", user="svc"), result.pid)
    assert info.owner == "svc"
