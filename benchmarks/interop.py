"""VMware's official SDK works the mock's guest filesystem: the interoperability check of `nox -s bench`.

The SDK (`vmware-vcenter` 9.1.1.0, switched to `/api` as `_sdk` does) creates a temporary file,
uploads to it through a transfer URL, downloads it, lists its directory, gets it, moves it and
deletes it, against a mock vCenter on loopback; every answer is checked. Its known defects are
worked around, not hidden: in `/api` mode it raises an operation's first declared error class
whatever the error, so errors are compared by `error_type`; its `VM.list` drops the filter, so the
filter is checked with the generated client (in the tests), not here.

    python -m benchmarks --only interop
"""

from __future__ import annotations

import secrets
from typing import Any

import requests
from com.vmware.vapi.std.errors_client import Error
from com.vmware.vcenter.vm.guest.filesystem_client import Files, Transfers
from com.vmware.vcenter.vm.guest_client import Credentials
from vmware.vapi.bindings.stub import StubConfiguration
from vmware.vapi.lib.connect import get_requests_connector

from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER, vm_ids
from ._sdk import sdk_session, use_api_format
from ._server import BenchError, MockServer

__all__ = ["run"]


def _host_of(url: str, base_url: str) -> str:
    """The transfer URL with `*` ("the server you called") replaced by the server's host and port."""
    return url.replace("://*", "://" + base_url.split("://", 1)[1], 1)


def run(server: MockServer) -> dict[str, Any]:
    """The SDK's round trip through Files and Transfers; what it did (BenchError if anything was wrong)."""
    base = server.base_url
    http, _ = sdk_session(base, API_USER, API_PASSWORD)
    connector = get_requests_connector(session=http, msg_protocol="rest", url=base + "/api")
    files = use_api_format(Files(StubConfiguration(connector)))
    transfers = use_api_format(Transfers(StubConfiguration(connector)))
    creds = Credentials(
        interactive_session=False,
        type=Credentials.Type.USERNAME_PASSWORD,
        user_name=GUEST_USER,
        password=GUEST_PASSWORD,
    )
    vm = vm_ids(1)[0]
    steps: list[str] = []
    try:
        path = files.create_temporary(vm, creds, "sdk-", ".bin")
        if not isinstance(path, str) or not path.startswith("/tmp/sdk-"):  # noqa: S108 - a guest path
            raise BenchError(f"Files.create_temporary returned {path!r}")
        steps.append("create_temporary")
        data = secrets.token_bytes(64 * 1024)
        spec = Transfers.CreateSpec(
            path=path, attributes=Transfers.FileCreationAttributes(size=len(data), overwrite=True)
        )
        put = requests.put(_host_of(transfers.create(vm, creds, spec), base), data=data, timeout=30)
        if put.status_code != 200:
            raise BenchError(f"the upload answered {put.status_code}: {put.text[:200]}")
        steps.append("upload")
        got = requests.get(_host_of(transfers.create(vm, creds, Transfers.CreateSpec(path=path)), base), timeout=30)
        if got.content != data:
            raise BenchError("the download gave other bytes than the upload sent")
        steps.append("download")
        listing = files.list(vm, creds, "/tmp", filter=Files.FilterSpec(match_pattern=r"^sdk-"))  # noqa: S108
        if path.rsplit("/", 1)[1] not in [f.filename for f in listing.files]:
            raise BenchError(f"Files.list did not show {path}: {listing}")
        steps.append("list")
        info = files.get(vm, creds, path)
        if info.type != Files.Type.FILE or info.size != len(data):
            raise BenchError(f"Files.get described the file as {info}")
        steps.append("get")
        moved = path + ".moved"
        files.move(vm, creds, path, moved)
        steps.append("move")
        files.delete(vm, creds, moved)
        steps.append("delete")
        try:
            files.get(vm, creds, moved)
        except Error as error:  # the SDK's class may be wrong (its known defect): the error_type is right
            if str(getattr(error, "error_type", "")) != "NOT_FOUND":
                raise BenchError(f"Files.get of a deleted file raised error_type {error.error_type}") from None
        else:
            raise BenchError("Files.get of a deleted file succeeded")
        steps.append("get after delete: NOT_FOUND")
    finally:
        http.close()
    return {"steps": steps, "bytes": len(data), "ok": True}
