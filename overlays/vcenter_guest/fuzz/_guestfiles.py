"""The run's own guest directory: the only place a fuzz run's file operations touch on a real guest.

Before fuzzing, the run makes a directory with Directories.createTemporary (under `--guest-dir`, or
the guest's temporary directory), and in it a file (`seed.txt`, uploaded through a transfer) and a
directory (`dir`); after fuzzing it deletes the whole directory. Against a server that is not a
sandbox, the guard rewrites every guest path of a file operation to a path inside that directory
(`RunDirectory.confine`), and the data plane only ever sees the run's own transfer URLs.

Which fields are guest paths is a naming rule of the API, not a list of operations: the path
parameter `path` and the body members `path`, `new_path`, `parent_path` and `spec.path`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from vcenter_guest.operations import Operation, OperationTable

__all__ = [
    "FRESH_NAMES",
    "GUEST_PATH_FIELDS",
    "NAMES",
    "NEW_FILE",
    "RUN_DIRECTORY_PREFIX",
    "SEED_DIRECTORY",
    "SEED_FILE",
    "RunDirectory",
    "Transfer",
    "make_run_directory",
    "names_for",
    "open_transfer",
    "remove_run_directory",
    "transfer_of",
]

log = logging.getLogger("vcenter_guest.fuzz")

GUEST_PATH_FIELDS = ("path", "new_path", "parent_path")
RUN_DIRECTORY_PREFIX = "vcenter-guest-fuzz-"
SEED_FILE = "seed.txt"
SEED_DIRECTORY = "dir"
SEED_CONTENT = b"vcenter-guest fuzz seed\n"
# Files and directories made at the start for moves and deletes to use up (one success each).
SPARE_FILES = tuple(f"spare-{i}.txt" for i in range(4))
SPARE_DIRECTORIES = tuple(f"spare-dir-{i}" for i in range(4))
# Names a confined path is given: the seeds (so that reads find something), spares, and fresh ones.
NEW_FILE = "new.txt"
FRESH_FILES = (*SPARE_FILES, NEW_FILE, f"{SEED_DIRECTORY}/inner.txt")
FRESH_DIRECTORIES = (*SPARE_DIRECTORIES, "new-dir")
FRESH_NAMES = (*FRESH_FILES, *FRESH_DIRECTORIES)
NAMES = (SEED_FILE, SEED_DIRECTORY, *FRESH_NAMES)


def names_for(*, directories: bool | None, consumes: bool) -> tuple[str, ...]:
    """The names steering gives a path: of directories, of files, or either (None); without the
    seeds when the operation uses its path up (a move, a delete)."""
    if directories is None:
        return FRESH_NAMES if consumes else NAMES
    fresh = FRESH_DIRECTORIES if directories else FRESH_FILES
    return fresh if consumes else ((SEED_DIRECTORY if directories else SEED_FILE), *fresh)


# (method, path, headers, body) -> (status, body): how the harness talks to the server itself.
Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


@attrs.frozen
class RunDirectory:
    """A directory the run made in one VM's guest, and removes at the end."""

    vm: str
    path: str

    @property
    def windows(self) -> bool:
        """Whether the guest writes paths the Windows way (`C:\\...`)."""
        return len(self.path) > 1 and self.path[1] == ":"

    @property
    def sep(self) -> str:
        """The guest's separator."""
        return "\\" if self.windows else "/"

    def child(self, name: str) -> str:
        """A path inside the directory."""
        return self.path.rstrip("/\\") + self.sep + name.replace("/", self.sep)

    def _components(self, path: str) -> list[str] | None:
        base = self.path.rstrip("/\\")
        text, base_text = (
            (path.replace("\\", "/").casefold(), base.replace("\\", "/").casefold()) if self.windows else (path, base)
        )
        if not text.startswith(base_text + "/"):
            return None
        return text[len(base_text) + 1 :].split("/")

    def inside(self, path: str) -> bool:
        """Whether `path` names something strictly inside the directory (no `..`, `.`, empty or NUL part).

        Windows drops trailing dots and spaces from names, so `.. ` and `...` count as `..` there.

            >>> run = RunDirectory("vm-1", "/tmp/vcenter-guest-fuzz-ab12")
            >>> run.inside("/tmp/vcenter-guest-fuzz-ab12/x"), run.inside("/tmp/vcenter-guest-fuzz-ab12/../etc")
            (True, False)
            >>> run.inside("/tmp/vcenter-guest-fuzz-ab12"), run.inside("/tmp/vcenter-guest-fuzz-ab123/x")
            (False, False)
        """
        if "\x00" in path:
            return False
        parts = self._components(path)
        if parts is None:
            return False
        for part in parts:
            name = part.rstrip(". ") if self.windows else part
            if part in {"", ".", ".."} or (self.windows and name in {"", "."}):
                return False
        return True

    def confine(self, value: Any, share: float) -> Any:
        """`value` if it is a path inside the directory (or not a string), else a path inside it."""
        if not isinstance(value, str) or self.inside(value):
            return value
        return self.child(NAMES[int(share * len(NAMES))])


