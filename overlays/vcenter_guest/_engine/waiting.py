"""`run`: start a program, poll until it exits, and say how it ended (see `polling` for the schedule)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Protocol

from vcenter_guest import errors
from vcenter_guest._values.credentials import Credentials
from vcenter_guest._values.results import ProcessInfo, ProcessResult
from vcenter_guest._values.specs import CreateSpec

from .calls import Call
from .core import Engine
from .effects import Plan, Sleep
from .polling import poll_offsets

__all__ = ["ProcessCalls", "poll_until_exit", "run_program", "wait_until"]

log = logging.getLogger("vcenter_guest")


class ProcessCalls(Protocol):
    """The calls `run` makes: the Processes service provides them."""

    def create_call(self, vm: str, credentials: Credentials, spec: CreateSpec) -> Call[int]: ...
    def get_call(self, vm: str, credentials: Credentials, pid: int) -> Call[ProcessInfo]: ...
    def delete_call(self, vm: str, credentials: Credentials, pid: int) -> Call[None]: ...


def _names_process(error: errors.NotFound, pid: int) -> bool:
    return getattr(error.data, "pid", None) == pid


def run_program(
    engine: Engine,
    calls: ProcessCalls,
    vm: str,
    credentials: Credentials,
    spec: CreateSpec,
    *,
    timeout: float | None,
    terminate_on_timeout: bool,
    check: bool,
    name: str | None = None,
) -> Plan[ProcessResult]:
    """Starts a program and polls `get` until it exits, or until `timeout` seconds have passed; messages
    name it `name` (default: the spec's path; a captured run names the user's program, not its wrapper)."""
    began = engine.clock()
    pid: int = yield from engine.call(calls.create_call(vm, credentials, spec))
    try:
        return (
            yield from poll_until_exit(
                engine,
                calls,
                vm,
                credentials,
                pid,
                name or spec.path,
                began=began,
                timeout=timeout,
                terminate_on_timeout=terminate_on_timeout,
                check=check,
            )
        )
    except BaseException as exc:
        if isinstance(exc, Exception | GeneratorExit):
            raise
        # Ctrl-C or a cancelled task: the program is not left running in the guest.
        yield from _terminate_interrupted(engine, calls, vm, credentials, name or spec.path, pid)
        raise


def poll_until_exit(  # noqa: PLR0917 - the five of every call, and what the messages name it
    engine: Engine,
    calls: ProcessCalls,
    vm: str,
    credentials: Credentials,
    pid: int,
    path: str,
    *,
    began: float,
    timeout: float | None,
    terminate_on_timeout: bool,
    check: bool,
) -> Plan[ProcessResult]:
    """Polls `get` on run's schedule until process `pid` exits, or until `timeout` seconds after `began`."""
    clock = engine.clock
    deadline = None if timeout is None else began + timeout
    last_seen: ProcessInfo | None = None
    get = calls.get_call(vm, credentials, pid)
    for due, final in _schedule(engine, deadline):
        pause = due - clock()
        if pause > 0:
            yield Sleep(pause)
        info = yield from _poll(engine, get, path, last_seen)
        if info.exit_code is not None:
            result = ProcessResult(pid, info.exit_code, info.started, info.finished, vm)
            if check and result.exit_code != 0:
                raise errors.ProcessFailed(f"{vm}: {path} (pid {pid}) exited with {result.exit_code}", result=result)
            return result
        last_seen = info
        if final or (deadline is not None and clock() >= deadline):
            assert timeout is not None
            terminated = yield from _on_timeout(
                engine,
                calls,
                vm=vm,
                credentials=credentials,
                path=path,
                pid=pid,
                timeout=timeout,
                terminate=terminate_on_timeout,
            )
            raise errors.ProcessTimeout(
                f"{vm}: {path} (pid {pid}) still running after {timeout:g} s; "
                + ("it was asked to terminate" if terminated else "it was left running (terminate_on_timeout=False)"),
                vm=vm,
                pid=pid,
                timeout=timeout,
                terminated=terminated,
            )
    raise AssertionError("poll_offsets() never ends")  # pragma: no cover


