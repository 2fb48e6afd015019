"""The handlers `handles_read` and `handles_change` register for a VM's reports and power changes: they
check the call's API session first, answer with the simulator's own method (a subclass's override
included, as the tests' broken servers need) and the operation's success status, and refuse what is
not a method of a part."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import pytest
from vcenter_guest.mock import DEMO_VM, Simulator
from vcenter_guest.mock._handlers import handles_read


class _ReportsAnotherIdentity(Simulator):
    def identity(self, vm_id: str) -> dict[str, Any]:
        info = super().identity(vm_id)
        return {**info, "host_name": "overridden"}


class _RecordsPowerChanges(Simulator):
    changes: ClassVar[list[tuple[str, str]]] = []

    def power_change(self, vm_id: str, action: str) -> None:
        self.changes.append((vm_id, action))


def test_a_read_is_answered_by_the_simulators_own_method_when_a_subclass_overrides_it(
    make_server: Callable[..., Any],
) -> None:
    server = make_server(simulator_cls=_ReportsAnotherIdentity)
    with server.client() as vc:
        assert vc.guest.identity(DEMO_VM).host_name == "overridden"


def test_a_change_is_handed_the_vm_and_the_action_its_operation_names(make_server: Callable[..., Any]) -> None:
    server = make_server(simulator_cls=_RecordsPowerChanges)
    _RecordsPowerChanges.changes = []
    with server.client() as vc:
        vc.vms.reset(DEMO_VM)
        vc.vms.suspend(DEMO_VM, timeout=0)
    assert _RecordsPowerChanges.changes == [(DEMO_VM, "reset"), (DEMO_VM, "suspend")]


def test_a_read_without_an_api_session_is_unauthenticated_and_never_reaches_the_simulator(
    make_server: Callable[..., Any],
) -> None:
    server = make_server(simulator_cls=_ReportsAnotherIdentity)
    with httpx.Client(base_url=server.url, transport=server.sync_transport()) as raw:
        answer = raw.get(f"/api/vcenter/vm/{DEMO_VM}/guest/identity")
    assert answer.status_code == 401
    assert answer.json()["error_type"] == "UNAUTHENTICATED"
    assert "overridden" not in answer.text


def _a_function(simulator: Simulator, vm: str) -> dict[str, Any]:
    return {}


@pytest.mark.parametrize(
    "read",
    [lambda simulator, vm: {}, _a_function],
    ids=["a lambda", "a module function"],
)
def test_registering_something_that_is_not_a_method_of_a_part_is_refused(read: Callable[[Any, str], Any]) -> None:
    with pytest.raises(TypeError, match="not a method of a part"):
        handles_read("identity.get", read)


def test_registering_a_function_nested_in_a_function_is_refused() -> None:
    def nested(simulator: Simulator, vm: str) -> dict[str, Any]:
        return {}

    with pytest.raises(TypeError, match="not a method of a part"):
        handles_read("identity.get", nested)
