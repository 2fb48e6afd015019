"""What a guest's file system is made of: nodes (files, directories, links), who acts on them, and the
refusals the guest answers with (each a `MockError` with the API's FileErrorDetails).

File bytes are never changed in place: every write gives the file a new `bytes` (or `bytearray`, or
`Chunks`) object, so a download that is streaming the old one keeps a consistent view without a copy.
An upload's file is the `Chunks` the body arrived in (nothing zero-filled, nothing copied); whoever
reads `Node.data` of one gets it joined, once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from ._errors import MockError, shown
from ._records import Program

__all__ = [
    "Account",
    "Chunks",
    "Content",
    "Kind",
    "Located",
    "Node",
    "access_denied",
    "already_exists",
    "appended",
    "file_error",
    "no_disk_space",
    "not_a_directory",
    "not_a_file",
    "not_absolute",
    "not_found",
    "too_long",
]

_PREFIX = "com.vmware.vcenter.vm.guest.filesystem."
_SMALL_PART = 64 << 10
"""An append this short joins the file's last part when that stays this short (else it is a part of its own)."""


class Kind(enum.Enum):
    """`Files.Type`."""

    FILE = "FILE"
    DIRECTORY = "DIRECTORY"
    SYMLINK = "SYMLINK"


@attrs.frozen
class Account:
    """Who acts on the file system: a guest user as the guest knows it."""

    name: str
    uid: int
    admin: bool
    home: str

    @property
    def gid(self) -> int:
        """The user's primary group (a group of its own, as Debian's adduser makes it)."""
        return self.uid


class Chunks:
    """A file's bytes as the pieces an upload's body arrived in, in order (never changed once made)."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list[bytes | bytearray], size: int) -> None:
        self.parts = parts
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Chunks({len(self.parts)} parts, {self.size} bytes)"


def appended(content: Content, data: bytes | bytearray) -> Content:
    """`content` with `data` after it, as a new value (the old one is left as it is, for a download
    streaming it): the parts are shared, not copied, so appending costs about `len(data)`, not the
    file's size; a short append joins a short last part (no object per few bytes)."""
    parts = list(content.parts) if isinstance(content, Chunks) else ([content] if content else [])
    if parts and len(parts[-1]) + len(data) <= _SMALL_PART:
        parts[-1] = bytes(parts[-1]) + bytes(data)
    else:
        parts.append(bytes(data))
    return Chunks(parts, len(content) + len(data))


Content = bytes | bytearray | Chunks


@attrs.define(eq=False)
class Node:
    """A file, directory or symbolic link. `name` is the spelling it was created with."""

    kind: Kind
    name: str
    owner: int = 0
    group: int = 0
    mode: int = 0o644
    modified: float = 0.0
    accessed: float = 0.0
    created: float = 0.0
    hidden: bool = False
    read_only: bool = False
    content: Content = b""
    """A file's bytes (read them through `data`, or `pieces` to stream them)."""
    target: str = ""
    program: Program | None = None
    children: dict[str, Node] = attrs.field(factory=dict)
    """Directory entries by the name the file system compares (case-folded on Windows), in creation order."""

    @property
    def data(self) -> bytes | bytearray:
        """A file's bytes in one piece (an upload's chunks are joined, once, when first read so)."""
        content = self.content
        if isinstance(content, Chunks):
            content = content.parts[0] if len(content.parts) == 1 else b"".join(content.parts)
            self.content = content
        return content

    def pieces(self, most: int) -> Iterator[bytes | bytearray]:
        """A file's bytes as they are now, in pieces of at most `most` bytes (or as uploaded), uncopied
        but for the slices of one piece."""
        content = self.content
        parts = content.parts if isinstance(content, Chunks) else [content]
        for part in parts:
            if len(part) <= most:
                yield part
                continue
            with memoryview(part) as view:
                for start in range(0, len(view), most):
                    yield bytes(view[start : start + most])

    @property
    def size(self) -> int:
        """Bytes of a file, of a link's target text; 4096 for a directory, as ext4 reports it."""
        if self.kind is Kind.FILE:
            return len(self.content)
        if self.kind is Kind.SYMLINK:
            return len(self.target.encode())
        return 4096


def file_error(error_type: str, message: str, text: str, path: str, reason: str | None) -> MockError:
    """A filesystem error; `reason` (an ErrorReason) puts FileErrorDetails into `data`."""
    data = {"reason": reason, "file_path": shown(path)} if reason is not None else None
    return MockError(error_type, _PREFIX + message, text, path, data=data)


def not_found(path: str) -> MockError:
    """NOT_FOUND, FILE_NOT_FOUND."""
    return file_error("NOT_FOUND", "file_not_found", "The file {0} was not found.", path, "FILE_NOT_FOUND")


def not_a_file(path: str) -> MockError:
    """INVALID_ARGUMENT, NOT_A_FILE."""
    return file_error("INVALID_ARGUMENT", "not_a_file", "The path {0} is not a file.", path, "NOT_A_FILE")


def not_a_directory(path: str) -> MockError:
    """INVALID_ARGUMENT, NOT_A_DIRECTORY."""
    return file_error(
        "INVALID_ARGUMENT", "not_a_directory", "The path {0} is not a directory.", path, "NOT_A_DIRECTORY"
    )


def already_exists(path: str) -> MockError:
    """ALREADY_EXISTS (no data: the bindings give FileErrorDetails only to INVALID_ARGUMENT and NOT_FOUND)."""
    return file_error("ALREADY_EXISTS", "already_exists", "The file {0} already exists.", path, None)


def access_denied(path: str) -> MockError:
    """UNAUTHORIZED: the guest refuses the user access to the path."""
    return file_error("UNAUTHORIZED", "access_denied", "Access to the path {0} is denied.", path, None)


def too_long(path: str) -> MockError:
    """INVALID_ARGUMENT, PATH_TOO_LONG."""
    return file_error("INVALID_ARGUMENT", "path_too_long", "The path {0} is too long.", path, "PATH_TOO_LONG")


def no_disk_space(path: str) -> MockError:
    """UNABLE_TO_ALLOCATE_RESOURCE: the quota cannot take the bytes."""
    return file_error(
        "UNABLE_TO_ALLOCATE_RESOURCE", "no_disk_space", "There is not enough space in the guest for {0}.", path, None
    )


def not_absolute(path: str) -> MockError:
    """INVALID_ARGUMENT: guest operations take absolute paths only."""
    return file_error("INVALID_ARGUMENT", "not_absolute", "The path {0} is not an absolute path.", path, None)


@attrs.define(eq=False)
class Located:
    """Where a path leads: the directory holding its last component, that component, and what is there."""

    parent: Node
    key: str
    name: str
    node: Node | None
    path: str
    """The path with its links resolved (as the guest would print it)."""
    chain: tuple[Node, ...] = ()
    """The directories from the top (the drive on Windows; not the POSIX root) to `parent`, included."""

    @property
    def depth(self) -> int:
        """Levels of directories above the last component."""
        return len(self.chain)
