"""`AsyncClient`: the asynchronous client (asyncio or trio, through anyio), and `run_many`."""

from __future__ import annotations

import builtins
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast

import httpx

from . import errors
from ._client import HEADERS
from ._config import (
    DEFAULT_TIMEOUT,
    api_login,
    check_credentials,
    check_pid,
    check_run_timeout,
    check_spec,
    check_vm,
    http_timeout,
    program_spec,
    retry_policy,
    server_url,
    tls_verify,
)
from ._core import SESSION_HEADER, Core, Plan, Renew
from ._models import CreateSpec, Credentials
from ._pool import ShardedTransport
from ._results import ProcessInfo, ProcessResult, ProcessSummary
from ._retry import RetryPolicy

if TYPE_CHECKING:
    import anyio

__all__ = ["AsyncClient", "AsyncProcesses", "RunOutcome"]

log = logging.getLogger("vcenter_guest")

T = TypeVar("T")

RunOutcome = ProcessResult | errors.VcenterGuestError
"""One VM's outcome in `run_many`: its ProcessResult, or the exception that VM's run raised."""


class AsyncClient:
    """The asynchronous `Client`: same parameters, same methods, awaited; plus `processes.run_many`.

    Example::

        async with AsyncClient("https://vc.example.com", user=user, password=pw) as vc:
            creds = Credentials.password("root", guest_pw)
            results = await vc.processes.run_many(["vm-1", "vm-2"], creds, "/bin/true", concurrency=50)

    `max_connections` bounds the connections to vCenter (keep it at least the `run_many`
    concurrency); `transport` is any `httpx.AsyncBaseTransport`, e.g. `httpx.ASGITransport(app)`
    for an in-process mock server. Works under asyncio and trio.
    """

    def __init__(
        self,
        server: str,
        *,
        user: str | None = None,
        password: str | None = None,
        session_id: str | None = None,
        verify: bool | ssl.SSLContext = True,
        ca_bundle: str | os.PathLike[str] | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        url = server_url(server)
        api_user, api_password, session = api_login(user, password, session_id)
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise errors.UsageError("transport must be an httpx.AsyncBaseTransport (for Client: BaseTransport)")
        if type(max_connections) is not int or max_connections < 1:
            raise errors.UsageError("max_connections must be a positive int")
        self._core = Core(url, user=api_user, password=api_password, session_id=session, retry=retry_policy(retry))
        tls = tls_verify(verify, ca_bundle, url)
        self._http = httpx.AsyncClient(
            base_url=url,
            verify=tls,
            timeout=http_timeout(timeout),
            # Small pools (see _pool), each keeping its idle connections for the next caller.
            transport=transport or ShardedTransport(verify=tls, max_connections=max_connections),
            headers=HEADERS,
        )
        self._lock: anyio.Lock | None = None
        self._sleep: Callable[[float], Awaitable[None]] | None = None  # None: anyio.sleep
        self.processes = AsyncProcesses(self)
        """The guest processes service: create, list, get, delete, run, run_many."""

    def __repr__(self) -> str:
        state = "closed" if self._http.is_closed else ("logged in" if self._core.session_id else "not logged in")
        return f"AsyncClient({self._core.server!r}, user={self._core.user!r}, {state})"

    @property
    def server(self) -> str:
        """The base URL of the vCenter."""
        return self._core.server

    @property
    def session_id(self) -> str | None:
        """The current API session id (a secret: never log it), None before login and after close."""
        return self._core.session_id

    def _session_lock(self) -> anyio.Lock:
        if self._lock is None:
            import anyio  # noqa: PLC0415 - not needed by `import vcenter_guest`

            self._lock = anyio.Lock()
        return self._lock

    async def login(self) -> None:
        """Creates an API session now, if there is none (otherwise the first call does)."""
        async with self._session_lock():
            if self._core.session_id is None:
                await self._drive(self._core.renew(None))

    async def close(self) -> None:
        """Deletes the session this client created (not one passed in as `session_id`) and closes connections."""
        if self._http.is_closed:
            return
        try:
            await self._drive(self._core.logout())
        except errors.VcenterGuestError as exc:
            log.info("logging out of %s failed: %s", self._core.server, exc)
        finally:
            await self._http.aclose()

    aclose = close
    """Same as `close` (the name httpx.AsyncClient uses)."""

    async def __aenter__(self) -> AsyncClient:
        try:
            await self.login()
        except BaseException:
            await self._http.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _drive(self, plan: Plan[T]) -> T:
        """Carries out a plan's effects with httpx.AsyncClient and anyio.sleep (see _core)."""
        if self._http.is_closed:
            plan.close()
            raise errors.UsageError("the client is closed")
        http = self._http
        try:
            effect = plan.send(None)
            while True:
                if type(effect) is dict:
                    session = effect.pop("session", None)
                    auth = effect.pop("auth", None)
                    try:
                        request = http.build_request(**effect)
                        if session is not None:
                            request.headers[SESSION_HEADER] = session
                        response = await http.send(request, auth=auth)
                    except httpx.HTTPError as exc:
                        effect = plan.throw(exc)
                        continue
                    effect = plan.send(response)
                elif type(effect) is float:
                    if self._sleep is None:
                        import anyio  # noqa: PLC0415 - already loaded by httpx's async machinery

                        self._sleep = anyio.sleep
                    await self._sleep(effect)
                    effect = plan.send(None)
                elif isinstance(effect, Renew):
                    async with self._session_lock():
                        try:
                            renewed = await self._drive(self._core.renew(effect.stale))
                        except errors.VcenterGuestError as exc:
                            effect = plan.throw(exc)
                            continue
                    effect = plan.send(renewed)
                else:  # pragma: no cover - a bug in a plan
                    raise TypeError(f"unknown effect {effect!r}")
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            plan.close()


def _vm_list(vms: object) -> builtins.list[str]:
    if isinstance(vms, str) or not isinstance(vms, Iterable):
        raise errors.UsageError("vms must be a list of VM identifiers such as ['vm-1', 'vm-2'], not a single string")
    return [check_vm(vm) for vm in vms]


class AsyncProcesses:
    """The guest processes service of an AsyncClient (`vc.processes`): awaitable methods, plus `run_many`.

    Example::

        pid = await vc.processes.create("vm-42", creds, CreateSpec("/bin/sleep", arguments="30"))
        info = await vc.processes.get("vm-42", creds, pid)
        results = await vc.processes.run_many(["vm-1", "vm-2"], creds, "/bin/true")
    """

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, vm: str, credentials: Credentials, spec: CreateSpec | str) -> int:
        """Starts a program in the guest; returns its pid. Never sent twice (see RetryPolicy)."""
        core = self._client._core
        return await self._client._drive(core.create(check_vm(vm), check_credentials(credentials), check_spec(spec)))

    async def list(self, vm: str, credentials: Credentials) -> builtins.list[ProcessSummary]:
        """The guest's processes, plus those started by create that ended in the last 5 minutes."""
        return await self._client._drive(self._client._core.list(check_vm(vm), check_credentials(credentials)))

    async def get(self, vm: str, credentials: Credentials, pid: int) -> ProcessInfo:
        """One process; `finished` and `exit_code` are set once a process started by create has exited."""
        plan = self._client._core.get(check_vm(vm), check_credentials(credentials), check_pid(pid))
        return await self._client._drive(plan)

    async def delete(self, vm: str, credentials: Credentials, pid: int) -> None:
        """Terminates a process (SIGTERM, then SIGKILL, on POSIX guests)."""
        plan = self._client._core.delete(check_vm(vm), check_credentials(credentials), check_pid(pid))
        await self._client._drive(plan)

    async def run(
        self,
        vm: str,
        credentials: Credentials,
        program: str | CreateSpec,
        *args: str,
        arguments: str | None = None,
        working_directory: str | None = None,
        environment_variables: Mapping[str, str] | None = None,
        timeout: float | None = None,
        terminate_on_timeout: bool = False,
        check: bool = False,
    ) -> ProcessResult:
        """Starts a program, waits for it to exit and returns its exit code (see `Client.processes.run`)."""
        spec = program_spec(
            program,
            args,
            arguments=arguments,
            working_directory=working_directory,
            environment_variables=environment_variables,
        )
        plan = self._client._core.run(
            check_vm(vm),
            check_credentials(credentials),
            spec,
            timeout=check_run_timeout(timeout),
            terminate_on_timeout=bool(terminate_on_timeout),
            check=bool(check),
        )
        return await self._client._drive(plan)

    async def run_many(
        self,
        vms: Iterable[str],
        credentials: Credentials,
        program: str | CreateSpec,
        *args: str,
        concurrency: int = 50,
        arguments: str | None = None,
        working_directory: str | None = None,
        environment_variables: Mapping[str, str] | None = None,
        timeout: float | None = None,
        terminate_on_timeout: bool = False,
        check: bool = False,
        on_result: Callable[[str, RunOutcome], None] | None = None,
    ) -> builtins.list[RunOutcome]:
        """Runs one program on many VMs, at most `concurrency` at a time; one outcome per VM, in input order.

        Each outcome is the VM's ProcessResult, or the `errors.VcenterGuestError` its run raised
        (NotFound, ProcessTimeout, ...): one VM's failure never stops the others. `on_result(vm,
        outcome)` is called as each VM finishes (for progress bars); it must not raise.

        Example::

            results = await vc.processes.run_many(vms, creds, "/usr/bin/uptime", timeout=30)
            failed = {vm: r for vm, r in zip(vms, results) if isinstance(r, Exception)}
        """
        targets = _vm_list(vms)
        if type(concurrency) is not int or concurrency < 1:
            raise errors.UsageError(f"concurrency must be a positive int, got {concurrency!r}")
        if on_result is not None and not callable(on_result):
            raise errors.UsageError("on_result must be a function of (vm, outcome)")
        creds = check_credentials(credentials)
        spec = program_spec(
            program,
            args,
            arguments=arguments,
            working_directory=working_directory,
            environment_variables=environment_variables,
        )
        run_timeout = check_run_timeout(timeout)
        outcomes: builtins.list[RunOutcome | None] = [None] * len(targets)
        pending = iter(range(len(targets)))
        client, core = self._client, self._client._core

        async def worker() -> None:
            # Workers share one iterator: each VM is taken exactly once, in input order.
            for index in pending:
                vm = targets[index]
                outcome: RunOutcome
                try:
                    plan = core.run(
                        vm, creds, spec, timeout=run_timeout, terminate_on_timeout=terminate_on_timeout, check=check
                    )
                    outcome = await client._drive(plan)
                except errors.VcenterGuestError as exc:
                    outcome = exc
                outcomes[index] = outcome
                if on_result is not None:
                    on_result(vm, outcome)

        import anyio  # noqa: PLC0415

        async with anyio.create_task_group() as group:
            for _ in range(min(concurrency, len(targets))):
                group.start_soon(worker)
        return cast("builtins.list[RunOutcome]", outcomes)  # every slot was filled by a worker
