"""The API sessions the CLI keeps between invocations, as govc keeps them: one file per server and
user in `sessions/` of the user's cache directory (platformdirs; on Linux
`~/.cache/vcenter-guest/sessions/`).

The two folders, `vcenter-guest` and `sessions` in it, are the CLI's own: it makes them (700), and
uses them only if each is a real folder of this user, opened without following a link (relative to
its parent's open descriptor, so that nothing can swap a link in between). A link, another owner or
a file there: the cache is not used at all (`UnsafeCache`, one line saying why) and the command goes
on without it; the link's target is never read, written or chmod-ed. Permissions are tightened
through the open descriptor (others' write access off `vcenter-guest`, `sessions` 700), never through
a path. A kept file is used only if it is a regular file of this user that others cannot read; it is
written under a fresh name (exclusive create, 600) and renamed into place, so it is whole or absent.

A file lock per server and user (filelock) makes concurrent invocations take turns at "use the kept
session or log in and keep the new one", so that they log in once and share that session.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import filelock

__all__ = ["SessionStore", "UnsafeCache"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_RELATIVE = {os.open, os.mkdir, os.rename, os.unlink} <= os.supports_dir_fd and bool(_NOFOLLOW and _DIRECTORY)
"""Whether the folders can be opened one by one without following links (POSIX; not Windows)."""
_MAX_FILE_BYTES = 64 * 1024
"""A kept session's file is a few hundred bytes: a larger one is not ours, and not read."""


class UnsafeCache(Exception):
    """The session cache cannot be used safely; the message says why (one line, naming the path)."""


