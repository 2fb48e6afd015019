"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API.

Example::

    from vcenter_guest import Client, Credentials

    with Client("https://vc.example.com", user="administrator@vsphere.local", password=pw) as vc:
        result = vc.processes.run("vm-42", Credentials.password("root", guest_pw), "/bin/ls", "-l", timeout=60)
        print(result.pid, result.exit_code, result.duration)

`vcenter_guest_client` (generated from the API document) does the wire format; this package adds
sessions, typed errors (`vcenter_guest.errors`), waiting, retries, redaction and fan-out.
"""

# Corrects known generator bugs in vcenter_guest_client before anything parses a response, as
# soon as its models are imported (not now: that would double the cost of this import).
from ._patch_hook import install as _install_patches

_install_patches()

from . import errors  # noqa: E402
from ._async_client import AsyncClient, AsyncProcesses, RunOutcome  # noqa: E402
from ._client import Client, Processes  # noqa: E402
from ._models import CreateSpec, Credentials  # noqa: E402
from ._results import ProcessInfo, ProcessResult, ProcessSummary  # noqa: E402
from ._retry import RetryPolicy  # noqa: E402

__all__ = [
    "AsyncClient",
    "AsyncProcesses",
    "Client",
    "CreateSpec",
    "Credentials",
    "ProcessInfo",
    "ProcessResult",
    "ProcessSummary",
    "Processes",
    "RetryPolicy",
    "RunOutcome",
    "errors",
]
