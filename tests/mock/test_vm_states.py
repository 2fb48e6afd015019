"""The state of the VM decides whether any guest operation can run, for every operation alike."""

from __future__ import annotations

import pytest

OPERATIONS = [("create", None), ("list", None), ("get", 1), ("delete", 1)]


def _call(api, action, pid, vm):
    return api.op(action, vm, pid, spec={"path": "/bin/true"} if action == "create" else None)


@pytest.mark.parametrize(("action", "pid"), OPERATIONS)
@pytest.mark.parametrize(
    "vm", ["vm-404", "", "vm 42", "vm%2F42", "vm-42%2Fguest%2Fprocesses", "\u00e9\u4e2d\U0001f600"]
)
def test_unknown_vm_is_not_found(api, action, pid, vm):
    from urllib.parse import unquote

    response = _call(api, action, pid, vm)
    api.expect_error(response, 404, "NOT_FOUND", "com.vmware.vcenter.vm.not_found", args=[unquote(vm)])


@pytest.mark.parametrize(("action", "pid"), OPERATIONS)
@pytest.mark.parametrize("vm", ["vm-44", "vm-45"], ids=["powered-off", "suspended"])
def test_vm_not_powered_on_is_not_allowed_in_current_state(api, action, pid, vm):
    api.expect_error(
        _call(api, action, pid, vm),
        400,
        "NOT_ALLOWED_IN_CURRENT_STATE",
        "com.vmware.vcenter.vm.guest.vm_not_running",
        args=[vm],
    )


@pytest.mark.parametrize(("action", "pid"), OPERATIONS)
def test_busy_vm_is_resource_busy(api, action, pid):
    api.expect_error(_call(api, action, pid, "vm-47"), 500, "RESOURCE_BUSY", "com.vmware.vcenter.vm.guest.vm_busy")


@pytest.mark.parametrize(("action", "pid"), OPERATIONS)
def test_tools_not_running_is_service_unavailable(api, action, pid):
    response = _call(api, action, pid, "vm-46")
    api.expect_error(response, 503, "SERVICE_UNAVAILABLE", "com.vmware.api.vcenter.vm.guest.tools_not_running")


@pytest.mark.parametrize(("action", "pid"), OPERATIONS)
@pytest.mark.parametrize(
    ("vm", "message_id"),
    [
        ("vm-48", "com.vmware.vcenter.vm.guest.operations_unsupported"),
        ("vm-49", "com.vmware.vcenter.vm.guest.operations_disabled"),
    ],
    ids=["tools-unsupported", "tools-disabled"],
)
def test_tools_unsupported_or_disabled_is_unsupported(api, action, pid, vm, message_id):
    api.expect_error(_call(api, action, pid, vm), 400, "UNSUPPORTED", message_id, args=[vm])


def test_vm_state_can_change_at_run_time(api):
    api.simulator.update_vm("vm-42", tools="NOT_RUNNING")
    assert api.op("list").status_code == 503
    api.simulator.update_vm("vm-42", tools="RUNNING")
    assert api.op("list").status_code == 200
