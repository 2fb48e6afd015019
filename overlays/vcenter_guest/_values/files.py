"""What the files, VM and guest services return: `FileInfo` (stat), `FileSummary` (list), `VmSummary`
(vms.list) and `GuestReadiness` (guest.readiness), immutable values.

`FileInfo` flattens the API's nested attributes (`attributes.posix_attributes.permissions` is
`info.permissions`): a field a guest family does not have is None.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

import attrs

# Its values are listed once, in the package's ON_FIRST_USE (they load on first use).


@attrs.frozen
class FileSummary:
    """One entry of a guest directory, as `files.list` reports it.

    >>> FileSummary("notes.txt", "FILE", 12).is_directory
    False
    """

    filename: str
    type: str
    """FILE, DIRECTORY or SYMLINK."""
    size: int

    @property
    def is_directory(self) -> bool:
        """Whether the entry is a directory."""
        return self.type == "DIRECTORY"


@attrs.frozen
class FileInfo:
    """A guest file, directory or symbolic link, as `files.stat` reports it (a link is not followed).

    >>> import datetime
    >>> t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    >>> FileInfo("/etc/hostname", "FILE", 11, t, t, "POSIX", owner=0, group=0, permissions="644").permissions
    '644'
    """

    WITHHELD: ClassVar[dict[str, str]] = {"attributes": "flattened into the fields below"}

    path: str
    type: str
    """FILE, DIRECTORY or SYMLINK."""
    size: int
    last_modified: datetime.datetime
    last_accessed: datetime.datetime
    filesystem_family: str
    """POSIX or WINDOWS."""
    symlink_target: str | None = None
    owner: int | None = None
    """POSIX: the owner's uid."""
    group: int | None = None
    """POSIX: the group's gid."""
    permissions: str | None = None
    """POSIX: the octal mode, e.g. "644"."""
    hidden: bool | None = None
    """Windows."""
    read_only: bool | None = None
    """Windows."""
    created: datetime.datetime | None = None
    """Windows: when the file was made."""

    @property
    def is_directory(self) -> bool:
        """Whether it is a directory."""
        return self.type == "DIRECTORY"


@attrs.frozen
class VmSummary:
    """One virtual machine, as `vms.list` reports it.

    >>> VmSummary("vm-42", "web-1", "POWERED_ON").powered_on
    True
    """

    WITHHELD: ClassVar[dict[str, str]] = {"memory_size_mi_b": "exposed as memory_size_mib"}

    vm: str
    name: str
    power_state: str
    """POWERED_ON, POWERED_OFF or SUSPENDED."""
    cpu_count: int | None = None
    memory_size_mib: int | None = None

    @property
    def powered_on(self) -> bool:
        """Whether it is powered on."""
        return self.power_state == "POWERED_ON"


@attrs.frozen
class GuestReadiness:
    """Whether a guest takes guest operations now, as `guest.readiness` reports it."""

    guest_operations_ready: bool
    interactive_guest_operations_ready: bool
