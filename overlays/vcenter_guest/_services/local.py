"""What an upload reads and a download writes on this machine: bytes, local files, file objects; and
the checks of the arguments that name them."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, cast

from vcenter_guest import errors

from .checks import check_binary_stream

__all__ = [
    "PIECE",
    "SPOOL_IN_MEMORY",
    "_Destination",
    "_Source",
    "_guest_path",
    "_permissions",
    "_progress",
    "_reported",
]

PIECE = 1 << 20
"""Bytes read from a local source per piece of an upload."""
SPOOL_IN_MEMORY = 8 << 20
"""An upload from a stream that cannot tell its size is spooled first (Transfers.create needs the
size): in memory up to this many bytes, then on local disk."""


# --- checks ------------------------------------------------------------------------------------------


def _guest_path(path: object, what: str = "guest_path") -> str:
    if not isinstance(path, str) or not path:
        raise errors.UsageError(f"{what} must be a non-empty path in the guest, e.g. '/tmp/report.txt', got {path!r}")
    if "\0" in path:
        raise errors.UsageError(f"{what} cannot hold a NUL character")
    return path


def _umask() -> int:
    """The process's umask: read where the system shows it (Linux), else set and put back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _permissions(permissions: object) -> str | None:
    if permissions is None:
        return None
    if type(permissions) is int and 0 <= permissions <= 0o7777:
        return format(permissions, "o")
    if isinstance(permissions, str):
        digits = permissions[2:] if permissions[:2].lower() == "0o" else permissions  # '0o640' as 0o640
        if 1 <= len(digits) <= 4 and all(c in "01234567" for c in digits):
            return digits
    raise errors.UsageError(f"permissions must be an octal mode such as 0o640, '640' or '0o640', got {permissions!r}")


def _progress(progress: object) -> Callable[[int], object] | None:
    if progress is not None and not callable(progress):
        raise errors.UsageError(f"progress must be a function of the bytes moved, or None, got {progress!r}")
    return progress


def _reported(pieces: Iterator[bytes], progress: Callable[[int], object]) -> Iterator[bytes]:
    for piece in pieces:
        yield piece
        progress(len(piece))


# --- local sources and destinations --------------------------------------------------------------------


class _Source:
    """What an upload sends: bytes, a local file (by path) or a binary file object, read in pieces."""

    def __init__(self, source: object) -> None:
        self._close: Callable[[], None] = lambda: None
        self._data: memoryview | None = None
        self._file: IO[bytes] | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            self._data = memoryview(source).cast("B")
            self.size = len(self._data)
        elif isinstance(source, str | os.PathLike):
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise errors.UsageError(f"cannot read {os.fspath(source)!r}: {exc.strerror or exc}") from None
            self._file, self._close = handle, handle.close
            # A FIFO, a pipe (`<(command)` is /dev/fd/N) or a device has no size to trust: spool it.
            self.size = self._measure(sized=stat.S_ISREG(os.fstat(handle.fileno()).st_mode))
        elif callable(getattr(source, "read", None)):
            check_binary_stream(source, "source", "rb")
            self._file = cast("IO[bytes]", source)
            self.size = self._measure()
        else:
            raise errors.UsageError(
                f"source must be bytes, a local path or a binary file object, not {type(source).__name__}"
            )

    def _measure(self, *, sized: bool = True) -> int:
        """The bytes left to send. Transfers.create must know the size before anything is sent: what
        has none to trust (a pipe, a socket, a FIFO) is spooled to a temporary file first, in constant
        memory; so is what says it is empty, since /proc and /sys files say so and still have bytes
        (a file that really is empty spools nothing)."""
        file = self._file
        assert file is not None
        try:
            if sized and file.seekable():
                here = file.tell()
                end = file.seek(0, io.SEEK_END)
                file.seek(here)
                if end > here:
                    return end - here
        except (OSError, ValueError, AttributeError):
            pass
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by close()
        shutil.copyfileobj(file, spool, PIECE)
        size = spool.tell()
        spool.seek(0)
        self._file, self._close = cast("IO[bytes]", spool), spool.close
        return size

    def pieces(self) -> Iterator[bytes]:
        """The bytes, exactly `size` of them (a file that grew meanwhile is cut, one that shrank fails)."""
        if self._data is not None:
            for start in range(0, self.size, PIECE):
                yield bytes(self._data[start : start + PIECE])
            return
        assert self._file is not None
        left = self.size
        while left > 0:
            piece = self._file.read(min(PIECE, left))
            if not piece:
                raise errors.UsageError(f"the source ended {left} bytes short of the {self.size} it had")
            if not isinstance(piece, bytes | bytearray):
                raise errors.UsageError("source must be a binary file object (opened with 'rb'), not a text one")
            left -= len(piece)
            yield bytes(piece)

    def close(self) -> None:
        self._close()


class _Destination:
    """Where a download goes: a local path (written whole or not at all), a binary file object, or
    memory (None: the bytes are returned)."""

    def __init__(self, destination: object) -> None:
        self.path: str | None = None
        self._buffer: bytearray | None = None
        self._temp: str | None = None
        if destination is None:
            self._buffer = bytearray()
            self.write: Callable[[bytes], object] = self._buffer.extend
        elif isinstance(destination, str | os.PathLike):
            self.path = os.fspath(destination)
            folder = os.path.dirname(os.path.abspath(self.path))
            if os.path.isdir(self.path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise errors.UsageError(f"cannot write {self.path!r}: not a file in a writable directory")
            self.write = self._write_file
        elif callable(getattr(destination, "write", None)):
            check_binary_stream(destination, "destination", "wb")
            self.write = cast("IO[bytes]", destination).write
        else:
            raise errors.UsageError(
                f"destination must be a local path, a binary file object or None, not {type(destination).__name__}"
            )

    def _write_file(self, piece: bytes) -> None:
        # The local file is made when the first bytes arrive (a download that fails before leaves nothing).
        if self._temp is None:
            assert self.path is not None
            folder = os.path.dirname(os.path.abspath(self.path))
            fd, self._temp = tempfile.mkstemp(prefix=".vcenter-guest-", suffix=".part", dir=folder)
            self._file = os.fdopen(fd, "wb")
        self._file.write(piece)

    def finish(self) -> bytes | None:
        """Completes a successful download: the file takes its name; the bytes when kept in memory."""
        if self.path is not None:
            if self._temp is None:  # an empty file: no bytes came
                self._write_file(b"")
            assert self._temp is not None
            self._file.close()
            # mkstemp made it 600: the file gets the mode a file it replaces had, else what the
            # umask leaves of 666, as `cp` and `curl -o` would give it.
            try:
                mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except OSError:
                mode = 0o666 & ~_umask()
            os.chmod(self._temp, mode)
            os.replace(self._temp, self.path)
            self._temp = None
        return bytes(self._buffer) if self._buffer is not None else None

    def abandon(self) -> None:
        """A failed download leaves no partial file behind (a file object keeps what it got)."""
        if self._temp is not None:
            self._file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            self._temp = None
