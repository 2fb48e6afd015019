"""Holding a Ctrl-C back while the sync client finishes an exchange whose answer it must know.

WHY: the answer of Processes.create names the program it started, and that of createTemporary the
directory it made (`Send.finish`). A KeyboardInterrupt raised while such an answer is on its way
leaves the program running, or the directory behind, with nobody knowing its pid or path. So SIGINT
is held for the exchange (which its `limit` bounds), and delivered at the plan's next effect, when
the plan knows what to undo. A second SIGINT meanwhile is delivered at once.

Only the main thread receives signals, and only a Python-level handler can be held: elsewhere, and
under SIG_IGN or SIG_DFL, nothing changes.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["hold_interrupts"]


@contextlib.contextmanager
def hold_interrupts(held: list[Callable[[], object]]) -> Iterator[None]:
    """Within the block, a SIGINT is appended to `held` (call it to deliver it) instead of acting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import signal  # noqa: PLC0415 - on the first create: `import vcenter_guest` does not pay for it

    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        if held:  # a second Ctrl-C: no more waiting
            previous(signum, frame)
        held.append(functools.partial(previous, signum, frame))

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
