"""The client's logic, written once for the sync and the async client (sans-IO).

Each operation is a generator (a "plan") that yields what it needs done and receives the outcome:

    a dict   -> one request: `httpx.Client.build_request` keyword arguments, plus "session" (the
                session id to send in its header) or "auth" (basic auth, for a login); the driver
                sends back the response, or throws the `httpx.HTTPError` it raised into the plan
    a float  -> seconds to sleep
    Renew    -> "this session failed; under the client's lock, log in again if it is really dead";
                the driver sends back True (send again with the new session) or False

`Client` drives plans with `httpx.Client` and `time.sleep`, `AsyncClient` with `httpx.AsyncClient`
and `anyio.sleep`, so sessions, retries, waiting and error mapping cannot drift apart between them.
The fast path (one request, one parse) pays for one generator and nothing else: the retry machinery
(tenacity) is set up only after a failure.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Callable, Generator
from types import ModuleType
from typing import Any, TypeVar

import httpx

from . import errors
from ._models import CreateSpec, Credentials
from ._polling import poll_offsets
from ._redact import Redactor, basic_auth_token
from ._results import ProcessInfo, ProcessResult, ProcessSummary
from ._retry import RetryPolicy

__all__ = ["SESSION_HEADER", "Core", "Plan", "Renew", "transport_error"]

log = logging.getLogger("vcenter_guest")

T = TypeVar("T")
Plan = Generator[Any, Any, T]

SESSION_HEADER = "vmware-api-session-id"

# A session validated this recently is not checked again when another call fails with
# UNAUTHENTICATED (many concurrent calls with wrong guest credentials would each check it).
_VALIDATION_TTL = 2.0

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)

_wire_module: ModuleType | None = None


def _wire() -> ModuleType:
    # Imported on the first request: it loads the generated client (see _wire's docstring).
    global _wire_module  # noqa: PLW0603
    if _wire_module is None:
        from . import _wire  # noqa: PLC0415

        _wire_module = _wire
    return _wire_module


class Renew:
    """Effect: the session `stale` was refused (None: there is no session yet)."""

    __slots__ = ("stale",)

    def __init__(self, stale: str | None) -> None:
        self.stale = stale


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def transport_error(exc: httpx.HTTPError, operation: str, vm: str | None, server: str) -> errors.VcenterGuestError:
    """The package's exception for an httpx failure, saying whether the request may have reached the server."""
    error = _transport_error(exc, operation, vm, server)
    error.__cause__ = exc  # kept for debugging, and so that retries can see a TLS failure's cause
    return error


def _transport_error(exc: httpx.HTTPError, operation: str, vm: str | None, server: str) -> errors.VcenterGuestError:
    where = f"{operation} on {vm}" if vm else operation
    detail = str(exc) or exc.__class__.__name__
    if isinstance(exc, _NOT_SENT):
        tls = _tls_failure(exc)
        if tls is not None:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
            message = (
                f"{where}: TLS with {server} failed ({reason}); the request was not sent. If the server's "
                "certificate is signed by a private CA, pass its CA bundle (ca_bundle=..., --ca-bundle)"
            )
        else:
            message = f"{where}: cannot reach {server} ({detail}); the request was not sent"
        return errors.RequestNotSent(message, operation=operation, vm=vm)
    if isinstance(exc, httpx.TimeoutException):
        return errors.ResponseNotReceived(
            f"{where}: no response from {server} within the timeout ({detail}); "
            "the server may have acted on the request",
            operation=operation,
            vm=vm,
        )
    if isinstance(exc, httpx.TransportError):
        return errors.ResponseNotReceived(
            f"{where}: the connection to {server} failed before a response arrived ({detail}); "
            "the server may have acted on the request",
            operation=operation,
            vm=vm,
        )
    # DecodingError, TooManyRedirects...: an answer came, but not one this client can read.
    return errors.UnexpectedResponse(
        f"{where}: unreadable response from {server} ({detail})", reason=detail, operation=operation
    )


def _retryable(kind: str, policy: RetryPolicy, failure: BaseException) -> bool:
    if isinstance(failure, errors.VapiError):
        return failure.error_type in policy.error_types
    if isinstance(failure, errors.RequestNotSent):
        return _tls_failure(failure) is None  # a certificate does not get better by asking again
    if isinstance(failure, errors.ResponseNotReceived):
        # The one rule that must never bend: a create that may have reached the server may have
        # started the program, and sending it again could start it twice.
        return kind != "create"
    return False


def _names_process(error: errors.NotFound, pid: int) -> bool:
    return getattr(error.data, "pid", None) == pid


