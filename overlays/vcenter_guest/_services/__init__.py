"""The API's services as users call them (`vc.processes`), each written once for both clients."""

from collections.abc import Mapping

from .files import AsyncFiles, Files
from .processes import AsyncProcesses, Processes, RunOutcome
from .vms import AsyncGuest, AsyncVms, Guest, Vms

__all__ = [
    "NOT_EXPOSED",
    "AsyncFiles",
    "AsyncGuest",
    "AsyncProcesses",
    "AsyncVms",
    "Files",
    "Guest",
    "Processes",
    "RunOutcome",
    "Vms",
]

NOT_EXPOSED: Mapping[str, str] = {}
"""The operations of the document that no method of the client calls, each with the reason why
(tests/overlay/test_operation_coverage.py fails on an operation that is neither called nor here)."""
