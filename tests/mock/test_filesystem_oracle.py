"""A real directory is the oracle for the mock's POSIX file system.

Property: the same sequence of mkdir, writes, moves, deletes and lists, applied to the mock's
`GuestFilesystem` and to a scratch directory of this machine, (1) fails in the mock exactly when it
fails on the real directory, with the same kind of error where POSIX and the API mean the same,
(2) lists the same names, and (3) leaves the same tree: the same directories, and files with the same
bytes. Where the API deliberately differs from plain POSIX calls (a move that never replaces unless
asked, a list of a file that gives the file, an upload onto a directory that is INVALID_ARGUMENT), the
real side applies that rule of the API document before making the system call, and says so.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._filesystem import Account, GuestFilesystem, Kind

ROOT = Account("root", 0, True, "/root")
# Short paths over two names, up to two deep: sequences hit the same paths often enough to build on them
# (a test that caught rmdir of a one-entry directory needed this density).
names = st.sampled_from(["a", "b"])
paths = st.lists(names, min_size=1, max_size=2).map("/".join)
data = st.binary(max_size=64)


def _kind_of(error: OSError) -> str:
    """The vAPI error a guest operation reports for this OS error."""
    return {
        errno.ENOENT: "NOT_FOUND",
        errno.EEXIST: "ALREADY_EXISTS",
        errno.ENOTEMPTY: "RESOURCE_IN_USE",
    }.get(error.errno or 0, "INVALID_ARGUMENT")  # ENOTDIR, EISDIR, EINVAL: the path is of the wrong kind


class SameAsARealDirectory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-oracle-"))
        self.fs = GuestFilesystem(windows=False, capacity=1 << 30)
        self.fs.make_directory("/s", ROOT, mode=0o755)

    def teardown(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def real(self, path: str) -> str:
        return str(self.scratch / path)

    def both(self, mock: object, real: object) -> None:
        """Runs both sides; asserts they succeed or fail together, and fail the same way."""
        mock_error = real_error = None
        try:
            mock()  # type: ignore[operator]
        except MockError as error:
            mock_error = error.error_type
        try:
            real()  # type: ignore[operator]
        except OSError as error:
            real_error = _kind_of(error)
        assert mock_error == real_error, (mock_error, real_error)

    # -- the rules of the API document the real side applies before its system call ---------------

    def refuse_existing(self, path: str) -> None:
        if os.path.lexists(self.real(path)):
            raise FileExistsError(errno.EEXIST, "exists (the API never replaces here)")

    def refuse_directory(self, path: str) -> None:
        if os.path.isdir(self.real(path)) and not os.path.islink(self.real(path)):
            raise IsADirectoryError(errno.EISDIR, "a directory (the API takes files here)")

    # -- operations -------------------------------------------------------------------------------

    @rule(path=paths, parents=st.booleans())
    def mkdir(self, path: str, parents: bool) -> None:
        def real() -> None:
            if parents:
                self.refuse_existing(path)
                os.makedirs(self.real(path))
            else:
                os.mkdir(self.real(path))

        self.both(lambda: self.fs.make_directory("/s/" + path, ROOT, parents=parents), real)

    @rule(path=paths, content=data, overwrite=st.booleans())
    def upload(self, path: str, content: bytes, overwrite: bool) -> None:
        def real() -> None:
            self.refuse_directory(path)
            with open(self.real(path), "wb" if overwrite else "xb") as f:
                f.write(content)

        self.both(lambda: self.fs.write_file("/s/" + path, content, ROOT, overwrite=overwrite), real)

    @rule(path=paths, new_path=paths, overwrite=st.booleans())
    def move_file(self, path: str, new_path: str, overwrite: bool) -> None:
        def real() -> None:
            os.lstat(self.real(path))  # ENOENT first, as the guest checks the source first
            self.refuse_directory(path)
            if new_path != path and os.path.isdir(self.real(new_path)):
                raise FileExistsError(errno.EEXIST, "new_path is a directory")
            if not overwrite and new_path != path:
                self.refuse_existing(new_path)
            os.rename(self.real(path), self.real(new_path))

        self.both(
            lambda: self.fs.move("/s/" + path, "/s/" + new_path, ROOT, directory=False, overwrite=overwrite), real
        )

    @rule(path=paths, new_path=paths)
    def move_directory(self, path: str, new_path: str) -> None:
        def real() -> None:
            if not os.path.isdir(self.real(path)):
                os.lstat(self.real(path))
                raise NotADirectoryError(errno.ENOTDIR, "not a directory")
            if new_path != path:
                # The kernel's order: a target inside the source (once its parent resolves) is EINVAL,
                # before the API's own rule that an existing target is never replaced.
                inside = (new_path + "/").startswith(path + "/")
                if inside and os.path.isdir(os.path.dirname(self.real(new_path))):
                    raise OSError(errno.EINVAL, "into itself")
                if not inside:
                    self.refuse_existing(new_path)
            os.rename(self.real(path), self.real(new_path))

        self.both(lambda: self.fs.move("/s/" + path, "/s/" + new_path, ROOT, directory=True), real)

    @rule(path=paths)
    def delete_file(self, path: str) -> None:
        self.both(lambda: self.fs.remove_file("/s/" + path, ROOT), lambda: os.unlink(self.real(path)))

    @rule(path=paths, recursive=st.booleans())
    def delete_directory(self, path: str, recursive: bool) -> None:
        def real() -> None:
            if not recursive:
                os.rmdir(self.real(path))
                return
            if not os.path.isdir(self.real(path)):
                os.lstat(self.real(path))
                raise NotADirectoryError(errno.ENOTDIR, "not a directory")
            shutil.rmtree(self.real(path))

        self.both(lambda: self.fs.remove_directory("/s/" + path, ROOT, recursive=recursive), real)

    @rule(path=paths)
    def list_names(self, path: str) -> None:
        listed: dict[str, list[str]] = {}

        def mock() -> None:
            listed["mock"] = sorted(n.name for n in self.fs.list_directory("/s/" + path, ROOT))

        def real() -> None:
            target = self.real(path)
            listed["real"] = [os.path.basename(target)] if os.path.isfile(target) else sorted(os.listdir(target))

        self.both(mock, real)
        assert listed.get("mock") == listed.get("real")

    # -- the trees --------------------------------------------------------------------------------

    @invariant()
    def same_tree(self) -> None:
        mock: dict[str, bytes | None] = {}

        def visit(prefix: str, node: object) -> None:
            for child in node.children.values():  # type: ignore[attr-defined]
                path = f"{prefix}/{child.name}".lstrip("/")
                mock[path] = bytes(child.data) if child.kind is Kind.FILE else None
                if child.kind is Kind.DIRECTORY:
                    visit(path, child)

        visit("", self.fs.lookup("/s", ROOT)[0])
        real: dict[str, bytes | None] = {}
        for directory, dirs, files in os.walk(self.scratch):
            base = os.path.relpath(directory, self.scratch)
            for name in dirs:
                real[os.path.normpath(os.path.join(base, name))] = None
            for name in files:
                real[os.path.normpath(os.path.join(base, name))] = Path(directory, name).read_bytes()
        assert mock == real
        assert self.fs.used == sum(len(v) for v in mock.values() if v is not None), "the quota counts every byte"


SameAsARealDirectory.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_the_mock_filesystem_behaves_like_a_real_directory = SameAsARealDirectory.TestCase
