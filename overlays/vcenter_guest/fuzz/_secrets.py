"""Keeping the fuzz run's secrets out of every report and every printed line.

Schemathesis already masks sensitive headers (the session header, Authorization) but not bodies,
and a guest operation's body carries the guest password or SAML token, and the 201 of
`POST /api/session` carries a session id. So everything the fuzz command writes goes through
`SecretFilter`: JSON values under a sensitive key are masked wherever JSON appears (also base64
payloads of the NDJSON report), then every known secret value is replaced wherever it appears.

A short secret (the mock's demo guest password is "vmware") is only replaced where it stands as
a token of its own: replacing it inside "com.vmware.vapi..." message ids would mangle every
report while protecting nothing. Long secrets (session ids, tokens) are replaced anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vcenter_guest.redaction import REDACTED, Redactor, basic_auth_token

__all__ = ["SENSITIVE_KEYS", "SecretFilter"]

# Body fields of this API that hold secrets, plus the session header.
SENSITIVE_KEYS = frozenset({"password", "saml_token", "vmware-api-session-id", "authorization"})

# `"password": "..."` inside any text (a curl line, an XML report), JSON-escaped or not.
# Secrets shorter than this are replaced only where no word-like character touches them.
SHORT_SECRET = 12
_WORDISH = r"A-Za-z0-9._~-"

_JSON_FIELD = re.compile(
    r'(?P<key>\\?"(?:' + "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS)) + r')\\?"\s*:\s*)'
    r'(?P<value>\\?"(?:[^"\\]|\\.)*?\\?")',
    re.IGNORECASE,
)


class SecretFilter:
    """Masks secrets in text, JSON values and report files; learns new secrets (session ids) as they appear.

    >>> f = SecretFilter(["hunter22"])
    >>> f.text('curl -d \\'{"password": "pw", "note": "hunter22"}\\'')
    'curl -d \\'{"password": "<redacted>", "note": "<redacted>"}\\''
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._redactor = Redactor()
        self._short: re.Pattern[str] | None = None
        self._short_secrets: set[str] = set()
        self.add(*secrets)

    def __repr__(self) -> str:
        return f"SecretFilter({self._redactor!r})"

    def add(self, *secrets: str) -> None:
        """Remembers more secrets, with the spellings they take in JSON and in basic auth headers."""
        spellings: list[str] = []
        for secret in secrets:
            if secret:
                spellings += [secret, json.dumps(secret)[1:-1]]
        with self._lock:
            self._redactor.add(*(s for s in spellings if len(s) >= SHORT_SECRET))
            short = {s for s in spellings if len(s) < SHORT_SECRET}
            if short - self._short_secrets:
                self._short_secrets |= short
                alternatives = "|".join(re.escape(s) for s in sorted(self._short_secrets, key=len, reverse=True))
                self._short = re.compile(f"(?<![{_WORDISH}])(?:{alternatives})(?![{_WORDISH}])")

    def add_login(self, user: str, password: str) -> None:
        """Remembers an API password and the basic auth token made from it."""
        self.add(password, basic_auth_token(user, password))

    def text(self, text: str) -> str:
        """`text` with sensitive JSON fields and every known secret masked."""
        masked = _JSON_FIELD.sub(lambda m: f"{m['key']}{_quoted_redaction(m['value'])}", text)
        masked = self._redactor.scrub(masked)
        short = self._short
        return short.sub(REDACTED, masked) if short is not None else masked

    def value(self, value: Any, *, payloads: bool = False) -> Any:
        """A copy of a JSON value with sensitive fields and known secrets masked. `payloads`: the
        NDJSON report's form, which keeps payloads as {"$base64": ...}: decoded, masked, encoded again."""
        if payloads and isinstance(value, dict) and set(value) == {"$base64"} and isinstance(value["$base64"], str):
            try:
                raw = base64.b64decode(value["$base64"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return value
            return {"$base64": base64.b64encode(self.text(raw).encode()).decode("ascii")}
        if isinstance(value, dict):
            sensitive = {k for k in value if isinstance(k, str) and k.lower() in SENSITIVE_KEYS}
            return {k: REDACTED if k in sensitive else self.value(v, payloads=payloads) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, payloads=payloads) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def file(self, path: Path) -> None:
        """Rewrites a report (JUnit XML, HAR, NDJSON) in place with every secret masked."""
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ndjson":
            lines = [
                json.dumps(self.value(json.loads(line), payloads=True), separators=(",", ":")) if line.strip() else line
                for line in text.splitlines()
            ]
            masked = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
        elif path.suffix in {".har", ".json"}:
            masked = json.dumps(self.value(json.loads(text), payloads=True), indent=2)
        else:
            masked = self.text(text)
        path.write_text(masked, encoding="utf-8")


def _quoted_redaction(quoted: str) -> str:
    # Keep the quoting style (escaped inside JSON-in-JSON, plain otherwise).
    quote = '\\"' if quoted.startswith('\\"') else '"'
    return f"{quote}{REDACTED}{quote}"
