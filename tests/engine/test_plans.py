"""The sans-IO engine, driven directly: plans yield typed effects and get outcomes, with no client and no HTTP.

Each test plays the server's part by answering the plan's `Send` effects with `httpx.Response`
objects (or throwing httpx errors into it), and the clock's part by moving a number on `Sleep`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from vcenter_guest import CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest._clients.base import session_calls
from vcenter_guest._engine import Engine, Plan, Renew, Send, Sleep
from vcenter_guest._engine.waiting import run_program
from vcenter_guest._services.processes import ProcessesService

GUEST = Credentials.password("root", "guest-pw")
PATIENT = RetryPolicy(attempts=4, timeout=100, initial=0.5, maximum=0.5, jitter=0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Calls(ProcessesService):
    """The processes service's calls, without a client around them (what run_program needs)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine


def drive(
    engine: Engine, plan: Plan[Any], answer: Callable[[Send], httpx.Response], clock: Clock | None = None
) -> tuple[Any, list[Any]]:
    """Runs a plan to its end as a driver would (renewals through `engine`); returns its result and its effects."""
    effects: list[Any] = []
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.send(reply) if error is None else plan.throw(error)
        except StopIteration as stop:
            return stop.value, effects
        effects.append(effect)
        reply, error = None, None
        if isinstance(effect, Send):
            try:
                reply = answer(effect)
            except httpx.HTTPError as exc:
                error = exc
        elif isinstance(effect, Sleep):
            if clock is not None:
                clock.now += effect.seconds
        elif isinstance(effect, Renew):
            reply, _ = drive(engine, engine.renew(effect.stale), answer, clock)


def _engine(**options: Any) -> Engine:
    options.setdefault("retry", PATIENT)
    options.setdefault("session_id", None)
    return Engine("http://vc.test", user="api", password="api-pw", sessions=session_calls, **options)


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def _error(error_type: str, status: int) -> httpx.Response:
    return _json(status, {"error_type": error_type, "messages": [{"id": "x", "default_message": "m", "args": []}]})


def test_a_call_logs_in_first_then_sends_the_request_with_the_session() -> None:
    engine = _engine()
    sent: list[Send] = []

    def answer(send: Send) -> httpx.Response:
        sent.append(send)
        return _json(201, "session-1") if send.url == "/api/session" else _json(200, [])

    result, effects = drive(engine, engine.call(Calls(engine).list_call("vm-1", GUEST)), answer)
    assert result == []
    assert isinstance(effects[0], Renew)
    assert [(s.method, s.url.split("?")[0]) for s in sent] == [
        ("POST", "/api/session"),
        ("POST", "/api/vcenter/vm/vm-1/guest/processes"),
    ]
    assert sent[0].auth == ("api", "api-pw")
    assert sent[0].session is None
    assert sent[1].session == "session-1"
    assert sent[1].json["credentials"]["password"] == "guest-pw"


def test_a_transient_error_is_retried_after_a_sleep_effect() -> None:
    engine = _engine(session_id="s")
    answers = iter([_error("SERVICE_UNAVAILABLE", 503), _json(200, [])])
    result, effects = drive(engine, engine.call(Calls(engine).list_call("vm-1", GUEST)), lambda _: next(answers))
    assert result == []
    assert [type(e).__name__ for e in effects] == ["Send", "Sleep", "Send"]
    assert effects[1].seconds == pytest.approx(0.5)


def test_a_create_that_may_have_reached_the_server_is_never_sent_again() -> None:
    """processes.create says `x-vcenter-guest-resend: never`: a lost answer ends the call."""
    engine = _engine(session_id="s")
    sends = 0

    def answer(send: Send) -> httpx.Response:
        nonlocal sends
        sends += 1
        raise httpx.ReadTimeout("lost")

    with pytest.raises(errors.ResponseNotReceived):
        drive(engine, engine.call(Calls(engine).create_call("vm-1", GUEST, CreateSpec("/bin/true"))), answer)
    assert sends == 1


