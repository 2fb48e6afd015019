"""Summaries of repeated measurements: median with min and max, never a single run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypedDict

__all__ = ["Summary", "ratio", "summarize"]


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
