"""The guest filesystem API (`com.vmware.vcenter.vm.guest.filesystem`) and its data plane (`/guestFile`).

Files and directories live in each VM's `GuestFilesystem` (`_filesystem`). A transfer is a
single-use URL, valid `TRANSFER_LIFETIME` seconds on the injectable clock and ended by a power
change of its VM; the data plane streams in both directions: an upload is read into one buffer that
becomes the file (no copy), a download sends slices of the file's bytes.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
import attrs
import regex
from dateutil.parser import isoparse
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from ._budget import NODE_OVERHEAD
from ._errors import MockError
from ._filesystem import GuestFilesystem
from ._handlers import Handler, handles, json_response
from ._inventory import GuestUser
from ._nodes import Account, Chunks, Content, Kind, Node, access_denied, already_exists, no_disk_space, not_a_file
from ._vms import Vms, VmState, account

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vcenter_guest.operations import Operation

    from ._app import MockApi

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_TRANSFERS", "TRANSFER_LIFETIME", "Filesystems", "Transfer"]

log = logging.getLogger("vcenter_guest.mock")

TRANSFER_LIFETIME = 600.0
DEFAULT_PAGE_SIZE = 50
MAX_TRANSFERS = 1024
"""Open transfers a VM keeps; past it the oldest is dropped (memory stays bounded whatever clients do)."""
CHUNK = 1 << 20
SMALL_CHUNK = 16 << 10
"""An upload's chunks shorter than this are gathered into pieces of CHUNK bytes before they are kept."""
_IDS = itertools.count(1)


@attrs.define(eq=False)
class Transfer:
    """An open transfer URL. The token is its secret: kept out of the repr."""

    id: int
    token: str = attrs.field(repr=False)
    vm_id: str
    path: str
    user: GuestUser
    expires: float
    upload: Mapping[str, Any] | None = None
    """The FileCreationAttributes of an upload; None for a download."""
    aborted: bool = False


def _invalid(message: str, text: str, *args: object) -> MockError:
    return MockError("INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem." + message, text, *args)


def _octal(text: str) -> int:
    if not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise _invalid(
            "invalid_permissions", "The permissions {0} are not octal digits as chmod takes them.", text[:16]
        )
    return int(text, 8)


