"""The state and behaviour of the mock vCenter, with no HTTP in it: the core parts and every service's part.

`Simulator` is made of the core parts (`_sessions.Sessions`, `_faults.Faults`, `_vms.Vms`) and the
part each module of `services` marks with `@part`, found by `services.load`: a new service's part
joins it without a base-class list to edit. For the type checker it is the core parts; a handler sees
its own service's part (`Api[Processes]`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import services
from ._budget import Budget
from ._faults import Faults
from ._handlers import PARTS
from ._inventory import Inventory, load_inventory
from ._sessions import Sessions
from ._vms import Vms

__all__ = ["Simulator"]


def _parts() -> tuple[type, ...]:
    """The core parts, after every service's part (services.load registers them), each once."""
    services.load()
    return (*PARTS, Sessions, Faults, Vms)


if TYPE_CHECKING:

    class _Parts(Sessions, Faults, Vms):
        pass

else:
    _Parts = type("_Parts", _parts(), {"__doc__": "Every part of the simulator: the services' and the core ones."})


class Simulator(_Parts):
    """The mock vCenter's state and rules; `create_app(simulator_cls=...)` accepts subclasses.

    >>> from vcenter_guest.mock import DEMO_INVENTORY, DEMO_VM
    >>> sim = Simulator(DEMO_INVENTORY)
    >>> creds = {"type": "USERNAME_PASSWORD", "interactive_session": False,
    ...          "user_name": "root", "password": "vmware"}
    >>> pid = sim.create_process(DEMO_VM, creds, {"path": "/bin/true"})
    >>> sim.get_process(DEMO_VM, pid, creds)["exit_code"]
    0
    """

    def __init__(
        self,
        inventory: Inventory | Mapping[str, Any] | str | Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        budget: Budget | None = None,
    ) -> None:
        self.inventory = load_inventory(inventory)
        self.budget = budget if budget is not None else Budget()
        self.clock = clock
        self._mono0 = clock()
        self._wall0 = wall_clock()
        self._lock = threading.RLock()
        self._sessions = {}
        self._session_creations = 0
        self._vms = {}
        self._fault_rngs = {}
        self.check_layouts()
        for spec in self.inventory.vms.values():
            self._vms[spec.id] = self._new_vm_state(spec)
