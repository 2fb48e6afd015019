"""Keeping secrets (passwords, SAML tokens, session ids) out of text that leaves the process.

Secrets never get into log records and reprs in the first place (`REDACTED` is written instead).
Text that comes from elsewhere (a server's error message, a response body, a traceback) may echo
one back, so it goes through `Redactor.scrub`, which knows the secrets a client holds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor", "basic_auth_token"]

REDACTED = "<redacted>"


def basic_auth_token(user: str, password: str) -> str:
    """The base64 part of an HTTP basic Authorization header: a secret just like the password."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Redactor:
    """Replaces every known secret in a text with `REDACTED`.

    >>> r = Redactor(["hunter2"])
    >>> r.scrub("password hunter2 rejected")
    'password <redacted> rejected'
    >>> r.with_secrets(["s3cr3t"]).scrub("hunter2 s3cr3t")
    '<redacted> <redacted>'
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets: tuple[str, ...] = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def add(self, *secrets: str) -> None:
        """Remembers more secrets (a new session id, say)."""
        self._secrets = tuple(sorted({*self._secrets, *(s for s in secrets if s)}, key=len, reverse=True))

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A new redactor that also knows `secrets` (this one is unchanged)."""
        return Redactor((*self._secrets, *secrets))

    def scrub(self, text: str) -> str:
        """`text` with each secret replaced by `REDACTED`."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
