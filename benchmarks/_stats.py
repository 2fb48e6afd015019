"""Summaries of repeated measurements: median with min and max, never a single run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypedDict

__all__ = ["Summary", "paired_ratio", "ratio", "summarize"]


class Summary(TypedDict):
    """Median, min and max of repeated runs, plus the raw values (for the JSON file).

    >>> summarize([3.0, 1.0, 2.0])["median"]
    2.0
    """

    median: float
    min: float
    max: float
    n: int
    values: list[float]


def summarize(values: Sequence[float]) -> Summary:
    """Summarizes at least one measurement.

    >>> summarize([1.0, 5.0])["max"]
    5.0
    """
    if not values:
        raise ValueError("no measurements to summarize")
    return Summary(
        median=statistics.median(values),
        min=min(values),
        max=max(values),
        n=len(values),
        values=list(values),
    )


def ratio(value: Summary, floor: Summary) -> float:
    """The ratio of two medians (`value / floor`); a lower figure is better when both are costs.

    >>> ratio(summarize([3.0]), summarize([2.0]))
    1.5
    """
    return value["median"] / floor["median"] if floor["median"] else float("nan")


def paired_ratio(value: Summary, floor: Summary) -> float:
    """The median of run-by-run ratios, for series measured in turns (run i of each in the same minutes).

    Steadier than the ratio of medians on a machine whose load drifts between runs.

    >>> paired_ratio(summarize([2.0, 6.0, 3.0]), summarize([1.0, 2.0, 3.0]))
    2.0
    """
    if len(value["values"]) != len(floor["values"]):
        raise ValueError("paired series must have as many runs each")
    return statistics.median(v / f for v, f in zip(value["values"], floor["values"], strict=True))
