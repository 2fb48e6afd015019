"""`python -m benchmarks.import_ratio [--reps 21]`: `import vcenter_guest` / `import httpx, attrs`, as
whole fresh interpreters, interleaved (a, b, a, b, ...: the machine's drift touches both alike),
median of `--reps` runs each after one untimed warm-up of each. The issue's target is at most 1.2.

It prints one line and exits 0; `--max RATIO` makes it exit 1 above RATIO. The timing itself is
`startup`'s (the same interpreter settings as `nox -s bench`'s imports section).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from .startup import FLOOR, IMPORTS, _time_once

__all__ = ["main", "measure"]

SUBJECT = "import vcenter_guest"


def measure(reps: int) -> tuple[float, float]:
    """Median seconds of `import vcenter_guest` and of `import httpx, attrs`, each run `reps` times interleaved."""
    subject, floor = IMPORTS[SUBJECT], IMPORTS[FLOOR]
    _time_once(subject)
    _time_once(floor)
    subject_times: list[float] = []
    floor_times: list[float] = []
    for rep in range(reps):
        # Alternate which goes first, so neither always follows the other.
        pair = [(subject, subject_times), (floor, floor_times)]
        for statement, times in pair if rep % 2 == 0 else pair[::-1]:
            times.append(_time_once(statement))
    return statistics.median(subject_times), statistics.median(floor_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_ratio", description=__doc__)
    parser.add_argument("--reps", type=int, default=21, help="timed runs of each import (default 21)")
    parser.add_argument("--max", type=float, default=None, help="exit 1 when the ratio is above this")
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    subject, floor = measure(args.reps)
    ratio = subject / floor
    print(
        f"{SUBJECT}: {subject * 1e3:.1f} ms, {FLOOR}: {floor * 1e3:.1f} ms, ratio {ratio:.2f} "
        f"(median of {args.reps}, interleaved)"
    )
    return 1 if args.max is not None and ratio > args.max else 0


if __name__ == "__main__":
    sys.exit(main())
