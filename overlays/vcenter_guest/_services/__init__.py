"""The API's services as users call them (`vc.processes`), each written once for both clients and
declared once, on `Services`: both clients' attributes (typed), their docstrings, and the package's
exports follow from that declaration (tests/overlay/test_service_registry.py holds `__all__` to it).
"""

from collections.abc import Mapping

from .base import service, services
from .commandline import user_command
from .files import AsyncFiles, Files
from .processes import AsyncProcesses, Processes, RunOutcome
from .vms import AsyncGuest, AsyncVms, Guest, Vms

__all__ = [
    "AsyncFiles",
    "AsyncGuest",
    "AsyncProcesses",
    "AsyncVms",
    "Files",
    "Guest",
    "Processes",
    "RunOutcome",
    "Vms",
    "user_command",
]

NOT_EXPOSED: Mapping[str, str] = {}
"""The operations of the document that no method of the client calls, each with the reason why
(tests/overlay/test_operation_coverage.py fails on an operation that is neither called nor here)."""


class Services:
    """The services of `Client` and `AsyncClient` (their base inherits this): one line each."""

    processes = service(Processes, AsyncProcesses)
    files = service(Files, AsyncFiles)
    vms = service(Vms, AsyncVms)
    guest = service(Guest, AsyncGuest)


def exported() -> list[str]:
    """The public names of the services: each declared service's two classes, `RunOutcome`, and
    `user_command` (what a captured run's command line says the user gave)."""
    declared = services(Services).values()
    classes = (cls.__name__ for each in declared for cls in (each.sync, each.asynchronous))
    return sorted([*classes, "RunOutcome", "user_command"])