@attrs.frozen
class _Folder:
    """The open `sessions` folder: names inside it are opened relative to its descriptor (`fd`), or,
    where the OS cannot do that, by their path after the folders were checked to be no links."""

    path: Path
    fd: int | None

    def _name(self, name: str) -> str:
        return name if self.fd is not None else str(self.path / name)

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        return os.open(self._name(name), flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=self.fd)

    def replace(self, source: str, target: str) -> None:
        os.replace(self._name(source), self._name(target), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        os.unlink(self._name(name), dir_fd=self.fd)


def _why(path: Path, exc: OSError) -> str:
    """Why the folder `path` cannot be used, in the user's words."""
    with contextlib.suppress(OSError):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            return (
                f"{path} is a symbolic link (vcenter-guest makes this folder itself and never follows a link "
                "there: remove the link to use the cache)"
            )
        if not stat.S_ISDIR(mode):
            return f"{path} is not a folder"
    return f"cannot open {path}: {exc.strerror or exc}"


class SessionStore:
    """API sessions kept between invocations: one owner-only file per (server, user).

    Every method raises `UnsafeCache` when the cache's folders cannot be used safely (see the module)."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            import platformdirs  # noqa: PLC0415 - only when a session is looked up

            root = Path(platformdirs.user_cache_dir("vcenter-guest"))
        self.root = root
        self.directory = root / "sessions"

    @staticmethod
    def _name(server: str, user: str) -> str:
        return hashlib.sha256(f"{server}\n{user}".encode()).hexdigest()[:32]

    @contextlib.contextmanager
    def _folder(self, *, create: bool) -> Iterator[_Folder | None]:
        """The `sessions` folder, checked (and made, with `create`); None when it does not exist."""
        if create:
            try:
                self.root.parent.mkdir(parents=True, exist_ok=True)  # the user's cache directory: theirs to link
            except OSError as exc:
                raise UnsafeCache(f"cannot make {self.root.parent}: {exc.strerror or exc}") from None
        if not _RELATIVE:  # pragma: no cover - Windows
            yield self._checked_by_path(create=create)
            return
        with contextlib.ExitStack() as opened:
            try:
                parent = os.open(self.root.parent, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
            except FileNotFoundError:
                yield None
                return
            except OSError as exc:
                raise UnsafeCache(f"cannot open {self.root.parent}: {exc.strerror or exc}") from None
            opened.callback(os.close, parent)
            for path, private in ((self.root, False), (self.directory, True)):
                child = self._open_child(parent, path, create=create)
                if child is None:
                    yield None
                    return
                opened.callback(os.close, child)
                self._own(child, path, private)
                parent = child
            yield _Folder(self.directory, parent)

    @staticmethod
    def _open_child(parent: int, path: Path, *, create: bool) -> int | None:
        """The folder `path` (inside the open folder `parent`), made with `create`, opened without
        following a link; None when it does not exist."""
        if create:
            try:
                os.mkdir(path.name, 0o700, dir_fd=parent)
            except FileExistsError:
                pass
            except OSError as exc:
                raise UnsafeCache(f"cannot make {path}: {exc.strerror or exc}") from None
        try:
            return os.open(path.name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=parent)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP: a link; ENOTDIR: a file...
            raise UnsafeCache(_why(path, exc)) from None

    def _checked_by_path(self, *, create: bool) -> _Folder | None:  # pragma: no cover - Windows
        """Where folders cannot be opened relative to each other: each checked to be no link (nor a
        junction) by its path, then used by path."""
        for path in (self.root, self.directory):
            if create:
                with contextlib.suppress(FileExistsError):
                    path.mkdir(mode=0o700)
            if path.is_symlink() or getattr(path, "is_junction", lambda: False)():
                raise UnsafeCache(_why(path, OSError(errno.ELOOP, "a link")))
            if not path.exists():
                return None
            if not path.is_dir():
                raise UnsafeCache(f"{path} is not a folder")
        return _Folder(self.directory, None)

    @staticmethod
    def _own(fd: int, path: Path, private: bool) -> None:
        """Checks that the open folder is this user's; takes others' write access away (and, for
        `sessions`, all their access) through the descriptor."""
        info = os.fstat(fd)
        if info.st_uid != os.getuid():
            raise UnsafeCache(f"{path} belongs to another user (uid {info.st_uid})")
        mode = stat.S_IMODE(info.st_mode)
        wanted = 0o700 if private else mode & ~0o022
        if mode != wanted:
            try:
                os.fchmod(fd, wanted)
            except OSError as exc:
                raise UnsafeCache(f"cannot make {path} private: {exc.strerror or exc}") from None

    def load(self, server: str, user: str) -> str | None:
        """The kept session id, or None (none kept, unreadable, or not private to this user: ignored)."""
        with self._folder(create=False) as folder:
            if folder is None:
                return None
            try:
                descriptor = folder.open(f"{self._name(server, user)}.json", os.O_RDONLY)
            except OSError:
                return None
            with os.fdopen(descriptor, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or info.st_uid != os.getuid():
                    return None  # someone else could read or have planted it: never use it
                try:
                    data = file.read(_MAX_FILE_BYTES + 1)
                    record = json.loads(data) if len(data) <= _MAX_FILE_BYTES else None
                except (OSError, ValueError):
                    return None
        if not isinstance(record, Mapping) or record.get("server") != server or record.get("user") != user:
            return None
        session = record.get("session_id")
        return session if isinstance(session, str) and session.isascii() and session.isprintable() else None

    def save(self, server: str, user: str, session_id: str) -> bool:
        """Keeps `session_id`, readable by this user only; whether it was written (a failure to write
        it is not an error: the session is then not kept)."""
        with self._folder(create=True) as folder:
            if folder is None:  # pragma: no cover - made just now
                return False
            temporary = f".session-{secrets.token_hex(8)}"
            try:
                descriptor = folder.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    json.dump({"server": server, "user": user, "session_id": session_id}, file)
                folder.replace(temporary, f"{self._name(server, user)}.json")
            except OSError:
                with contextlib.suppress(OSError):
                    folder.unlink(temporary)
                return False
        return True

    def delete(self, server: str, user: str) -> bool:
        """Forgets the session of (server, user); whether one was kept."""
        with self._folder(create=False) as folder:
            if folder is None:
                return False
            try:
                folder.unlink(f"{self._name(server, user)}.json")
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise UnsafeCache(
                    f"cannot forget the session kept in {self.directory}: {exc.strerror or exc}"
                ) from None
        return True

    def lock(self, server: str, user: str) -> filelock.BaseFileLock:
        """The lock that concurrent invocations for (server, user) take turns with (not yet acquired)."""
        import filelock  # noqa: PLC0415 - only with the session cache on

        with self._folder(create=True):  # checked (and made) before the lock file is made in it
            pass
        path = self.directory / f"{self._name(server, user)}.lock"
        if sys.platform != "win32" and path.is_symlink():  # only this user can write there: their own doing
            raise UnsafeCache(f"{path} is a symbolic link")
        return filelock.FileLock(path, mode=0o600)
