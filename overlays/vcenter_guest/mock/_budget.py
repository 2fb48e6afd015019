"""What one request may cost the mock: the limits that keep any single request from holding the others up.

The mock is one process serving every client, so a request that computes for a minute stalls them all
(issue 25, M5). `Budget` holds every limit in one place; `Simulator.budget` is the one in force (pass
another to `Simulator(budget=...)` or `create_app(budget=...)`). A budget exceeded is what a real guest
gives for a limit (a program ends with `BUDGET_EXIT_CODE` and a message on its stderr), or a 4xx
standard error of the API, never a 5xx.

`Meter` counts what one process start has used so far: every shell and batch file of the run shares it.

Where long work runs, and why: a process start (the simulated bash or cmd.exe walking its command
line, scripts included) runs in a worker thread (`anyio.to_thread`, at most `concurrent_runs` at once),
not on the event loop, and without the simulator's lock: its file operations take the lock one at a
time (`GuestFilesystem`'s methods), as a real guest's programs change the file system while others
use it. A Files.list with a pattern matches names in a worker thread too, outside the lock, with
`regex`'s `concurrent=True`. Rewriting the shell (a recursive tree walker) as resumable steps for the
event loop would have touched every construct; a thread per run keeps it as it is, and the budgets
bound what a run costs. Every other request is short (a walk of a path, a page of a listing) and runs
on the event loop under the lock.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["BUDGET_EXIT_CODE", "NODE_OVERHEAD", "Budget", "Meter", "OverBudget", "meter", "metered"]

BUDGET_EXIT_CODE = 152
"""The exit code of a run stopped by its budget: what a process killed for exceeding its CPU-time
limit (`ulimit -t`, SIGXCPU: 128 + 24) reports."""

NODE_OVERHEAD = 512
"""Bytes of the quota each file, directory and link costs besides its bytes: the mock's own memory per
entry (about 370 bytes, and its name), so that the quota bounds memory, empty files included."""

YIELD_EVERY = 0.001
"""Seconds a simulated run computes before it lets the other threads run (see `Meter.step`)."""


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"Budget.{attribute.name} must be a positive number")


@attrs.frozen
class Budget:
    """The limits of one request to the mock.

    >>> Budget().steps, Budget(steps=100).steps
    (10000, 100)
    """

    steps: int = attrs.field(default=10_000, validator=_positive)
    """Commands one process start runs in all (simple commands of the shell and of cmd.exe, scripts and
    nested shells each count one): a script that runs itself three times stops here, not after 3**16."""
    nesting: int = attrs.field(default=16, validator=_positive)
    """Shells (or cmd.exe batch files) nested inside one another, shell function calls included."""
    source_chars: int = attrs.field(default=32 << 10, validator=_positive)
    """Characters of shell source one process start parses in all (its command line, scripts, `bash -c`
    strings): bashlex is pure Python, and a script of short lines takes it about 0.5 s per 16 KiB, in
    one call that cannot pause for the other threads."""
    output_bytes: int = attrs.field(default=64 << 20, validator=_positive)
    """Bytes the programs of one process start write in all (to pipes, files and its own stdout and
    stderr; /dev/null is free): `base64` of a big file stops here."""
    format_width: int = attrs.field(default=1 << 20, validator=_positive)
    """The largest width or precision of one `printf` directive (bash takes up to 2**31 - 1)."""
    tree_depth: int = attrs.field(default=1024, validator=_positive)
    """Levels of directories a guest's tree may have below its root (a deeper `mkdir -p` or a move that
    would make one is refused as PATH_TOO_LONG): walking the tree stays short."""
    pattern_seconds: float = attrs.field(default=1.0, validator=_positive)
    """Seconds one Files.list may spend matching names against its `match_pattern`, in all."""
    pattern_match_seconds: float = attrs.field(default=0.05, validator=_positive)
    """Seconds one name may take to match (a pattern that backtracks for ever on one name fails fast)."""
    concurrent_runs: int = attrs.field(default=4, validator=_positive)
    """Process starts simulated at once (in worker threads, off the event loop); more wait their turn.
    With `output_bytes`, this bounds the memory the runs take."""


class OverBudget(Exception):
    """A run used up one of its budgets: it ends at once, as a process killed for its limit does."""

    def __init__(self, what: str, limit: int, field: str) -> None:
        super().__init__(f"{what} exceeds the mock's budget of {limit} (Budget.{field})")
        self.what, self.limit, self.field = what, limit, field
        self.reported = False
        """Whether its message was written (on the stderr of the command that exceeded it)."""


@attrs.define
class Meter:
    """What one process start has used of its budget so far."""

    budget: Budget = attrs.field(factory=Budget)
    steps: int = 0
    source_chars: int = 0
    output_bytes: int = 0
    yielded: float = attrs.field(factory=time.monotonic)

    def step(self) -> None:
        """One more command; and, a millisecond of work at most since the last, a moment for the other
        threads (the event loop's above all) to take the interpreter, whose lock a busy thread would
        otherwise hand over only every 5 ms (`sys.getswitchinterval()`) each time the loop asks."""
        now = time.monotonic()
        if now - self.yielded >= YIELD_EVERY:
            time.sleep(0)
            self.yielded = now
        self.steps += 1
        if self.steps > self.budget.steps:
            raise OverBudget("the number of commands run", self.budget.steps, "steps")

    def parse(self, chars: int) -> None:
        """`chars` more characters of shell source to parse."""
        self.source_chars += chars
        if self.source_chars > self.budget.source_chars:
            raise OverBudget("the characters of shell source parsed", self.budget.source_chars, "source_chars")

    def output(self, size: int) -> None:
        """`size` more bytes written."""
        self.output_bytes += size
        if self.output_bytes > self.budget.output_bytes:
            raise OverBudget("the bytes written", self.budget.output_bytes, "output_bytes")

    def expect(self, size: int) -> None:
        """OverBudget if `size` more bytes would not fit (before they are made)."""
        if self.output_bytes + size > self.budget.output_bytes:
            raise OverBudget("the bytes written", self.budget.output_bytes, "output_bytes")

    def room(self) -> int:
        """Bytes the run may still write."""
        return max(0, self.budget.output_bytes - self.output_bytes)

    def width(self, value: int) -> None:
        """A printf width or precision about to be used."""
        if value > self.budget.format_width:
            raise OverBudget(f"the printf width {value}", self.budget.format_width, "format_width")


_CURRENT: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("vcenter_guest_mock_meter", default=None)


@contextlib.contextmanager
def metered(budget: Budget | None = None) -> Iterator[Meter]:
    """The meter of the run under way (every shell, script and batch file of one process start shares
    it), or a new one for `budget` when no run is under way in this context."""
    current = _CURRENT.get()
    if current is not None:
        yield current
        return
    meter = Meter(budget if budget is not None else Budget())
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)


def meter() -> Meter:
    """The meter of the run under way (a fresh one, which nothing else counts on, outside a run)."""
    current = _CURRENT.get()
    return current if current is not None else Meter()
