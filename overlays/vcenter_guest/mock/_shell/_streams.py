"""What the simulated shell's commands read and write: descriptors (pipes, files, /dev/null), the way a
run ends (`Outcome`), and the signals that stop one (an unsupported construct, `exit`, a command that
never ends)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from vcenter_guest.mock._budget import meter
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._filesystem import Account, GuestFilesystem

__all__ = [
    "MAX_OUTPUT",
    "Buffer",
    "Closed",
    "ExitShell",
    "FileStream",
    "Forever",
    "LoopControl",
    "Machine",
    "Null",
    "Outcome",
    "Return",
    "Stream",
    "Unsupported",
    "UnsupportedOption",
    "complain",
    "reason",
    "write",
]

MAX_OUTPUT = 64 << 20


class Unsupported(Exception):
    """A construct outside the simulated subset."""


class UnsupportedOption(Exception):
    """An option of a simulated utility outside what the mock implements (the utility fails, exit 2)."""


class ExitShell(Exception):
    """`exit N`, or the end of `exec COMMAND`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Forever(Exception):
    """A command that never ends by itself: nothing after it runs."""


class LoopControl(Exception):
    """`break N` or `continue N`: leaves (or goes on with) the N-th enclosing loop."""

    def __init__(self, *, stop: bool, levels: int, status: int = 0) -> None:
        super().__init__(stop, levels)
        self.stop, self.levels, self.status = stop, levels, status


class Return(Exception):
    """`return N`: ends the function under way with status N."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@attrs.frozen
class Machine:
    """What a guest's programs know of the machine besides its files (`uname`, `uptime`, `ls -l`)."""

    system: str = "Linux"
    """The kernel's name as `uname -s` gives it: "Linux", or "SunOS" on Solaris guests."""
    booted: float = 0.0
    """Wall-clock seconds when the guest booted (the file system's clock reads now)."""
    users: Mapping[int, str] = attrs.field(factory=lambda: {0: "root"})
    """Account and group names by id (each user's primary group has its name), as /etc/passwd has them."""


@attrs.define
class Outcome:
    """What a command line did: its own stdout and stderr (not redirected), exit status and duration."""

    stdout: bytes
    stderr: bytes
    status: int
    duration: float
    ignores_term: bool = False
    unkillable: bool = False


class Stream:
    """An open file description: what writes and reads on a descriptor reach."""

    def write(self, data: bytes) -> None:
        """Takes bytes written to the descriptor."""

    def read(self) -> bytes:
        """The bytes a read until end of file gets."""
        return b""

    def read_line(self) -> bytes:
        """The next line (with its newline; without one at the end of the file; b"" past it)."""
        return b""


class Buffer(Stream):
    """Bytes kept in memory: a pipe or a file read by `<` (reads take them from an offset, shared by
    every descriptor on it), or the process's own stdout and stderr (vCenter keeps neither)."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.offset = 0

    def write(self, data: bytes) -> None:
        if len(self.data) + len(data) > MAX_OUTPUT:
            data = data[: max(0, MAX_OUTPUT - len(self.data))]
        self.data += data

    def read(self) -> bytes:
        start, self.offset = self.offset, len(self.data)
        return bytes(self.data[start:])

    def read_line(self) -> bytes:
        end = self.data.find(b"\n", self.offset)
        end = len(self.data) if end < 0 else end + 1
        start, self.offset = self.offset, end
        return bytes(self.data[start:end])


class Null(Stream):
    """`/dev/null`."""


class FileStream(Stream):
    """A guest file opened by a redirection, with its own offset as an open file description has:
    `>` writes from where this description is (after truncating at open), `>>` at the end."""

    def __init__(self, fs: GuestFilesystem, who: Account, path: str, *, append: bool = False) -> None:
        self.fs, self.who, self.path, self.append = fs, who, path, append
        self.offset = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        fs, who = self.fs, self.who
        if self.append:
            fs.write_file(self.path, data, who, append=True)
            return
        node, _ = fs.lookup(self.path, who)  # its bytes, without needing read permission
        start = self.offset
        if start == node.size:  # at the end (the usual case): an append, which copies nothing
            fs.write_file(self.path, data, who, append=True)
            self.offset = start + len(data)
            return
        old = bytes(node.data)
        # Past the end (someone truncated the file since): the gap reads as zeros, as in a sparse file.
        new = old[:start] + b"\0" * max(0, start - len(old)) + data + old[start + len(data) :]
        fs.write_file(self.path, new, who)
        self.offset = start + len(data)

    def read(self) -> bytes:
        return bytes(self.fs.read_file(self.path, self.who))


class Closed(Stream):
    """A closed descriptor (`N>&-`): writes fail."""

    def write(self, data: bytes) -> None:
        raise OSError("Bad file descriptor")


def reason(error: MockError) -> str:
    """The strerror text bash prints for a refusal of the guest's file system."""
    reason = (error.data or {}).get("reason")
    if error.error_type == "UNAUTHORIZED":
        return "Permission denied"
    if error.error_type == "UNABLE_TO_ALLOCATE_RESOURCE":
        return "No space left on device"
    return {
        "FILE_NOT_FOUND": "No such file or directory",
        "NOT_A_DIRECTORY": "Not a directory",
        "NOT_A_FILE": "Is a directory",
        "PATH_TOO_LONG": "File name too long",
    }.get(str(reason), "No such file or directory" if error.error_type == "NOT_FOUND" else "Invalid argument")


def write(fds: Mapping[int, Stream], fd: int, data: bytes) -> bool:
    """Writes to a descriptor; False (the write failed) on a closed one or a full disk."""
    if not data:
        return True
    stream = fds.get(fd, Null())
    if not isinstance(stream, Null | Closed):
        meter().output(len(data))
    try:
        stream.write(data)
    except (OSError, MockError):
        return False
    return True


def complain(fds: Mapping[int, Stream], text: str) -> None:
    """Writes a utility's error message (a line) to its stderr."""
    write(fds, 2, (text + "\n").encode())
