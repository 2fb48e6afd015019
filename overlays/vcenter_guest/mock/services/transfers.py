"""The transfers service (`com.vmware.vcenter.vm.guest.filesystem.transfers`) and its data plane
(`/guestFile`, served by the ESXi host): a transfer is a single-use URL, valid `TRANSFER_LIFETIME`
seconds on the injectable clock and ended by a power change of its VM; the data plane streams in
both directions: an upload is read into one buffer that becomes the file (no copy), a download
sends slices of the file's bytes. Its statuses are the ones the document's `/guestFile` responses
give, each for the reasons their `x-vcenter-guest-reasons` name.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope

from vcenter_guest.mock._attributes import check_family, invalid, octal, seconds
from vcenter_guest.mock._budget import NODE_OVERHEAD
from vcenter_guest.mock._document import reason_statuses
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._filesystem import GuestFilesystem
from vcenter_guest.mock._handlers import Api, UnhandledOperation, handles, json_response, part
from vcenter_guest.mock._nodes import (
    Account,
    Chunks,
    Content,
    Kind,
    Node,
    access_denied,
    already_exists,
    no_disk_space,
    not_a_file,
)
from vcenter_guest.mock._state import Transfer, account
from vcenter_guest.mock._vms import Vms
from vcenter_guest.operations import Operation

__all__ = ["MAX_TRANSFERS", "TRANSFER_LIFETIME", "Transfers"]

log = logging.getLogger("vcenter_guest.mock")

TRANSFER_LIFETIME = 600.0
MAX_TRANSFERS = 1024
"""Open transfers a VM keeps; past it the oldest is dropped (memory stays bounded whatever clients do)."""
CHUNK = 1 << 20
SMALL_CHUNK = 16 << 10
"""An upload's chunks shorter than this are gathered into pieces of CHUNK bytes before they are kept."""
_IDS = itertools.count(1)


@part
class Transfers(Vms):
    # -- transfers ------------------------------------------------------------------------------

    def create_transfer(
        self, vm_id: str, credentials: Mapping[str, Any], spec: Mapping[str, Any], scheme: str, host: str | None = None
    ) -> str:
        """Transfers.create: the URL of a download (no `attributes`) or an upload, naming the inventory's
        `transfer_base_url` if it sets one (`https://*` asks for VMware's "the server you called"), else
        the ESXi host's listener if there is one, else `host` (the address the call reached the mock at,
        as a vCenter names a host it can be reached at), else `*`."""
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
            base = self.inventory.transfer_base_url or self.host_url or f"{scheme}://{host or '*'}"
            return f"{base}/guestFile?id={transfer.id}&token={transfer.token}"

    def _check_upload(self, fs: GuestFilesystem, who: Account, path: str, attributes: Mapping[str, Any]) -> None:
        size = attributes["size"]
        if size < 0:
            raise invalid("invalid_size", "The size {0} of an upload cannot be negative.", size)
        check_family(fs, attributes)
        posix = attributes.get("posix") or {}
        if "permissions" in posix:
            octal(posix["permissions"])
        for field in ("owner_id", "group_id"):
            if field in posix and not who.admin and posix[field] != who.uid:
                raise access_denied(path)
        for field in ("last_modified", "last_accessed"):
            seconds(attributes.get(field), 0.0)
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
                mode=octal(posix["permissions"]) if "permissions" in posix else 0o644,
                modified=seconds(attributes.get("last_modified"), now),
                accessed=seconds(attributes.get("last_accessed"), now),
                created=now,
                hidden=bool(windows.get("hidden")),
                read_only=bool(windows.get("read_only")),
            )
            fs.replace_file(transfer.path, data, who, node)
            log.debug("uploaded %d bytes to %s in %s", len(data), transfer.path, transfer.vm_id)


