"""The guest filesystem service (`vc.files`): upload and download through transfer URLs, and the
file and directory operations, written once for both clients (see `base`).

A transfer is two exchanges: Transfers.create (at vCenter, retried by the engine like any call)
returns a single-use URL of the ESXi host's `/guestFile`, and one GET or PUT of it (a `Move` effect,
never retried: the URL may be used up). A URL whose host is `*` means "the server you called": the
client puts its server's host and port there. The URL's token is a credential: no message, log or
repr shows it (errors name the host only, and a data plane's error that quotes the token has it
removed). A client that talks https:// to vCenter refuses an http:// transfer URL (a downgrade).

What a transfer may cost: its body is decoded piece by piece, stacked content codings included,
and capped after decoding (`max_bytes`, run's `max_output_bytes`); it must move 64 KiB within every
client `timeout` (a server that trickles cannot hold it: see _clients/deadline.Pace), and `run`'s
output fetch must end by the run's deadline besides (`output_until`).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from vcenter_guest import errors
from vcenter_guest._engine import Engine, Move, Plan
from vcenter_guest._values import Credentials
from vcenter_guest.ownership import UnprovenPath, claim_prefix, prove_directory, prove_file

from .answers import no_content, reader
from .base import AsyncService, ServiceClient, SyncService, driven
from .checks import check_credentials, check_flag, check_vm
from .local import _Destination, _guest_path, _permissions, _progress, _reported, _Source
from .transfers import TransferPlans, _parse_url

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import FileInfo, FileSummary

__all__ = ["AsyncFiles", "Files", "FilesService"]

log = logging.getLogger("vcenter_guest")


# --- reading responses ---------------------------------------------------------------------------------


def _info(path: str) -> Callable[[Any], FileInfo]:
    def convert(raw: Any) -> FileInfo:
        from vcenter_guest_client import models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import Unset  # noqa: PLC0415

        from vcenter_guest._values.files import FileInfo  # noqa: PLC0415 - loaded on the first answer
        from vcenter_guest._wire import responses as wire  # noqa: PLC0415

        model = models.FileInfo.from_dict(raw)
        attributes = model.attributes
        posix = None if isinstance(attributes.posix_attributes, Unset) else attributes.posix_attributes
        windows = None if isinstance(attributes.win_attributes, Unset) else attributes.win_attributes
        link = attributes.symlink_target
        return FileInfo(
            path=path,
            type=wire.text(model.type_.value),
            size=wire.integer(model.size),
            last_modified=wire.aware(attributes.last_modified),
            last_accessed=wire.aware(attributes.last_accessed),
            filesystem_family=wire.text(attributes.filesystem_family.value),
            symlink_target=wire.optional(link, wire.text),
            owner=None if posix is None else wire.integer(posix.owner),
            group=None if posix is None else wire.integer(posix.group),
            permissions=None if posix is None else wire.text(posix.permissions),
            hidden=None if windows is None else bool(windows.hidden),
            read_only=None if windows is None else bool(windows.read_only),
            created=None if windows is None else wire.aware(windows.created),
        )

    return convert


def _page(raw: Any) -> tuple[builtins.list[FileSummary], str]:
    from vcenter_guest_client import models  # noqa: PLC0415 - the operation index and models, loaded on first use

    from vcenter_guest._values.files import FileSummary  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = models.FileListResult.from_dict(raw)
    files = [FileSummary(wire.text(f.filename), wire.text(f.type_.value), wire.integer(f.size)) for f in model.files]
    wire.integer(model.total)  # a hint only, but an answer without a valid one does not conform
    return files, wire.text(model.status.value)


class FilesService(TransferPlans):
    """What the sync and the async files service share: the calls, and the methods as plans."""

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._owner = client
        self._engine: Engine = client.engine

    def _creds(self, credentials: Credentials) -> Any:
        from vcenter_guest_client import models  # noqa: PLC0415 - the operation index and models, loaded on first use

        return models.FilesCredentialsBody(credentials=credentials._cached_generated())

    # --- the methods users call ---------------------------------------------------------------------------

    @driven
    def upload(
        self,
        vm: str,
        credentials: Credentials,
        source: bytes | str | os.PathLike[str] | IO[bytes],
        guest_path: str,
        *,
        overwrite: bool = False,
        permissions: int | str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Plan[int]:
        """Writes `source` (bytes, a local path, or a binary file object, streamed) to `guest_path`; returns
        the bytes written. An existing file is replaced only with `overwrite=True`; `permissions` (POSIX,
        e.g. 0o755) is the new file's mode; `progress(n)` is called as each n bytes are sent.

        Example::

            vc.files.upload("vm-42", creds, "build/app.tar.gz", "/tmp/app.tar.gz", overwrite=True)
        """
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        mode, replace = _permissions(permissions), check_flag(overwrite, "overwrite")
        counted = _progress(progress)
        return self._upload(vm, credentials, _Source(source), path, overwrite=replace, mode=mode, progress=counted)

    def upload_plan(
        self, vm: str, credentials: Credentials, source: object, path: str, *, mode: str | None
    ) -> Plan[int]:
        """An upload that never replaces a file (the run directory's script); the source is opened now
        (run_script calls this from inside its own plan, once the run directory exists). `mode`: its
        POSIX permissions (None on Windows guests, which take no POSIX attributes)."""
        return self._upload(vm, credentials, _Source(source), path, overwrite=False, mode=mode)

    def _upload(
        self,
        vm: str,
        credentials: Credentials,
        source: _Source,
        path: str,
        *,
        overwrite: bool,
        mode: str | None,
        progress: Callable[[int], object] | None = None,
    ) -> Plan[int]:
        from vcenter_guest_client import models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        try:
            posix = UNSET if mode is None else models.PosixFileAttributesCreateSpec(permissions=mode)
            attributes = models.FileCreationAttributes(size=source.size, overwrite=overwrite, posix=posix)
            url = yield from self._engine.call(self.transfer_call(vm, credentials, path, attributes))
            target, named = self.data_url(url, "PUT")
            pieces = source.pieces() if progress is None else _reported(source.pieces(), progress)
            put = Move("PUT", target, source=pieces, size=source.size, host=named)
            yield from self.transfer(vm, path, put)
            return source.size
        finally:
            source.close()

    @driven
    def download(
        self,
        vm: str,
        credentials: Credentials,
        guest_path: str,
        destination: str | os.PathLike[str] | IO[bytes] | None = None,
        *,
        max_bytes: int | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Plan[Any]:
        """Reads the guest file `guest_path` into `destination`: a local path (written whole, or not at
        all), a binary file object (streamed), or None (the bytes are returned). Returns the number of
        bytes written, or the bytes. `max_bytes` refuses a larger file (errors.UsageError) before it is
        all read; `progress(n)` is called as each n bytes arrive.

        Example::

            vc.files.download("vm-42", creds, "/var/log/app.log", "app.log")
            text = vc.files.download("vm-42", creds, "/etc/os-release").decode()
        """
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        if max_bytes is not None and (type(max_bytes) is not int or max_bytes < 0):
            raise errors.UsageError(f"max_bytes must be a non-negative int or None, got {max_bytes!r}")
        counted = _progress(progress)
        return self._download(vm, credentials, path, _Destination(destination), max_bytes, counted)

    def _download(  # noqa: PLR0917 - download's checked arguments
        self,
        vm: str,
        credentials: Credentials,
        path: str,
        destination: _Destination,
        most: int | None,
        progress: Callable[[int], object] | None,
    ) -> Plan[Any]:
        write = destination.write
        if progress is not None:

            def write(piece: bytes) -> None:
                destination.write(piece)
                progress(len(piece))

        done = False
        try:
            moved = yield from self.fetch(vm, credentials, path, write, most)
            if moved.truncated:
                raise errors.UsageError(f"{vm}: {path} is larger than max_bytes={most}; it was not kept")
            kept = destination.finish()
            done = True
            return moved.size if kept is None else kept
        finally:
            if not done:
                destination.abandon()

    @driven
    def stat(self, vm: str, credentials: Credentials, guest_path: str) -> Plan[FileInfo]:
        """What `guest_path` is (a symbolic link is described, not followed): type, size, times, owner and mode."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        return self.stat_plan(vm, credentials, path)

    def stat_plan(self, vm: str, credentials: Credentials, path: str) -> Plan[FileInfo]:
        """Files.get of a checked path (what `stat` and a captured run's proof of its directory send)."""
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index and models, loaded on first use

        build = functools.partial(api.files_get.request_kwargs, vm, path, body=self._creds(credentials))
        parse = reader("a FileInfo", _info(path))
        return self._engine.call(self._call("files.get", build, parse, vm, credentials))

    @driven
    def list(self, vm: str, credentials: Credentials, guest_path: str, *, pattern: str | None = None) -> Plan[Any]:
        """Every entry of the directory `guest_path` (all pages), or the file itself; `pattern` keeps the
        names a Perl-compatible regular expression matches."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        if pattern is not None and not isinstance(pattern, str):
            raise errors.UsageError(f"pattern must be a regular expression (str) or None, got {pattern!r}")
        return self._list(vm, credentials, path, pattern)

    def _list(self, vm: str, credentials: Credentials, path: str, pattern: str | None) -> Plan[Any]:
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        found: builtins.list[FileSummary] = []
        while True:
            body = models.FilesListBody(
                credentials=credentials._cached_generated(),
                path=path,
                iteration=models.IterationSpec(index=len(found)) if found else UNSET,
                filter_=UNSET if pattern is None else models.FileFilterSpec(match_pattern=pattern),
            )
            build = functools.partial(api.files_list.request_kwargs, vm, body=body)
            call = self._call("files.list", build, reader("a FileListResult", _page), vm, credentials)
            page, status = yield from self._engine.call(call)
            found.extend(page)
            # READY: more is pending (the page may be short); END_OF_DATA: nothing more. `total` is a hint only.
            if status != "READY" or not page:
                return found

    @driven
    def delete(self, vm: str, credentials: Credentials, guest_path: str) -> Plan[None]:
        """Deletes the file (or symbolic link) `guest_path`; a directory is `rmdir`'s."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index and models, loaded on first use

        build = functools.partial(api.files_delete.request_kwargs, vm, path, body=self._creds(credentials))
        return self._engine.call(self._call("files.delete", build, no_content, vm, credentials))

    @driven
    def move(
        self,
        vm: str,
        credentials: Credentials,
        guest_path: str,
        new_path: str,
        *,
        overwrite: bool = False,
        directory: bool = False,
    ) -> Plan[None]:
        """Moves or renames the file `guest_path` to `new_path` (replacing a file there only with
        `overwrite=True`); `directory=True` moves a directory instead."""
        vm, credentials = check_vm(vm), check_credentials(credentials)
        path, target = _guest_path(guest_path), _guest_path(new_path, "new_path")
        replace, is_directory = check_flag(overwrite, "overwrite"), check_flag(directory, "directory")
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use

        creds = credentials._cached_generated()
        if is_directory:
            if replace:
                raise errors.UsageError("overwrite=True is for files: a directory never replaces another")
            body: Any = models.DirectoriesMoveBody(credentials=creds, path=path, new_path=target)
            build = functools.partial(api.directories_move.request_kwargs, vm, body=body)
            return self._engine.call(self._call("directories.move", build, no_content, vm, credentials))
        body = models.FilesMoveBody(credentials=creds, path=path, new_path=target, overwrite=replace)
        build = functools.partial(api.files_move.request_kwargs, vm, body=body)
        return self._engine.call(self._call("files.move", build, no_content, vm, credentials))

    @driven
    def mkdir(self, vm: str, credentials: Credentials, guest_path: str, *, parents: bool = False) -> Plan[None]:
        """Makes the directory `guest_path`; `parents=True` makes missing parents too and, as `mkdir -p`,
        accepts a directory that is there already (anything else there is still `AlreadyExists`)."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        parents = check_flag(parents, "parents")
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use

        body = models.DirectoriesCreateBody(
            credentials=credentials._cached_generated(), path=path, create_parents=parents
        )
        build = functools.partial(api.directories_create.request_kwargs, vm, body=body)
        return self._mkdir_plan(vm, credentials, path, parents, build)

    def _mkdir_plan(
        self, vm: str, credentials: Credentials, path: str, parents: bool, build: Callable[[], Any]
    ) -> Plan[None]:
        try:
            yield from self._engine.call(self._call("directories.create", build, no_content, vm, credentials))
        except errors.AlreadyExists:
            if not parents:
                raise
            info = yield from self.stat_plan(vm, credentials, path)
            if not info.is_directory:
                raise

    @driven
    def rmdir(self, vm: str, credentials: Credentials, guest_path: str, *, recursive: bool = False) -> Plan[None]:
        """Removes the directory `guest_path`: an empty one, or with everything in it if `recursive=True`."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        return self.rmdir_call_plan(vm, credentials, path, check_flag(recursive, "recursive"))

    def rmdir_call_plan(self, vm: str, credentials: Credentials, path: str, recursive: bool) -> Plan[None]:
        """Directories.delete (what `rmdir` and the end of a temporary directory send)."""
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use

        body = models.DirectoriesDeleteBody(credentials=credentials._cached_generated(), path=path, recursive=recursive)
        build = functools.partial(api.directories_delete.request_kwargs, vm, body=body)
        return self._engine.call(self._call("directories.delete", build, no_content, vm, credentials))

    @driven
    def mkdtemp(
        self,
        vm: str,
        credentials: Credentials,
        *,
        prefix: str = "vcenter-guest-",
        suffix: str = "",
        parent: str | None = None,
    ) -> Plan[str]:
        """Makes a new directory with a name nobody could predict (`prefix`, a random nonce, what the guest
        adds, `suffix`), readable by this guest user only, in the guest's temporary directory (or
        `parent`); returns its path. An answer that is not provably that new directory (`/tmp` itself,
        another parent, `..`) is errors.UnexpectedResponse, and nothing is done in it. See
        `temporary_directory`."""
        vm, credentials = check_vm(vm), check_credentials(credentials)
        where = _temporary_name(prefix, suffix, parent)
        return self.mkdtemp_plan(vm, credentials, prefix, suffix, where)

    def mkdtemp_plan(
        self, vm: str, credentials: Credentials, prefix: str, suffix: str, parent: str | None
    ) -> Plan[str]:
        """Directories.createTemporary (checked arguments), its answer proven the new directory asked for."""
        return self._temporary_plan("directories.create_temporary", vm, credentials, prefix, suffix, parent)

    @driven
    def mkstemp(
        self,
        vm: str,
        credentials: Credentials,
        *,
        prefix: str = "vcenter-guest-",
        suffix: str = "",
        parent: str | None = None,
    ) -> Plan[str]:
        """Makes a new empty file with a name nobody could predict (`prefix`, a random nonce, what the
        guest adds, `suffix`), readable and writable by this guest user only, in the guest's temporary
        directory (or `parent`); returns its path (Files.createTemporary). An answer that is not provably
        that new file (`/tmp` itself, another parent, `..`) is errors.UnexpectedResponse. See `mkdtemp`."""
        vm, credentials = check_vm(vm), check_credentials(credentials)
        where = _temporary_name(prefix, suffix, parent)
        return self._temporary_plan("files.create_temporary", vm, credentials, prefix, suffix, where)

    def _temporary_plan(  # noqa: PLR0917 - the operation and mkstemp's or mkdtemp's checked arguments
        self, op: str, vm: str, credentials: Credentials, prefix: str, suffix: str, parent: str | None
    ) -> Plan[str]:
        """Files.createTemporary or Directories.createTemporary, its answer proven the new file or
        directory asked for (see `vcenter_guest.ownership`): the prefix carries a fresh nonce after `prefix`."""
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        claimed = claim_prefix(prefix)
        fields: dict[str, Any] = {
            "credentials": credentials._cached_generated(),
            "prefix": claimed,
            "suffix": suffix,
            "parent_path": UNSET if parent is None else parent,
        }
        if op == "files.create_temporary":
            build = functools.partial(
                api.files_create_temporary.request_kwargs, vm, body=models.FilesCreateTemporaryBody(**fields)
            )
            prove = prove_file
        else:
            body = models.DirectoriesCreateTemporaryBody(**fields)
            build = functools.partial(api.directories_create_temporary.request_kwargs, vm, body=body)
            prove = prove_directory
        answer = yield from self._engine.call(self._call(op, build, _parse_url, vm, credentials))
        try:
            return prove(answer, prefix=claimed, suffix=suffix, parent=parent)
        except UnprovenPath as exc:
            raise errors.UnexpectedResponse(
                f"{op} on {vm}: the server's answer {exc}; nothing was written into it or deleted",
                status_code=200,
                content_type="application/json",
                body=answer,
                reason=exc.why,
                operation=op,
            ) from None

    @driven
    def update(
        self,
        vm: str,
        credentials: Credentials,
        guest_path: str,
        *,
        permissions: int | str | None = None,
        owner: int | None = None,
        group: int | None = None,
        hidden: bool | None = None,
        read_only: bool | None = None,
        last_modified: datetime.datetime | None = None,
        last_accessed: datetime.datetime | None = None,
    ) -> Plan[None]:
        """Changes the attributes of the file `guest_path` (Files.update); those left None stay as they
        are. POSIX guests: `permissions` (e.g. 0o640), `owner` and `group` (ids; changing them is for an
        administrator, as chown(2)); Windows guests: `hidden`, `read_only`; both: `last_modified` and
        `last_accessed` (timezone-aware datetimes)."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        mode = _permissions(permissions)
        owner_id, group_id = _id(owner, "owner", "a user id"), _id(group, "group", "a group id")
        is_hidden, is_read_only = _maybe_flag(hidden, "hidden"), _maybe_flag(read_only, "read_only")
        modified, accessed = _when(last_modified, "last_modified"), _when(last_accessed, "last_accessed")
        posix = (mode, owner_id, group_id) != (None, None, None)
        windows = (is_hidden, is_read_only) != (None, None)
        if posix and windows:
            raise errors.UsageError(
                "POSIX attributes (permissions, owner, group) and Windows attributes (hidden, read_only) "
                "cannot be changed together: a guest has one filesystem family"
            )
        if not posix and not windows and modified is None and accessed is None:
            raise errors.UsageError(
                "update needs at least one attribute to change: permissions, owner, group, hidden, read_only, "
                "last_modified or last_accessed"
            )
        spec = models.FileAttributesUpdateSpec(
            last_modified=UNSET if modified is None else modified,
            last_accessed=UNSET if accessed is None else accessed,
            posix=models.PosixFileAttributesUpdateSpec(
                permissions=UNSET if mode is None else mode,
                owner_id=UNSET if owner_id is None else owner_id,
                group_id=UNSET if group_id is None else group_id,
            )
            if posix
            else UNSET,
            windows=models.WindowsFileAttributesUpdateSpec(
                hidden=UNSET if is_hidden is None else is_hidden,
                read_only=UNSET if is_read_only is None else is_read_only,
            )
            if windows
            else UNSET,
        )
        body = models.FilesUpdateBody(credentials=credentials._cached_generated(), path=path, file_attributes=spec)
        build = functools.partial(api.files_update.request_kwargs, vm, body=body)
        return self._engine.call(self._call("files.update", build, no_content, vm, credentials))

    def remove_quietly(self, vm: str, credentials: Credentials, directory: str) -> Plan[None]:
        """Removes a directory the client made, with its contents; a failure is logged, not raised (it
        must not hide how the work in it ended)."""
        try:
            yield from self.rmdir_call_plan(vm, credentials, directory, recursive=True)
        except errors.VcenterGuestError as exc:
            log.warning("%s: could not remove the run directory %s: %s", vm, directory, exc)


def _temporary_name(prefix: object, suffix: object, parent: object) -> str | None:
    """mkstemp's and mkdtemp's checked `prefix` and `suffix`; their `parent`, checked."""
    for name, value in (("prefix", prefix), ("suffix", suffix)):
        if not isinstance(value, str) or "/" in value or "\\" in value or "\0" in value:
            raise errors.UsageError(f"{name} must be a string without path separators or NUL, got {value!r}")
    return None if parent is None else _guest_path(parent, "parent")


def _id(value: object, name: str, what: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 2**32:
        raise errors.UsageError(f"{name} must be {what} (an int from 0 to 2**32 - 1) or None, got {value!r}")
    return value


def _maybe_flag(value: object, name: str) -> bool | None:
    return None if value is None else check_flag(value, name)


def _when(value: object, name: str) -> datetime.datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime.datetime) or value.utcoffset() is None:
        raise errors.UsageError(f"{name} must be a timezone-aware datetime or None, got {value!r}")
    return value


class Files(FilesService, SyncService):
    """The guest filesystem service (`vc.files`): upload, download, stat, list, delete, move, mkdir,
    rmdir, and temporary directories.

    Example::

        vc.files.upload("vm-42", creds, b"hello\\n", "/tmp/hello.txt")
        assert vc.files.download("vm-42", creds, "/tmp/hello.txt") == b"hello\\n"
        with vc.files.temporary_directory("vm-42", creds) as tmp:
            vc.files.upload("vm-42", creds, "setup.sh", f"{tmp}/setup.sh")
    """

    @contextlib.contextmanager
    def temporary_directory(self, vm: str, credentials: Credentials, **options: Any) -> Iterator[str]:
        """A new private directory (see `mkdtemp`), removed with its contents when the block ends, however it ends."""
        path = self.mkdtemp(vm, credentials, **options)
        try:
            yield path
        finally:
            self._client.drive(self.rmdir_call_plan(vm, credentials, path, recursive=True))


class AsyncFiles(FilesService, AsyncService):
    """The guest filesystem service of an AsyncClient (`vc.files`): the methods of `Files`, awaited.

    Example::

        async with vc.files.temporary_directory("vm-42", creds) as tmp:
            await vc.files.upload("vm-42", creds, b"data", f"{tmp}/data.bin")
    """

    @contextlib.asynccontextmanager
    async def temporary_directory(self, vm: str, credentials: Credentials, **options: Any) -> AsyncIterator[str]:
        """A new private directory (see `mkdtemp`), removed with its contents when the block ends, however it
        ends (a cancelled task included: the removal is shielded from the cancellation)."""
        path = await self.mkdtemp(vm, credentials, **options)
        try:
            yield path
        finally:
            import anyio  # noqa: PLC0415

            with anyio.CancelScope(shield=True):
                await self._client.drive(self.rmdir_call_plan(vm, credentials, path, recursive=True))
