"""`Engine.call(call, until)`: a caller's own deadline (run's output fetch) cuts every attempt off
and starts none after it, on the engine's clock (issue 25, M3). Driven directly, no client, no HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from vcenter_guest import Credentials, RetryPolicy, errors
from vcenter_guest._clients.base import session_calls
from vcenter_guest._engine import Engine, Send, Sleep
from vcenter_guest._services.processes import ProcessesService

GUEST = Credentials.password("root", "guest-pw")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Calls(ProcessesService):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine


def _drive(plan: Any, clock: Clock, sent: list[Send]) -> Any:
    """Each exchange runs out its whole limit (the clock moves by it) and times out; sleeps move the clock."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.send(reply) if error is None else plan.throw(error)
        except StopIteration as stop:
            return stop.value
        reply, error = None, None
        if isinstance(effect, Send):
            sent.append(effect)
            assert effect.limit is not None
            clock.now += effect.limit
            error = httpx.ReadTimeout("the deadline passed")
        elif isinstance(effect, Sleep):
            clock.now += effect.seconds


def _engine(clock: Clock) -> Engine:
    retry = RetryPolicy(attempts=10, timeout=60, initial=0.5, maximum=0.5, jitter=0)
    return Engine(
        "http://vc.test",
        user="a",
        password="p",
        session_id="s",
        sessions=session_calls,
        retry=retry,
        exchange_timeout=4.0,
        clock=clock,
    )


def test_every_attempt_of_a_call_ends_by_the_caller_s_deadline() -> None:
    clock = Clock()
    engine = _engine(clock)
    sent: list[Send] = []
    with pytest.raises(errors.ResponseNotReceived):
        _drive(engine.call(Calls(engine).get_call("vm-1", GUEST, 7), until=clock.now + 6.0), clock, sent)
    # 0-4 first attempt (the client's timeout), sleep 0.5, then what is left of the 6 s: 1.5.
    assert [s.limit for s in sent] == [4.0, 1.5]
    assert clock.now == pytest.approx(106.0)


def test_the_first_attempt_is_cut_to_the_caller_s_deadline() -> None:
    clock = Clock()
    engine = _engine(clock)
    sent: list[Send] = []
    with pytest.raises(errors.ResponseNotReceived):
        _drive(engine.call(Calls(engine).get_call("vm-1", GUEST, 7), until=clock.now + 1.0), clock, sent)
    assert [s.limit for s in sent] == [1.0]


def test_a_call_whose_deadline_has_passed_is_not_sent() -> None:
    clock = Clock()
    engine = _engine(clock)
    sent: list[Send] = []
    with pytest.raises(errors.RequestNotSent, match="time allowed"):
        _drive(engine.call(Calls(engine).get_call("vm-1", GUEST, 7), until=clock.now), clock, sent)
    assert sent == []