def _schedule(engine: Engine, deadline: float | None) -> Iterator[tuple[float, bool]]:
    """When each poll is due (this engine's clock), and whether it is the last before `deadline`
    (which it is then moved to)."""
    # Polls count from when create returned: the program started at most that long ago, so a
    # slow create cannot push a 2 s program's end past the dense polling of the first 2.3 s.
    start = engine.clock()
    for offset in poll_offsets(engine.rng):
        due = start + offset
        if deadline is not None and due >= deadline:
            yield deadline, True
        else:
            yield due, False


def _poll(engine: Engine, get: Call[ProcessInfo], path: str, last_seen: ProcessInfo | None) -> Plan[ProcessInfo]:
    """One `get` of the process; ProcessVanished when the server no longer knows it."""
    vm, pid = get.vm, get.pid
    assert vm is not None  # get_call names the VM and the pid
    assert pid is not None
    try:
        info: ProcessInfo = yield from engine.call(get)
    except errors.NotFound as exc:
        if not _names_process(exc, pid):
            raise
        started = last_seen.started if last_seen is not None else None
        raise errors.ProcessVanished(
            f"{vm}: process {pid} ({path}) vanished before its exit was observed: the server keeps "
            "a finished process's exit code for about 5 minutes, and it was not asked in time",
            vm=vm,
            pid=pid,
            started=started,
        ) from exc
    return info


def _terminate_interrupted(  # noqa: PLR0917
    engine: Engine, calls: ProcessCalls, vm: str, credentials: Credentials, path: str, pid: int
) -> Plan[None]:
    """Terminates an interrupted run's program, looks once at how it ended, and says so (a warning:
    whoever pressed Ctrl-C wants to know what became of the program)."""
    try:
        yield from engine.call(calls.delete_call(vm, credentials, pid))
    except errors.NotFound:
        log.warning("%s: interrupted: %s (pid %d) had already ended", vm, path, pid)
        return
    except errors.VcenterGuestError as exc:
        log.warning("%s: interrupted: could not terminate %s (pid %d), it may still run: %s", vm, path, pid, exc)
        return
    ended: int | None = None
    try:
        info: ProcessInfo = yield from engine.call(calls.get_call(vm, credentials, pid))
        ended = info.exit_code
    except errors.VcenterGuestError:
        pass  # terminating worked; how it ended is a detail
    if ended is not None:
        log.warning("%s: interrupted: terminated %s (pid %d, exit code %d)", vm, path, pid, ended)
    else:
        log.warning("%s: interrupted: asked %s (pid %d) to terminate", vm, path, pid)


def _on_timeout(
    engine: Engine,
    calls: ProcessCalls,
    *,
    vm: str,
    credentials: Credentials,
    path: str,
    pid: int,
    timeout: float,
    terminate: bool,
) -> Plan[bool]:
    if not terminate:
        return False
    try:
        yield from engine.call(calls.delete_call(vm, credentials, pid))
    except errors.NotFound:
        return False  # it ended (and was forgotten) in the meantime
    except errors.VcenterGuestError as exc:
        raise errors.ProcessTimeout(
            f"{vm}: {path} (pid {pid}) still running after {timeout:g} s, and terminating it failed: {exc}",
            vm=vm,
            pid=pid,
            timeout=timeout,
            terminated=False,
        ) from exc
    return True


def wait_until(
    engine: Engine,
    check: Callable[[], Plan[bool]],
    timeout: float | None,
    *,
    what: Callable[[float], str],
    operation: str,
    vm: str,
) -> Plan[None]:
    """Polls `check` on `run`'s schedule until it is true; errors.TimedOut after `timeout` seconds,
    saying `vm: what(timeout)`."""
    clock = engine.clock
    start = clock()
    for offset in poll_offsets(engine.rng):
        due = start + offset
        if timeout is not None:
            due = min(due, start + timeout)
        pause = due - clock()
        if pause > 0:
            yield Sleep(pause)
        done = yield from check()
        if done:
            return
        if timeout is not None and clock() >= start + timeout:
            raise errors.TimedOut(f"{vm}: {what(timeout)}", operation=operation, vm=vm)
    raise AssertionError("poll_offsets() never ends")  # pragma: no cover
