"""Paths as a guest spells them: POSIX (`/`, names of at most 255 bytes, 4096 in all) or Windows (a drive
letter, `\\` or `/`, names compared without case, 260 characters in all)."""

from __future__ import annotations

from ._nodes import file_error, not_absolute, too_long

__all__ = ["POSIX_NAME_MAX", "POSIX_PATH_MAX", "WINDOWS_MAX_PATH", "GuestPaths"]

POSIX_PATH_MAX = 4096
POSIX_NAME_MAX = 255
WINDOWS_MAX_PATH = 260


class GuestPaths:
    """The path rules of one guest's file system (the part of `GuestFilesystem` that needs no tree)."""

    windows: bool

    def key(self, name: str) -> str:
        """The name as the file system compares it."""
        return name.casefold() if self.windows else name

    def sep(self) -> str:
        """The separator the guest prints."""
        return "\\" if self.windows else "/"

    def split(self, path: str) -> list[str]:
        """The components of an absolute path (the drive first on Windows); errors for others."""
        if "\x00" in path:
            raise file_error("INVALID_ARGUMENT", "invalid_path", "The path {0} is not a valid path.", path, None)
        if self.windows:
            if len(path) > WINDOWS_MAX_PATH:
                raise too_long(path)
            text = path.replace("/", "\\")
            if len(text) < 3 or not text[0].isalpha() or text[1] != ":" or text[2] != "\\":
                raise not_absolute(path)
            return [text[:2]] + [p for p in text[3:].split("\\") if p]
        if len(path.encode()) > POSIX_PATH_MAX:
            raise too_long(path)
        if not path.startswith("/"):
            raise not_absolute(path)
        parts = [p for p in path.split("/") if p]
        if any(len(p.encode()) > POSIX_NAME_MAX for p in parts):
            raise too_long(path)
        return parts

    def join(self, parts: list[str]) -> str:
        """The absolute path of components (as `split` gives them)."""
        if self.windows:
            return parts[0] + "\\" + "\\".join(parts[1:])
        return "/" + "/".join(parts)

    def parent_path(self, path: str) -> str:
        """The directory that holds `path`."""
        parts = self.split(path)
        return self.join(parts[:-1]) if len(parts) > 1 else self.join(parts[:1] if self.windows else [])

    def basename(self, path: str) -> str:
        """The last component of a path."""
        parts = self.split(path)
        return parts[-1] if parts else "/"
