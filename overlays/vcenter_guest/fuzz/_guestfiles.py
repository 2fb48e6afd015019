"""The run's own guest directory: the only place a fuzz run's file operations touch on a real guest.

Before fuzzing, the run asks Directories.createTemporary for a new directory (under `--guest-dir`,
or the guest's temporary directory) with a prefix carrying a fresh random nonce, and adopts the
answer only once it is proven: a normalised absolute path whose last component carries that
prefix, directly inside the parent asked for (`vcenter_guest.ownership.prove_directory`), and
empty when listed. Anything else is a server failure (`NoRunDirectory` carries it): the run sends
no file operation at all. In a proven directory it makes a file (`seed.txt`, uploaded through a
transfer) and directories (`dir`...); at the end it lists the directory, every level of it, and
deletes it recursively only if everything in it has a name the run gives what it makes
(`is_run_name`); otherwise it deletes nothing and reports what it found.

Against a server that is not a sandbox, the guard rewrites every guest path of a file operation to
a path inside that directory made of the run's names (`RunDirectory.confine`), and the data plane
only ever sees the run's own transfer URLs. Which fields are guest paths is a naming rule of the
API, not a list of operations: the path parameter `path` and the body members `path`, `new_path`,
`parent_path` (at any depth: `spec.path` too).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from vcenter_guest.operations import Operation, OperationTable
from vcenter_guest.ownership import UnprovenDirectory, claim_prefix, prove_directory

__all__ = [
    "FRESH_NAMES",
    "GUEST_PATH_FIELDS",
    "NAMES",
    "NEW_FILE",
    "RUN_DIRECTORY_PREFIX",
    "SEED_DIRECTORY",
    "SEED_FILE",
    "TEMPORARY_PREFIX",
    "NoRunDirectory",
    "RunDirectory",
    "ServerFault",
    "Transfer",
    "is_run_name",
    "make_run_directory",
    "moved_name",
    "names_for",
    "open_transfer",
    "remove_run_directory",
    "served_by_the_server",
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
# What a temporary file or directory made in the run's directory is named with (the guard gives every
# createTemporary of a run this prefix), and a move's new name.
TEMPORARY_PREFIX = "fuzz-tmp-"
_MOVED = re.compile(r"moved-\d+")
_COMPONENTS = frozenset(part for name in NAMES for part in name.split("/"))

# Bounds of a listing: entries in all, levels of directories (a server's answer is input).
_PAGE = 50
_MOST_ENTRIES = 2000
_MOST_DEPTH = 16
_MOST_PAGES = 2 * _MOST_ENTRIES // _PAGE
_KINDS = frozenset({"FILE", "DIRECTORY", "SYMLINK"})


def names_for(*, directories: bool | None, consumes: bool) -> tuple[str, ...]:
    """The names steering gives a path: of directories, of files, or either (None); without the
    seeds when the operation uses its path up (a move, a delete)."""
    if directories is None:
        return FRESH_NAMES if consumes else NAMES
    fresh = FRESH_DIRECTORIES if directories else FRESH_FILES
    return fresh if consumes else ((SEED_DIRECTORY if directories else SEED_FILE), *fresh)


def moved_name(share: float) -> str:
    """The new name a move is steered to."""
    return f"moved-{int(share * 1e9)}"


def is_run_name(name: str, *, windows: bool) -> bool:
    """Whether `name` (one component) is a name the run gives what it makes: a seed's, a fresh one,
    a move's new name, or a temporary name made with `TEMPORARY_PREFIX`.

        >>> is_run_name("seed.txt", windows=False), is_run_name("moved-42", windows=False)
        (True, True)
        >>> is_run_name("fuzz-tmp-Xa1.log", windows=False), is_run_name("precious.txt", windows=False)
        (True, False)
    """
    if windows:  # Windows compares names without case and drops trailing dots and spaces
        name = name.rstrip(". ").casefold()
        return (
            name in {n.casefold() for n in _COMPONENTS}
            or bool(_MOVED.fullmatch(name))
            or (name.startswith(TEMPORARY_PREFIX))
        )
    return name in _COMPONENTS or bool(_MOVED.fullmatch(name)) or name.startswith(TEMPORARY_PREFIX)


# (method, path, headers, body) -> (status, body): how the harness talks to the server itself.
Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


@attrs.frozen
class RunDirectory:
    """A directory the run proved its own in one VM's guest, and removes at the end."""

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

    def owns(self, path: str) -> bool:
        """Whether `path` is inside the directory and made of names the run gives what it makes (so
        that the final listing finds nothing the run cannot account for).

            >>> run = RunDirectory("vm-1", "/tmp/vcenter-guest-fuzz-ab12")
            >>> run.owns("/tmp/vcenter-guest-fuzz-ab12/dir/inner.txt"), run.owns("/tmp/vcenter-guest-fuzz-ab12/x")
            (True, False)
        """
        parts = self._components(path) if self.inside(path) else None
        return parts is not None and all(is_run_name(part, windows=self.windows) for part in parts)

    def confine(self, value: Any, share: float) -> Any:
        """`value` if it is a path the directory owns (or not a string), else a path inside it."""
        if not isinstance(value, str) or self.owns(value):
            return value
        return self.child(NAMES[int(share * len(NAMES))])


