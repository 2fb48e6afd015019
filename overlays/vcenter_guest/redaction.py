"""Keeping secrets (passwords, SAML tokens, session ids) out of text that leaves the process.

Secrets never get into log records and reprs in the first place (`REDACTED` is written instead).
Text that comes from elsewhere (a server's error message, a response body, a traceback) may echo
one back, so it goes through `Redactor.scrub`, which knows the secrets a client holds.

A transfer URL's `token` is a secret too (whoever has the URL may read or write that guest file for
10 minutes), but a new one comes with every transfer: instead of being remembered, it is found by
its place in a URL (`scrub_tokens`). The loggers that print URLs (httpx's request lines, uvicorn's
access log) get `TokenFilter`, which `hide_tokens` installs once per logger.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor", "TokenFilter", "basic_auth_token", "hide_tokens", "scrub_tokens"]

REDACTED = "<redacted>"

# Compiled by `re` on first use (its cache keeps it): `import vcenter_guest` does not pay for it.
_TOKEN = r"(?i)([?&](?:amp;)?token=)[^&#\s\"'<>]+"  # noqa: S105 - a pattern, no secret


def scrub_tokens(text: str) -> str:
    """`text` with the value of every `token` query parameter of a URL in it replaced by `REDACTED`.

    >>> scrub_tokens("GET https://esx-1/guestFile?id=7&token=LemUwkjC 200")
    'GET https://esx-1/guestFile?id=7&token=<redacted> 200'
    >>> scrub_tokens("/guestFile?token=a-b_c&id=1"), scrub_tokens("no token here")
    ('/guestFile?token=<redacted>&id=1', 'no token here')
    """
    return re.sub(_TOKEN, rf"\1{REDACTED}", text)


class TokenFilter(logging.Filter):
    """Rewrites a log record whose message holds a URL's `token` (see `scrub_tokens`); drops none."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: logging reports it later
            return True
        scrubbed = scrub_tokens(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def hide_tokens(*loggers: str) -> None:
    """Installs one `TokenFilter` on each named logger (again: nothing more)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenFilter) for f in logger.filters):
            logger.addFilter(TokenFilter())


def basic_auth_token(user: str, password: str) -> str:
    """The base64 part of an HTTP basic Authorization header: a secret just like the password."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


SHORT_SECRET = 8
"""Secrets shorter than this are redacted where they stand as a word of their own, not inside words."""


def _short(secret: str) -> re.Pattern[str]:
    before = r"(?<![0-9A-Za-z])" if secret[0].isalnum() else ""
    after = r"(?![0-9A-Za-z])" if secret[-1].isalnum() else ""
    return re.compile(before + re.escape(secret) + after)


class Redactor:
    """Replaces every known secret in a text with `REDACTED`.

    A secret shorter than `SHORT_SECRET` characters is replaced where it stands as a word of its
    own (between characters that are not letters or digits): a one-letter password would otherwise
    turn every message into `unex<redacted>ected res<redacted>onse`, and within a longer word it
    gives nothing away.

    >>> r = Redactor(["hunter2"])
    >>> r.scrub("password hunter2 rejected")
    'password <redacted> rejected'
    >>> r.with_secrets(["s3cr3t"]).scrub("hunter2 s3cr3t")
    '<redacted> <redacted>'
    >>> Redactor(["p"]).scrub("unexpected response for user:p")
    'unexpected response for user:<redacted>'
    """

    __slots__ = ("_long", "_secrets", "_short")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets: tuple[str, ...] = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._long = tuple(s for s in self._secrets if len(s) >= SHORT_SECRET)
        self._short = tuple(_short(s) for s in self._secrets if len(s) < SHORT_SECRET)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def add(self, *secrets: str) -> None:
        """Remembers more secrets (a new session id, say)."""
        self.__init__((*self._secrets, *secrets))  # type: ignore[misc] # one place that derives the rest

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A new redactor that also knows `secrets` (this one is unchanged)."""
        return Redactor((*self._secrets, *secrets))

    def scrub(self, text: str) -> str:
        """`text` with each secret replaced by `REDACTED`, and any transfer URL's token."""
        for secret in self._long:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in self._short:
            text = pattern.sub(REDACTED, text)
        return scrub_tokens(text)
