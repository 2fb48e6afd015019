"""The keywords of a run (`run`, `run_script`, `run_many`), declared once, and checked once into one value."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import IO, TYPE_CHECKING, TypedDict

import attrs

from vcenter_guest import errors

from .checks import check_binary_stream, check_encoding, check_flag, check_limit, check_run_timeout, check_terminate

if TYPE_CHECKING:
    from vcenter_guest._values import Credentials

__all__ = ["DEFAULT_MAX_OUTPUT_BYTES", "GUEST_FAMILIES", "RunKeywords", "RunOptions", "guest_key"]

DEFAULT_MAX_OUTPUT_BYTES = 4 << 20
"""Bytes of each stream `run` keeps in memory by default; past them the stream is cut (and flagged)."""

GUEST_FAMILIES: Mapping[str, bool] = {
    "posix": False,
    "linux": False,
    "solaris": False,
    "darwin": False,
    "windows": True,
}
"""`guest_os=` values (any case; the Identity service's families among them): whether each is Windows."""


class RunKeywords(TypedDict, total=False):
    """The keywords `run`, `run_script` and `run_many` take (see `Processes.run` for each one's meaning)."""

    arguments: str | None
    working_directory: str | None
    environment_variables: Mapping[str, str] | None
    timeout: float | None
    terminate_on_timeout: bool
    check: bool
    capture: bool
    stdin: bytes | IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None
    max_output_bytes: int
    encoding: str | None
    wait_ready: float | None
    guest_os: str | None


_SPEC_KEYWORDS = ("arguments", "working_directory", "environment_variables")


@attrs.frozen
class RunOptions:
    """How a program runs and what comes back: the keywords of `run` (see its docstring), checked by
    `checked`, so that `run`, `run_script` and each VM of `run_many` share one checked value.
    Without capture, `max_output_bytes`, `encoding` and the output targets are not used (nor checked).
    `windows`: what the caller said of the guest (`guest_os=`): True, False, or None (not said)."""

    timeout: float | None = None
    terminate_on_timeout: bool = False
    check: bool = False
    capture: bool = True
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    encoding: str | None = None
    stdin: bytes | IO[bytes] | None = None
    stdout: IO[bytes] | None = None
    stderr: IO[bytes] | None = None
    wait_ready: float | None = None
    windows: bool | None = None

    @classmethod
    def checked(cls, method: str, keywords: Mapping[str, object], *, refused: Collection[str] = ()) -> RunOptions:
        """The options among `keywords` (those of the program's spec are program_spec's), each checked:
        errors.UsageError names the first that is wrong; a keyword `method` does not take (not one of
        RunKeywords, or one of `refused`) is a TypeError, as Python's own for an unknown keyword."""
        for name in keywords:
            if name not in RunKeywords.__annotations__ or name in refused:
                raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
        get = keywords.get
        ready_within = check_run_timeout(get("wait_ready"), "wait_ready")
        run_timeout = check_run_timeout(get("timeout"))
        terminate = check_terminate(get("terminate_on_timeout", False), run_timeout, "run")
        check = check_flag(get("check", False), "check")
        windows = _guest_os(get("guest_os"))
        stdin = _stdin(get("stdin"))
        common = {"timeout": run_timeout, "terminate_on_timeout": terminate, "check": check, "wait_ready": ready_within}
        if not check_flag(get("capture", True), "capture"):
            if get("stdout") is not None or get("stderr") is not None or stdin is not None:
                raise errors.UsageError("stdin=, stdout= and stderr= need capture=True (the run directory holds them)")
            return cls(capture=False, windows=windows, **common)  # type: ignore[arg-type] # checked above
        return cls(
            capture=True,
            max_output_bytes=check_limit(get("max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES)),
            encoding=check_encoding(get("encoding")),
            stdin=stdin,
            stdout=_output_target(get("stdout"), "stdout"),
            stderr=_output_target(get("stderr"), "stderr"),
            windows=windows,
            **common,  # type: ignore[arg-type] # checked above
        )

    @staticmethod
    def spec_keywords(keywords: Mapping[str, object]) -> dict[str, object]:
        """The keywords of the program's spec among `keywords` (program_spec checks them)."""
        return {name: keywords[name] for name in _SPEC_KEYWORDS if name in keywords}


def guest_key(vm: str, credentials: Credentials) -> tuple[str, str | None]:
    """What a guest's layout is kept under in a client: the VM and the guest user (whose temporary
    directory it names)."""
    return vm, credentials.user_name


def _guest_os(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in GUEST_FAMILIES:
        return GUEST_FAMILIES[value.lower()]
    raise errors.UsageError(
        f"guest_os must be one of {', '.join(sorted(GUEST_FAMILIES))} (any case) or None, got {value!r}"
    )


def _stdin(value: object) -> bytes | IO[bytes] | None:
    """`stdin=`: None, bytes, or a binary file object read to its end (streamed, in constant memory)."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if not callable(getattr(value, "read", None)):
        raise errors.UsageError(f"stdin must be bytes or a binary file object (with read), not {type(value).__name__}")
    check_binary_stream(value, "stdin", "rb")
    return value  # type: ignore[return-value] # anything with read() -> bytes


def _output_target(value: object, name: str) -> IO[bytes] | None:
    """`run(stdout=...)`: None (keep in memory) or a binary file object to stream into."""
    if value is None:
        return None
    if not callable(getattr(value, "write", None)):
        raise errors.UsageError(f"{name} must be a binary file object (with write) or None, not {type(value).__name__}")
    check_binary_stream(value, name, "wb")
    return value  # type: ignore[return-value] # anything with write(bytes)
