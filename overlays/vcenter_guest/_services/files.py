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
import functools
import io
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import IO, Any, cast
from urllib.parse import quote, quote_plus, urlencode

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import CAUGHT, Call, Engine, Move, Moved, Plan
from vcenter_guest._engine.retry import tls_failure
from vcenter_guest._values import Credentials, FileInfo, FileSummary
from vcenter_guest.operations import operations
from vcenter_guest.ownership import UnprovenDirectory, claim_prefix, prove_directory

from .base import AsyncService, SyncService, driven
from .checks import check_binary_stream, check_credentials, check_flag, check_vm

__all__ = ["AsyncFiles", "Files", "FilesService"]

log = logging.getLogger("vcenter_guest")

PIECE = 1 << 20
"""Bytes read from a local source per piece of an upload."""
SPOOL_IN_MEMORY = 8 << 20
"""An upload from a stream that cannot tell its size is spooled first (Transfers.create needs the
size): in memory up to this many bytes, then on local disk."""


@functools.cache
def _generated() -> SimpleNamespace:
    from vcenter_guest_client.api.guest_file import guest_file_download, guest_file_upload  # noqa: PLC0415
    from vcenter_guest_client.api.vmguestfilesystem import transfers_create  # noqa: PLC0415
    from vcenter_guest_client.api.vmguestfilesystemdirectories import (  # noqa: PLC0415
        directories_create,
        directories_create_temporary,
        directories_delete,
        directories_move,
    )
    from vcenter_guest_client.api.vmguestfilesystemfiles import (  # noqa: PLC0415
        files_delete,
        files_get,
        files_list,
        files_move,
    )
    from vcenter_guest_client.models import (  # noqa: PLC0415
        DirectoriesCreateBody,
        DirectoriesCreateTemporaryBody,
        DirectoriesDeleteBody,
        DirectoriesMoveBody,
        FileCreationAttributes,
        FileFilterSpec,
        FileInfo,
        FileListResult,
        FilesCredentialsBody,
        FilesListBody,
        FilesMoveBody,
        IterationSpec,
        PosixFileAttributesCreateSpec,
        TransferCreateSpec,
        TransfersCreateBody,
    )
    from vcenter_guest_client.types import UNSET, File, Unset  # noqa: PLC0415

    from vcenter_guest._wire import responses  # noqa: PLC0415

    return SimpleNamespace(
        guest_file_download=guest_file_download,
        guest_file_upload=guest_file_upload,
        transfers_create=transfers_create,
        directories_create=directories_create,
        directories_create_temporary=directories_create_temporary,
        directories_delete=directories_delete,
        directories_move=directories_move,
        files_delete=files_delete,
        files_get=files_get,
        files_list=files_list,
        files_move=files_move,
        DirectoriesCreateBody=DirectoriesCreateBody,
        DirectoriesCreateTemporaryBody=DirectoriesCreateTemporaryBody,
        DirectoriesDeleteBody=DirectoriesDeleteBody,
        DirectoriesMoveBody=DirectoriesMoveBody,
        FileCreationAttributes=FileCreationAttributes,
        FileFilterSpec=FileFilterSpec,
        FileInfo=FileInfo,
        FileListResult=FileListResult,
        FilesCredentialsBody=FilesCredentialsBody,
        FilesListBody=FilesListBody,
        FilesMoveBody=FilesMoveBody,
        IterationSpec=IterationSpec,
        PosixFileAttributesCreateSpec=PosixFileAttributesCreateSpec,
        TransferCreateSpec=TransferCreateSpec,
        TransfersCreateBody=TransfersCreateBody,
        UNSET=UNSET,
        File=File,
        Unset=Unset,
        wire=responses,
    )


# --- checks ------------------------------------------------------------------------------------------


def _guest_path(path: object, what: str = "guest_path") -> str:
    if not isinstance(path, str) or not path:
        raise errors.UsageError(f"{what} must be a non-empty path in the guest, e.g. '/tmp/report.txt', got {path!r}")
    if "\0" in path:
        raise errors.UsageError(f"{what} cannot hold a NUL character")
    return path


