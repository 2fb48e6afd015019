"""Whether a guest takes guest operations (Operations.get), and waiting until it does: shared by the
guest service (`vc.guest.readiness`, `wait_ready`), `run(wait_ready=...)` and the power operations
that boot a guest (`vc.vms.start(wait_ready=...)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vcenter_guest._engine import Call, Engine, Plan
from vcenter_guest._engine.waiting import wait_until

from .answers import reader, vm_call

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import GuestReadiness

__all__ = ["readiness_call", "wait_ready_plan"]


def _readiness(raw: Any) -> GuestReadiness:
    from vcenter_guest_client.models import GuestOperationsInfo  # noqa: PLC0415

    from vcenter_guest._values.files import GuestReadiness  # noqa: PLC0415 - loaded on the first answer

    model = GuestOperationsInfo.from_dict(raw)
    ready, interactive = model.guest_operations_ready, model.interactive_guest_operations_ready
    if not isinstance(ready, bool) or not isinstance(interactive, bool):
        raise TypeError("not a boolean")
    return GuestReadiness(ready, interactive)


def readiness_call(vm: str) -> Call[GuestReadiness]:
    """Operations.get."""
    from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request

    parse = reader("a GuestOperationsInfo", _readiness)
    return vm_call("operations.get", api.operations_get.request_kwargs, vm, parse)


def wait_ready_plan(engine: Engine, vm: str, timeout: float | None, *, interactive: bool = False) -> Plan[None]:
    """Polls Operations.get as `run` polls a program until the guest takes (interactive) guest
    operations; errors.TimedOut after `timeout` seconds."""

    def check() -> Plan[bool]:
        state: GuestReadiness = yield from engine.call(readiness_call(vm))
        return state.interactive_guest_operations_ready if interactive else state.guest_operations_ready

    def what(timeout: float) -> str:
        return f"the guest did not become ready for guest operations within {timeout:g} s (are VMware Tools running?)"

    return wait_until(engine, check, timeout, what=what, operation="operations.get", vm=vm)
