"""What every part of the mock's simulator shares: its state, its clock and its lock, and the run-time
records it keeps (API sessions, VMs, processes, transfers).

`Simulator` (in `_simulator`) is made of one part per concern, each a class of its own module: the
core parts `_sessions.Sessions` (API sessions and privileges), `_faults.Faults` (injected errors and
latency) and `_vms.Vms` (VMs, their state, guest users and file systems), and one part per service
of the API, each in its module of `services` with that service's HTTP handlers. Each rule of the API
is a small method so that a subclass can break exactly one of them (the fuzz tests build
deliberately wrong servers this way).
"""

from __future__ import annotations

import datetime
import math
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._budget import Budget
from ._filesystem import Account, GuestFilesystem
from ._records import GuestUser, Inventory, VmSpec

__all__ = [
    "KILLED_EXIT_CODE",
    "TERMINATED_EXIT_CODE",
    "Process",
    "Session",
    "SimulatorState",
    "Transfer",
    "VmState",
    "account",
]

# What a POSIX process ended by SIGTERM reports (128 + 15), and one that ignored it and got the
# SIGKILL that delete sends next (128 + 9).
TERMINATED_EXIT_CODE = 143
KILLED_EXIT_CODE = 137


@attrs.define(eq=False)
class Session:
    """An API session. The id is a secret: it is kept out of the repr."""

    id: str = attrs.field(repr=False)
    user: str
    created: float
    last_accessed: float


@attrs.define(eq=False)
class Process:
    """A process in a guest. Started by create unless `exit_code` is None (an inventory process)."""

    pid: int
    name: str
    owner: str
    command: str
    started: float
    started_text: str = ""  # formatted when first shown: most processes are never looked at
    duration: float = math.inf
    exit_code: int | None = None
    ignores_term: bool = False
    unkillable: bool = False
    terminated_at: float | None = None

    @property
    def from_create(self) -> bool:
        """Whether create started it (only those report `finished` and `exit_code`)."""
        return self.exit_code is not None

    def finished_at(self) -> float | None:
        """When it ended (monotonic seconds), or None while it runs."""
        end = self.started + self.duration if self.exit_code is not None else math.inf
        if self.terminated_at is not None and self.terminated_at < end:
            return self.terminated_at
        return end if end != math.inf else None

    def final_exit_code(self) -> int | None:
        """The exit code once finished: the program's own, or 143 if delete ended it first."""
        if self.exit_code is None:
            return None
        if self.terminated_at is not None and self.terminated_at < self.started + self.duration:
            return KILLED_EXIT_CODE if self.ignores_term else TERMINATED_EXIT_CODE
        return self.exit_code


@attrs.define(eq=False)
class Transfer:
    """An open transfer URL. The token is its secret: kept out of the repr."""

    id: int
    token: str = attrs.field(repr=False)
    vm_id: str
    path: str
    user: GuestUser
    expires: float
    upload: Mapping[str, Any] | None = None
    """The FileCreationAttributes of an upload; None for a download."""
    aborted: bool = False


@attrs.define(eq=False)
class VmState:
    """A VM at run time: its (replaceable) spec, its processes and its pid counter."""

    spec: VmSpec
    next_pid: int
    processes: dict[int, Process] = attrs.field(factory=dict)
    # (time the process may be forgotten, pid), earliest first: purging is O(log n) per process.
    expiries: list[tuple[float, int]] = attrs.field(factory=list)
    # Processes started by create that were running when last looked at (max_running_processes).
    started: dict[int, Process] = attrs.field(factory=dict)
    users: dict[str, GuestUser] = attrs.field(factory=dict)
    tokens: dict[str, GuestUser] = attrs.field(factory=dict)
    fs: GuestFilesystem | None = None
    """Built on first use: an inventory of 10,000 VMs pays only for the guests it touches."""
    ready_at: float = 0.0
    """When guest operations start to work (`ready_after` past the start or the last power change)."""
    transfers: dict[int, Transfer] = attrs.field(factory=dict)
    pending_power: tuple[str, float] | None = None
    """A soft power operation the guest is carrying out: (`shutdown`, `reboot` or `standby`, when it is done)."""
    clean_power_off: bool = True
    """Whether the last power-off was the guest's own (Power.Info `clean_power_off`)."""


def account(user: GuestUser) -> Account:
    """The file system's view of a guest user."""
    return Account(user.name, user.uid, user.admin, user.home)


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
    host_url: str | None = None
    """`scheme://host:port` of the listener standing for the ESXi host (`serve(esxi_host=True)`,
    `vcenter-guest mock --esxi-port`), which transfer URLs then name unless the inventory sets
    `transfer_base_url`; None: the URLs name the address the call reached the mock at."""

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