@attrs.define
class Transfer:
    """A transfer URL a Transfers.create of the run returned."""

    upload_size: int | None
    """The declared size of an upload; None for a download."""
    used: bool = False


def transfer_of(url: Any) -> tuple[str, str] | None:
    """(id, token) of a transfer URL, or None if it is not one."""
    if not isinstance(url, str):
        return None
    query = parse_qs(urlsplit(url).query)
    ids, tokens = query.get("id", []), query.get("token", [])
    return (ids[0], tokens[0]) if len(ids) == 1 and len(tokens) == 1 else None


def _post(send: Send, session: str, op: Operation, vm: str, body: dict[str, Any]) -> tuple[int, Any]:
    route = f"{op.path.replace('{vm}', vm)}?action={op.action}"
    headers = {"vmware-api-session-id": session, "Content-Type": "application/json"}
    status, content = send("POST", route, headers, json.dumps(body).encode())
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, None


def make_run_directory(
    send: Send,
    session: str,
    table: OperationTable,
    *,
    vm: str,
    credentials: dict[str, Any],
    parent: str | None,
) -> RunDirectory | None:
    """Makes the run's directory with its seeds; None (and a log line) if the guest would not."""
    make, mkdir, transfer = (
        table.get(i) for i in ("directories.create_temporary", "directories.create", "transfers.create")
    )
    if make is None or mkdir is None or transfer is None:
        return None
    body: dict[str, Any] = {"credentials": credentials, "prefix": RUN_DIRECTORY_PREFIX, "suffix": ""}
    if parent is not None:
        body["parent_path"] = parent
    status, path = _post(send, session, make, vm, body)
    if status != make.success_status or not isinstance(path, str) or not path:
        log.warning("could not make the run's guest directory in %s (status %s)", vm, status)
        return None
    run = RunDirectory(vm, path)
    for name in (SEED_DIRECTORY, *SPARE_DIRECTORIES):
        _post(send, session, mkdir, vm, {"credentials": credentials, "path": run.child(name)})
    for name in (SEED_FILE, *SPARE_FILES):
        spec = {"path": run.child(name), "attributes": {"size": len(SEED_CONTENT), "overwrite": True}}
        status, url = _post(send, session, transfer, vm, {"credentials": credentials, "spec": spec})
        if status == transfer.success_status and isinstance(url, str):
            parts = urlsplit(url)
            if parts.hostname in {"*", None}:  # the server we call; a real ESXi host is left out
                headers = {"Content-Type": "application/octet-stream"}
                send("PUT", f"{parts.path}?{parts.query}", headers, SEED_CONTENT)
    return run


def open_transfer(
    send: Send, session: str, table: OperationTable, run: RunDirectory, credentials: dict[str, Any], *, upload: bool
) -> tuple[str, int | None] | None:
    """A fresh transfer URL of the run's seed file (download) or of a small new file (upload), and its
    declared size; None if the server would not give one."""
    transfer = table.get("transfers.create")
    if transfer is None:
        return None
    if upload:
        size = len(SEED_CONTENT)
        spec: dict[str, Any] = {"path": run.child(NEW_FILE), "attributes": {"size": size, "overwrite": True}}
    else:
        spec = {"path": run.child(SEED_FILE)}
    status, url = _post(send, session, transfer, run.vm, {"credentials": credentials, "spec": spec})
    if status != transfer.success_status or not isinstance(url, str):
        return None
    return url, size if upload else None


def remove_run_directory(
    send: Send, session: str, table: OperationTable, run: RunDirectory, credentials: dict[str, Any]
) -> None:
    """Deletes the run's directory and everything in it."""
    delete = table.get("directories.delete")
    if delete is None:
        return
    status, _ = _post(send, session, delete, run.vm, {"credentials": credentials, "path": run.path, "recursive": True})
    if status != delete.success_status:
        log.warning("could not remove the run's guest directory %s in %s (status %s)", run.path, run.vm, status)
