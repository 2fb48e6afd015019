"""`Client`: the synchronous client, and its `Processes` service."""

from __future__ import annotations

import builtins
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TypeVar

import httpx

from . import errors
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
from ._results import ProcessInfo, ProcessResult, ProcessSummary
from ._retry import RetryPolicy

__all__ = ["HEADERS", "Client", "Processes"]

log = logging.getLogger("vcenter_guest")

T = TypeVar("T")

HEADERS = {"Accept": "application/json", "User-Agent": "vcenter-guest"}


class Client:
    """A vCenter connection: logs in on entry, logs out on exit, re-logs in when the session expires.

    Example::

        from vcenter_guest import Client, Credentials

        with Client("https://vc.example.com", user="administrator@vsphere.local", password=pw) as vc:
            creds = Credentials.password("root", guest_pw)
            result = vc.processes.run("vm-42", creds, "/bin/ls", "-l", timeout=60)
            print(result.pid, result.exit_code, result.duration)

    Parameters: `server` (URL or host name; https:// is assumed), `user` and `password` of the
    API (vCenter SSO) user, or an existing `session_id` (with user and password too, the client
    can log in again when it expires). `verify` (default True) checks the server's TLS
    certificate; `ca_bundle` is a PEM file of the CA that signed it; `verify=False` turns checking
    off and logs a warning. `timeout` is seconds per HTTP exchange. `retry` is the RetryPolicy for
    transient faults. `transport` is any `httpx.BaseTransport` (tests, a mock server, a proxy).

    Thread-safe: threads may share one client; a session renewal happens once for all of them.
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = server_url(server)
        api_user, api_password, session = api_login(user, password, session_id)
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise errors.UsageError("transport must be an httpx.BaseTransport (for AsyncClient: AsyncBaseTransport)")
        self._core = Core(url, user=api_user, password=api_password, session_id=session, retry=retry_policy(retry))
        self._http = httpx.Client(
            base_url=url,
            verify=tls_verify(verify, ca_bundle, url),
            timeout=http_timeout(timeout),
            transport=transport,
            headers=HEADERS,
        )
        self._lock = threading.RLock()
        self._sleep: Callable[[float], None] = time.sleep
        self.processes = Processes(self)
        """The guest processes service: create, list, get, delete, run."""

    def __repr__(self) -> str:
        state = "closed" if self._http.is_closed else ("logged in" if self._core.session_id else "not logged in")
        return f"Client({self._core.server!r}, user={self._core.user!r}, {state})"

    @property
    def server(self) -> str:
        """The base URL of the vCenter."""
        return self._core.server

    @property
    def session_id(self) -> str | None:
        """The current API session id (a secret: never log it), None before login and after close."""
        return self._core.session_id

    def login(self) -> None:
        """Creates an API session now, if there is none (otherwise the first call does)."""
        with self._lock:
            if self._core.session_id is None:
                self._drive(self._core.renew(None))

    def close(self) -> None:
        """Deletes the session this client created (not one passed in as `session_id`) and closes connections."""
        if self._http.is_closed:
            return
        try:
            self._drive(self._core.logout())
        except errors.VcenterGuestError as exc:
            # The session expires by itself; failing to end it early must not hide the caller's own error.
            log.info("logging out of %s failed: %s", self._core.server, exc)
        finally:
            self._http.close()

    def __enter__(self) -> Client:
        try:
            self.login()
        except BaseException:
            self._http.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _drive(self, plan: Plan[T]) -> T:
        """Carries out a plan's effects with httpx.Client and time.sleep (see _core)."""
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
                        response = http.send(request, auth=auth)
                    except httpx.HTTPError as exc:
                        effect = plan.throw(exc)
                        continue
                    effect = plan.send(response)
                elif type(effect) is float:
                    self._sleep(effect)
                    effect = plan.send(None)
                elif isinstance(effect, Renew):
                    with self._lock:
                        try:
                            renewed = self._drive(self._core.renew(effect.stale))
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


class Processes:
    """The guest processes service (`vc.processes`), as in the official SDK, plus `run`.

    Example::

        pid = vc.processes.create("vm-42", creds, CreateSpec("/bin/sleep", arguments="30"))
        assert vc.processes.get("vm-42", creds, pid).running
        vc.processes.delete("vm-42", creds, pid)
    """

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, vm: str, credentials: Credentials, spec: CreateSpec | str) -> int:
        """Starts a program in the guest; returns its pid. Never sent twice (see RetryPolicy)."""
        core = self._client._core
        plan = core.create(check_vm(vm), check_credentials(credentials), check_spec(spec))
        return self._client._drive(plan)

    def list(self, vm: str, credentials: Credentials) -> builtins.list[ProcessSummary]:
        """The guest's processes, plus those started by create that ended in the last 5 minutes."""
        return self._client._drive(self._client._core.list(check_vm(vm), check_credentials(credentials)))

    def get(self, vm: str, credentials: Credentials, pid: int) -> ProcessInfo:
        """One process; `finished` and `exit_code` are set once a process started by create has exited."""
        plan = self._client._core.get(check_vm(vm), check_credentials(credentials), check_pid(pid))
        return self._client._drive(plan)

    def delete(self, vm: str, credentials: Credentials, pid: int) -> None:
        """Terminates a process (SIGTERM, then SIGKILL, on POSIX guests)."""
        plan = self._client._core.delete(check_vm(vm), check_credentials(credentials), check_pid(pid))
        self._client._drive(plan)

    def run(
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
        """Starts a program, waits for it to exit and returns its exit code.

        Example::

            result = vc.processes.run("vm-42", creds, "/bin/ls", "-l", "/tmp", timeout=60)
            print(result.exit_code, result.duration)

        `args` are quoted for the guest's POSIX shell, one argument each; `arguments=` is passed
        verbatim instead (shell syntax, Windows guests). A non-zero exit code is a result unless
        `check=True` (then errors.ProcessFailed). After `timeout` seconds: errors.ProcessTimeout,
        having terminated the process if `terminate_on_timeout=True`. If the process is forgotten
        by the server before its exit was seen: errors.ProcessVanished.
        """
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
        return self._client._drive(plan)
