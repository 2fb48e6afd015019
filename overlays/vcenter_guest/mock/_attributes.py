"""File attributes as the filesystem API sends them (permissions in octal, RFC 3339 times, the attributes
of one guest family), read for the guest's file system; shared by the files and transfers services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dateutil.parser import isoparse

from ._errors import MockError
from ._filesystem import GuestFilesystem

__all__ = ["check_family", "invalid", "octal", "seconds"]


def invalid(message: str, text: str, *args: object) -> MockError:
    """INVALID_ARGUMENT of the filesystem API (`com.vmware.vcenter.vm.guest.filesystem.<message>`)."""
    return MockError("INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem." + message, text, *args)


def octal(text: str) -> int:
    """Permissions as chmod takes them (`"644"`), or INVALID_ARGUMENT."""
    if not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise invalid("invalid_permissions", "The permissions {0} are not octal digits as chmod takes them.", text[:16])
    return int(text, 8)


def seconds(text: str | None, default: float) -> float:
    """Wall-clock seconds of an RFC 3339 date-time (`default` if None), or INVALID_ARGUMENT."""
    if text is None:
        return default
    try:
        return isoparse(text).timestamp()
    except (ValueError, OverflowError):
        raise invalid("invalid_time", "The time {0} is not an RFC 3339 date-time.", text[:64]) from None


def check_family(fs: GuestFilesystem, attributes: Mapping[str, Any]) -> None:
    """INVALID_ARGUMENT when the attributes are of the other family of guests (posix on Windows...)."""
    wrong = "posix" if fs.windows else "windows"
    if attributes.get(wrong) is not None:
        raise invalid(
            "attributes_mismatch",
            "The {0} attributes do not fit the guest's operating system.",
            wrong,
        )