def _seconds(text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        return isoparse(text).timestamp()
    except (ValueError, OverflowError):
        raise _invalid("invalid_time", "The time {0} is not an RFC 3339 date-time.", text[:64]) from None


def _check_name(part: str, field: str) -> None:
    if "/" in part or "\\" in part or "\x00" in part:
        raise _invalid("invalid_name_part", "The {0} of a temporary name cannot hold a separator.", field)


class Filesystems(Vms):
    """The simulator's guest file operations."""

    host_url: str | None = None
    """`scheme://host:port` of the listener standing for the ESXi host (`serve(esxi_host=True)`,
    `vcenter-guest mock --esxi-port`), which transfer URLs then name unless the inventory sets
    `transfer_base_url`; None: the URLs say `*`, the server the client called."""

    # -- common ---------------------------------------------------------------------------------

    def guest_files(
        self, vm_id: str, credentials: Mapping[str, Any]
    ) -> tuple[VmState, GuestUser, GuestFilesystem, Account]:
        """The ready VM, the guest user the credentials log in as, its file system and the user's account."""
        vm, user = self.guest_login(vm_id, credentials)
        return vm, user, self.filesystem(vm), account(user)

    def file_info(self, fs: GuestFilesystem, node: Node) -> dict[str, Any]:
        """`Files.Info` of a node."""
        attributes: dict[str, Any] = {
            "last_modified": self.wall_timestamp(node.modified),
            "last_accessed": self.wall_timestamp(node.accessed),
            "filesystem_family": "WINDOWS" if fs.windows else "POSIX",
        }
        if fs.windows:
            attributes["win_attributes"] = {
                "hidden": node.hidden,
                "read_only": node.read_only,
                "created": self.wall_timestamp(node.created),
            }
        else:
            attributes["posix_attributes"] = {
                "owner": node.owner,
                "group": node.group,
                "permissions": format(node.mode & 0o7777, "o"),
            }
        if node.kind is Kind.SYMLINK:
            attributes["symlink_target"] = node.target
        return {"type": node.kind.value, "size": node.size, "attributes": attributes}

    def _temp_parent(self, fs: GuestFilesystem, who: Account, parent_path: str | None) -> str:
        if parent_path is not None:
            _, resolved = fs.directory(parent_path, who)
            return resolved
        if fs.windows:
            return fs.join([*fs.split(who.home), "AppData", "Local", "Temp"])
        return "/tmp"  # noqa: S108 - the guest's temporary directory

    def _temporary(
        self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any], *, directory: bool
    ) -> str:
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            prefix, suffix = body["prefix"], body["suffix"]
            _check_name(prefix, "prefix")
            _check_name(suffix, "suffix")
            parent = self._temp_parent(fs, who, body.get("parent_path"))
            holder, _ = fs.directory(parent, who)
            if not fs.may(holder, who, 2 if fs.windows else 3, parent):
                raise access_denied(body.get("parent_path") or parent)
            for _ in range(8):
                path = fs.join([*fs.split(parent), fs.temporary_name(prefix, suffix)])
                if not fs.exists(path, who):
                    break
            if directory:
                fs.make_directory(path, who, mode=0o700)
            else:
                fs.write_file(path, b"", who, overwrite=False, mode=0o600)
            return path

    # -- files ----------------------------------------------------------------------------------

    def create_temporary_file(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> str:
        """Files.createTemporary: an empty file only its owner may read and write; its absolute path."""
        return self._temporary(vm_id, credentials, body, directory=False)

    def get_file(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Files.get of `body["path"]` (a symbolic link is described, not followed)."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            node, _ = fs.lookup(body["path"], who, follow=False)
            return self.file_info(fs, node)

    def delete_file(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Files.delete of `body["path"]`: a file or symbolic link."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            fs.remove_file(body["path"], who)

    def list_files(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Files.list: one page of a directory's entries (in creation order) whose names match the filter."""
        iteration = body.get("iteration") or {}
        size = iteration.get("size", DEFAULT_PAGE_SIZE)
        index = iteration.get("index", 0)
        if size < 1 or index < 0:
            raise _invalid("invalid_iteration", "The iteration needs a size of at least 1 and an index of at least 0.")
        pattern_text = (body.get("filter") or {}).get("match_pattern")
        try:
            pattern = regex.compile(pattern_text) if pattern_text is not None else None
        except (regex.error, OverflowError, RecursionError):
            raise _invalid("invalid_pattern", "The match pattern is not a valid regular expression.") from None
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            nodes = fs.list_directory(body["path"], who)
        if pattern is not None:  # without the lock: matching may take Budget.pattern_seconds
            nodes = self._matching(pattern, nodes)
        page = nodes[index : index + size]
        result: dict[str, Any] = {
            "files": [{"filename": n.name, "type": n.kind.value, "size": n.size} for n in page],
            "total": len(nodes),
            "status": "READY" if index + size < len(nodes) else "END_OF_DATA",
        }
        if page:
            result["start_index"] = index
            result["end_index"] = index + len(page) - 1
        return result

    def _matching(self, pattern: regex.Pattern[str], nodes: list[Node]) -> list[Node]:
        """The nodes whose names `pattern` finds a match in, within the budget's time: the
        `regex` module (PCRE's syntax, as the guest's GRegex: backreferences and lookarounds, which a
        linear-time engine such as RE2 lacks) with a time-out per name and one for the whole list.
        `concurrent=True` lets other threads run while it matches."""
        budget = self.budget
        deadline = time.monotonic() + budget.pattern_seconds
        kept = []
        try:
            for node in nodes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                timeout = min(budget.pattern_match_seconds, left)
                if pattern.search(node.name, timeout=timeout, concurrent=True):
                    kept.append(node)
        except TimeoutError:
            raise _invalid("pattern_too_slow", "The match pattern takes too long to match file names.") from None
        return kept

    def move_file(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Files.move."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            fs.move(body["path"], body["new_path"], who, directory=False, overwrite=bool(body.get("overwrite")))

    def update_file(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Files.update: times, and the attributes of the guest's family (a link's target is changed)."""
        changes = body["file_attributes"]
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            path = body["path"]
            self._check_family(fs, changes)
            node, resolved = fs.lookup(path, who)
            if node.kind is not Kind.FILE:
                raise not_a_file(path)
            if not who.admin and who.uid != node.owner:
                raise access_denied(path)
            posix = changes.get("posix") or {}
            windows = changes.get("windows") or {}
            for field in ("owner_id", "group_id"):
                if field in posix and not who.admin and posix[field] != who.uid:
                    raise access_denied(path)  # chown(2) is for the administrator
            modified = _seconds(changes.get("last_modified"), node.modified)
            accessed = _seconds(changes.get("last_accessed"), node.accessed)
            mode = _octal(posix["permissions"]) if "permissions" in posix else node.mode
            node.modified, node.accessed, node.mode = modified, accessed, mode
            node.owner = posix.get("owner_id", node.owner)
            node.group = posix.get("group_id", node.group)
            node.hidden = windows.get("hidden", node.hidden)
            node.read_only = windows.get("read_only", node.read_only)
            del resolved

    def _check_family(self, fs: GuestFilesystem, attributes: Mapping[str, Any]) -> None:
        wrong = "posix" if fs.windows else "windows"
        if attributes.get(wrong) is not None:
            raise _invalid(
                "attributes_mismatch",
                "The {0} attributes do not fit the guest's operating system.",
                wrong,
            )

    # -- directories ----------------------------------------------------------------------------

    def create_directory(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Directories.create."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            fs.make_directory(body["path"], who, parents=bool(body.get("create_parents")))

    def delete_directory(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Directories.delete."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            fs.remove_directory(body["path"], who, recursive=bool(body.get("recursive")))

    def move_directory(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Directories.move."""
        with self._lock:
            _, _, fs, who = self.guest_files(vm_id, credentials)
            fs.move(body["path"], body["new_path"], who, directory=True)

    def create_temporary_directory(self, vm_id: str, credentials: Mapping[str, Any], body: Mapping[str, Any]) -> str:
        """Directories.createTemporary: a directory only its owner may enter; its absolute path."""
        return self._temporary(vm_id, credentials, body, directory=True)

    # -- transfers ------------------------------------------------------------------------------

    def create_transfer(self, vm_id: str, credentials: Mapping[str, Any], spec: Mapping[str, Any], scheme: str) -> str:
        """Transfers.create: the URL of a download (no `attributes`) or an upload."""
        with self._lock:
            vm, user, fs, who = self.guest_files(vm_id, credentials)
            path: str = spec["path"]
            attributes = spec.get("attributes")
            if attributes is None:
                node, _ = fs.lookup(path, who, follow=False)
                if node.kind is not Kind.FILE:
                    raise not_a_file(path)
                fs.open_file(path, who)  # read permission, now
            else:
                self._check_upload(fs, who, path, attributes)
            now = self.now()
            for key in [k for k, t in vm.transfers.items() if t.expires <= now]:
                del vm.transfers[key]
            while len(vm.transfers) >= MAX_TRANSFERS:
                del vm.transfers[next(iter(vm.transfers))]
            transfer = Transfer(next(_IDS), secrets.token_urlsafe(18), vm_id, path, user, now + TRANSFER_LIFETIME)
            transfer.upload = attributes
            vm.transfers[transfer.id] = transfer
            base = self.inventory.transfer_base_url or self.host_url or f"{scheme}://*"
            return f"{base}/guestFile?id={transfer.id}&token={transfer.token}"

    def _check_upload(self, fs: GuestFilesystem, who: Account, path: str, attributes: Mapping[str, Any]) -> None:
        size = attributes["size"]
        if size < 0:
            raise _invalid("invalid_size", "The size {0} of an upload cannot be negative.", size)
        self._check_family(fs, attributes)
        posix = attributes.get("posix") or {}
        if "permissions" in posix:
            _octal(posix["permissions"])
        for field in ("owner_id", "group_id"):
            if field in posix and not who.admin and posix[field] != who.uid:
                raise access_denied(path)
        for field in ("last_modified", "last_accessed"):
            _seconds(attributes.get(field), 0.0)
        where = fs.locate(path, who)
        replaced = -NODE_OVERHEAD  # a new file costs its entry too
        if where.node is not None:
            if where.node.kind is not Kind.FILE:
                raise not_a_file(path)
            if not attributes.get("overwrite"):
                raise already_exists(path)
            if not fs.may(where.node, who, 2, where.path):
                raise access_denied(path)
            replaced = where.node.size
        elif not fs.may(where.parent, who, 2 if fs.windows else 3, fs.parent_path(where.path)):
            raise access_denied(path)
        if size - replaced > fs.free():
            raise no_disk_space(path)

    def find_transfer(self, query: bytes) -> Transfer | None:
        """The live transfer the query's id and token name, or None (never says which part was wrong)."""
        values = parse_qs(query.decode("latin-1"))
        ids, tokens = values.get("id", []), values.get("token", [])
        if len(ids) != 1 or len(tokens) != 1 or not ids[0].isdigit() or len(ids[0]) > 19:
            return None
        transfer_id, token = int(ids[0]), tokens[0]
        with self._lock:
            for vm in self._vms.values():
                transfer = vm.transfers.get(transfer_id)
                if transfer is None:
                    continue
                if not hmac.compare_digest(transfer.token.encode(), token.encode("utf-8", "replace")):
                    return None
                if transfer.expires <= self.now() or transfer.aborted:
                    del vm.transfers[transfer_id]
                    return None
                return transfer
        return None

    def use_transfer(self, transfer: Transfer) -> None:
        """The transfer served its one successful request: its URL is dead."""
        with self._lock:
            vm = self._vms.get(transfer.vm_id)
            if vm is not None:
                vm.transfers.pop(transfer.id, None)

    def download_node(self, transfer: Transfer) -> Node:
        """The file a download transfer names, read now (it may have changed since the transfer was made)."""
        with self._lock:
            vm = self.find_vm(transfer.vm_id)
            fs = self.filesystem(vm)
            who = account(transfer.user)
            node, _ = fs.lookup(transfer.path, who, follow=False)
            if node.kind is not Kind.FILE:
                raise not_a_file(transfer.path)
            return fs.open_file(transfer.path, who)

    def reserve_upload(self, transfer: Transfer, size: int) -> GuestFilesystem:
        """Keeps `size` bytes of the guest's quota for an upload about to arrive (NO_DISK_SPACE if they do
        not fit): the bodies of uploads under way are held in memory, so they count, and concurrent
        uploads cannot hold more than the quota. `finish_upload` or `release` gives them back."""
        with self._lock:
            fs = self.filesystem(self.find_vm(transfer.vm_id))
            fs.reserve(size, transfer.path)
            return fs

    def finish_upload(self, transfer: Transfer, data: Content, reserved: GuestFilesystem | None = None) -> None:
        """Writes an upload's bytes (the chunks become the file's) with the attributes the transfer
        declared; the space `reserve_upload` kept for them (on `reserved`) is given back first."""
        attributes = transfer.upload or {}
        with self._lock:
            if reserved is not None:
                reserved.release(len(data))
            vm = self.find_vm(transfer.vm_id)
            fs = self.filesystem(vm)
            who = account(transfer.user)
            where = fs.locate(transfer.path, who)
            if where.node is not None and not attributes.get("overwrite"):
                raise already_exists(transfer.path)
            now = self.wall()
            posix = attributes.get("posix") or {}
            windows = attributes.get("windows") or {}
            node = Node(
                Kind.FILE,
                where.name,
                owner=posix.get("owner_id", who.uid),
                group=posix.get("group_id", who.gid),
                mode=_octal(posix["permissions"]) if "permissions" in posix else 0o644,
                modified=_seconds(attributes.get("last_modified"), now),
                accessed=_seconds(attributes.get("last_accessed"), now),
                created=now,
                hidden=bool(windows.get("hidden")),
                read_only=bool(windows.get("read_only")),
            )
            fs.replace_file(transfer.path, data, who, node)
            log.debug("uploaded %d bytes to %s in %s", len(data), transfer.path, transfer.vm_id)


# --- the HTTP side -----------------------------------------------------------------------------------


async def _credentials_call(
    api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> dict[str, Any]:
    body, _ = await api.guest_call(op, params, scope, receive)
    return body


@handles("transfers.create")
async def create_transfer(
    api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Transfers.create: the transfer URL (with the scheme of this call)."""
    body = await _credentials_call(api, op, params, scope, receive)
    url = api.simulator.create_transfer(params["vm"], body["credentials"], body["spec"], scope.get("scheme", "http"))
    return json_response(url, op.success_status)


def _answering(method: str) -> Handler:
    """The handler of a file operation: the simulator's `method`(vm, credentials, request), where the
    request is the body with the path parameters besides `vm` (Files.get's `path`); its result is the
    answer's JSON, or no body (204) when it returns None."""

    async def handler(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
        body = await _credentials_call(api, op, params, scope, receive)
        request = {**body, **{k: v for k, v in params.items() if k != "vm"}}
        run = getattr(api.simulator, method)
        if method in _IN_A_THREAD and (body.get("filter") or {}).get("match_pattern") is not None:
            result = await anyio.to_thread.run_sync(run, params["vm"], body["credentials"], request, limiter=api.runs)
        else:
            result = run(params["vm"], body["credentials"], request)
        return Response(status_code=op.success_status) if result is None else json_response(result, op.success_status)

    handler.__doc__ = f"Answers with Filesystems.{method}."
    return handler


_IN_A_THREAD = frozenset({"list_files"})
"""Methods that may take long without the simulator's lock (a pattern to match): off the event loop
when they have a pattern."""

# operationId -> the Filesystems method that simulates it.
for _operation_id, _method in {
    "files.create_temporary": "create_temporary_file",
    "files.get": "get_file",
    "files.delete": "delete_file",
    "files.list": "list_files",
    "files.move": "move_file",
    "files.update": "update_file",
    "directories.create": "create_directory",
    "directories.delete": "delete_directory",
    "directories.move": "move_directory",
    "directories.create_temporary": "create_temporary_directory",
}.items():
    handles(_operation_id)(_answering(_method))


def _plain(status: int, text: str) -> Response:
    return PlainTextResponse(text + "\n", status)


_GONE = "No transfer has this id and token (never created, already used, expired, or ended by a power change)."


@handles("guest_file.download")
async def download(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """GET /guestFile: the file's bytes, streamed in slices of the file (no copy)."""
    simulator = api.simulator
    transfer = simulator.find_transfer(scope.get("query_string", b""))
    if transfer is None:
        return _plain(404, _GONE)
    if transfer.upload is not None:
        return _plain(400, "This transfer is an upload: send PUT.")
    try:
        node = simulator.download_node(transfer)
    except MockError as error:
        return _plain(404, f"The file of this transfer is gone: {error.text}")
    simulator.use_transfer(transfer)
    pieces = node.pieces(CHUNK)  # the bytes as they are now: a later write gives the file new ones

    async def chunks() -> AsyncIterator[bytes | memoryview]:
        for piece in pieces:
            if transfer.aborted:
                raise ConnectionAbortedError("the transfer was ended by a power change of its virtual machine")
            yield memoryview(piece) if isinstance(piece, bytearray) else piece

    return StreamingResponse(
        chunks(), op.success_status, {"Content-Length": str(node.size)}, media_type="application/octet-stream"
    )


class _Body:
    """An upload's body as it arrives: its chunks kept as they are, a trickling client's tiny ones
    gathered into pieces of CHUNK bytes (else one object, and its overhead, per few bytes)."""

    def __init__(self) -> None:
        self.parts: list[bytes | bytearray] = []
        self.small = bytearray()
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if len(chunk) >= SMALL_CHUNK:
            self._flush()
            self.parts.append(chunk)
        elif chunk:
            self.small += chunk
            if len(self.small) >= CHUNK:
                self._flush()

    def _flush(self) -> None:
        if self.small:
            self.parts.append(bytes(self.small))
            self.small.clear()

    def content(self) -> Chunks:
        self._flush()
        return Chunks(self.parts, self.size)


@handles("guest_file.upload")
async def upload(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:  # noqa: PLR0911 - one answer per way an upload fails
    """PUT /guestFile: exactly the declared number of bytes, kept as the chunks they arrive in (which
    become the file: nothing is zero-filled or copied), small ones gathered into pieces of CHUNK."""
    simulator = api.simulator
    transfer = simulator.find_transfer(scope.get("query_string", b""))
    if transfer is None:
        return _plain(404, _GONE)
    if transfer.upload is None:
        return _plain(400, "This transfer is a download: send GET.")
    size: int = transfer.upload["size"]
    reserved: GuestFilesystem | None
    try:
        reserved = simulator.reserve_upload(transfer, size)  # before a byte is read
    except MockError as error:
        return _upload_refused(error)
    try:
        body = _Body()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _plain(400, "The client went away before the body was complete.")
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            if body.size + len(chunk) > size:
                return _plain(400, f"The body is longer than the {size} bytes the transfer declared.")
            body.add(chunk)
            if transfer.aborted:
                return _plain(404, _GONE)
        if body.size != size:
            return _plain(400, f"The body has {body.size} bytes; the transfer declared {size}.")
        try:
            simulator.finish_upload(transfer, body.content(), reserved)
        except MockError as error:
            return _upload_refused(error)
        finally:
            reserved = None  # finish_upload gave the space back
    finally:
        if reserved is not None:
            reserved.release(size)
    simulator.use_transfer(transfer)
    return Response(status_code=op.success_status)


def _upload_refused(error: MockError) -> Response:
    if error.error_type == "UNABLE_TO_ALLOCATE_RESOURCE":
        return _plain(507, f"NO_DISK_SPACE: {error.text}")
    return _plain(409, f"{error.error_type}: {error.text}")
