"""The API's services as users call them (`vc.processes`), each written once for both clients."""

from .files import AsyncFiles, Files
from .processes import AsyncProcesses, Processes, RunOutcome
from .vms import AsyncGuest, AsyncVms, Guest, Vms

__all__ = ["AsyncFiles", "AsyncGuest", "AsyncProcesses", "AsyncVms", "Files", "Guest", "Processes", "RunOutcome", "Vms"]
