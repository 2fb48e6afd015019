"""The state and behaviour of the mock vCenter, with no HTTP in it: one part per concern (see `_state`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._budget import Budget
from ._faults import Faults
from ._files import Filesystems
from ._inventory import Inventory, load_inventory
from ._processes import Processes
from ._sessions import Sessions

__all__ = ["Simulator"]


class Simulator(Sessions, Faults, Processes, Filesystems):
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
