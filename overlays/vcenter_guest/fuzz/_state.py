"""What one fuzz run knows while it runs: the target, its secrets, the pids it started.

Schemathesis hooks and checks are plain functions registered once per process; each finds the
state of the run it serves through the schema of the case (`state_of`), so two runs never mix and
schemathesis use outside this package is left alone.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from vcenter_guest.operations import Operation, OperationTable

from ._guestfiles import RunDirectory, Transfer, transfer_of
from ._secrets import SecretFilter
from ._settings import FuzzOptions, FuzzTarget

__all__ = [
    "NO_SUCH_PID",
    "RunState",
    "forget",
    "operation_id",
    "operation_of",
    "remember",
    "stable_share",
    "state_of",
]

# A pid no guest can have: above Linux's pid_max (2**22) and not a multiple of 4 (Windows).
NO_SUCH_PID = 2_147_483_647


@attrs.define(eq=False)
class RunState:
    """Mutable state shared by the hooks and checks of one run (thread-safe: workers share it)."""

    target: FuzzTarget
    options: FuzzOptions
    secrets: SecretFilter
    table: OperationTable
    # (vm, pid) -> when create first returned it (monotonic seconds)
    created: dict[tuple[str, int], float] = attrs.field(factory=dict)
    # (vm, pid) of processes a delete of this run terminated (204)
    terminated: dict[tuple[str, str], None] = attrs.field(factory=dict)
    # Sessions the run made besides its own (throwaway ones for session_delete, those that
    # session_create cases got): logged out at the end so that a real vCenter keeps none.
    stray_sessions: list[str] = attrs.field(factory=list)
    # The run's own session (one; a list so that a re-login could add another).
    own_sessions: list[str] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    # How many of the unstartable create paths the run has steered a case to, so far.
    unstartable_sent: int = 0
    # The file operations that have had a steered case read the run's seed (with valid credentials).
    seed_read: set[str] = attrs.field(factory=set)
    # The run's own guest directory (file operations are confined to it), if it could be made.
    run_directory: RunDirectory | None = None
    # (id, token) -> the transfer URLs Transfers.create returned to this run.
    transfers: dict[tuple[str, str], Transfer] = attrs.field(factory=dict)
    # Opens a transfer of the run's directory (upload: bool) -> (URL, declared size), when one is needed.
    opener: Callable[[bool], tuple[str, int | None] | None] | None = None

    def record_transfer(self, url: Any, upload_size: int | None) -> None:
        """Remembers a transfer URL the run got (its token is a secret of the run)."""
        key = transfer_of(url)
        if key is None:
            return
        self.secrets.add(key[1])
        with self.lock:
            self.transfers.setdefault(key, Transfer(upload_size))

    def transfer(self, key: tuple[str, str] | None) -> Transfer | None:
        """The run's transfer with this (id, token), if it has one."""
        with self.lock:
            return self.transfers.get(key) if key is not None else None

    def unused_transfers(self, upload: bool) -> list[tuple[tuple[str, str], Transfer]]:
        """The run's transfers not used yet, uploads or downloads, oldest first."""
        with self.lock:
            return [(k, t) for k, t in self.transfers.items() if not t.used and (t.upload_size is not None) == upload]

    def used_transfers(self, upload: bool) -> list[tuple[tuple[str, str], Transfer]]:
        """The run's transfers that have served a request, uploads or downloads, newest last."""
        with self.lock:
            return [(k, t) for k, t in self.transfers.items() if t.used and (t.upload_size is not None) == upload]

    def next_unstartable(self, paths: tuple[str, ...]) -> str | None:
        """The next of `paths` no case has been steered to yet, or None once each has been."""
        with self.lock:
            if self.unstartable_sent >= len(paths):
                return None
            self.unstartable_sent += 1
            return paths[self.unstartable_sent - 1]

    def first_seed_read(self, operation: str) -> bool:
        """True once per operation: the first steered case of it that can succeed reads the run's seed."""
        with self.lock:
            if operation in self.seed_read:
                return False
            self.seed_read.add(operation)
            return True

    def record_pid(self, vm: str, pid: int) -> float | None:
        """Remembers a pid create returned; returns when it was returned before, if it was."""
        with self.lock:
            before = self.created.get((vm, pid))
            self.created[(vm, pid)] = time.monotonic()
            return before

    def created_at(self, vm: str, pid: str) -> float | None:
        """When a create of this run last returned `pid` (as a path parameter's text) in `vm`, if one did."""
        if not pid.isdigit():
            return None
        with self.lock:
            return self.created.get((vm, int(pid)))

    def created_pids(self, vm: str) -> list[int]:
        """The pids this run's creates returned in `vm`, oldest first."""
        with self.lock:
            return [pid for (v, pid) in self.created if v == vm]

    def terminated_pids(self, vm: str) -> list[int]:
        """The pids of processes in `vm` a delete of this run ended (204), in the order it did."""
        with self.lock:
            return [int(pid) for (v, pid) in self.terminated if v == vm and pid.isdigit()]

    def add_stray_session(self, session_id: str) -> None:
        """Remembers a session id: a secret, and one to log out at the end."""
        self.secrets.add(session_id)
        with self.lock:
            self.stray_sessions.append(session_id)


_RUNS: dict[int, RunState] = {}


def remember(schema: object, state: RunState) -> None:
    """Makes `state` the state of the run that tests `schema`."""
    _RUNS[id(schema)] = state


def forget(schema: object) -> None:
    """Ends the association made by `remember`."""
    _RUNS.pop(id(schema), None)


def state_of(case: Any) -> RunState | None:
    """The run a schemathesis case belongs to, or None (a case of someone else's schemathesis run)."""
    return _RUNS.get(id(case.operation.schema))


def operation_id(case: Any) -> str | None:
    """The operationId of a case's operation."""
    value = case.operation.definition.raw.get("operationId")
    return value if isinstance(value, str) else None


def operation_of(state: RunState, case: Any) -> Operation | None:
    """The table's entry for a case's operation (None for an operation the table does not have)."""
    op_id = operation_id(case)
    return state.table.get(op_id) if op_id is not None else None


def stable_share(*parts: Any) -> float:
    """A number in [0, 1) that depends only on `parts`: seeded choices that need no random state.

    Hooks use it to choose (valid credentials or generated ones, which program...), so that the same
    generated case is always shaped the same way and a failure reproduces.
    """
    blob = json.dumps(parts, sort_keys=True, default=repr).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") / 2**64