def test_a_get_whose_answer_was_lost_is_sent_again() -> None:
    engine = _engine(session_id="s")
    answers: list[Any] = [
        httpx.ReadTimeout("lost"),
        _json(200, {"name": "n", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z"}),
    ]

    def answer(send: Send) -> httpx.Response:
        step = answers.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    info, _ = drive(engine, engine.call(Calls(engine).get_call("vm-1", GUEST, 7)), answer)
    assert (info.pid, info.name, info.running) == (7, "n", True)


def _times_out(clock: Clock, sent: list[Send]) -> Callable[[Send], httpx.Response]:
    """A server whose every exchange runs out its whole limit (the clock moves by it), then times out."""

    def answer(send: Send) -> httpx.Response:
        sent.append(send)
        assert send.limit is not None, "every exchange of a client with a timeout has a limit"
        clock.now += send.limit
        raise httpx.ReadTimeout("the deadline passed")

    return answer


def test_retries_end_when_the_retry_policys_time_is_up_the_one_in_flight_included() -> None:
    """RetryPolicy.timeout bounds all attempts together: the retry in flight when it runs out is cut
    short, and no attempt starts after it. Each exchange is bounded by the client's timeout."""
    clock = Clock()
    retry = RetryPolicy(attempts=10, timeout=10, initial=1, maximum=1, jitter=0)
    engine = _engine(session_id="s", retry=retry, exchange_timeout=4.0, clock=clock)
    sent: list[Send] = []
    started = clock.now
    with pytest.raises(errors.ResponseNotReceived):
        drive(engine, engine.call(Calls(engine).get_call("vm-1", GUEST, 7)), _times_out(clock, sent), clock)
    # 0-4 first attempt, sleep 1, 5-9 second; a third would start after a 1 s sleep at 10: none.
    assert [s.limit for s in sent] == [4.0, 4.0]
    assert clock.now - started <= retry.timeout
    clock.now, sent[:] = started, []
    retry = RetryPolicy(attempts=10, timeout=6, initial=1, maximum=1, jitter=0)
    engine = _engine(session_id="s", retry=retry, exchange_timeout=4.0, clock=clock)
    with pytest.raises(errors.ResponseNotReceived):
        drive(engine, engine.call(Calls(engine).get_call("vm-1", GUEST, 7)), _times_out(clock, sent), clock)
    assert [s.limit for s in sent] == [4.0, 1.0]  # the retry gets what is left of the 6 s, not its own 4
    assert clock.now - started == pytest.approx(retry.timeout)


def test_the_first_attempt_has_the_clients_whole_timeout_even_past_the_retry_policys() -> None:
    """A client with a long timeout and a short retry policy: one attempt, with the long timeout."""
    clock = Clock()
    retry = RetryPolicy(attempts=5, timeout=2, initial=0.5, jitter=0)
    engine = _engine(session_id="s", retry=retry, exchange_timeout=60.0, clock=clock)
    sent: list[Send] = []
    with pytest.raises(errors.ResponseNotReceived):
        drive(engine, engine.call(Calls(engine).get_call("vm-1", GUEST, 7)), _times_out(clock, sent), clock)
    assert [s.limit for s in sent] == [60.0]


def test_a_create_cut_off_by_its_deadline_is_never_sent_again() -> None:
    clock = Clock()
    engine = _engine(session_id="s", exchange_timeout=2.0, clock=clock)
    sent: list[Send] = []
    with pytest.raises(errors.ResponseNotReceived) as caught:
        drive(
            engine,
            engine.call(Calls(engine).create_call("vm-1", GUEST, CreateSpec("/bin/true"))),
            _times_out(clock, sent),
            clock,
        )
    assert len(sent) == 1
    assert caught.value.may_have_reached_server


def test_no_retry_starts_with_only_a_sliver_of_the_retry_policys_time_left() -> None:
    """A create refused as busy 1.7 s into a 2 s policy is not retried with 0.05 s left: that retry
    would be cut off at once and leave "may have started" where "did not start" was certain."""
    clock = Clock()
    engine = _engine(
        session_id="s",
        retry=RetryPolicy(attempts=5, timeout=2, initial=0.25, jitter=0),
        exchange_timeout=30.0,
        clock=clock,
    )
    sent: list[Send] = []

    def answer(send: Send) -> httpx.Response:
        sent.append(send)
        clock.now += 1.7
        return _error("RESOURCE_BUSY", 500)

    with pytest.raises(errors.ResourceBusy):
        drive(engine, engine.call(Calls(engine).create_call("vm-1", GUEST, CreateSpec("/bin/true"))), answer, clock)
    assert len(sent) == 1


def test_the_resend_after_a_renewal_keeps_within_the_retry_policys_time() -> None:
    clock = Clock()
    retry = RetryPolicy(attempts=5, timeout=10, initial=0.5, maximum=0.5, jitter=0)
    engine = _engine(session_id="old", retry=retry, exchange_timeout=30.0, clock=clock)
    answers = iter([_error("SERVICE_UNAVAILABLE", 503), _error("UNAUTHENTICATED", 401)])
    limits: list[float | None] = []

    def answer(send: Send) -> httpx.Response:
        if send.url == "/api/session":
            return _error("UNAUTHENTICATED", 401) if send.method == "GET" else _json(201, "new")
        limits.append(send.limit)
        clock.now += 3
        return next(answers, None) or _json(200, [])

    result, _ = drive(engine, engine.call(Calls(engine).list_call("vm-1", GUEST)), answer, clock)
    assert result == []
    # 0-3 first attempt, sleep 0.5, 3.5-6.5 retry (401), renewal, resend with 10 - 6.5 s left.
    assert limits == [30.0, pytest.approx(6.5), pytest.approx(3.5)]


def test_delete_not_found_after_a_lost_answer_means_it_was_done() -> None:
    """processes.delete is idempotent: NOT_FOUND after a resend means the first attempt terminated it."""
    engine = _engine(session_id="s")
    answers: list[Any] = [httpx.ReadTimeout("lost"), _error("NOT_FOUND", 404)]

    def answer(send: Send) -> httpx.Response:
        step = answers.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    result, _ = drive(engine, engine.call(Calls(engine).delete_call("vm-1", GUEST, 7)), answer)
    assert result is None


def test_an_expired_session_is_renewed_once_and_the_call_sent_again() -> None:
    engine = _engine(session_id="old")
    seen: list[tuple[str, str | None]] = []

    def answer(send: Send) -> httpx.Response:
        seen.append((f"{send.method} {send.url.split('?')[0]}", send.session))
        if send.url == "/api/session":
            return _error("UNAUTHENTICATED", 401) if send.method == "GET" else _json(201, "new")
        return _error("UNAUTHENTICATED", 401) if send.session == "old" else _json(200, [])

    result, _ = drive(engine, engine.call(Calls(engine).list_call("vm-1", GUEST)), answer)
    assert result == []
    assert seen == [
        ("POST /api/vcenter/vm/vm-1/guest/processes", "old"),
        ("GET /api/session", "old"),
        ("POST /api/session", None),
        ("POST /api/vcenter/vm/vm-1/guest/processes", "new"),
    ]
    assert engine.session_id == "new"


def test_run_polls_on_the_engines_clock_until_the_program_exits() -> None:
    """run_program in virtual time: a 1 s program, seen to exit within the 200 ms polling phase."""
    clock = Clock()
    engine = _engine(session_id="s", clock=clock, rng=random.Random(3))
    started = clock.now

    def answer(send: Send) -> httpx.Response:
        if "action=create" in send.url:
            return _json(201, 42)
        info = {"name": "sleep", "owner": "root", "command": "/bin/sleep 1", "started": "2026-01-01T00:00:00Z"}
        if clock.now - started >= 1.0:
            info |= {"finished": "2026-01-01T00:00:01Z", "exit_code": 0}
        return _json(200, info)

    plan = run_program(
        engine,
        Calls(engine),
        "vm-1",
        GUEST,
        CreateSpec("/bin/sleep", arguments="1"),
        timeout=None,
        terminate_on_timeout=False,
        check=False,
    )
    result, effects = drive(engine, plan, answer, clock)
    assert (result.pid, result.exit_code) == (42, 0)
    assert 1.0 <= clock.now - started <= 1.2 + 1e-9
    assert all(isinstance(e, Send | Sleep) for e in effects)


def test_run_gives_up_at_its_timeout_and_terminates_when_asked() -> None:
    clock = Clock()
    engine = _engine(session_id="s", clock=clock, rng=random.Random(1))
    actions: list[str] = []

    def answer(send: Send) -> httpx.Response:
        action = send.url.rsplit("=", 1)[-1]
        actions.append(action)
        if action == "create":
            return _json(201, 9)
        if action == "delete":
            return httpx.Response(204)
        return _json(200, {"name": "n", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z"})

    plan = run_program(
        engine,
        Calls(engine),
        "vm-1",
        GUEST,
        CreateSpec("/opt/app/stuck"),
        timeout=3.0,
        terminate_on_timeout=True,
        check=False,
    )
    with pytest.raises(errors.ProcessTimeout) as caught:
        drive(engine, plan, answer, clock)
    assert caught.value.terminated
    assert caught.value.pid == 9
    assert actions[0] == "create"
    assert actions[-1] == "delete"
    assert clock.now - 100.0 == pytest.approx(3.0)
