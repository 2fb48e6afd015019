"""Proving that a guest directory is the caller's own before anything is written into it or deleted.

A server's answer is input. `Directories.createTemporary` is asked for a new directory, but a server
with one bug may answer with any path: `/tmp` itself, `/`, another user's directory. A client that
adopted such an answer would write its files there and then delete it recursively. So a directory is
asked for with a prefix that carries a fresh random nonce (`claim_prefix`), and adopted only if the
answer is a normalised absolute path whose last component carries that prefix (and the suffix asked
for), directly inside the parent that was asked for (`prove_directory`). Nothing else is trusted: no
`..`, `.`, empty or NUL component, no trailing separator, no UNC path, no Windows name that Windows
would silently trim (a trailing dot or space). The nonce is what makes it the caller's: no directory
that existed before the request can carry it.

    >>> prefix = claim_prefix("vcenter-guest-run-")
    >>> path = f"/tmp/{prefix}Xa81"
    >>> prove_directory(path, prefix=prefix) == path
    True
    >>> try:
    ...     prove_directory("/tmp", prefix=prefix)
    ... except UnprovenDirectory as exc:
    ...     print(exc.why)
    its name does not start with the prefix asked for
"""

from __future__ import annotations

import ntpath
import posixpath
import re
import secrets

__all__ = ["UnprovenDirectory", "UnprovenFile", "UnprovenPath", "claim_prefix", "prove_directory", "prove_file"]

_NONCE_BYTES = 8
_WINDOWS_DRIVE = r"[A-Za-z]:\\"  # compiled by `re` on first use (its cache keeps it), not at import


class UnprovenPath(ValueError):
    """A server's answer that cannot be proven to be the new file or directory asked for (the message quotes it)."""

    kind = "path"

    def __init__(self, answer: object, why: str) -> None:
        super().__init__(f"{answer!r} is not a new {self.kind} of this run: {why}")
        self.answer = answer
        self.why = why


class UnprovenDirectory(UnprovenPath):
    """A server's answer that cannot be proven to be the new directory asked for (the message quotes it)."""

    kind = "directory"


class UnprovenFile(UnprovenPath):
    """A server's answer that cannot be proven to be the new file asked for (`Files.createTemporary`)."""

    kind = "file"


def claim_prefix(prefix: str) -> str:
    """`prefix` followed by a fresh random nonce and a dash: the prefix to ask createTemporary for."""
    return f"{prefix}{secrets.token_hex(_NONCE_BYTES)}-"


def _parts(path: str, unproven: type[UnprovenPath]) -> tuple[str, str, str, bool]:
    """(parent, last component, the normal form, windows) of an absolute guest path."""
    if re.match(_WINDOWS_DRIVE, path):
        return (*ntpath.split(path), ntpath.normpath(path), True)
    if path.startswith("/"):
        return (*posixpath.split(path), posixpath.normpath(path), False)
    raise unproven(path, "it is not an absolute path (`/...` or `C:\\...`)")


def prove_directory(answer: object, *, prefix: str, suffix: str = "", parent: str | None = None) -> str:
    """`answer` if it is provably the new directory asked for with `prefix` (from `claim_prefix`),
    `suffix` and `parent` (None: wherever the guest keeps temporary files); else UnprovenDirectory."""
    return _prove(answer, UnprovenDirectory, prefix, suffix, parent)


def prove_file(answer: object, *, prefix: str, suffix: str = "", parent: str | None = None) -> str:
    """`answer` if it is provably the new file asked for (`Files.createTemporary`) with `prefix` (from
    `claim_prefix`), `suffix` and `parent`, by the same rules as `prove_directory`; else UnprovenFile."""
    return _prove(answer, UnprovenFile, prefix, suffix, parent)


def _prove(answer: object, unproven: type[UnprovenPath], prefix: str, suffix: str, parent: str | None) -> str:
    if not isinstance(answer, str) or not answer:
        raise unproven(answer, "it is not a non-empty string")
    if any(ord(c) < 32 or c == "\x7f" for c in answer):
        raise unproven(answer, "it holds a control character")
    head, name, normal, windows = _parts(answer, unproven)
    if not name:
        raise unproven(answer, "it is a root or ends with a separator")
    if normal != answer or answer.endswith(("/", "\\")) or ("//" in answer and not windows):
        raise unproven(answer, "it is not a normalised path (`..`, `.`, a doubled or trailing separator)")
    if windows and (name.endswith((".", " ")) or "/" in answer):
        raise unproven(answer, "it is not a normalised Windows path")
    if not name.startswith(prefix) or len(name) < len(prefix) + len(suffix) or not name.endswith(suffix):
        raise unproven(answer, "its name does not start with the prefix asked for")
    if parent is not None:
        want = (ntpath if windows else posixpath).normpath(parent)
        if (head.casefold() != want.casefold()) if windows else (head != want):
            raise unproven(answer, f"it is not directly inside {parent!r}, the parent asked for")
    return answer
