"""The API's services as users call them (`vc.processes`), each written once for both clients."""

from .files import AsyncFiles, Files
from .processes import AsyncProcesses, Processes, RunOutcome

__all__ = ["AsyncFiles", "AsyncProcesses", "Files", "Processes", "RunOutcome"]
