"""What every CLI test needs besides the root's home of its own (no settings, profiles or kept
sessions of the user: tests/conftest.py): the package's loggers as they were."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restored_loggers() -> Iterator[None]:
    """The CLI configures the package logger, as a program does; other tests must not inherit that."""
    loggers = [logging.getLogger(name) for name in ("vcenter_guest", "httpx")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