@handles("transfers.create")
async def create_transfer(
    api: Api[Transfers], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Transfers.create: the transfer URL (with the scheme and the address of this call)."""
    body, _ = await api.guest_call(op, params, scope, receive)
    scheme = scope.get("scheme", "http")
    url = api.simulator.create_transfer(
        params["vm"], body["credentials"], body["spec"], scheme, reached_at(api.header(scope, b"host"), scope)
    )
    return json_response(url, op.success_status)


# A Host header as RFC 9110 allows it here: a name or IPv4 address, or a bracketed IPv6 one, and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def reached_at(host_header: str | None, scope: Scope) -> str | None:
    """`host[:port]` the client reached the mock at: its Host header when well formed, else the listening
    socket's address, else None (then the URL says `*`)."""
    if host_header is not None and _HOST.fullmatch(host_header):
        return host_header
    server = scope.get("server")
    if server and server[1] is not None:
        address = str(server[0])
        return f"[{address}]:{server[1]}" if ":" in address else f"{address}:{server[1]}"
    return None


class _Refused(Exception):
    """The data plane refuses a request: `reason` is one of the document's `x-vcenter-guest-reasons`."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason, self.text = reason, text


def _refusal(op: Operation, refused: _Refused) -> Response:
    """The plain-text answer of a refusal, with the status the document gives its reason."""
    status = reason_statuses(op.id).get(refused.reason)
    if status is None:
        raise UnhandledOperation(
            f"{op.id}: the API document gives no status for {refused.reason} (x-vcenter-guest-reasons)"
        )
    return PlainTextResponse(refused.text + "\n", status)


_GONE = "No transfer has this id and token (never created, already used, expired, or ended by a power change)."


def _transfer(api: Api[Transfers], scope: Scope, *, upload: bool) -> Transfer:
    """The live transfer the URL names, of the kind this method serves."""
    transfer = api.simulator.find_transfer(scope.get("query_string", b""))
    if transfer is None:
        raise _Refused("gone", _GONE)
    if (transfer.upload is not None) != upload:
        kind, send = ("an upload", "PUT") if transfer.upload is not None else ("a download", "GET")
        raise _Refused("wrong-transfer", f"This transfer is {kind}: send {send}.")
    return transfer


@handles("guest_file.download")
async def download(
    api: Api[Transfers], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """GET /guestFile: the file's bytes, streamed in slices of the file (no copy)."""
    try:
        transfer = _transfer(api, scope, upload=False)
        try:
            node = api.simulator.download_node(transfer)
        except MockError as error:
            raise _Refused("gone", f"The file of this transfer is gone: {error.text}") from None
    except _Refused as refused:
        return _refusal(op, refused)
    api.simulator.use_transfer(transfer)
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


async def _read_upload(transfer: Transfer, size: int, receive: Receive) -> Chunks:
    """Exactly the `size` bytes the transfer declared, as they arrive; refused when the body is not that
    long or the transfer ends meanwhile."""
    body = _Body()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused("body-length", "The client went away before the body was complete.")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        if body.size + len(chunk) > size:
            raise _Refused("body-length", f"The body is longer than the {size} bytes the transfer declared.")
        body.add(chunk)
        if transfer.aborted:
            raise _Refused("gone", _GONE)
    if body.size != size:
        raise _Refused("body-length", f"The body has {body.size} bytes; the transfer declared {size}.")
    return body.content()


def _upload_refused(error: MockError) -> _Refused:
    if error.error_type == "UNABLE_TO_ALLOCATE_RESOURCE":
        return _Refused("no-space", f"NO_DISK_SPACE: {error.text}")
    return _Refused("conflict", f"{error.error_type}: {error.text}")


@handles("guest_file.upload")
async def upload(
    api: Api[Transfers], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """PUT /guestFile: exactly the declared number of bytes, kept as the chunks they arrive in (which
    become the file: nothing is zero-filled or copied), small ones gathered into pieces of CHUNK."""
    simulator = api.simulator
    try:
        transfer = _transfer(api, scope, upload=True)
        size: int = (transfer.upload or {})["size"]
        try:
            reserved: GuestFilesystem | None = simulator.reserve_upload(transfer, size)  # before a byte is read
        except MockError as error:
            raise _upload_refused(error) from None
        try:
            content = await _read_upload(transfer, size, receive)
            try:
                simulator.finish_upload(transfer, content, reserved)
            except MockError as error:
                raise _upload_refused(error) from None
            finally:
                reserved = None  # finish_upload gave the space back
        finally:
            if reserved is not None:
                reserved.release(size)
    except _Refused as refused:
        return _refusal(op, refused)
    simulator.use_transfer(transfer)
    return Response(status_code=op.success_status)
