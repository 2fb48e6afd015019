"""The files and directories services (`com.vmware.vcenter.vm.guest.filesystem.files`, `.directories`):
reading, listing, moving, changing and deleting the guest's files and directories, and making
temporary ones. Files and directories live in each VM's `GuestFilesystem` (`_filesystem`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
import regex
from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.mock._attributes import check_family, invalid, octal, seconds
from vcenter_guest.mock._filesystem import GuestFilesystem
from vcenter_guest.mock._handlers import Api, Handler, handles, json_response, part
from vcenter_guest.mock._nodes import Account, Kind, Node, access_denied, not_a_file
from vcenter_guest.mock._vms import Vms
from vcenter_guest.operations import Operation

__all__ = ["DEFAULT_PAGE_SIZE", "Filesystems"]

DEFAULT_PAGE_SIZE = 50


def _check_name(part: str, field: str) -> None:
    if "/" in part or "\\" in part or "\x00" in part:
        raise invalid("invalid_name_part", "The {0} of a temporary name cannot hold a separator.", field)


@part
class Filesystems(Vms):
    """The simulator's guest file operations."""

    host_url: str | None = None
    """`scheme://host:port` of the listener standing for the ESXi host (`serve(esxi_host=True)`,
    `vcenter-guest mock --esxi-port`), which transfer URLs then name unless the inventory sets
    `transfer_base_url`; None: the URLs name the address the call reached the mock at."""

    # -- common ---------------------------------------------------------------------------------

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
            raise invalid("invalid_iteration", "The iteration needs a size of at least 1 and an index of at least 0.")
        pattern_text = (body.get("filter") or {}).get("match_pattern")
        try:
            pattern = regex.compile(pattern_text) if pattern_text is not None else None
        except (regex.error, OverflowError, RecursionError):
            raise invalid("invalid_pattern", "The match pattern is not a valid regular expression.") from None
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
            raise invalid("pattern_too_slow", "The match pattern takes too long to match file names.") from None
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
            check_family(fs, changes)
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
            modified = seconds(changes.get("last_modified"), node.modified)
            accessed = seconds(changes.get("last_accessed"), node.accessed)
            mode = octal(posix["permissions"]) if "permissions" in posix else node.mode
            node.modified, node.accessed, node.mode = modified, accessed, mode
            node.owner = posix.get("owner_id", node.owner)
            node.group = posix.get("group_id", node.group)
            node.hidden = windows.get("hidden", node.hidden)
            node.read_only = windows.get("read_only", node.read_only)
            del resolved

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


async def _credentials_call(
    api: Api[Filesystems], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> dict[str, Any]:
    body, _ = await api.guest_call(op, params, scope, receive)
    return body


def _answering(method: str) -> Handler:
    """The handler of a file operation: the simulator's `method`(vm, credentials, request), where the
    request is the body with the path parameters besides `vm` (Files.get's `path`); its result is the
    answer's JSON, or no body (204) when it returns None."""

    async def handler(
        api: Api[Filesystems], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
    ) -> Response:
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
