"""A guest's file system, in memory: POSIX or Windows, with owners, permissions, a quota and path limits.

No HTTP and no vAPI operation here: `GuestFilesystem` walks paths and changes the tree, and raises
the `MockError` a guest's refusal becomes (the files service maps the operations of the API onto it,
the processes and the simulated shell read and write through it).

POSIX rules are the kernel's, reduced to what a guest-operations user meets: paths are walked
component by component (symbolic links followed, `..` taken after them), permission bits are checked
for the owner, the group (a user's group id is its uid) and others, `/tmp`'s sticky bit keeps users
from removing each other's files, and the guest administrator (uid 0) may do anything. Windows rules:
names compare case-insensitively (the spelling given at creation is kept), paths start with a drive
letter, `/` separates like `\\`, a read-only file cannot be written or deleted, and a user who is not
an administrator may write only under its own profile directory and read anything but the other
users' profiles.

What the tree is made of (nodes, accounts, the refusals) is in `_nodes`, the path rules in `_paths`,
the permission rules in `_permissions`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

from ._budget import NODE_OVERHEAD
from ._errors import MockError
from ._nodes import (
    Account,
    Chunks,
    Content,
    Kind,
    Located,
    Node,
    access_denied,
    already_exists,
    appended,
    file_error,
    no_disk_space,
    not_a_directory,
    not_a_file,
    not_found,
    too_long,
)
from ._paths import POSIX_NAME_MAX, POSIX_PATH_MAX, WINDOWS_MAX_PATH
from ._permissions import Permissions

__all__ = [
    "POSIX_NAME_MAX",
    "POSIX_PATH_MAX",
    "WINDOWS_MAX_PATH",
    "Account",
    "Chunks",
    "Content",
    "GuestFilesystem",
    "Kind",
    "Located",
    "Node",
]

_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _locked(method: Callable[Concatenate[GuestFilesystem, _P], _T]) -> Callable[Concatenate[GuestFilesystem, _P], _T]:
    """Runs a method under the file system's lock: a program simulated in a worker thread changes the
    tree one operation at a time, while the requests served on the event loop change it too."""

    def locked(self: GuestFilesystem, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self.lock:
            return method(self, *args, **kwargs)

    locked.__name__, locked.__doc__ = method.__name__, method.__doc__
    return locked


class GuestFilesystem(Permissions):
    """The file system of one guest.

    >>> fs = GuestFilesystem(windows=False, capacity=1 << 20)
    >>> root = Account("root", 0, True, "/root")
    >>> _ = fs.make_directory("/tmp", root, mode=0o1777)
    >>> fs.write_file("/tmp/a.txt", b"hi", root).size, fs.read_file("/tmp/a.txt", root)
    (2, b'hi')
    """

    def __init__(
        self,
        *,
        windows: bool,
        capacity: int,
        clock: Callable[[], float] | None = None,
        max_depth: int = 1 << 30,
    ) -> None:
        self.windows = windows
        self.capacity = capacity
        self.used = 0
        """Bytes of the files' contents."""
        self.entries = 0
        """Files, directories and links: each costs the quota NODE_OVERHEAD besides its bytes."""
        self.in_flight = 0
        """Bytes the quota keeps for uploads under way (their bodies are held in memory as they arrive)."""
        self.max_depth = max_depth
        """Levels of directories the tree may have (Budget.tree_depth): deeper is PATH_TOO_LONG."""
        self.lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        """Taken by every operation (the simulator's lock, which its own methods hold too)."""
        self._now = clock or (lambda: 0.0)
        self.profiles = "c:\\users" if windows else ""
        # POSIX: the root directory; Windows: a directory per drive ("c:"), under a nameless root.
        self.root = Node(Kind.DIRECTORY, "/" if not windows else "", mode=0o755)
        if windows:
            self.root.children["c:"] = Node(Kind.DIRECTORY, "C:", mode=0o777)

    # -- paths ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Wall-clock seconds, for file times."""
        return self._now()

    # -- walking -------------------------------------------------------------------------------

    @_locked
    def locate(self, path: str, who: Account, *, follow: bool = True) -> Located:
        """Where `path` leads; NOT_FOUND if a directory on the way is missing, access errors on the way.

        `follow`: whether a symbolic link as the last component is followed.
        """
        parts = self.split(path)
        return self._walk(parts, who, follow, path, 0)

    def _walk(self, parts: list[str], who: Account, follow: bool, shown: str, hops: int) -> Located:  # noqa: PLR0912 - the kernel's walk, one case per component kind
        stack: list[tuple[Node, str]] = []  # (directory, its component) from the top
        current = self.root
        pending = list(parts)
        if self.windows:
            drive = pending.pop(0)
            node = self.root.children.get(self.key(drive))
            if node is None:
                raise not_found(shown)
            stack.append((node, drive.upper()))
            current = node
        resolved_parts = [name for _, name in stack]
        while pending:
            name = pending.pop(0)
            if name == ".":
                continue
            if name == "..":
                if len(stack) > (1 if self.windows else 0):
                    stack.pop()
                    current = stack[-1][0] if stack else self.root
                continue
            here = self.join([n for _, n in stack])
            if current.kind is not Kind.DIRECTORY:
                raise not_a_directory(shown)
            self._check(current, who, 1, here, shown)
            key = self.key(name)
            child = current.children.get(key)
            last = not pending
            if child is not None and child.kind is Kind.SYMLINK and (follow or not last):
                hops += 1
                if hops > _SYMLINK_HOPS:
                    raise file_error("INVALID_ARGUMENT", "symlink_loop", "Too many symbolic links in {0}.", shown, None)
                target = child.target
                base = [n for _, n in stack]
                if self.windows or not target.startswith("/"):
                    target_parts = base + [p for p in target.replace("\\", "/").split("/") if p]
                else:
                    target_parts = [p for p in target.split("/") if p]
                return self._walk(target_parts + pending, who, follow, shown, hops)
            if last:
                resolved_parts = [n for _, n in stack] + [child.name if child is not None else name]
                chain = tuple(n for n, _ in stack)
                return Located(current, key, name, child, self.join(resolved_parts), chain)
            if child is None:
                raise not_found(shown)
            if child.kind is not Kind.DIRECTORY:
                raise not_a_directory(shown)
            stack.append((child, child.name))
            current = child
        # The path names a directory reached through `..` or is the root (or a drive).
        names = [n for _, n in stack]
        if not names:
            return Located(self.root, "", "/", self.root, "/")
        holder = stack[-2][0] if len(stack) > 1 else self.root
        chain = tuple(n for n, _ in stack[:-1])
        return Located(holder, self.key(names[-1]), names[-1], stack[-1][0], self.join(names), chain)

    @_locked
    def lookup(self, path: str, who: Account, *, follow: bool = True) -> tuple[Node, str]:
        """The node at `path` and its resolved path, or NOT_FOUND."""
        where = self.locate(path, who, follow=follow)
        if where.node is None:
            raise not_found(path)
        return where.node, where.path

    @_locked
    def exists(self, path: str, who: Account) -> bool:
        """Whether `path` names anything `who` can see (no error for a missing one)."""
        try:
            self.lookup(path, who, follow=False)
        except MockError as error:
            if error.error_type == "NOT_FOUND":
                return False
            raise
        return True

    # -- reading -------------------------------------------------------------------------------

    @_locked
    def directory(self, path: str, who: Account) -> tuple[Node, str]:
        """The directory at `path` (followed), or NOT_FOUND / NOT_A_DIRECTORY."""
        node, resolved = self.lookup(path, who)
        if node.kind is not Kind.DIRECTORY:
            raise not_a_directory(path)
        return node, resolved

    @_locked
    def open_file(self, path: str, who: Account) -> Node:
        """The regular file at `path` (followed) if `who` may read it."""
        node, resolved = self.lookup(path, who)
        if node.kind is not Kind.FILE:
            raise not_a_file(path)
        self._check(node, who, 4, resolved, path)
        node.accessed = self.now()
        return node

    def read_file(self, path: str, who: Account) -> bytes | bytearray:
        """The bytes of the file at `path` (an upload's pieces are joined after the lock is let go)."""
        return self.open_file(path, who).data

    @_locked
    def list_directory(self, path: str, who: Account) -> list[Node]:
        """The entries of a directory in creation order; a file lists as itself."""
        node, resolved = self.lookup(path, who)
        if node.kind is not Kind.DIRECTORY:
            return [node]
        self._check(node, who, 4, resolved, path)
        return list(node.children.values())

    def walk(self, node: Node | None = None) -> Iterator[Node]:
        """Every node under `node` (the root by default), depth first (no recursion: a tree thousands
        of levels deep is walked like any other)."""
        stack = [iter((node or self.root).children.values())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            yield child
            if child.kind is Kind.DIRECTORY:
                stack.append(iter(child.children.values()))

    def depth_below(self, node: Node) -> int:
        """Levels of directories under `node` (0: none)."""
        deepest, level = 0, [node]
        while level:
            level = [c for n in level for c in n.children.values() if c.kind is Kind.DIRECTORY]
            deepest += bool(level)
        return deepest

    # -- changing ------------------------------------------------------------------------------

    def taken(self) -> int:
        """Bytes of the quota in use: the files' bytes, NODE_OVERHEAD per entry, uploads under way."""
        return self.used + self.entries * NODE_OVERHEAD + self.in_flight

    def _fits(self, extra: int, path: str) -> None:
        if extra > 0 and self.taken() + extra > self.capacity:
            raise no_disk_space(path)

    def free(self) -> int:
        """Bytes the quota still has."""
        return max(0, self.capacity - self.taken())

    @_locked
    def reserve(self, size: int, path: str) -> None:
        """Keeps `size` bytes of the quota for an upload under way (NO_DISK_SPACE if they do not fit)."""
        self._fits(size + NODE_OVERHEAD, path)
        self.in_flight += size + NODE_OVERHEAD

    @_locked
    def release(self, size: int) -> None:
        """Gives back what `reserve` kept."""
        self.in_flight -= size + NODE_OVERHEAD

    def _too_deep(self, parent_depth: int, extra: int, path: str) -> None:
        if parent_depth + extra > self.max_depth:
            raise too_long(path)

    def _new_entry(self, path: str, who: Account) -> Located:
        where = self.locate(path, who, follow=False)
        if where.node is not None:
            raise already_exists(path)
        self._check(where.parent, who, 3 if not self.windows else 2, self.parent_path(where.path), path)
        return where

    @_locked
    def make_directory(self, path: str, who: Account, *, mode: int = 0o755, parents: bool = False) -> Node:
        """mkdir (with `parents`, mkdir -p); ALREADY_EXISTS if the last one exists."""
        if parents:
            self._make_parents(path, who, mode)
        return self._add_directory(self._new_entry(path, who), who, mode, path)

    def _add_directory(self, where: Located, who: Account, mode: int, path: str) -> Node:
        self._too_deep(where.depth, 1, path)
        self._fits(NODE_OVERHEAD, path)
        now = self.now()
        node = Node(Kind.DIRECTORY, where.name, who.uid, who.gid, mode, now, now, now)
        where.parent.children[where.key] = node
        where.parent.modified = now
        self.entries += 1
        where.node = node
        return node

    def _make_parents(self, path: str, who: Account, mode: int) -> None:
        """The directories above `path`, made where missing, in one walk down (a walk from the top per
        level made `mkdir -p` of 1,500 levels take 28 s)."""
        parts = self.split(path)
        first = 1 if self.windows else 0
        if len(parts) > self.max_depth + first and ".." not in parts:
            raise too_long(path)  # before making any of them
        current: Located | None = None
        for depth in range(first + 1, len(parts)):
            prefix = self.join(parts[:depth])
            name = parts[depth - 1]
            if current is None or current.node is None or name in {".", ".."}:
                where = self.locate(prefix, who)
            else:
                where = self._step(current, current.node, name, who, prefix)
            if where.node is None:
                self._check(where.parent, who, 3 if not self.windows else 2, self.parent_path(where.path), prefix)
                self._add_directory(where, who, mode, prefix)
            elif where.node.kind is not Kind.DIRECTORY:
                raise not_a_directory(prefix)
            current = where

    def _step(self, here: Located, directory: Node, name: str, who: Account, shown: str) -> Located:
        """Where `name` inside the directory `here` leads (the general walk for a link)."""
        self._check(directory, who, 1, here.path, shown)
        key = self.key(name)
        child = directory.children.get(key)
        if child is not None and child.kind is Kind.SYMLINK:
            return self.locate(shown, who)
        base = here.path if here.path.endswith(("/", "\\")) else here.path + self.sep()
        return Located(directory, key, name, child, base + (child.name if child else name), (*here.chain, directory))

    @_locked
    def write_file(
        self,
        path: str,
        data: bytes | bytearray,
        who: Account,
        *,
        overwrite: bool = True,
        append: bool = False,
        mode: int = 0o644,
    ) -> Node:
        """Creates or replaces (or appends to) the file at `path`, following a link at the end.

        A new file gets `who` as owner and `mode`; an existing one keeps its owner and mode unless
        `overwrite` replaces it (then its old attributes are dropped, as Transfers says).
        """
        where = self.locate(path, who)
        existing = where.node
        now = self.now()
        if existing is not None:
            if existing.kind is not Kind.FILE:
                raise not_a_file(path)
            if not overwrite:
                raise already_exists(path)
            self._check(existing, who, 2, where.path, path)
            new = appended(existing.content, data) if append and data else (existing.content if append else data)
            self._fits(len(new) - existing.size, path)
            self.used += len(new) - existing.size
            existing.content = new
            existing.modified = existing.accessed = now
            return existing
        self._check(where.parent, who, 3 if not self.windows else 2, self.parent_path(where.path), path)
        self._fits(len(data) + NODE_OVERHEAD, path)
        node = Node(Kind.FILE, where.name, who.uid, who.gid, mode, now, now, now, content=data)
        self.used += len(data)
        self.entries += 1
        where.parent.children[where.key] = node
        where.parent.modified = now
        return node

    @_locked
    def replace_file(self, path: str, data: Content, who: Account, node: Node) -> Node:
        """Puts `node` (a new file holding `data`) at `path`, replacing a file there: an upload."""
        where = self.locate(path, who)
        existing = where.node
        old = 0
        if existing is not None:
            if existing.kind is not Kind.FILE:
                raise not_a_file(path)
            self._check(existing, who, 2, where.path, path)
            old = existing.size
        else:
            self._check(where.parent, who, 3 if not self.windows else 2, self.parent_path(where.path), path)
            old = -NODE_OVERHEAD
        self._fits(len(data) - old, path)
        self.used += len(data)
        if existing is not None:
            self.used -= existing.size
        else:
            self.entries += 1
        node.name = where.name
        node.content = data
        where.parent.children[where.key] = node
        where.parent.modified = self.now()
        return node

    @_locked
    def symlink(self, path: str, target: str, who: Account) -> Node:
        """ln -s target path."""
        where = self._new_entry(path, who)
        self._fits(NODE_OVERHEAD, path)
        now = self.now()
        node = Node(Kind.SYMLINK, where.name, who.uid, who.gid, 0o777, now, now, now, target=target)
        where.parent.children[where.key] = node
        self.entries += 1
        return node

    @_locked
    def remove_file(self, path: str, who: Account) -> None:
        """Deletes a file or symbolic link (never a directory)."""
        where = self.locate(path, who, follow=False)
        node = where.node
        if node is None:
            raise not_found(path)
        if node.kind is Kind.DIRECTORY:
            raise not_a_file(path)
        self._may_unlink(where.parent, node, who, self.parent_path(where.path), path)
        del where.parent.children[where.key]
        where.parent.modified = self.now()
        self.entries -= 1
        if node.kind is Kind.FILE:
            self.used -= node.size

    @_locked
    def remove_directory(self, path: str, who: Account, *, recursive: bool) -> None:
        """Deletes a directory; RESOURCE_IN_USE if it has content and `recursive` is not set."""
        where = self.locate(path, who, follow=False)
        node = where.node
        if node is None:
            raise not_found(path)
        if node.kind is not Kind.DIRECTORY:
            raise not_a_directory(path)
        if node is self.root or (where.parent is self.root and self.windows):
            raise access_denied(path)
        if node.children and not recursive:
            raise file_error("RESOURCE_IN_USE", "directory_not_empty", "The directory {0} is not empty.", path, None)
        self._may_unlink(where.parent, node, who, self.parent_path(where.path), path)
        if recursive:
            self._check_tree_removable(node, who, where.path, path)
        freed, entries = 0, 1
        for inner in self.walk(node):
            entries += 1
            if inner.kind is Kind.FILE:
                freed += inner.size
        del where.parent.children[where.key]
        where.parent.modified = self.now()
        self.used -= freed
        self.entries -= entries

    def _check_tree_removable(self, top: Node, who: Account, top_resolved: str, shown: str) -> None:
        """rm -r needs to list and empty every directory of the tree: refuse before removing anything
        (no recursion: a tree thousands of levels deep is checked like any other)."""
        pending = [(top, top_resolved)]
        while pending:
            node, resolved = pending.pop()
            if not node.children:
                continue
            self._check(node, who, 4, resolved, shown)
            for child in node.children.values():
                self._may_unlink(node, child, who, resolved, shown)
                if child.kind is Kind.DIRECTORY:
                    pending.append((child, resolved + self.sep() + child.name))

    @_locked
    def move(self, path: str, new_path: str, who: Account, *, directory: bool, overwrite: bool = False) -> None:
        """Renames a file or link (`directory` False) or a directory (True) to `new_path`."""
        source = self.locate(path, who, follow=False)
        node = source.node
        if node is None:
            raise not_found(path)
        if directory and node.kind is not Kind.DIRECTORY:
            raise not_a_directory(path)
        if not directory and node.kind is Kind.DIRECTORY:
            raise not_a_file(path)
        target = self.locate(new_path, who, follow=False)
        if target.node is node:
            node.name = target.name  # a rename to itself, or a change of case only (Windows)
            return
        if directory and any(n is node for n in target.chain):
            raise file_error(
                "INVALID_ARGUMENT", "move_into_itself", "The directory {0} cannot move into itself.", path, None
            )
        if directory and target.depth > source.depth:  # deeper than it was: within the tree's depth?
            self._too_deep(target.depth, 1 + self.depth_below(node), new_path)
        if target.node is not None and (directory or target.node.kind is Kind.DIRECTORY or not overwrite):
            raise already_exists(new_path)
        self._may_unlink(source.parent, node, who, self.parent_path(source.path), path)
        self._check(target.parent, who, 3 if not self.windows else 2, self.parent_path(target.path), new_path)
        if target.node is not None:
            self._may_unlink(target.parent, target.node, who, self.parent_path(target.path), new_path)
            self.used -= len(target.node.content)  # a file's bytes; a link's count for nothing
            self.entries -= 1
        del source.parent.children[source.key]
        node.name = target.name
        target.parent.children[target.key] = node
        now = self.now()
        source.parent.modified = target.parent.modified = now

    def temporary_name(self, prefix: str, suffix: str) -> str:
        """A name nobody can predict, made like the guest's tools make them: prefix, random part, suffix."""
        return f"{prefix}{secrets.token_hex(6)}{suffix}"