@attrs.frozen
class ServerFault:
    """An answer of the server that breaks the API's facts about the run's own directory: a failure
    of the run, with the request that got it (its credentials are filtered when shown)."""

    check: str
    operation: str
    status: int | None
    title: str
    message: str
    method: str
    route: str
    body: dict[str, Any] = attrs.field(repr=False)


class NoRunDirectory(Exception):
    """The run has no guest directory of its own (`fault`: because the server broke the API's facts)."""

    def __init__(self, why: str, fault: ServerFault | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.fault = fault


class _Unlisted(Exception):
    """A directory whose entries could not be read for sure."""


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


def _route(op: Operation, vm: str) -> str:
    return f"{op.path.replace('{vm}', vm)}?action={op.action}"


def _post(send: Send, session: str, op: Operation, vm: str, body: dict[str, Any]) -> tuple[int, Any]:
    headers = {"vmware-api-session-id": session, "Content-Type": "application/json"}
    status, content = send("POST", _route(op, vm), headers, json.dumps(body).encode())
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, None


def _entries(answer: Any) -> tuple[list[tuple[str, str]], bool]:
    """(name, type) of each entry of one Files.list page, and whether more pages follow."""
    files = answer.get("files") if isinstance(answer, dict) else None
    status = answer.get("status") if isinstance(answer, dict) else None
    if not isinstance(files, list) or status not in {"READY", "END_OF_DATA"}:
        raise _Unlisted("its answer is not a Files.ListResult")
    found: list[tuple[str, str]] = []
    for entry in files:
        name = entry.get("filename") if isinstance(entry, dict) else None
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or any(c in name for c in "/\\\x00") or kind not in _KINDS:
            raise _Unlisted(f"an entry is not a plain name and type: {str(entry)[:80]!r}")
        if name not in {".", ".."}:  # what some guests list for the directory itself and its parent
            found.append((name, str(kind)))
    return found, status == "READY" and bool(files)


def _list(
    send: Send, session: str, table: OperationTable, credentials: dict[str, Any], *, vm: str, path: str
) -> list[tuple[str, str]]:
    """(name, type) of every entry of the directory `path`, page by page, at most `_MOST_ENTRIES`."""
    listing = table.get("files.list")
    if listing is None:
        raise _Unlisted("the API document has no files.list")
    found: list[tuple[str, str]] = []
    more, index, pages = True, 0, 0
    while more:
        pages += 1
        if pages > _MOST_PAGES:
            raise _Unlisted(f"its listing did not end within {_MOST_PAGES} pages")
        iteration = {"size": _PAGE, "index": index}
        status, answer = _post(
            send, session, listing, vm, {"credentials": credentials, "path": path, "iteration": iteration}
        )
        if status != listing.success_status:
            raise _Unlisted(f"Files.list answered {status}")
        page, more = _entries(answer)
        found += page
        index += len(page) or 1
        if len(found) > _MOST_ENTRIES:
            raise _Unlisted(f"it holds more than {_MOST_ENTRIES} entries")
    return found


def _fault(
    check: str, op: Operation, *, vm: str, body: dict[str, Any], status: int | None, title: str, message: str
) -> ServerFault:
    return ServerFault(check, op.label, status, title, message, "POST", _route(op, vm), body)


_SKIPPED = "The run's file operations were skipped (not sent), and it deleted nothing."


def make_run_directory(
    send: Send,
    session: str,
    table: OperationTable,
    *,
    vm: str,
    credentials: dict[str, Any],
    parent: str | None,
    server: str | None = None,
) -> RunDirectory:
    """Makes the run's directory, proves it new and empty, and makes its seeds; NoRunDirectory if not.
    `server` is the base URL the run calls (a transfer URL naming it is the server's own)."""
    make, mkdir, transfer = (
        table.get(i) for i in ("directories.create_temporary", "directories.create", "transfers.create")
    )
    if make is None or mkdir is None or transfer is None or table.get("files.list") is None:
        raise NoRunDirectory("the API document lacks an operation the run's directory needs")
    prefix = claim_prefix(RUN_DIRECTORY_PREFIX)
    body: dict[str, Any] = {"credentials": credentials, "prefix": prefix, "suffix": ""}
    if parent is not None:
        body["parent_path"] = parent
    where = f"in {parent!r}" if parent is not None else "in the guest's temporary directory"
    status, answer = _post(send, session, make, vm, body)
    if status != make.success_status:
        raise NoRunDirectory(f"Directories.createTemporary answered {status} in {vm}")
    asked = f"Asked for a new directory named {prefix}... {where}, the server answered"

    def not_new(summary: str, title: str, answered: str) -> NoRunDirectory:
        message = f"{asked} {answered} {_SKIPPED}"
        fault = _fault("run_directory_is_new", make, vm=vm, body=body, status=status, title=title, message=message)
        return NoRunDirectory(summary, fault)

    try:
        path = prove_directory(answer, prefix=prefix, parent=parent)
    except UnprovenDirectory as exc:
        raise not_new(
            str(exc),
            f"Directories.createTemporary: {exc}",
            f"{str(answer)[:200]!r}: {exc.why}. A server that hands out an existing directory "
            "breaks the API's facts (createTemporary makes a new one).",
        ) from None
    why = _not_empty(send, session, table, credentials, vm=vm, path=path)
    if why:
        raise not_new(
            f"the server's answer {path!r} is not a new, empty directory: {why}",
            f"Directories.createTemporary answered {path!r}, which is not a new, empty directory",
            f"{path!r}, but {why}. A directory createTemporary makes is new, and empty.",
        )
    run = RunDirectory(vm, path)
    _make_seeds(send, session, run, credentials, mkdir=mkdir, transfer=transfer, server=server)
    return run


def _not_empty(
    send: Send, session: str, table: OperationTable, credentials: dict[str, Any], *, vm: str, path: str
) -> str:
    """Why the directory at `path` is not new and empty (it could not be listed, or holds entries); "" if it is."""
    try:
        entries = _list(send, session, table, credentials, vm=vm, path=path)
    except _Unlisted as exc:
        return f"it could not be listed ({exc})"
    if entries:
        return "it is not empty: it holds " + ", ".join(repr(name) for name, _ in entries[:10])
    return ""


def _make_seeds(
    send: Send,
    session: str,
    run: RunDirectory,
    credentials: dict[str, Any],
    *,
    mkdir: Operation,
    transfer: Operation,
    server: str | None = None,
) -> None:
    """The seed and spare directories and files in the run's directory (a file's bytes only when its
    transfer URL names the server called; a real ESXi host is left out)."""
    vm = run.vm
    for name in (SEED_DIRECTORY, *SPARE_DIRECTORIES):
        _post(send, session, mkdir, vm, {"credentials": credentials, "path": run.child(name)})
    for name in (SEED_FILE, *SPARE_FILES):
        spec = {"path": run.child(name), "attributes": {"size": len(SEED_CONTENT), "overwrite": True}}
        status, url = _post(send, session, transfer, vm, {"credentials": credentials, "spec": spec})
        if status == transfer.success_status and isinstance(url, str):
            parts = urlsplit(url)
            if served_by_the_server(url, server):  # a real ESXi host is left out
                headers = {"Content-Type": "application/octet-stream"}
                send("PUT", f"{parts.path}?{parts.query}", headers, SEED_CONTENT)


def served_by_the_server(url: str, server: str | None) -> bool:
    """Whether a transfer URL is served where the run calls: `*` (the host the client called, as an
    ESXi host answers), no host, or the very host and port of `server` (the base URL the run calls)."""
    parts = urlsplit(url)
    called = server is not None and parts.netloc.lower() == urlsplit(server).netloc.lower()
    return parts.hostname in {"*", None} or called


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


def _strangers(
    send: Send, session: str, table: OperationTable, run: RunDirectory, credentials: dict[str, Any]
) -> list[str]:
    """The entries under the run's directory (relative paths) whose names the run never gives, or that
    are symbolic links (the run makes none); every level is listed, within `_MOST_ENTRIES` and `_MOST_DEPTH`."""
    strangers: list[str] = []
    pending: list[tuple[str, int]] = [("", 0)]
    seen = 0
    while pending:
        relative, depth = pending.pop()
        where = run.child(relative) if relative else run.path
        for name, kind in _list(send, session, table, credentials, vm=run.vm, path=where):
            here = f"{relative}/{name}" if relative else name
            seen += 1
            if seen > _MOST_ENTRIES:
                raise _Unlisted(f"it holds more than {_MOST_ENTRIES} entries")
            if kind == "SYMLINK" or not is_run_name(name, windows=run.windows):
                strangers.append(here)
            elif kind == "DIRECTORY":
                if depth >= _MOST_DEPTH:
                    raise _Unlisted(f"it is more than {_MOST_DEPTH} levels deep")
                pending.append((here, depth + 1))
    return strangers


def remove_run_directory(
    send: Send, session: str, table: OperationTable, run: RunDirectory, credentials: dict[str, Any]
) -> ServerFault | None:
    """Lists the run's directory and deletes it with everything in it if all of it is the run's; else
    deletes nothing (a directory it cannot list only goes if empty) and returns the fault to report."""
    delete, listing = table.get("directories.delete"), table.get("files.list")
    if delete is None or listing is None:
        return None
    body = {"credentials": credentials, "path": run.path}

    def kept(title: str, message: str) -> ServerFault:
        fault = "run_directory_holds_only_the_runs_files"
        return _fault(fault, listing, vm=run.vm, body=body, status=None, title=title, message=message)

    try:
        strangers = _strangers(send, session, table, run, credentials)
    except _Unlisted as exc:
        # Unseen contents are never deleted: a delete that is not recursive only removes an empty directory.
        status, _ = _post(send, session, delete, run.vm, {**body, "recursive": False})
        gone = "it was removed as an empty directory" if status == delete.success_status else "it is left in place"
        return kept(
            f"The run's directory {run.path!r} could not be listed before its removal: {exc}",
            f"The run lists its directory before it deletes it, to delete nothing it did not make; {exc}. "
            f"So it was not deleted recursively, only as an empty directory would be: {gone} in {run.vm}.",
        )
    if strangers:
        shown = ", ".join(repr(s) for s in strangers[:10]) + (" ..." if len(strangers) > 10 else "")
        return kept(
            f"The run's directory {run.path!r} holds {len(strangers)} "
            f"entr{'y' if len(strangers) == 1 else 'ies'} the run did not make",
            f"Listed before its removal, the run's directory holds what the run did not make: {shown}. "
            f"Nothing in it was deleted: {run.path!r} is left in place in {run.vm}, for its owner to look at.",
        )
    status, _ = _post(send, session, delete, run.vm, {**body, "recursive": True})
    if status != delete.success_status:
        log.warning("could not remove the run's guest directory %s in %s (status %s)", run.path, run.vm, status)
    return None
