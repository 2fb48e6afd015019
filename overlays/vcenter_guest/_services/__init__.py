"""The API's services as users call them (`vc.processes`), each written once for both clients."""

from .processes import AsyncProcesses, Processes, RunOutcome

__all__ = ["AsyncProcesses", "Processes", "RunOutcome"]
