"""What every CLI test needs: an environment without the user's settings, profiles or kept sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

SETTINGS_ENV = (
    "VCENTER_URL",
    "VCENTER_USER",
    "VCENTER_PASSWORD",
    "VCENTER_GUEST_USER",
    "VCENTER_GUEST_PASSWORD",
    "VCENTER_GUEST_SAML_TOKEN",
    "VCENTER_INSECURE",
    "VCENTER_CA_BUNDLE",
    "VCENTER_PROFILE",
    "VCENTER_SESSION_CACHE",
    "VCENTER_GUEST_CONFIG",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No setting from the machine's environment; config and cache directories of the test's own
    (the profile file and the kept sessions live there); the package's loggers restored after."""
    for key in SETTINGS_ENV:
        monkeypatch.delenv(key, raising=False)
    home: Path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    # The CLI configures the package logger, as a program does; other tests must not inherit that.
    loggers = [logging.getLogger(name) for name in ("vcenter_guest", "httpx")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