def _umask() -> int:
    """The process's umask: read where the system shows it (Linux), else set and put back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _permissions(permissions: object) -> str | None:
    if permissions is None:
        return None
    if type(permissions) is int and 0 <= permissions <= 0o7777:
        return format(permissions, "o")
    if isinstance(permissions, str):
        digits = permissions[2:] if permissions[:2].lower() == "0o" else permissions  # '0o640' as 0o640
        if 1 <= len(digits) <= 4 and all(c in "01234567" for c in digits):
            return digits
    raise errors.UsageError(f"permissions must be an octal mode such as 0o640, '640' or '0o640', got {permissions!r}")


def _progress(progress: object) -> Callable[[int], object] | None:
    if progress is not None and not callable(progress):
        raise errors.UsageError(f"progress must be a function of the bytes moved, or None, got {progress!r}")
    return progress


def _reported(pieces: Iterator[bytes], progress: Callable[[int], object]) -> Iterator[bytes]:
    for piece in pieces:
        yield piece
        progress(len(piece))


# --- local sources and destinations --------------------------------------------------------------------


class _Source:
    """What an upload sends: bytes, a local file (by path) or a binary file object, read in pieces."""

    def __init__(self, source: object) -> None:
        self._close: Callable[[], None] = lambda: None
        self._data: memoryview | None = None
        self._file: IO[bytes] | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            self._data = memoryview(source).cast("B")
            self.size = len(self._data)
        elif isinstance(source, str | os.PathLike):
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise errors.UsageError(f"cannot read {os.fspath(source)!r}: {exc.strerror or exc}") from None
            self._file, self._close = handle, handle.close
            # A FIFO, a pipe (`<(command)` is /dev/fd/N) or a device has no size to trust: spool it.
            self.size = self._measure(sized=stat.S_ISREG(os.fstat(handle.fileno()).st_mode))
        elif callable(getattr(source, "read", None)):
            check_binary_stream(source, "source", "rb")
            self._file = cast("IO[bytes]", source)
            self.size = self._measure()
        else:
            raise errors.UsageError(
                f"source must be bytes, a local path or a binary file object, not {type(source).__name__}"
            )

    def _measure(self, *, sized: bool = True) -> int:
        """The bytes left to send. Transfers.create must know the size before anything is sent: what
        has none to trust (a pipe, a socket, a FIFO) is spooled to a temporary file first, in constant
        memory; so is what says it is empty, since /proc and /sys files say so and still have bytes
        (a file that really is empty spools nothing)."""
        file = self._file
        assert file is not None
        try:
            if sized and file.seekable():
                here = file.tell()
                end = file.seek(0, io.SEEK_END)
                file.seek(here)
                if end > here:
                    return end - here
        except (OSError, ValueError, AttributeError):
            pass
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by close()
        shutil.copyfileobj(file, spool, PIECE)
        size = spool.tell()
        spool.seek(0)
        self._file, self._close = cast("IO[bytes]", spool), spool.close
        return size

    def pieces(self) -> Iterator[bytes]:
        """The bytes, exactly `size` of them (a file that grew meanwhile is cut, one that shrank fails)."""
        if self._data is not None:
            for start in range(0, self.size, PIECE):
                yield bytes(self._data[start : start + PIECE])
            return
        assert self._file is not None
        left = self.size
        while left > 0:
            piece = self._file.read(min(PIECE, left))
            if not piece:
                raise errors.UsageError(f"the source ended {left} bytes short of the {self.size} it had")
            if not isinstance(piece, bytes | bytearray):
                raise errors.UsageError("source must be a binary file object (opened with 'rb'), not a text one")
            left -= len(piece)
            yield bytes(piece)

    def close(self) -> None:
        self._close()


class _Destination:
    """Where a download goes: a local path (written whole or not at all), a binary file object, or
    memory (None: the bytes are returned)."""

    def __init__(self, destination: object) -> None:
        self.path: str | None = None
        self._buffer: bytearray | None = None
        self._temp: str | None = None
        if destination is None:
            self._buffer = bytearray()
            self.write: Callable[[bytes], object] = self._buffer.extend
        elif isinstance(destination, str | os.PathLike):
            self.path = os.fspath(destination)
            folder = os.path.dirname(os.path.abspath(self.path))
            if os.path.isdir(self.path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise errors.UsageError(f"cannot write {self.path!r}: not a file in a writable directory")
            self.write = self._write_file
        elif callable(getattr(destination, "write", None)):
            check_binary_stream(destination, "destination", "wb")
            self.write = cast("IO[bytes]", destination).write
        else:
            raise errors.UsageError(
                f"destination must be a local path, a binary file object or None, not {type(destination).__name__}"
            )

    def _write_file(self, piece: bytes) -> None:
        # The local file is made when the first bytes arrive (a download that fails before leaves nothing).
        if self._temp is None:
            assert self.path is not None
            folder = os.path.dirname(os.path.abspath(self.path))
            fd, self._temp = tempfile.mkstemp(prefix=".vcenter-guest-", suffix=".part", dir=folder)
            self._file = os.fdopen(fd, "wb")
        self._file.write(piece)

    def finish(self) -> bytes | None:
        """Completes a successful download: the file takes its name; the bytes when kept in memory."""
        if self.path is not None:
            if self._temp is None:  # an empty file: no bytes came
                self._write_file(b"")
            assert self._temp is not None
            self._file.close()
            # mkstemp made it 600: the file gets the mode a file it replaces had, else what the
            # umask leaves of 666, as `cp` and `curl -o` would give it.
            try:
                mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except OSError:
                mode = 0o666 & ~_umask()
            os.chmod(self._temp, mode)
            os.replace(self._temp, self.path)
            self._temp = None
        return bytes(self._buffer) if self._buffer is not None else None

    def abandon(self) -> None:
        """A failed download leaves no partial file behind (a file object keeps what it got)."""
        if self._temp is not None:
            self._file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            self._temp = None


# --- reading responses ---------------------------------------------------------------------------------


def _text(raw: object) -> str:
    return cast("str", _generated().wire.text(raw))


def _parse_url(response: httpx.Response, call: Call[str]) -> str:
    return cast("str", _generated().wire.read(response, call, "a transfer URL (a JSON string)", _text))


def _parse_nothing(response: httpx.Response, call: Call[None]) -> None:
    if response.status_code != call.operation.success_status:
        raise _generated().wire.failure(response, call)


def _info(path: str) -> Callable[[Any], FileInfo]:
    def convert(raw: Any) -> FileInfo:
        g = _generated()
        wire, model = g.wire, g.FileInfo.from_dict(raw)
        attributes = model.attributes
        posix, windows = attributes.posix_attributes, attributes.win_attributes
        has_posix, has_windows = not isinstance(posix, g.Unset), not isinstance(windows, g.Unset)
        link = attributes.symlink_target
        return FileInfo(
            path=path,
            type=wire.text(model.type_.value),
            size=wire.integer(model.size),
            last_modified=wire.aware(attributes.last_modified),
            last_accessed=wire.aware(attributes.last_accessed),
            filesystem_family=wire.text(attributes.filesystem_family.value),
            symlink_target=wire.optional(link, wire.text),
            owner=wire.integer(posix.owner) if has_posix else None,
            group=wire.integer(posix.group) if has_posix else None,
            permissions=wire.text(posix.permissions) if has_posix else None,
            hidden=bool(windows.hidden) if has_windows else None,
            read_only=bool(windows.read_only) if has_windows else None,
            created=wire.aware(windows.created) if has_windows else None,
        )

    return convert


def _page(raw: Any) -> tuple[builtins.list[FileSummary], str]:
    g = _generated()
    wire, model = g.wire, g.FileListResult.from_dict(raw)
    files = [FileSummary(wire.text(f.filename), wire.text(f.type_.value), wire.integer(f.size)) for f in model.files]
    wire.integer(model.total)  # a hint only, but an answer without a valid one does not conform
    return files, wire.text(model.status.value)


class FilesService:
    """What the sync and the async files service share: the calls, and the methods as plans."""

    _client: Any  # the Client or AsyncClient (SyncService / AsyncService keep it)

    def __init__(self, client: Any) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._engine: Engine = client._engine

    # --- the calls --------------------------------------------------------------------------------------

    def _call(self, op_id: str, build: Callable[[], Any], parse: Any, vm: str, credentials: Credentials) -> Call[Any]:
        return Call(operations()[op_id], build, parse, vm=vm, credentials=credentials)

    def transfer_call(self, vm: str, credentials: Credentials, path: str, attributes: Any = None) -> Call[str]:
        """Transfers.create: a download URL, or an upload URL when `attributes` (FileCreationAttributes) are given."""
        g = _generated()
        spec = g.TransferCreateSpec(path=path, attributes=g.UNSET if attributes is None else attributes)
        body = g.TransfersCreateBody(credentials=credentials._cached_generated(), spec=spec)
        build = functools.partial(g.transfers_create.request_kwargs, vm, body=body)
        return cast("Call[str]", self._call("transfers.create", build, _parse_url, vm, credentials))

    def _creds(self, credentials: Credentials) -> Any:
        return _generated().FilesCredentialsBody(credentials=credentials._cached_generated())

    # --- the data plane -----------------------------------------------------------------------------------

    def data_url(self, url: str, method: str) -> tuple[str, str | None]:
        """The URL to send a transfer's GET or PUT to, and the host it stands for when the client's
        `esxi_hosts` reach that host at another address (else None): `*` becomes the server's host and
        port; the path and parameters are the generated operation's (guest_file.download / upload)."""
        g = _generated()
        try:
            parsed = httpx.URL(url)
            params = parsed.params
            ids, tokens = params.get_list("id"), params.get_list("token")
            if parsed.scheme not in {"http", "https"} or not parsed.host or len(ids) != 1 or len(tokens) != 1:
                raise ValueError
        except (ValueError, httpx.InvalidURL):
            raise errors.UnexpectedResponse(
                "transfers.create: the server answered a URL that is not one of /guestFile?id=...&token=...",
                reason="not a transfer URL",
                operation="transfers.create",
            ) from None
        server = httpx.URL(self._engine.server)
        if parsed.host == "*":
            parsed = parsed.copy_with(host=server.host, port=server.port)
        if server.scheme == "https" and parsed.scheme != "https":
            # The file's bytes and the URL's token would cross the network in the clear, from a
            # client that was asked to use TLS (the mock over plain HTTP hands out http:// URLs to
            # plain HTTP clients only: they are used).
            where = parsed.netloc.decode("ascii", "replace")
            raise errors.UnexpectedResponse(
                f"transfers.create: the server answered an {parsed.scheme}:// transfer URL (host {where}) to a "
                f"client that talks https:// to {self._engine.server}: a downgrade to plain HTTP, refused "
                "before anything was sent (the file and the URL's credential would cross the network "
                "unencrypted)",
                reason="a transfer URL that downgrades https to http",
                operation="transfers.create",
            )
        named: str | None = None
        address = self._client.esxi_hosts.get(parsed.host.lower())
        if address is not None:
            named = parsed.netloc.decode("ascii")
            mapped = httpx.URL(f"//{address}")
            parsed = parsed.copy_with(host=mapped.host, port=mapped.port if mapped.port is not None else parsed.port)
        if method == "GET":
            kwargs = g.guest_file_download.request_kwargs(id=ids[0], token=tokens[0])
        else:
            kwargs = g.guest_file_upload.request_kwargs(id=ids[0], token=tokens[0], body=g.File(payload=b""))
        origin = str(parsed.copy_with(path="/", query=None, fragment=None)).rstrip("/")
        return f"{origin}{kwargs['url']}?{urlencode(kwargs['params'])}", named

    def transfer(self, vm: str, path: str, move: Move, until: float | None = None) -> Plan[Moved]:
        """Performs one GET or PUT of a transfer URL; the package's error if it fails (never retried).
        `until` (the engine's clock) is when the caller's deadline ends, whose remainder is the Move's
        `limit` (say so in the message when it is what cut the transfer off)."""
        what = "download of" if move.method == "GET" else "upload to"
        url = httpx.URL(move.url)
        host = url.netloc.decode("ascii", "replace")
        if move.host is not None:
            host = f"{move.host} (reached at {host}, from esxi_hosts)"
        try:
            moved: Moved = yield move
        except CAUGHT as exc:
            if isinstance(exc, errors.VcenterGuestError):
                raise
            detail = type(exc).__name__
            tls = tls_failure(exc) if isinstance(exc, httpx.ConnectError) else None
            if tls is not None:
                # The host was reached; its certificate was refused (wrong name, or an unknown CA).
                reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or type(tls).__name__
                raise errors.RequestNotSent(
                    f"{vm}: the {what} {path} was not sent: TLS with the ESXi host {host} failed ({reason}); "
                    "its certificate must name the host as the transfer URL does, and be signed by a CA this "
                    "client trusts (ca_bundle=..., --ca-bundle)",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise errors.RequestNotSent(
                    f"{vm}: the {what} {path} could not reach the ESXi host {host} ({detail}): file transfers "
                    "go to the host that runs the VM, so its port (443) must be reachable from this machine",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            if isinstance(exc, httpx.DecodingError):
                raise self._scrubbed(
                    errors.UnexpectedResponse(
                        f"{vm}: the {what} {path} through the ESXi host {host} came back unreadable: {exc}",
                        reason=str(exc),
                        operation="transfers.create",
                    ),
                    url,
                ) from exc
            if isinstance(exc, httpx.TimeoutException):
                # PoolTimeout: the time was up before the request went out (the aiohttp transport's).
                late = errors.RequestNotSent if isinstance(exc, httpx.PoolTimeout) else errors.ResponseNotReceived
                raise late(
                    f"{vm}: the {what} {path} through the ESXi host {host} timed out: {self._time_rule(until)}; "
                    "the transfer URL may be used up, so it was not tried again",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            raise errors.ResponseNotReceived(
                f"{vm}: the {what} {path} through the ESXi host {host} failed ({detail}); "
                "the transfer URL may be used up, so it was not tried again",
                operation="transfers.create",
                vm=vm,
            ) from exc
        if 200 <= moved.status < 300:
            return moved
        raise self._scrubbed(_data_plane_error(vm, path, what, moved), url)

    def _time_rule(self, until: float | None) -> str:
        """Which bound cut a transfer off, in words."""
        if until is not None and self._engine.clock() >= until - 0.05:
            return "it did not end by the caller's deadline (run's timeout, plus the client's timeout for its output)"
        timeout = self._engine.exchange_timeout
        if timeout is None:
            return "it waited longer than the client's timeout allows"
        return f"it did not move 64 KiB within {timeout:g} s (the client's timeout), as a transfer must each time"

    def _scrubbed(self, error: errors.VcenterGuestError, url: httpx.URL) -> errors.VcenterGuestError:
        """`error` without the transfer's token: a data plane may quote it bare in its answer."""
        token = url.params.get("token") or ""
        redactor = self._engine.redactor.with_secrets([token, quote(token, safe=""), quote_plus(token)])
        _generated().wire.scrub_error(error, redactor.scrub)
        return error

    def output_until(self, timeout: float | None) -> float | None:
        """The deadline (this engine's clock) of a run's output fetch, for a program started now with
        `timeout`: the timeout, plus a grace of one client `timeout` for fetching the output (the
        transfers and the calls that make them); None when either is None. The removal of the run
        directory after that is one more call, within the client's timeout and retry policy."""
        grace = self._engine.exchange_timeout
        return None if timeout is None or grace is None else self._engine.clock() + timeout + grace

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
        g = _generated()
        try:
            posix = g.UNSET if mode is None else g.PosixFileAttributesCreateSpec(permissions=mode)
            attributes = g.FileCreationAttributes(size=source.size, overwrite=overwrite, posix=posix)
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
        return self._stat_plan(vm, credentials, path)

    def _stat_plan(self, vm: str, credentials: Credentials, path: str) -> Plan[FileInfo]:
        g = _generated()
        build = functools.partial(g.files_get.request_kwargs, vm, path, body=self._creds(credentials))

        def parse(response: httpx.Response, call: Call[FileInfo]) -> FileInfo:
            return cast("FileInfo", g.wire.read(response, call, "a FileInfo", _info(path)))

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
        g = _generated()
        found: builtins.list[FileSummary] = []
        while True:
            body = g.FilesListBody(
                credentials=credentials._cached_generated(),
                path=path,
                iteration=g.IterationSpec(index=len(found)) if found else g.UNSET,
                filter_=g.UNSET if pattern is None else g.FileFilterSpec(match_pattern=pattern),
            )
            build = functools.partial(g.files_list.request_kwargs, vm, body=body)

            def parse(response: httpx.Response, call: Call[Any]) -> Any:
                return g.wire.read(response, call, "a FileListResult", _page)

            page, status = yield from self._engine.call(self._call("files.list", build, parse, vm, credentials))
            found.extend(page)
            # READY: more is pending (the page may be short); END_OF_DATA: nothing more. `total` is a hint only.
            if status != "READY" or not page:
                return found

    @driven
    def delete(self, vm: str, credentials: Credentials, guest_path: str) -> Plan[None]:
        """Deletes the file (or symbolic link) `guest_path`; a directory is `rmdir`'s."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        g = _generated()
        build = functools.partial(g.files_delete.request_kwargs, vm, path, body=self._creds(credentials))
        return self._engine.call(self._call("files.delete", build, _parse_nothing, vm, credentials))

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
        g = _generated()
        creds = credentials._cached_generated()
        if is_directory:
            if replace:
                raise errors.UsageError("overwrite=True is for files: a directory never replaces another")
            body: Any = g.DirectoriesMoveBody(credentials=creds, path=path, new_path=target)
            build = functools.partial(g.directories_move.request_kwargs, vm, body=body)
            return self._engine.call(self._call("directories.move", build, _parse_nothing, vm, credentials))
        body = g.FilesMoveBody(credentials=creds, path=path, new_path=target, overwrite=replace)
        build = functools.partial(g.files_move.request_kwargs, vm, body=body)
        return self._engine.call(self._call("files.move", build, _parse_nothing, vm, credentials))

    @driven
    def mkdir(self, vm: str, credentials: Credentials, guest_path: str, *, parents: bool = False) -> Plan[None]:
        """Makes the directory `guest_path`; `parents=True` makes missing parents too and, as `mkdir -p`,
        accepts a directory that is there already (anything else there is still `AlreadyExists`)."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        parents = check_flag(parents, "parents")
        g = _generated()
        body = g.DirectoriesCreateBody(credentials=credentials._cached_generated(), path=path, create_parents=parents)
        build = functools.partial(g.directories_create.request_kwargs, vm, body=body)
        return self._mkdir_plan(vm, credentials, path, parents, build)

    def _mkdir_plan(
        self, vm: str, credentials: Credentials, path: str, parents: bool, build: Callable[[], Any]
    ) -> Plan[None]:
        try:
            yield from self._engine.call(self._call("directories.create", build, _parse_nothing, vm, credentials))
        except errors.AlreadyExists:
            if not parents:
                raise
            info = yield from self._stat_plan(vm, credentials, path)
            if not info.is_directory:
                raise

    @driven
    def rmdir(self, vm: str, credentials: Credentials, guest_path: str, *, recursive: bool = False) -> Plan[None]:
        """Removes the directory `guest_path`: an empty one, or with everything in it if `recursive=True`."""
        vm, credentials, path = check_vm(vm), check_credentials(credentials), _guest_path(guest_path)
        return self.rmdir_call_plan(vm, credentials, path, check_flag(recursive, "recursive"))

    def rmdir_call_plan(self, vm: str, credentials: Credentials, path: str, recursive: bool) -> Plan[None]:
        """Directories.delete (what `rmdir` and the end of a temporary directory send)."""
        g = _generated()
        body = g.DirectoriesDeleteBody(credentials=credentials._cached_generated(), path=path, recursive=recursive)
        build = functools.partial(g.directories_delete.request_kwargs, vm, body=body)
        return self._engine.call(self._call("directories.delete", build, _parse_nothing, vm, credentials))

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
        for name, value in (("prefix", prefix), ("suffix", suffix)):
            if not isinstance(value, str) or "/" in value or "\\" in value or "\0" in value:
                raise errors.UsageError(f"{name} must be a string without path separators or NUL, got {value!r}")
        where = None if parent is None else _guest_path(parent, "parent")
        return self.mkdtemp_plan(vm, credentials, prefix, suffix, where)

    def mkdtemp_plan(
        self, vm: str, credentials: Credentials, prefix: str, suffix: str, parent: str | None
    ) -> Plan[str]:
        """Directories.createTemporary (checked arguments), its answer proven the new directory asked for
        (see `vcenter_guest.ownership`): the prefix carries a fresh nonce after `prefix`."""
        g = _generated()
        claimed = claim_prefix(prefix)
        body = g.DirectoriesCreateTemporaryBody(
            credentials=credentials._cached_generated(),
            prefix=claimed,
            suffix=suffix,
            parent_path=g.UNSET if parent is None else parent,
        )
        build = functools.partial(g.directories_create_temporary.request_kwargs, vm, body=body)
        op = "directories.create_temporary"
        answer = yield from self._engine.call(self._call(op, build, _parse_url, vm, credentials))
        try:
            return prove_directory(answer, prefix=claimed, suffix=suffix, parent=parent)
        except UnprovenDirectory as exc:
            raise errors.UnexpectedResponse(
                f"{op} on {vm}: the server's answer {exc}; nothing was written into it or deleted",
                status_code=200,
                content_type="application/json",
                body=answer,
                reason=exc.why,
                operation=op,
            ) from None

    def fetch(  # noqa: PLR0917 - download's checked arguments, and the caller's deadline
        self,
        vm: str,
        credentials: Credentials,
        path: str,
        sink: Callable[[bytes], object],
        most: int | None,
        until: float | None = None,
    ) -> Plan[Moved]:
        """Downloads the guest file `path` into `sink` (at most `most` bytes): Transfers.create and one
        GET, both ended by `until` (the engine's clock; see `output_until`) if given."""
        url = yield from self._engine.call(self.transfer_call(vm, credentials, path), until)
        target, named = self.data_url(url, "GET")
        limit = None if until is None else until - self._engine.clock()
        if limit is not None and limit <= 0:
            raise errors.RequestNotSent(
                f"{vm}: the download of {path} was not sent: {self._time_rule(until)}",
                operation="transfers.create",
                vm=vm,
            )
        move = Move("GET", target, sink=sink, most=most, host=named, limit=limit)
        return (yield from self.transfer(vm, path, move, until))

    def remove_quietly(self, vm: str, credentials: Credentials, directory: str) -> Plan[None]:
        """Removes a directory the client made, with its contents; a failure is logged, not raised (it
        must not hide how the work in it ended)."""
        try:
            yield from self.rmdir_call_plan(vm, credentials, directory, recursive=True)
        except errors.VcenterGuestError as exc:
            log.warning("%s: could not remove the run directory %s: %s", vm, directory, exc)


def _data_plane_error(vm: str, path: str, what: str, moved: Moved) -> errors.VcenterGuestError:
    """The package's error for a data-plane answer that is not a success (plain text, no vAPI body)."""
    text = moved.text
    head = text.split(":", 1)[0].strip()
    fields: dict[str, Any] = {"status_code": moved.status, "operation": "transfers.create", "vm": vm}
    if moved.status == 404:
        return errors.NotFound(
            f"{vm}: the {what} {path} failed: the transfer URL is no longer valid (used, expired after 10 "
            f"minutes, or ended by a power change of the VM): {text}",
            **fields,
        )
    if moved.status == 507:
        return errors.UnableToAllocateResource(f"{vm}: the {what} {path} failed: no space left: {text}", **fields)
    if moved.status == 409 and head.isupper() and head.replace("_", "").isalpha():
        return errors.error_class(head)(f"{vm}: the {what} {path} failed: {text}", error_type=head, **fields)
    return errors.UnexpectedResponse(
        f"{vm}: the {what} {path} failed with HTTP {moved.status}: {text}",
        status_code=moved.status,
        body=text,
        reason="the data plane refused the transfer",
        operation="transfers.create",
    )


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
            self._client._drive(self.rmdir_call_plan(vm, credentials, path, recursive=True))


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
                await self._client._drive(self.rmdir_call_plan(vm, credentials, path, recursive=True))
