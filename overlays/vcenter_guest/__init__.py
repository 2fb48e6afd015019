"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API.

Example::

    from vcenter_guest import Client, Credentials

    with Client("https://vc.example.com", user="administrator@vsphere.local", password=pw) as vc:
        result = vc.processes.run("vm-42", Credentials.password("root", guest_pw), "/bin/ls", "-l", timeout=60)
        print(result.pid, result.exit_code, result.duration)

`vcenter_guest_client` (generated from the API document) does the wire format; this package adds
sessions, typed errors (`vcenter_guest.errors`), waiting, retries, redaction and fan-out.
`vcenter_guest.operations` is the table of the API's operations, read from the document;
`vcenter_guest.redaction` keeps secrets out of text.
"""

from . import _services, errors
from ._clients import AsyncClient, Client
from ._engine.retry import RetryPolicy
from ._services import *  # noqa: F403 - the declared services' classes (see _services.Services)
from ._values import (
    CreateSpec,
    Credentials,
    FileInfo,
    FileSummary,
    GuestFilesystem,
    GuestIdentity,
    GuestInterface,
    GuestNetworking,
    GuestPower,
    GuestReadiness,
    GuestRoute,
    IpAddress,
    ProcessInfo,
    ProcessResult,
    ProcessSummary,
    ToolsInfo,
    VmPower,
    VmSummary,
)
from ._version import __version__ as __version__

__all__ = [
    "AsyncClient",
    "Client",
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
    "RetryPolicy",
    "ToolsInfo",
    "VmPower",
    "VmSummary",
    "errors",
]
__all__ += _services.__all__
__all__.sort()
