"""The VM services: VM.list (`com.vmware.vcenter.vm`) and Operations.get (whether a guest takes guest
operations now). The VMs themselves, their states and guest users are the core part `_vms.Vms`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.mock._document import power_states, query_filters
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._handlers import Api, UnhandledOperation, handles, handles_read, json_response, part
from vcenter_guest.mock._records import VmSpec
from vcenter_guest.mock._vms import Vms
from vcenter_guest.operations import Operation

__all__ = ["MAX_LISTED_VMS", "VmService"]

MAX_LISTED_VMS = 4000


@functools.cache
def vm_filters() -> dict[str, str]:
    """VM.list's filters, as the document names them (`names`, `power_states`...) -> the VmSpec field
    each constrains: the singular of its name (`vms` constrains the id). A filter of the document the
    mock has no field for fails closed: it would otherwise be ignored, and list too much."""
    fields = {field.name for field in VmSpec.__attrs_attrs__}
    filters = {}
    for name in query_filters("vm.list"):
        field = "id" if name == "vms" else name.removesuffix("s")
        if field not in fields:
            raise UnhandledOperation(
                f"the mock vCenter cannot apply vm.list's filter {name}, which the API document has"
            )
        filters[name] = field
    return filters


@part
class VmService(Vms):
    """The simulator's answers about its VMs."""

    def guest_operations_info(self, vm_id: str) -> dict[str, bool]:
        """`Operations.Info`: whether guest operations (and interactive ones) would work now."""
        with self._lock:
            vm = self.find_vm(vm_id)
            try:
                self.check_vm_ready(vm)
            except MockError:
                ready = False
            else:
                ready = True
            return {
                "guest_operations_ready": ready,
                "interactive_guest_operations_ready": ready and vm.spec.interactive_ready,
            }

    def list_vms(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        """VM.list: the VMs matching every given filter (an empty or absent one does not constrain)."""
        known = power_states()
        for state in filters.get("power_states", ()):
            if state not in known:
                raise MockError(
                    "INVALID_ARGUMENT",
                    "com.vmware.vcenter.vm.list.invalid_power_state",
                    "The power state {0} is not one of {1}.",
                    state,
                    ", ".join(sorted(known)),
                )
        by_field = vm_filters()
        wanted = {by_field[key]: set(values) for key, values in filters.items() if key in by_field and values}
        with self._lock:
            matches = [
                vm.spec
                for vm in self._vms.values()
                if all(getattr(vm.spec, field) in values for field, values in wanted.items())
            ]
        if len(matches) > MAX_LISTED_VMS:
            raise MockError(
                "UNABLE_TO_ALLOCATE_RESOURCE",
                "com.vmware.vcenter.vm.list.limit_exceeded",
                "More than {0} virtual machines match the filter ({1}); narrow it.",
                MAX_LISTED_VMS,
                len(matches),
            )
        return [self.vm_summary(spec) for spec in matches]

    def vm_summary(self, spec: VmSpec) -> dict[str, Any]:
        """`VM.Summary` of a VM."""
        summary: dict[str, Any] = {"vm": spec.id, "name": spec.name or spec.id, "power_state": spec.power_state}
        if spec.cpu_count is not None:
            summary["cpu_count"] = spec.cpu_count
        if spec.memory_size_MiB is not None:
            summary["memory_size_MiB"] = spec.memory_size_MiB
        return summary


handles_read("operations.get", VmService.guest_operations_info)


@handles("vm.list")
async def vm_list(
    api: Api[VmService], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """VM.list: an array of VM.Summary, filtered by the query's arrays (`?names=a&names=b`) or by the
    `filter` structure of a JSON body (what the official SDK sends on this GET): vAPI builds the
    operation's input from the URL, the query and the body, each argument from one place only."""
    api.session_call(op, scope)
    query = scope.get("query_string", b"").decode("latin-1")
    filters: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        filters.setdefault(key, []).append(value)
    for key, values in body_filters(await api.optional_body(scope, receive)).items():
        if key in filters:
            raise _bad_filter("The filter {0} is given both in the query and in the body.", key)
        filters[key] = values
    return json_response(api.simulator.list_vms(filters), op.success_status)


def _bad_filter(text: str, *args: object) -> MockError:
    return MockError("INVALID_ARGUMENT", "com.vmware.vcenter.vm.list.invalid_filter", text, *args)


def body_filters(body: Any) -> dict[str, list[str]]:
    """The filters of VM.list's JSON body `{"filter": {"names": [...], ...}}` (the input structure the
    SDK sends; `filter` may be null or absent); INVALID_ARGUMENT for any other shape or field."""
    if body is None:
        return {}
    if not isinstance(body, dict) or set(body) - {"filter"}:
        raise _bad_filter("The body of VM.list holds one field, filter (a FilterSpec).")
    spec = body.get("filter")
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise _bad_filter("The filter of VM.list is a FilterSpec structure.")
    known = vm_filters()
    filters: dict[str, list[str]] = {}
    for key, values in spec.items():
        if key not in known:
            raise _bad_filter("The FilterSpec of VM.list has no field {0}.", key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _bad_filter("The filter {0} is a list of strings.", key)
        filters[key] = values
    return filters
