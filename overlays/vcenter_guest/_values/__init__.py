"""What users pass in (`Credentials`, `CreateSpec`) and get back (`ProcessSummary`, `ProcessInfo`,
`ProcessResult`): immutable values, each following its generated model.

`FOLLOWS` names the generated model each value follows. `unfollowed_fields()` lists every field of
those models that its value neither exposes as an attribute nor withholds (in its `WITHHELD`, with
the reason): tests/overlay/test_values.py requires it to be empty, so a field the document adds
reaches users, or is withheld on purpose, never dropped unnoticed.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import TYPE_CHECKING, Any

import attrs

from .credentials import Credentials
from .results import ProcessInfo, ProcessResult, ProcessSummary
from .specs import CreateSpec

if TYPE_CHECKING:
    # Loaded on first use (`__getattr__`, from `ON_FIRST_USE`): only the answers of the files, VMs and
    # guest services are these, so `import vcenter_guest` does not build their classes.
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

    FOLLOWS: dict[type, tuple[str, str]]

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

ON_FIRST_USE: dict[str, tuple[str, ...]] = {
    "files": ("FileInfo", "FileSummary", "GuestReadiness", "VmSummary"),
    "guest": (
        "GuestFilesystem",
        "GuestIdentity",
        "GuestInterface",
        "GuestNetworking",
        "GuestPower",
        "GuestRoute",
        "IpAddress",
        "ToolsInfo",
        "VmPower",
    ),
}
"""Submodule -> the values it defines, which load on first use (the `TYPE_CHECKING` imports above and
`__all__`, literal lists because type checkers read no other, are for type checkers;
tests/overlay/test_import_cost.py holds all three to the classes each submodule defines)."""

_MODULE_OF = {name: module for module, names in ON_FIRST_USE.items() for name in names}


_FOLLOWS = {
    "Credentials": ("credentials", "Credentials"),
    "CreateSpec": ("create_spec", "CreateSpec"),
    "ProcessSummary": ("process_summary", "ProcessSummary"),
    "ProcessInfo": ("process_info", "ProcessInfo"),
    "FileInfo": ("file_info", "FileInfo"),
    "FileSummary": ("file_summary", "FileSummary"),
    "VmSummary": ("vm_summary", "VMSummary"),
    "GuestReadiness": ("guest_operations_info", "GuestOperationsInfo"),
    "GuestIdentity": ("identity_info", "IdentityInfo"),
    "GuestFilesystem": ("local_filesystem_info", "LocalFilesystemInfo"),
    "GuestNetworking": ("networking_info", "NetworkingInfo"),
    "GuestInterface": ("interface_info", "InterfaceInfo"),
    "IpAddress": ("ip_address_info", "IpAddressInfo"),
    "GuestRoute": ("route_info", "RouteInfo"),
    "GuestPower": ("guest_power_info", "GuestPowerInfo"),
    "VmPower": ("power_info", "PowerInfo"),
    "ToolsInfo": ("tools_info", "ToolsInfo"),
}


@functools.cache
def _follows() -> dict[type, tuple[str, str]]:
    """`FOLLOWS`: value -> (module of vcenter_guest_client.models, class) of the generated model it follows
    (built on first use: it loads every value)."""
    package = sys.modules[__name__]
    return {getattr(package, name): model for name, model in _FOLLOWS.items()}


def _first_use(name: str) -> Any:
    """The values of `ON_FIRST_USE`, their submodule imported on first use; and `FOLLOWS`."""
    if name == "FOLLOWS":
        return _follows()
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later reads find it without `__getattr__`
    return value


def _dir() -> list[str]:
    return sorted({*globals(), *__all__, "FOLLOWS"})


if not TYPE_CHECKING:
    # PEP 562, hidden from type checkers: they see the imports above, so `_values.Typo` stays an error.
    __getattr__, __dir__ = _first_use, _dir


def unfollowed_fields() -> list[str]:
    """`Value.field` for each generated field that its value neither exposes nor withholds."""
    missing = []
    for value, (module, name) in _follows().items():
        generated = getattr(importlib.import_module(f"vcenter_guest_client.models.{module}"), name)
        exposed = {f.name.lstrip("_") for f in attrs.fields(value)} | set(getattr(value, "WITHHELD", {}))
        for field in attrs.fields(generated):
            wire = field.name.removesuffix("_")  # the generator appends _ to names like type
            if field.name != "additional_properties" and wire not in exposed:
                missing.append(f"{value.__name__}.{wire}")
    return missing
