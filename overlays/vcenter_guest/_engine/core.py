"""`Engine`: the client's logic, written once for the sync and the async client (sans-IO).

It holds the session state and turns a `Call` into a plan (see `effects`): send, read, and on
failure renew the session or retry as the operation's `resend` rule and the `RetryPolicy` allow.
Clock and random source are constructor arguments, so tests run plans with no client and no HTTP.
The fast path (one request, one parse) pays for one generator and nothing else: the retry
machinery (tenacity) is set up only after a failure.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from vcenter_guest import errors
from vcenter_guest._failures import scrub_error, transport_error
from vcenter_guest.operations import Operation, Resend
from vcenter_guest.redaction import Redactor, basic_auth_token

from .calls import Call, SessionCalls
from .effects import Plan, Renew, Send, Sleep
from .retry import RESENT_AFTER_LOST_ANSWER, RetryPolicy, may_retry

__all__ = ["SESSION_HEADER", "Engine"]

log = logging.getLogger("vcenter_guest")

T = TypeVar("T")

SESSION_HEADER = "vmware-api-session-id"

# A session validated this recently, because a call failed with UNAUTHENTICATED, is not checked
# again when another call fails so (many concurrent calls with wrong guest credentials would each
# check it). `check_session` (session_alive) is no such validation: a failure after it is news.
_VALIDATION_TTL = 2.0

# A retry of an operation that is never re-sent after a lost answer (create) starts only with at
# least this long left of the retry policy's time (or the whole exchange timeout, if shorter): cut
# off at once, it would turn a failure that certainly did not act (a create refused as busy) into
# one that may have (a create whose answer was lost). Other operations retry while time is left.
_MIN_RETRY_SECONDS = 1.0


class Engine:
    """Session state and plans; owned by one Client or AsyncClient (or driven directly by a test)."""

    def __init__(
        self,
        server: str,
        *,
        user: str | None,
        password: str | None,
        session_id: str | None,
        sessions: Callable[[], SessionCalls],
        retry: RetryPolicy | None = None,
        exchange_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.server = server
        # Seconds one whole HTTP exchange may take (None: unbounded); see `_limit`.
        self.exchange_timeout = exchange_timeout
        self.user = user
        self._password = password
        self.session_id = session_id
        # The session calls, loaded on the first login or check (the wire loads the generated client).
        self._load_sessions = sessions
        self._sessions: SessionCalls | None = None
        # A session handed in by the caller is theirs to end; one this client created is ours.
        self.owns_session = False
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - poll jitter, not cryptography
        self._validated: tuple[str, float] | None = None
        secrets = [s for s in (password, session_id) if s]
        if user and password is not None:
            secrets.append(basic_auth_token(user, password))
        self.redactor = Redactor(secrets)

    @property
    def can_login(self) -> bool:
        """Whether the engine holds a user and password to create sessions with."""
        return self.user is not None and self._password is not None

    @property
    def sessions(self) -> SessionCalls:
        """The API session's calls (`session.create`, `get`, `delete`), which the client handed in."""
        if self._sessions is None:
            self._sessions = self._load_sessions()
        return self._sessions

    # --- one call, with session renewal and retries ------------------------------------------------

    def _send(self, call: Call[Any], limit: float | None) -> Send:
        if call.operation.uses_session:
            effect = call.operation.effect
            finish = effect is not None and effect.names_what_it_made
            return Send.of(call.build(), session=self.session_id, auth=None, limit=limit, finish=finish)
        if self.user is None or self._password is None:  # login() checks can_login first
            raise errors.UsageError("no user and password to log in with")
        return Send.of(call.build(), session=None, auth=(self.user, self._password), limit=limit)

    def call(self, call: Call[T], until: float | None = None) -> Plan[T]:
        """Sends `call` and returns its parsed result, renewing the session and retrying as allowed.

        Time: the first attempt may take the whole `exchange_timeout`; retries happen only within the
        retry policy's `timeout` since the first attempt started, and the retry in flight when that
        time is up is cut off. So a call ends within max(exchange_timeout, retry.timeout) seconds
        (plus the login it may need, itself such a call). `until` (this engine's clock) cuts every
        attempt off then, and none starts after it (errors.RequestNotSent): a caller's own deadline.
        """
        if call.operation.uses_session and self.session_id is None:
            yield Renew(None)
        session = self.session_id
        started = self.clock()
        ends = started + self.retry.timeout
        limit = self.exchange_timeout
        if until is not None:
            limit = self._until(call, until)
            ends = min(ends, until)
        outcome = yield from self._attempt(call, limit)
        if not isinstance(outcome, errors.VcenterGuestError):
            return outcome
        return (yield from self._recover(call, outcome, session, ends, until))

    def _until(self, call: Call[Any], until: float) -> float:
        """The limit of an attempt that must end by `until`, or RequestNotSent when that time is up."""
        left = until - self.clock()
        if left <= 0:
            raise errors.RequestNotSent(
                f"{call.where}: not sent: the time allowed for it was up (the caller's deadline)",
                operation=call.operation.id,
                vm=call.vm,
            )
        bound = self.exchange_timeout
        return left if bound is None or left < bound else bound

    def _enough(self, op: Operation, seconds: float) -> bool:
        """Whether an attempt of `op` with `seconds` left is worth starting (see _MIN_RETRY_SECONDS)."""
        if op.resend in RESENT_AFTER_LOST_ANSWER:
            return seconds > 0
        bound = self.exchange_timeout
        return seconds >= (_MIN_RETRY_SECONDS if bound is None or bound > _MIN_RETRY_SECONDS else bound)

    def _limit(self, ends: float) -> float:
        """Seconds a retry's exchange may take: its own bound, cut to what is left until `ends`."""
        left = ends - self.clock()
        bound = self.exchange_timeout
        return left if bound is None or left < bound else bound

    def _attempt(self, call: Call[T], limit: float | None) -> Plan[T | errors.VcenterGuestError]:
        """One more attempt: the result, or the package's error for its failure (returned, not raised)."""
        try:
            response = yield self._send(call, limit)
            return call.read(response)
        except httpx.HTTPError as exc:
            return self._transport_error(exc, call)
        except errors.VcenterGuestError as exc:
            return exc

    def _scrub(self, failure: errors.VcenterGuestError, call: Call[Any]) -> errors.VcenterGuestError:
        # Servers echo input in their messages; none of it may carry a secret out of the client.
        credentials = call.credentials
        redactor = self.redactor if credentials is None else self.redactor.with_secrets([credentials.secret])
        scrub_error(failure, redactor.scrub)
        return failure

    def _transport_error(self, exc: httpx.HTTPError, call: Call[Any]) -> errors.VcenterGuestError:
        return transport_error(exc, where=call.where, operation=call.operation.id, vm=call.vm, server=self.server)

    def _recover(
        self, call: Call[T], failure: errors.VcenterGuestError, session: str | None, ends: float, until: float | None
    ) -> Plan[T]:
        op = call.operation
        renewed = False
        retrying: Any = None
        state: Any = None
        sent = 1
        while True:
            failure = self._scrub(failure, call)
            if isinstance(failure, errors.Unauthenticated) and op.uses_session and call.renews_session and not renewed:
                # A dead session is renewed once; if it is alive, the credentials in the body were wrong.
                renewed = True
                if not (yield Renew(session)):
                    raise failure
                # The same attempt again with the new session: the whole timeout for a first attempt,
                # what is left of the retry policy's time for a retry.
                limit = self.exchange_timeout if sent == 1 else self._limit(ends)
                if sent == 1 and until is not None:
                    limit = self._limit(until)  # the caller's deadline, not the retry policy's time
                if limit is not None and not self._enough(op, limit):
                    raise failure
            elif (
                op.resend is Resend.IDEMPOTENT
                and sent > 1
                and isinstance(failure, errors.NotFound)
                and op.success_status == 204
            ):
                return None  # type: ignore[return-value] # an earlier attempt whose answer was lost did the job
            else:
                if retrying is None:
                    import tenacity  # noqa: PLC0415 - only after a failure

                    retrying = self.retry.retrying(functools.partial(may_retry, op.resend, self.retry))
                    state = tenacity.RetryCallState(retrying, None, (), {})
                state.set_exception((type(failure), failure, failure.__traceback__))
                delay = float(retrying.iter(state))  # raises `failure` when it is not retried
                if not self._enough(op, ends - self.clock() - delay):
                    raise failure  # the retry policy's time would be (nearly) up when the next attempt starts
                log.warning(
                    "%s failed (%s: %s); retrying in %.2f s (attempt %d of %d)",
                    call.where,
                    type(failure).__name__,
                    failure,
                    delay,
                    state.attempt_number + 1,
                    self.retry.attempts,
                )
                state.prepare_for_next_attempt()
                yield Sleep(delay)
                limit = self._limit(ends)
                if not self._enough(op, limit):
                    raise failure  # the wait overslept the retry policy's time
            session = self.session_id
            sent += 1
            outcome = yield from self._attempt(call, limit)
            if not isinstance(outcome, errors.VcenterGuestError):
                return outcome
            failure = outcome

    # --- the API session --------------------------------------------------------------------------

    def login(self) -> Plan[str]:
        """Creates a session with the user and password (HTTP basic auth)."""
        if not self.can_login:
            raise errors.Unauthenticated(
                "the API session is missing or expired, and the client has no user and password to log in again",
                operation="session.create",
            )
        session_id: str = yield from self.call(self.sessions.session_create())
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
            alive: bool = yield from self.call(self.sessions.session_get())
            if alive:
                self._validated = (stale, self.clock())
                return False
            log.info("the API session on %s expired; logging in again", self.server)
        yield from self.login()
        return True

    def session_alive(self) -> Plan[bool]:
        """Whether the server still accepts the session (False when there is none); never logs in.

        The answer is not recorded as a validation (see `_VALIDATION_TTL`): a caller checks before
        relying on a kept session, and a refusal that follows the check is news, not a repeat (the
        session may have ended since): it is asked about again, and renewed."""
        if self.session_id is None:
            return False
        alive: bool = yield from self.call(self.sessions.session_get())
        return alive

    def logout(self, *, given_too: bool = False) -> Plan[None]:
        """Deletes the session if this client created it, once, without retries; forgets it either way.

        A failure is logged, not raised: the session expires by itself, and failing to end it early must
        not hide the caller's own error.
        """
        session, owned = self.session_id, self.owns_session or given_too
        try:
            if session is not None and owned:
                call = self.sessions.session_delete()
                try:
                    response = yield self._send(call, self.exchange_timeout)
                    call.read(response)
                except httpx.HTTPError as exc:
                    log.info("logging out of %s failed: %s", self.server, self._transport_error(exc, call))
                except errors.VcenterGuestError as exc:
                    log.info("logging out of %s failed: %s", self.server, exc)
        finally:
            self.session_id = None
            self.owns_session = False
