"""What users pass in (`Credentials`, `CreateSpec`) and get back (`ProcessSummary`, `ProcessInfo`,
`ProcessResult`): immutable values, each following its generated model.

`FOLLOWS` names the generated model each value follows. `unfollowed_fields()` lists every field of
those models that its value neither exposes as an attribute nor withholds (in its `WITHHELD`, with
the reason): tests/overlay/test_values.py requires it to be empty, so a field the document adds
reaches users, or is withheld on purpose, never dropped unnoticed.
"""

from __future__ import annotations

import importlib

import attrs

from .credentials import Credentials
from .files import FileInfo, FileSummary, GuestReadiness, VmSummary
from .guest import (
    GuestFilesystem,
    GuestIdentity,
    GuestInterface,
    GuestNetworking,
    GuestPower,
    GuestRoute,
    IpAddress,
    ToolsInfo,
    VmPower,
)
from .results import ProcessInfo, ProcessResult, ProcessSummary
from .specs import CreateSpec

# The values, all of which `vcenter_guest` exports; FOLLOWS and unfollowed_fields are for the tests.
__all__ = [
    "CreateSpec",
    "Credentials",
    "FileInfo",
    "FileSummary",
    "GuestFilesystem",
    "GuestIdentity",
    "GuestInterface",
    "GuestNetworking",
    "GuestPower",
    "GuestReadiness",
    "GuestRoute",
    "IpAddress",
    "ProcessInfo",
    "ProcessResult",
    "ProcessSummary",
    "ToolsInfo",
    "VmPower",
    "VmSummary",
]

# value -> (module of vcenter_guest_client.models, class) of the generated model it follows
FOLLOWS: dict[type, tuple[str, str]] = {
    Credentials: ("credentials", "Credentials"),
    CreateSpec: ("create_spec", "CreateSpec"),
    ProcessSummary: ("process_summary", "ProcessSummary"),
    ProcessInfo: ("process_info", "ProcessInfo"),
    FileInfo: ("file_info", "FileInfo"),
    FileSummary: ("file_summary", "FileSummary"),
    VmSummary: ("vm_summary", "VMSummary"),
    GuestReadiness: ("guest_operations_info", "GuestOperationsInfo"),
    GuestIdentity: ("identity_info", "IdentityInfo"),
    GuestFilesystem: ("local_filesystem_info", "LocalFilesystemInfo"),
    GuestNetworking: ("networking_info", "NetworkingInfo"),
    GuestInterface: ("interface_info", "InterfaceInfo"),
    IpAddress: ("ip_address_info", "IpAddressInfo"),
    GuestRoute: ("route_info", "RouteInfo"),
    GuestPower: ("guest_power_info", "GuestPowerInfo"),
    VmPower: ("power_info", "PowerInfo"),
    ToolsInfo: ("tools_info", "ToolsInfo"),
}


def unfollowed_fields() -> list[str]:
    """`Value.field` for each generated field that its value neither exposes nor withholds."""
    missing = []
    for value, (module, name) in FOLLOWS.items():
        generated = getattr(importlib.import_module(f"vcenter_guest_client.models.{module}"), name)
        exposed = {f.name.lstrip("_") for f in attrs.fields(value)} | set(getattr(value, "WITHHELD", {}))
        for field in attrs.fields(generated):
            wire = field.name.removesuffix("_")  # the generator appends _ to names like type
            if field.name != "additional_properties" and wire not in exposed:
                missing.append(f"{value.__name__}.{wire}")
    return missing
