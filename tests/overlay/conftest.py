"""What only the overlay's tests use: stand-ins for Ctrl-C and cancellation at a client's first wait.

The mock vCenter in process and over loopback (`make_server`, `server`, `MockServer`, `FAST_RETRY`,
`SyncASGITransport`) is every folder's: tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
from vcenter_guest import errors


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt (which pytest itself would act on)."""


class Interruptions:
    """A client's `sleep=` that can stop a run at its first wait: with Interrupt (Ctrl-C) or by
    cancelling the run's task. `ending(run, how)` runs a call one way and names how it ended."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._interrupt = False
        self._cancel: anyio.CancelScope | None = None

    async def sleep(self, seconds: float) -> None:
        if self._interrupt:
            self._interrupt = False
            raise Interrupt
        if self._cancel is not None:
            scope, self._cancel = self._cancel, None
            scope.cancel()
        await self._clock.async_sleep(seconds)

    async def ending(self, run: Callable[[], Any], how: str = "plain") -> str:
        """ "returned", the error's class name, "interrupted" (how="ctrl-c") or "cancelled" (how="cancel")."""
        try:
            if how == "cancel":
                with anyio.CancelScope() as scope:
                    self._cancel = scope
                    await run()
                return "cancelled" if scope.cancelled_caught else "not cancelled"
            self._interrupt = how == "ctrl-c"
            await run()
        except Interrupt:
            return "interrupted"
        except errors.VcenterGuestError as exc:
            return type(exc).__name__
        return "returned"
