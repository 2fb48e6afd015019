"""What every part of the mock's simulator shares: its state, its clock and its lock.

`Simulator` (in `_simulator`) is made of one part per concern, each a class of its own module:
`_sessions.Sessions` (API sessions and privileges), `_vms.Vms` (VMs, their state and guest users),
`_faults.Faults` (injected errors and latency), `_processes.Processes` (programs and processes),
`_files.Filesystems` (the guest filesystem API and its transfers, over `_filesystem.GuestFilesystem`).
Each rule of the API is a small method so that a subclass can break exactly one of them (the fuzz
tests build deliberately wrong servers this way).
"""

from __future__ import annotations

import datetime
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._budget import Budget
    from ._inventory import Inventory
    from ._sessions import Session
    from ._vms import VmState

__all__ = ["SimulatorState"]


class SimulatorState:
    """The state of a simulator, which its parts read and change under `_lock`."""

    inventory: Inventory
    budget: Budget
    """What one request may cost (see `_budget`)."""
    clock: Callable[[], float]
    _mono0: float
    _wall0: float
    _lock: threading.RLock
    _sessions: dict[str, Session]
    _session_creations: int
    _vms: dict[str, VmState]
    _fault_rngs: dict[str, random.Random]

    def now(self) -> float:
        """Monotonic seconds, from the injected clock."""
        return self.clock()

    def timestamp(self, t: float) -> str:
        """An ISO 8601 UTC date-time for monotonic time `t`, e.g. `2026-11-27T10:15:30.000Z`."""
        return self.wall_timestamp(self._wall0 + (t - self._mono0))

    def wall_timestamp(self, wall: float) -> str:
        """An ISO 8601 UTC date-time for wall-clock seconds (file times)."""
        text = datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
