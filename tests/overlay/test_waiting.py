"""Waiting for a program: how soon `run` sees an exit and how many polls it spends, in virtual time.

The mock and the client share a fake clock that moves only when the client sleeps, so these tests
measure the poll schedule exactly, with no wall-clock timing at all.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest import Credentials, errors
from vcenter_guest._engine.polling import poll_offsets
from vcenter_guest.mock import DEMO_VM


@pytest.fixture
def virtual(make_in_process_server: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An in-process mock and a client on the same fake clock; counts `get` calls."""
    server = make_in_process_server(clock=clock)
    clients: list[Any] = []

    def client(seed: int = 0) -> Any:
        """A client on the fake clock, its poll jitter drawn from `seed`."""
        clients.append(server.client(clock=clock, sleep=clock.sleep, rng=random.Random(seed)))
        return clients[-1]

    server.make_client = client
    server.vc = client()
    server.gets = 0
    get_process = server.simulator.get_process

    def counting(*args: Any) -> Any:
        server.gets += 1
        return get_process(*args)

    monkeypatch.setattr(server.simulator, "get_process", counting)
    yield server
    for vc in clients:
        vc.close()


def _run(virtual: Any, clock: Any, guest: Credentials, seconds: float, seed: int) -> float:
    vc = virtual.make_client(seed)
    start = clock.now
    result = vc.processes.run(DEMO_VM, guest, "/bin/sleep", f"{seconds:g}")
    assert result.exit_code == 0
    return clock.now - start - seconds  # how long after the end the exit was seen


@pytest.mark.parametrize("seed", range(5))
def test_a_short_program_is_seen_to_exit_within_100_ms(virtual: Any, clock: Any, guest: Credentials, seed: int) -> None:
    assert 0 <= _run(virtual, clock, guest, 0.2, seed) <= 0.1 + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_a_2_second_program_is_seen_to_exit_within_200_ms(
    virtual: Any, clock: Any, guest: Credentials, seed: int
) -> None:
    assert 0 <= _run(virtual, clock, guest, 2.0, seed) <= 0.2 + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_a_10_second_program_costs_no_more_polls_than_a_fixed_half_second_poller(
    virtual: Any, clock: Any, guest: Credentials, seed: int
) -> None:
    _run(virtual, clock, guest, 10.0, seed)
    fixed_half_second_polls = 20  # at 0.5, 1.0, ... 10.0
    assert virtual.gets <= fixed_half_second_polls


def test_a_long_program_is_polled_at_most_once_a_second(virtual: Any, clock: Any, guest: Credentials) -> None:
    _run(virtual, clock, guest, 60.0, 0)
    assert virtual.gets <= 50, "fewer polls than a fixed one-second poller (60) over a minute"
    assert all(s == pytest.approx(2.0) for s in clock.sleeps[-20:]), "settled at one poll every 2 s"
    assert max(clock.sleeps) <= 2.0 + 1e-9, "and never waits longer than 2 s between polls"


def test_an_instant_program_is_seen_by_the_first_poll_without_sleeping(
    virtual: Any, clock: Any, guest: Credentials
) -> None:
    start = clock.now
    virtual.vc.processes.run(DEMO_VM, guest, "/bin/true")
    assert (virtual.gets, clock.now) == (1, start)


def test_timeout_polls_one_last_time_at_the_deadline_then_raises(virtual: Any, clock: Any, guest: Credentials) -> None:
    start = clock.now
    with pytest.raises(errors.ProcessTimeout) as caught:
        virtual.vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", timeout=5)
    assert clock.now - start == pytest.approx(5.0)
    assert caught.value.timeout == 5.0
    assert not caught.value.terminated


def test_a_program_ending_exactly_at_the_deadline_is_a_result_not_a_timeout(
    virtual: Any, clock: Any, guest: Credentials
) -> None:
    result = virtual.vc.processes.run(DEMO_VM, guest, "/bin/sleep", "4", timeout=4)
    assert result.exit_code == 0


@settings(deadline=None)  # a loaded machine must not fail a test that measures no time
@given(seed=st.integers(0, 2**32 - 1))
def test_the_schedule_polls_at_once_then_densely_then_at_most_once_a_second(seed: int) -> None:
    offsets = list(itertools.islice(poll_offsets(random.Random(seed)), 60))
    assert offsets[0] == 0.0
    pairs = list(itertools.pairwise(offsets))
    assert all(b > a for a, b in pairs), "strictly increasing"
    assert all(b - a <= 0.2 + 1e-9 for a, b in pairs if b <= 0.3), "100 ms phase: never 200 ms without a poll"
    assert all(b - a <= 0.4 + 1e-9 for a, b in pairs if b <= 2.3), "200 ms phase: never 400 ms without a poll"
    late = [b - a for a, b in pairs if a >= 3.3]
    assert late
    assert all(1.0 - 1e-9 <= gap <= 2.0 + 1e-9 for gap in late), "then at most one poll a second, at least every 2 s"
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(late)), "the gaps only grow"
    assert sum(1 for t in offsets if t < 10.0) <= 19, "a 10 s program: at most 20 polls with the one that sees it"


class _SlowToArrive(httpx.BaseTransport):
    """Delays (in virtual time) each create before the server sees it, as a loaded network would."""

    def __init__(self, inner: httpx.BaseTransport, clock: Any, delay: float) -> None:
        self.inner, self.clock, self.delay = inner, clock, delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.query == b"action=create":
            self.clock.advance(self.delay)
        return self.inner.handle_request(request)


@pytest.mark.parametrize("seed", range(5))
def test_a_slow_create_does_not_push_a_2_second_programs_end_past_dense_polling(
    virtual: Any, clock: Any, guest: Credentials, seed: int
) -> None:
    from vcenter_guest import Client
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

    slow = _SlowToArrive(virtual.sync_transport(), clock, delay=0.4)
    with Client(
        virtual.url,
        user=DEMO_API_USER,
        password=DEMO_API_PASSWORD,
        transport=slow,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(seed),
    ) as vc:
        sent = clock.now
        result = vc.processes.run(DEMO_VM, guest, "/bin/sleep", "2", capture=False)
    ended = sent + 0.4 + 2.0  # the server started it when the create arrived
    assert result.exit_code == 0
    assert 0 <= clock.now - ended <= 0.2 + 1e-9, "seen within the 200 ms phase, not a second later"
