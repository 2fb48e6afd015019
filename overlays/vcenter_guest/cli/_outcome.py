"""How a command ends: its errors as one line (or JSON), its exit code, the event loop it runs in,
and where the library's log lines go.

Exit codes: the program's own (one VM), 124 when it timed out, 125 when vcenter-guest could not
run it (connection, API error), 130 after Ctrl-C, 2 for a bad command line or local input (a local
file that cannot be read, an output directory that cannot be made).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from vcenter_guest import errors

if TYPE_CHECKING:
    from ._common import Connection

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_TIMEOUT",
    "check_terminate_flag",
    "describe",
    "error_json",
    "fail",
    "message",
    "run_async",
]

T = TypeVar("T")

EXIT_TIMEOUT = 124
EXIT_FAILED = 125
EXIT_INTERRUPTED = 130


def check_terminate_flag(timeout: float | None, terminate_on_timeout: bool) -> None:
    """The CLI's wording of the library's rule (run, script, wait): --terminate-on-timeout needs --timeout."""
    if terminate_on_timeout and timeout is None:
        raise click.UsageError("--terminate-on-timeout needs --timeout SECONDS")


def describe(exc: BaseException) -> str:
    """One line for an error: its type, where it happened, and the server's message."""
    name = type(exc).__name__
    if isinstance(exc, errors.VapiError):
        where = " ".join(part for part in (exc.operation, "on" if exc.vm else "", exc.vm or "") if part)
        return f"{name} ({where}): {exc}" if where else f"{name}: {exc}"
    return f"{name}: {exc}"


def error_json(exc: BaseException) -> dict[str, Any]:
    """An error as JSON, for --json output."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, errors.VapiError):
        out["error_type"] = exc.error_type
    for name in ("pid", "timeout", "terminated"):  # a timed-out program's pid: to wait for or kill it
        value = getattr(exc, name, None)
        if value is not None:
            out[name] = value
    return out


def fail(conn: Connection, exc: BaseException, code: int = EXIT_FAILED) -> NoReturn:
    """Prints `exc` as one line (plus a redacted traceback with --debug) and exits with `code`; with
    --json, the result of the VM it concerns says so too."""
    scrub = conn.redactor.scrub if conn.redactor is not None else (lambda text: text)
    if conn.debug:
        conn.stderr.print(scrub("".join(traceback.format_exception(exc))), markup=False)
    vm = getattr(exc, "vm", None) or conn.vm
    if conn.as_json and vm and code != 2:
        conn.emit(conn.record(vm, error=error_json(exc)))
        conn.finish()
    text = message(exc)
    if conn.kept_without_password and isinstance(exc, errors.Unauthenticated) and exc.operation == "session.create":
        text = (  # the client's own words speak of its constructor's arguments
            "Unauthenticated: the kept API session ended mid-command, and vcenter-guest has no password to log "
            "in again with: set VCENTER_PASSWORD, or run the command again to be asked for it"
        )
    conn.stderr.print(scrub(f"error: {text}"), markup=False)
    sys.exit(code)


def message(exc: BaseException) -> str:
    """`describe(exc)`, in the command line's words where the library's speak Python."""
    if isinstance(exc, errors.ProcessTimeout):
        what = "it was asked to terminate" if exc.terminated else "it is still running (--terminate-on-timeout ends it)"
        return (
            f"{exc.vm}: still running after {exc.timeout:g} s: pid {exc.pid}; {what}; follow it with "
            f"`vcenter-guest wait --vm {exc.vm} {exc.pid}` or end it with `vcenter-guest kill --vm {exc.vm} {exc.pid}`"
        )
    return describe(exc)


async def _until_done_or_interrupted(conn: Connection, work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work`; the first SIGINT cancels it (KeyboardInterrupt), a second exits at once."""
    import anyio  # noqa: PLC0415

    interrupted: list[bool] = []
    results: list[T] = []
    failures: list[Exception] = []
    scope = anyio.CancelScope()

    async def watch() -> None:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                if interrupted:
                    conn.stderr.print(
                        "interrupted again: exiting now; programs started may still run in the guest",
                        markup=False,
                    )
                    sys.stdout.flush()
                    os._exit(EXIT_INTERRUPTED)
                interrupted.append(True)
                conn.stderr.print(
                    "interrupted: terminating what was started (Ctrl-C again to exit at once)", markup=False
                )
                scope.cancel()

    async with anyio.create_task_group() as group:

        async def perform() -> None:
            with scope:
                try:
                    results.append(await work())
                except Exception as exc:  # raised as itself below, not inside an exception group
                    failures.append(exc)
            group.cancel_scope.cancel()

        if threading.current_thread() is threading.main_thread():
            group.start_soon(watch)
        group.start_soon(perform)
    if failures:
        raise failures[0]
    if not results:
        raise KeyboardInterrupt
    return results[0]


def run_async(conn: Connection, work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` in an event loop and turns every error into one line and an exit code.

    Ctrl-C: the first cancels `work`, whose runs terminate the programs they started and remove
    their run directories (each says what became of its program), then exits 130; a second exits at
    once, saying that programs may still run."""
    import anyio  # noqa: PLC0415

    _configure_logging(conn)
    try:
        return anyio.run(_until_done_or_interrupted, conn, work)
    except KeyboardInterrupt:
        conn.stderr.print("interrupted", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except errors.UsageError as exc:
        fail(conn, exc, 2)
    except errors.ProcessTimeout as exc:
        fail(conn, exc, EXIT_TIMEOUT)
    except errors.VcenterGuestError as exc:
        fail(conn, exc)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except BrokenPipeError:
        raise  # the reader of stdout went away (`| head`): click ends quietly, as `cat` would
    except Exception as exc:
        fail(conn, RuntimeError(f"internal error ({type(exc).__name__}: {exc}); --debug shows the traceback"))


class _ConsoleHandler(logging.Handler):
    """Writes records through the command's rich console, so that they print above a live progress
    bar instead of into it (the console resolves sys.stderr when it prints)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if self.conn.redactor is not None:
            text = self.conn.redactor.scrub(text)
        self.conn.stderr.print(text, markup=False, highlight=False)


def _configure_logging(conn: Connection) -> None:
    # Retries, interruptions and TLS warnings always show; --debug adds logins and every HTTP
    # request (no secrets: tests/overlay/test_redaction.py checks these loggers at DEBUG).
    for name, level in (("vcenter_guest", logging.DEBUG if conn.debug else logging.WARNING), ("httpx", logging.INFO)):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _ConsoleHandler)]:
            logger.removeHandler(old)
        if name == "httpx" and not conn.debug:
            continue
        handler = _ConsoleHandler(conn)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
