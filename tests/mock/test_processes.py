"""Processes: pids, list, get with exit codes, retention, termination."""

from __future__ import annotations

import datetime

import pytest
from vcenter_guest.mock import KILLED_EXIT_CODE, TERMINATED_EXIT_CODE

NOT_FOUND = "com.vmware.vcenter.vm.guest.processes.not_found"
SVC = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "svc", "password": "svc-pass"}


def _get(api, pid, vm="vm-42"):
    response = api.op("get", vm, pid)
    assert response.status_code == 200, response.text
    return response.json()


def test_create_returns_a_fresh_pid_each_time(api):
    pids = [api.create() for _ in range(5)]
    assert len(set(pids)) == 5
    assert all(isinstance(p, int) for p in pids)


def test_get_fills_in_name_owner_command_and_started(api):
    pid = api.create("/bin/ls", arguments="-l /tmp")
    info = _get(api, pid)
    assert info["name"] == "ls"
    assert info["owner"] == "root"
    assert info["command"] == '"/bin/ls" -l /tmp'
    started = datetime.datetime.fromisoformat(info["started"].replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()) < 3600


def test_running_process_has_no_finished_or_exit_code(api):
    info = _get(api, api.create("/bin/sleep", arguments="10"))
    assert "finished" not in info
    assert "exit_code" not in info


@pytest.mark.parametrize(
    ("path", "arguments", "duration", "exit_code"),
    [
        ("/bin/true", None, 0, 0),
        ("/bin/false", None, 0, 1),
        ("/bin/sleep", "0.2", 0.2, 0),
        ("/bin/sleep", "2 > /tmp/out 2>&1", 2, 0),
        ("/bin/sleep", "10", 10, 0),
        ("/bin/sleep", "soon", 0, 1),
        ("/opt/app/exit", "3", 0, 3),
        ("/opt/app/job", "2 7", 2, 7),
    ],
)
def test_process_finishes_after_its_duration_with_its_exit_code(api, path, arguments, duration, exit_code):
    pid = api.create(path, **({"arguments": arguments} if arguments else {}))
    if duration:
        api.clock.advance(duration * 0.99)
        assert "exit_code" not in _get(api, pid)
    api.clock.advance(duration * 0.01 + 0.001)
    info = _get(api, pid)
    assert info["exit_code"] == exit_code
    started = datetime.datetime.fromisoformat(info["started"].replace("Z", "+00:00"))
    finished = datetime.datetime.fromisoformat(info["finished"].replace("Z", "+00:00"))
    assert (finished - started).total_seconds() == pytest.approx(duration, abs=0.002)


def test_list_shows_running_and_recently_finished_processes(api):
    running = api.create("/bin/sleep", arguments="100")
    finished = api.create("/bin/true")
    api.clock.advance(1)
    listed = {p["pid"]: p for p in api.op("list").json()}
    assert {running, finished, 1, 612} <= set(listed)
    assert listed[running]["command"] == '"/bin/sleep" 100'
    assert listed[1]["name"] == "systemd"


def test_finished_process_is_forgotten_after_retention(make_api):
    api = make_api({**_demo(), "process_retention": 5})
    pid = api.create("/bin/true")
    api.clock.advance(4.9)
    assert _get(api, pid)["exit_code"] == 0
    api.clock.advance(0.2)
    api.expect_error(api.op("get", pid=pid), 404, "NOT_FOUND", NOT_FOUND, data={"pid": pid})
    assert pid not in {p["pid"] for p in api.op("list").json()}
    assert api.create() != pid  # never reused


def test_retention_counts_from_the_end_of_the_process(make_api):
    api = make_api({**_demo(), "process_retention": 5})
    pid = api.create("/bin/sleep", arguments="10")
    api.clock.advance(14)
    assert _get(api, pid)["exit_code"] == 0
    api.clock.advance(1.1)
    assert api.op("get", pid=pid).status_code == 404


@pytest.mark.parametrize("action", ["get", "delete"])
@pytest.mark.parametrize("pid", [999_999, 0, -1, 2**63 - 1, -(2**63)])
def test_unknown_pid_is_not_found_with_process_error_details(api, action, pid):
    api.expect_error(api.op(action, pid=pid), 404, "NOT_FOUND", NOT_FOUND, data={"pid": pid}, args=[str(pid), "vm-42"])


def test_delete_terminates_a_process_with_exit_code_143(api):
    pid = api.create("/bin/sleep", arguments="100")
    api.clock.advance(1)
    assert api.op("delete", pid=pid).status_code == 204
    info = _get(api, pid)
    assert info["exit_code"] == TERMINATED_EXIT_CODE == 143
    assert info["finished"] > info["started"]


def test_delete_of_a_process_that_ignores_sigterm_kills_it(api):
    """delete sends SIGTERM, then SIGKILL if that does not end it: 128 + 9."""
    pid = api.create("/opt/app/stuck")
    assert api.op("delete", pid=pid).status_code == 204
    assert _get(api, pid)["exit_code"] == KILLED_EXIT_CODE == 137


def test_delete_of_an_unkillable_process_leaves_it_running(api):
    """Only a process SIGKILL cannot end (stuck in the kernel) survives delete."""
    pid = api.create("/opt/app/unkillable")
    assert api.op("delete", pid=pid).status_code == 204
    api.clock.advance(1700)  # (less than the session idle timeout)
    assert "exit_code" not in _get(api, pid)


def test_delete_of_a_finished_process_keeps_its_exit_code(api):
    pid = api.create("/bin/false")
    api.clock.advance(1)
    assert api.op("delete", pid=pid).status_code == 204
    assert _get(api, pid)["exit_code"] == 1


def test_delete_of_an_inventory_process_removes_it_from_the_list(api):
    assert api.op("delete", pid=612).status_code == 204
    assert 612 not in {p["pid"] for p in api.op("list").json()}


def test_guest_user_may_not_terminate_another_users_process(api):
    pid = api.create("/bin/sleep", arguments="100")
    api.expect_error(
        api.op("delete", pid=pid, creds=SVC),
        403,
        "UNAUTHORIZED",
        "com.vmware.vcenter.vm.guest.processes.terminate_denied",
        args=["svc", str(pid)],
    )
    assert "exit_code" not in _get(api, pid)


def test_guest_user_may_terminate_its_own_process(api):
    response = api.op("create", creds=SVC, spec={"path": "/bin/sleep", "arguments": "100"})
    assert api.op("delete", pid=response.json(), creds=SVC).status_code == 204


def test_pids_are_per_vm(api):
    api.create(vm="vm-50")
    pid = api.create(vm="vm-50")
    assert _get(api, pid, "vm-50")["name"] == "true"
    assert api.op("get", "vm-42", pid).status_code == 404  # a pid of one VM means nothing in another


def _demo():
    from vcenter_guest.mock import DEMO_INVENTORY

    return dict(DEMO_INVENTORY)
