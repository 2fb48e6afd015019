"""Who may do what to a node of a guest's file system: POSIX permission bits and the sticky bit, or the
Windows rules the mock keeps (read-only files, each user writing under its own profile only)."""

from __future__ import annotations

from ._nodes import Account, Kind, Node, access_denied
from ._paths import GuestPaths

__all__ = ["Permissions"]


class Permissions(GuestPaths):
    """The permission checks of `GuestFilesystem`."""

    profiles: str
    """Where the Windows users' profiles are (case-folded), "" on POSIX."""

    def _bits(self, node: Node, who: Account) -> int:
        if who.uid == node.owner:
            return (node.mode >> 6) & 7
        if who.gid == node.group:
            return (node.mode >> 3) & 7
        return node.mode & 7

    def _windows_allowed(self, resolved: str, who: Account, write: bool) -> bool:
        if who.admin:
            return True
        folded = self.key(resolved)
        home = self.key(who.home.replace("/", "\\")).rstrip("\\")
        inside_home = folded == home or folded.startswith(home + "\\")
        if write:
            return inside_home
        profiles = self.profiles + "\\"
        return inside_home or not folded.startswith(profiles) or folded.count("\\") < profiles.count("\\") + 1

    def may(self, node: Node, who: Account, want: int, resolved: str) -> bool:
        """Whether `who` has the access `want` (4 read, 2 write, 1 execute/search) to `node`."""
        if self.windows:
            if want & 2 and node.read_only and node.kind is Kind.FILE and not who.admin:
                return False
            return self._windows_allowed(resolved, who, write=bool(want & 2))
        if who.admin:
            return not (want & 1 and node.kind is Kind.FILE and not node.mode & 0o111)
        return self._bits(node, who) & want == want

    def _check(self, node: Node, who: Account, want: int, resolved: str, shown: str) -> None:
        if not self.may(node, who, want, resolved):
            raise access_denied(shown)

    def _may_unlink(self, parent: Node, child: Node, who: Account, resolved: str, shown: str) -> None:
        """Removing or renaming an entry: write to its directory, and the sticky bit's rule."""
        if self.windows:
            if child.read_only and child.kind is Kind.FILE and not who.admin:
                raise access_denied(shown)
            self._check(parent, who, 2, resolved, shown)
            return
        self._check(parent, who, 3, resolved, shown)
        if parent.mode & 0o1000 and not who.admin and who.uid not in {child.owner, parent.owner}:
            raise access_denied(shown)
