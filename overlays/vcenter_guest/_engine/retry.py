"""How often and how long to retry transient faults: `RetryPolicy`, carried out by tenacity.

tenacity decides (stop after so many attempts or so much time, exponential backoff with jitter,
which exceptions qualify); the client's request loop does the sleeping, so one policy serves the
sync and the async client alike. tenacity is imported on the first retry, never on the fast path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from vcenter_guest import errors
from vcenter_guest._failures import tls_failure
from vcenter_guest.errors import UsageError
from vcenter_guest.operations import Resend

if TYPE_CHECKING:
    import tenacity

__all__ = ["RESENT_AFTER_LOST_ANSWER", "RETRYABLE_ERROR_TYPES", "RetryPolicy", "may_retry"]

# The transient faults that follow a reboot or a busy host; the server did not act on the request.
RETRYABLE_ERROR_TYPES = frozenset({"SERVICE_UNAVAILABLE", "RESOURCE_BUSY", "TIMED_OUT"})

# The operations sent again when their answer was lost (the document's x-vcenter-guest-resend);
# any other, and one whose document says nothing, is not (fail closed).
RESENT_AFTER_LOST_ANSWER = frozenset({Resend.SAFE, Resend.IDEMPOTENT, Resend.HARMLESS_DUPLICATE})


def _positive(name: str, value: object, *, allow_zero: bool = False) -> None:
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        raise UsageError(f"RetryPolicy.{name} must be a {'non-negative' if allow_zero else 'positive'} number")


@attrs.frozen
class RetryPolicy:
    """Retries of transient faults: bounded in count and in total time, with exponential backoff and jitter.

    What is retried: the vAPI errors in `error_types` (by default SERVICE_UNAVAILABLE,
    RESOURCE_BUSY, TIMED_OUT: the server did not act) and connection failures. Whether a request
    that may have reached the server is sent again is the operation's `x-vcenter-guest-resend` in
    the API document: `list`, `get` and `delete` are; `create` retries only when it is certain that
    no program was started: after a timeout or a dropped connection once the request was sent, it
    raises `errors.ResponseNotReceived` and never sends again.

    The n-th wait is `initial * 2**(n-1)` seconds, capped at `maximum`, plus a random 0..`jitter`.
    No wait starts that would end after `timeout` seconds since the first attempt.

        >>> RetryPolicy(attempts=10, timeout=120)        # ride out a guest reboot
        RetryPolicy(attempts=10, timeout=120, initial=0.25, maximum=8.0, jitter=0.25, error_types=...)
        >>> RetryPolicy.never().attempts
        1
    """

    attempts: int = 5
    """Total attempts, the first included (1: never retry)."""
    timeout: float = 30.0
    """Seconds from the first attempt after which no retry starts."""
    initial: float = 0.25
    """The first wait, in seconds."""
    maximum: float = 8.0
    """The longest single wait, in seconds (before jitter)."""
    jitter: float = 0.25
    """Up to this many random seconds added to each wait, so that many clients do not retry in step."""
    error_types: frozenset[str] = attrs.field(default=RETRYABLE_ERROR_TYPES, converter=frozenset, repr=False)
    """The vAPI error types that are retried."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.attempts, int) or isinstance(self.attempts, bool) or self.attempts < 1:
            raise UsageError("RetryPolicy.attempts must be an int of at least 1")
        _positive("timeout", self.timeout)
        _positive("initial", self.initial, allow_zero=True)
        _positive("maximum", self.maximum, allow_zero=True)
        _positive("jitter", self.jitter, allow_zero=True)
        if not all(isinstance(t, str) for t in self.error_types):
            raise UsageError("RetryPolicy.error_types must be vAPI error type names such as 'RESOURCE_BUSY'")

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts!r}, timeout={self.timeout!r}, initial={self.initial!r}, "
            f"maximum={self.maximum!r}, jitter={self.jitter!r}, error_types=...)"
        )

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes one attempt only."""
        return cls(attempts=1)

    def retrying(self, should_retry: Callable[[BaseException], bool]) -> tenacity.Retrying:
        """A tenacity controller for one sequence of attempts; `should_retry` says which failures qualify.

        The caller drives it with `iter()` (no `sleep` is ever called by tenacity itself), and
        `reraise=True` makes it raise the last failure, not a RetryError, when it gives up.
        """
        import tenacity  # noqa: PLC0415 - only on the first failure, keeps the fast path light

        wait: tenacity.wait.wait_base = tenacity.wait_exponential(multiplier=self.initial, max=self.maximum)
        if self.jitter:
            wait = wait + tenacity.wait_random(0, self.jitter)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | tenacity.stop_before_delay(self.timeout),
            wait=wait,
            retry=tenacity.retry_if_exception(should_retry),
            reraise=True,
        )
        retrying.begin()
        return retrying


def may_retry(resend: Resend | None, policy: RetryPolicy, failure: BaseException) -> bool:
    """Whether `failure` of an operation whose document says `resend` qualifies for another attempt."""
    if isinstance(failure, errors.VapiError):
        return failure.error_type in policy.error_types  # the server answered, and did not act
    if isinstance(failure, errors.RequestNotSent):
        return tls_failure(failure) is None  # a certificate does not get better by asking again
    if isinstance(failure, errors.ResponseNotReceived):
        # The one rule that must never bend: a create that may have reached the server may have
        # started the program, and sending it again could start it twice. An operation whose
        # document says nothing is treated the same way (fail closed).
        return resend in RESENT_AFTER_LOST_ANSWER
    return False