class Core:
    """Session state and plans; owned by one Client or AsyncClient."""

    def __init__(
        self,
        server: str,
        *,
        user: str | None,
        password: str | None,
        session_id: str | None,
        retry: RetryPolicy,
        rng: random.Random | None = None,
    ) -> None:
        self.server = server
        self.user = user
        self._password = password
        self.session_id = session_id
        # A session handed in by the caller is theirs to end; one this client created is ours.
        self.owns_session = False
        self.retry = retry
        self.rng = rng or random.Random()  # noqa: S311 - poll jitter, not cryptography
        # Replaced (with the driver's sleep) by tests that run programs in virtual time.
        self.clock: Callable[[], float] = time.monotonic
        self._validated: tuple[str, float] | None = None
        secrets = [s for s in (password, session_id) if s]
        if user and password is not None:
            secrets.append(basic_auth_token(user, password))
        self.redactor = Redactor(secrets)

    @property
    def can_login(self) -> bool:
        """Whether the client holds a user and password to create sessions with."""
        return self.user is not None and self._password is not None

    # --- one operation, with re-login and retries ------------------------------------------------

    def _request(self, op: Any, vm: str | None, credentials: Credentials | None, arg: Any) -> dict[str, Any]:
        request: dict[str, Any] = op.build(vm, credentials, arg)
        # Per-request headers cost httpx a merge on every call; the drivers set the session header
        # on the built request instead, and httpx sets Content-Type for `json=` itself.
        request.pop("headers", None)
        if op.uses_session:
            request["session"] = self.session_id
        else:
            request["auth"] = (self.user, self._password)
        return request

    def call(self, name: str, vm: str | None, credentials: Credentials | None, arg: Any = None) -> Plan[Any]:
        """Runs operation `name` ("create", "get", "session_create"...) and returns its parsed result."""
        op = _wire().OPERATIONS[name]
        if op.uses_session and self.session_id is None:
            yield Renew(None)
        session = self.session_id
        pid = arg if type(arg) is int else None
        try:
            response = yield self._request(op, vm, credentials, arg)
            return op.parse(response, vm, pid)
        except httpx.HTTPError as exc:
            failure = transport_error(exc, name, vm, self.server)
        except errors.VcenterGuestError as exc:
            failure = exc
        return (yield from self._recover(op, failure, vm=vm, credentials=credentials, arg=arg, session=session))

    def _scrub(self, failure: errors.VcenterGuestError, credentials: Credentials | None) -> errors.VcenterGuestError:
        # Servers echo input in their messages; none of it may carry a secret out of the client.
        redactor = self.redactor if credentials is None else self.redactor.with_secrets([credentials.secret])
        failure.args = tuple(redactor.scrub(a) if isinstance(a, str) else a for a in failure.args)
        if isinstance(failure, errors.UnexpectedResponse):
            failure.body = redactor.scrub(failure.body)
        return failure

    def _recover(
        self,
        op: Any,
        failure: errors.VcenterGuestError,
        *,
        vm: str | None,
        credentials: Credentials | None,
        arg: Any,
        session: str | None,
    ) -> Plan[Any]:
        pid = arg if type(arg) is int else None
        renewed = False
        retrying: Any = None
        state: Any = None
        sent = 1
        while True:
            failure = self._scrub(failure, credentials)
            if (
                isinstance(failure, errors.Unauthenticated)
                and op.uses_session
                and op.name != "session_get"
                and not renewed
            ):
                # A dead session is renewed once; if it is alive, the credentials in the body were wrong.
                renewed = True
                if not (yield Renew(session)):
                    raise failure
            elif op.kind == "delete" and sent > 1 and isinstance(failure, errors.NotFound):
                return None  # an earlier attempt whose answer was lost did the job
            else:
                if retrying is None:
                    import tenacity  # noqa: PLC0415 - only after a failure

                    retrying = self.retry.retrying(functools.partial(_retryable, op.kind, self.retry))
                    state = tenacity.RetryCallState(retrying, None, (), {})
                state.set_exception((type(failure), failure, failure.__traceback__))
                delay = float(retrying.iter(state))  # raises `failure` when it is not retried
                where = f"{op.name} on {vm}" if vm else op.name
                log.warning(
                    "%s failed (%s: %s); retrying in %.2f s (attempt %d of %d)",
                    where,
                    type(failure).__name__,
                    failure,
                    delay,
                    state.attempt_number + 1,
                    self.retry.attempts,
                )
                state.prepare_for_next_attempt()
                yield delay
            session = self.session_id
            sent += 1
            try:
                response = yield self._request(op, vm, credentials, arg)
                return op.parse(response, vm, pid)
            except httpx.HTTPError as exc:
                failure = transport_error(exc, op.name, vm, self.server)
            except errors.VcenterGuestError as exc:
                failure = exc

    # --- sessions -------------------------------------------------------------------------------

    def login(self) -> Plan[str]:
        """Creates a session with the user and password (HTTP basic auth)."""
        if not self.can_login:
            raise errors.Unauthenticated(
                "the API session is missing or expired, and the client has no user and password to log in again",
                operation="session_create",
            )
        session_id: str = yield from self.call("session_create", None, None)
        self.redactor.add(session_id)
        self.session_id = session_id
        self.owns_session = True
        self._validated = None
        log.info("logged in to %s as %s", self.server, self.user)
        return session_id

    def renew(self, stale: str | None) -> Plan[bool]:
        """Runs under the client's lock. True: the session changed, send again; False: `stale` is alive."""
        if self.session_id != stale:
            return True  # another call renewed it meanwhile
        if stale is not None:
            validated = self._validated
            if validated is not None and validated[0] == stale and self.clock() - validated[1] < _VALIDATION_TTL:
                return False
            alive: bool = yield from self.call("session_get", None, None)
            if alive:
                self._validated = (stale, self.clock())
                return False
            log.info("the API session on %s expired; logging in again", self.server)
        yield from self.login()
        return True

    def logout(self) -> Plan[None]:
        """Deletes the session if this client created it; forgets it either way."""
        session, owned = self.session_id, self.owns_session
        try:
            if session is not None and owned:
                op = _wire().OPERATIONS["session_delete"]
                try:
                    response = yield self._request(op, None, None, None)
                except httpx.HTTPError as exc:
                    raise transport_error(exc, op.name, None, self.server) from exc
                op.parse(response, None, None)
        finally:
            self.session_id = None
            self.owns_session = False

    # --- the Processes service ---------------------------------------------------------------------

    def create(self, vm: str, credentials: Credentials, spec: CreateSpec) -> Plan[int]:
        """Processes.create."""
        pid: int = yield from self.call("create", vm, credentials, spec)
        return pid

    def list(self, vm: str, credentials: Credentials) -> Plan[list[ProcessSummary]]:
        """Processes.list."""
        summaries: list[ProcessSummary] = yield from self.call("list", vm, credentials)
        return summaries

    def get(self, vm: str, credentials: Credentials, pid: int) -> Plan[ProcessInfo]:
        """Processes.get."""
        info: ProcessInfo = yield from self.call("get", vm, credentials, pid)
        return info

    def delete(self, vm: str, credentials: Credentials, pid: int) -> Plan[None]:
        """Processes.delete."""
        yield from self.call("delete", vm, credentials, pid)

    def run(
        self,
        vm: str,
        credentials: Credentials,
        spec: CreateSpec,
        *,
        timeout: float | None,
        terminate_on_timeout: bool,
        check: bool,
    ) -> Plan[ProcessResult]:
        """Starts a program and polls `get` until it exits (see _polling for the schedule)."""
        clock = self.clock
        began = clock()
        pid: int = yield from self.call("create", vm, credentials, spec)
        # Polls count from when create returned: the program started at most that long ago, so a
        # slow create cannot push a 2 s program's end past the dense polling of the first 2.3 s.
        start = clock()
        deadline = None if timeout is None else began + timeout
        last_seen: ProcessInfo | None = None
        for offset in poll_offsets(self.rng):
            due = start + offset
            final = deadline is not None and due >= deadline
            if deadline is not None and final:
                due = deadline
            pause = due - clock()
            if pause > 0:
                yield pause
            try:
                info: ProcessInfo = yield from self.call("get", vm, credentials, pid)
            except errors.NotFound as exc:
                if not _names_process(exc, pid):
                    raise
                started = last_seen.started if last_seen is not None else None
                raise errors.ProcessVanished(
                    f"{vm}: process {pid} ({spec.path}) vanished before its exit was observed: the server keeps "
                    "a finished process's exit code for about 5 minutes, and it was not asked in time",
                    vm=vm,
                    pid=pid,
                    started=started,
                ) from exc
            if info.exit_code is not None:
                result = ProcessResult(pid, info.exit_code, info.started, info.finished, vm)
                if check and result.exit_code != 0:
                    raise errors.ProcessFailed(
                        f"{vm}: {spec.path} (pid {pid}) exited with {result.exit_code}", result=result
                    )
                return result
            last_seen = info
            if final or (deadline is not None and clock() >= deadline):
                assert timeout is not None  # a deadline implies a timeout
                terminated = yield from self._on_timeout(
                    vm, credentials, spec, pid, timeout=timeout, terminate=terminate_on_timeout
                )
                raise errors.ProcessTimeout(
                    f"{vm}: {spec.path} (pid {pid}) still running after {timeout:g} s; "
                    + (
                        "it was asked to terminate"
                        if terminated
                        else "it was left running (terminate_on_timeout=False)"
                    ),
                    vm=vm,
                    pid=pid,
                    timeout=timeout,
                    terminated=terminated,
                )
        raise AssertionError("poll_offsets() never ends")  # pragma: no cover

    def _on_timeout(
        self, vm: str, credentials: Credentials, spec: CreateSpec, pid: int, *, timeout: float, terminate: bool
    ) -> Plan[bool]:
        if not terminate:
            return False
        try:
            yield from self.call("delete", vm, credentials, pid)
        except errors.NotFound:
            return False  # it ended (and was forgotten) in the meantime
        except errors.VcenterGuestError as exc:
            raise errors.ProcessTimeout(
                f"{vm}: {spec.path} (pid {pid}) still running after {timeout:g} s, and terminating it failed: {exc}",
                vm=vm,
                pid=pid,
                timeout=timeout,
                terminated=False,
            ) from exc
        return True
