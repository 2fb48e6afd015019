"""When `run` asks whether its program has exited.

The API has no "wait": a client polls `get`. Polling often finds a short program's end sooner;
polling rarely spares the server (and, with `run_many`, hundreds of VMs). The schedule, in
seconds after `create` returned (the program started before that, so its end is never later
than the schedule assumes, however slow the create was):

    0                      one poll at once (most fan-out commands are over by then)
    0.1, 0.2, 0.3          then every 100 ms: a short program's exit is seen within ~100 ms
    0.5 ... 2.3            then every 200 ms: a 2 s program's exit is seen within ~100 ms (median)
    3.3, 4.45, 5.75, ...   then 1 s apart, each gap 0.15 s longer than the last, up to 2 s

Until 2.3 s each poll is moved earlier, within its interval, by a random fraction drawn once per
`run`. That makes the delay to see an exit half an interval on average whatever the program's
length, and spreads the polls of many runs started together. After that the gaps grow from one
second to two, so a 10 s program costs 20 polls, no more than a fixed 0.5 s poller spends, and an
hour-long one about 1,800 rather than 3,600. (The 200 ms phase is what the 2 s program's
detection target needs: at 250 ms its median delay measured 151 ms with the round trip.)
Poll times are fixed in advance relative to `create`: a slow server delays polls but never adds any.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["PHASES", "poll_offsets"]

# (poll every `interval` seconds, until this many seconds after create)
PHASES: tuple[tuple[float, float], ...] = ((0.1, 0.3), (0.2, 2.3))
# After the dense phases: gaps of 1 s, each 0.15 s longer than the last, never over 2 s. The
# slowest growth that keeps a 10 s program at 20 polls; it sees a 10 s program end within 0.55 s.
SETTLED_FIRST, SETTLED_GROWTH, SETTLED_MAX = 1.0, 0.15, 2.0


def poll_offsets(rng: random.Random | None = None) -> Iterator[float]:
    """Seconds after `create` at which to poll, forever (the caller applies its timeout).

    >>> offsets = poll_offsets(random.Random(0))
    >>> [round(next(offsets), 2) for _ in range(6)]
    [0.0, 0.02, 0.12, 0.22, 0.33, 0.53]
    """
    fraction = (rng or random).random()
    yield 0.0
    grid = 0.0
    for interval, until in PHASES:
        # Rounded so that float drift cannot add or drop a poll at a phase boundary.
        while round(grid + interval, 6) <= until:
            grid = round(grid + interval, 6)
            yield grid - fraction * interval
    gap = SETTLED_FIRST
    while True:
        grid = round(grid + gap, 6)
        yield grid
        gap = min(round(gap + SETTLED_GROWTH, 6), SETTLED_MAX)
