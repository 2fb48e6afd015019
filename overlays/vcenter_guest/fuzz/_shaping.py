"""Shaping generated cases: reaching the interesting states, and never breaking the safety rules.

Two layers:

* `steer` (a schemathesis `map_case` hook, per schema): makes a share of the *positive* guest calls
  use the known-good guest credentials, an allowed program and a plausible spec, and points some
  get/delete calls at processes the run started, so that creates succeed and stateful chains get
  going. Negative cases are left alone: they explore the error paths.
* `guard` (a `before_call` hook, which schemathesis only offers globally): the last step before
  any request of a run leaves, including the coverage phase's and the checks' probes. It enforces
  `SAFETY_RULES` whatever generated the case (against a sandbox, only the program rule, and only
  without `any_program`). It is default-deny: the rule for a case comes from its operation's
  `x-vcenter-guest-effect` in the document (`RULES`), and a case of an operation whose effect has no
  rule is refused (`Refused`), never sent, unless the target is a sandbox. The runner leaves such
  operations out of the run in the first place (`unguarded`).

Choices come from `stable_share` of the case's own content, so a shaped case is reproducible.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import quote, unquote

import schemathesis
from schemathesis import GenerationMode

from vcenter_guest.operations import Effect, Operation, OperationTable

from ._guestfiles import GUEST_PATH_FIELDS, NEW_FILE, SEED_FILE, TEMPORARY_PREFIX, RunDirectory, moved_name, names_for
from ._state import NO_SUCH_PID, RunState, operation_of, stable_share, state_of

__all__ = [
    "FILE_EFFECTS",
    "HTTP_TOKEN",
    "PLAUSIBLE_ARGUMENTS",
    "PROBE_METHODS",
    "RULES",
    "SHELL_INERT",
    "UNSTARTABLE_PATHS",
    "Refused",
    "guard",
    "install_guard",
    "not_a_path",
    "shell_inert",
    "steer",
    "unguarded",
]

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
PLAUSIBLE_ARGUMENTS = ("", "1", "30")
# Program paths that start nothing on any guest, so even a run on real VMs may send them: empty,
# relative (Linux and Windows alike), and a root directory of each family. A server that crashes on
# them is caught without --any-program.
UNSTARTABLE_PATHS = ("", "bin/true", "/", "C:\\")
# Share of steered creates that send one of them instead of a named program.
UNSTARTABLE_SHARE = 0.1
FILE_EFFECTS = frozenset(
    {
        Effect.READS_GUEST_FILES,
        Effect.CREATES_GUEST_FILES,
        Effect.OPENS_TRANSFER,
        Effect.WRITES_GUEST_FILES,
        Effect.DELETES_GUEST_FILES,
    }
)
# The query a data-plane case gets when its id and token are not a transfer of this run.
NO_SUCH_TRANSFER = {"id": "0", "token": "not-a-transfer-of-this-run"}
STEERED_UPLOAD_MAX = 1 << 16


SHELL_INERT = re.compile(r"[A-Za-z0-9 ._+-]*")
"""Arguments no shell interprets: ASCII letters and digits, the space between words, and `._+-`.

Everything else means something to `/bin/sh -c` (`;&|<>()$`\\"'` and newlines, globs `*?[`, `~`
and `#` at a word's start, `{}` in bash, `!` in an interactive bash), to cmd.exe (`%` expands a
variable, `^` escapes, `,;=` split arguments), or may become one of those on the way (a non-ASCII
character that a Windows code page maps onto `"` or `%`)."""
_SHELL_ACTIVE = re.compile(r"[^A-Za-z0-9 ._+-]")


def shell_inert(text: str) -> str:
    """`text` with every character outside `SHELL_INERT` replaced by `_`.

    >>> shell_inert("-l /tmp > /tmp/ls.out 2>&1; rm *")
    '-l _tmp _ _tmp_ls.out 2__1_ rm _'
    """
    return _SHELL_ACTIVE.sub("_", text)


def _shell_inert_values(value: Any) -> Any:
    """Every string in `value` (a generated `arguments`, whatever its type) made shell-inert."""
    if isinstance(value, str):
        return shell_inert(value)
    if isinstance(value, list):
        return [_shell_inert_values(v) for v in value]
    if isinstance(value, dict):
        return {k: _shell_inert_values(v) for k, v in value.items()}
    return value


_SEPARATORS = re.compile(r"[/\\\x00]")
_DRIVE = re.compile(r"[A-Za-z]:")


def not_a_path(text: str) -> str:
    """`text` with nothing that makes it a guest path: no separator or NUL, no drive (`C:`), no `~`
    first, and not `.` or `..` (nor what Windows reads as them: trailing dots and spaces dropped).

    >>> not_a_path("../../etc/x"), not_a_path("C:evil"), not_a_path(".. "), not_a_path("2026-01-01T00:00:00Z")
    ('.._.._etc_x', 'C_evil', '___', '2026-01-01T00:00:00Z')
    """
    text = _SEPARATORS.sub("_", text)
    if _DRIVE.match(text):
        text = f"{text[0]}_{text[2:]}"
    if text.startswith("~"):
        text = f"_{text[1:]}"
    if text and not text.rstrip(". "):
        text = "_" * len(text)
    return text


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


# A random part of a name: the run's nonce (`vcenter-guest-fuzz-<nonce>-`), a server's temporary names
# and transfer tokens. Masked in a case's key, so that the same seed shapes the same cases whatever
# random names the run and the server drew (they reach generated bodies through links and the
# engine's pool of values seen in responses).
_RANDOM_PART = re.compile(r"[0-9a-fA-F]{12,}")


def _key(case: Any) -> str:
    body = case.body if isinstance(case.body, (dict, list, str, int)) else None
    blob = json.dumps([case.path_parameters, body, getattr(case, "query", None)], sort_keys=True, default=repr)
    return _RANDOM_PART.sub("*", blob)


def steer(context: Any, case: Any) -> Any:  # noqa: PLR0912 - one branch per kind of operation
    """`map_case` hook: bias positive guest calls towards states where the server does real work."""
    state = state_of(case)
    op = operation_of(state, case) if state is not None else None
    if state is not None and op is not None and _is_data_plane(op) and _is_positive(case):
        return _steer_data_plane(state, case)
    if state is None or op is None or not op.takes_guest_credentials:
        return case
    if not _is_positive(case) or not isinstance(case.body, dict):
        return case
    target, options = state.target, state.options
    key = _key(case)
    credentials = target.guest_credentials()
    if credentials is not None and stable_share("credentials", key) < options.valid_credentials_share:
        case.body["credentials"] = copy.deepcopy(credentials)
        # Valid credentials only matter in a VM that has them; the other cases keep generated VM ids
        # (which the guard replaces unless the target is a sandbox).
        case.path_parameters = {**(case.path_parameters or {}), "vm": _allowed_vm(state, case)}
    vm = case.path_parameters.get("vm") if case.path_parameters else None
    if op.effect is Effect.STARTS_PROGRAM:
        spec = case.body.get("spec")
        if isinstance(spec, dict):
            if stable_share("unstartable", key) < UNSTARTABLE_SHARE:
                spec["path"] = UNSTARTABLE_PATHS[int(stable_share("which path", key) * len(UNSTARTABLE_PATHS))]
            elif target.programs:
                spec["path"] = target.programs[int(stable_share("program", key) * len(target.programs))]
            if stable_share("spec", key) < options.plausible_spec_share:
                # Windows-only flag and generated directories make most creates fail validation;
                # a number for arguments keeps a sleep-like program running long enough for
                # get and delete to meet it running (and short enough to leave nothing behind).
                spec.pop("start_minimized", None)
                spec.pop("working_directory", None)
                spec["arguments"] = PLAUSIBLE_ARGUMENTS[int(stable_share("arguments", key) * len(PLAUSIBLE_ARGUMENTS))]
    elif "pid" in op.path_parameters and isinstance(vm, str):
        pids = state.created_pids(vm)
        ended = state.terminated_pids(vm) if op.effect is Effect.NONE else []
        if ended and stable_share("after delete", key) < 0.5:
            # A get of a process a delete ended: where terminated_process_is_finished looks.
            case.path_parameters["pid"] = ended[int(stable_share("which", key) * len(ended))]
        elif pids and stable_share("pid", key) < 0.5:
            case.path_parameters["pid"] = pids[int(stable_share("which", key) * len(pids))]
    elif (
        op.effect in FILE_EFFECTS
        and state.run_directory is not None
        and stable_share("guest paths", key) < options.plausible_spec_share
    ):
        _steer_guest_paths(state.run_directory, op, case, key, seed=_reads_the_seed(state, op, case))
    return case


def _is_data_plane(op: Operation) -> bool:
    # The ESXi host's /guestFile: the transfer's id and token are its only handle.
    return op.served_by_host


def _consumes(op: Operation) -> bool:
    """Whether the operation uses its path up (a move, a delete): it never gets the seeds."""
    return op.effect is Effect.DELETES_GUEST_FILES or "new_path" in op.body_fields


def _reads_the_seed(state: RunState, op: Operation, case: Any) -> bool:
    """Whether this steered case is the first of its operation that can succeed on the seed: an
    operation that reads guest files, with the run's guest credentials. The seeds exist for the whole run (no
    steered case consumes them), so every such operation succeeds at least once whatever the draws
    (which of the names a share picks changes with every change of the document or the server)."""
    credentials = state.target.guest_credentials()
    return (
        op.effect is Effect.READS_GUEST_FILES
        and credentials is not None
        and case.body.get("credentials") == credentials
        and state.first_seed_read(op.id)
    )


def _steer_guest_paths(run: RunDirectory, op: Operation, case: Any, key: str, *, seed: bool = False) -> None:
    """Paths in the run's directory, so that file operations find their files: the seeds or fresh
    names, but only fresh names for moves and deletes (the seeds stay for the others), a new path a
    name of its own; a transfer downloads the seed file or uploads a few bytes. With `seed`, every
    path is the seed of the operation's kind (the seed file for Files and plain reads)."""
    body = case.body
    consumes = _consumes(op)
    # Files and Directories are services of their own in the API: each gets paths of its kind.
    kind = {"files": False, "directories": True}.get(op.service) if op.effect is not Effect.READS_GUEST_FILES else None
    names = names_for(directories=kind, consumes=consumes)
    if seed:
        names = (SEED_FILE,)
    case.path_parameters = {**(case.path_parameters or {}), "vm": run.vm}
    if "path" in case.path_parameters:
        # Path parameters of a case are percent-encoded already (schemathesis quotes them, `/` too).
        case.path_parameters["path"] = quote(run.child(names[int(stable_share("path", key) * len(names))]), safe="")
    for field in GUEST_PATH_FIELDS:
        if field in body:
            body[field] = run.child(names[int(stable_share(field, key) * len(names))])
    if "new_path" in body:
        body["new_path"] = run.child(moved_name(stable_share("new", key)))
    if "parent_path" in body:
        body["parent_path"] = run.path
        if isinstance(body.get("prefix"), str):  # a name the final listing knows as the run's
            body["prefix"] = TEMPORARY_PREFIX + not_a_path(body["prefix"])
    if isinstance(body.get("spec"), dict):
        if stable_share("download", key) < 0.5:
            body["spec"] = {"path": run.child(SEED_FILE)}
        else:  # a small upload the data plane's steered PUT can complete
            size = int(stable_share("size", key) * 64)
            body["spec"] = {"path": run.child(NEW_FILE), "attributes": {"size": size, "overwrite": True}}


def _steer_data_plane(state: RunState, case: Any) -> Any:
    """Points a positive GET/PUT of /guestFile at a transfer the run opened and has not used; about one in
    seven at one it has used (a second request on a used URL, which the server must refuse: on the run's
    own directory, so that even a server that serves it twice changes nothing outside it)."""
    upload = case.method.upper() == "PUT"
    choices = state.unused_transfers(upload)
    if not choices and state.opener is not None:
        # Operations run one after the other: a transfer opened earlier may be used up, or of the other kind.
        opened = state.opener(upload)
        if opened is not None:
            state.record_transfer(*opened)
            choices = state.unused_transfers(upload)
    share = stable_share("transfer", _key(case))
    if 0.75 <= share < 0.9:  # a used URL again: transfer_urls_serve_once judges the reuse
        choices = state.used_transfers(upload)[-1:]
    if choices and share < 0.9:
        (transfer_id, token), transfer = choices[0]
        case.query = {"id": transfer_id, "token": token}
        size = transfer.upload_size
        if upload and size is not None and size <= STEERED_UPLOAD_MAX:
            case.body = b"x" * size
    return case


def _allowed_vm(state: RunState, case: Any) -> str:
    vms = state.target.vms
    return vms[int(stable_share("vm", _key(case)) * len(vms))]


def _pid_is_ours(state: RunState, vm: Any, pid: Any) -> bool:
    if isinstance(pid, bool) or not isinstance(vm, str):
        return False
    if isinstance(pid, int):
        return pid in state.created_pids(vm)
    text = str(pid)
    if _INTEGER.match(text):
        return int(text) in state.created_pids(vm)
    # No digit at all cannot name any process; anything else with digits ("1e3", "12.0", "0x1f")
    # might be read as a pid by a lenient server.
    return not any(ch.isdigit() for ch in text)


class Refused(Exception):
    """A case the safety rules do not cover reached the guard; it is not sent."""


def _restrict_vm(state: RunState, case: Any, params: dict[str, Any]) -> None:
    if "vm" in params and params.get("vm") not in state.target.vms:
        params["vm"] = _allowed_vm(state, case)


def _reads(state: RunState, case: Any, params: dict[str, Any]) -> None:
    if not state.target.sandbox:
        _restrict_vm(state, case, params)


def _starts_program(state: RunState, case: Any, params: dict[str, Any]) -> None:
    _reads(state, case, params)
    body = case.body
    spec = body.get("spec") if isinstance(body, dict) else None
    if isinstance(spec, dict) and _is_positive(case):
        # The first creates a run sends probe each path that starts nothing, whatever the budget.
        unstartable = state.next_unstartable(UNSTARTABLE_PATHS)
        if unstartable is not None:
            spec["path"] = unstartable
    if not state.target.any_program and isinstance(body, dict):
        spec = body.get("spec")
        path = spec.get("path") if isinstance(spec, dict) else None
        if (
            isinstance(spec, dict)
            and "path" in spec
            and path not in state.target.programs
            and path not in UNSTARTABLE_PATHS
        ):
            programs = state.target.programs
            spec["path"] = programs[int(stable_share("program", _key(case)) * len(programs))]
        if isinstance(spec, dict) and "arguments" in spec:
            # The guest may start the program through a shell (`/bin/sh -c`, cmd.exe): only arguments
            # no shell interprets reach a named program, whatever generated them (examples too).
            spec["arguments"] = _shell_inert_values(spec["arguments"])


def _terminates_process(state: RunState, case: Any, params: dict[str, Any]) -> None:
    _reads(state, case, params)
    if not state.target.sandbox and "pid" in params and not _pid_is_ours(state, params.get("vm"), params["pid"]):
        params["pid"] = NO_SUCH_PID


def _guest_files(state: RunState, case: Any, params: dict[str, Any]) -> None:
    """File operations: against a sandbox anything; otherwise every guest path is confined to the run's
    own directory (in its VM), and the data plane gets only the run's own transfer URLs."""
    if state.target.sandbox:
        return
    op = operation_of(state, case)
    if op is not None and _is_data_plane(op):
        query = case.query if isinstance(case.query, dict) else {}
        ident, token = query.get("id"), query.get("token")
        ours = isinstance(ident, str) and isinstance(token, str) and state.transfer((ident, token)) is not None
        if not ours or set(query) != {"id", "token"}:
            case.query = dict(NO_SUCH_TRANSFER)
        return
    run = state.run_directory
    if run is None:
        raise Refused("the run has no guest directory of its own: file operations are not sent")
    params["vm"] = run.vm
    key = _key(case)
    if isinstance(params.get("path"), str):
        # Percent-encoded, as the server receives it; checked as the server decodes it (once).
        params["path"] = quote(run.confine(unquote(params["path"]), stable_share("path", key)), safe="")
    body = case.body
    if isinstance(body, dict):
        body = case.body = {
            name: value if name == "credentials" else _confined(run, value, key, name, name in GUEST_PATH_FIELDS)
            for name, value in body.items()
        }
        prefix = body.get("prefix")
        if isinstance(prefix, str) and not prefix.startswith(TEMPORARY_PREFIX):
            # A temporary name made in the run's directory is one the final listing knows as the run's.
            body["prefix"] = TEMPORARY_PREFIX + prefix
        if op is not None and "parent_path" in op.body_fields and "parent_path" not in body:
            body["parent_path"] = run.path  # unset: the guest's temporary directory, outside the run's
    elif isinstance(body, (list, str)):
        case.body = _confined(run, body, key, None, path=False)
    if isinstance(case.query, dict):
        case.query = _confined(run, case.query, key, None, path=False)
    escaped = _escaped(run, {**params, "path": unquote(params["path"])} if "path" in params else params, False)
    escaped = escaped or _escaped(run, case.body, False) or _escaped(run, case.query, False)
    if escaped is not None:  # fails closed: never reached while the rewriting above is right
        raise Refused(f"a guest path outside the run's directory survived the guard: {escaped!r}")


def _confined(run: RunDirectory, value: Any, key: str, field: str | None, path: bool) -> Any:
    """`value` with every string under a path field (`GUEST_PATH_FIELDS`, at any depth) confined to the
    run's directory, and every other string made `not_a_path`: a field the rules do not know as a
    path (a prefix, a pattern, one a newer document adds) can still not name a place in the guest."""
    if isinstance(value, dict):
        return {k: _confined(run, v, key, k, path or k in GUEST_PATH_FIELDS) for k, v in value.items()}
    if isinstance(value, list):
        return [_confined(run, v, key, field, path) for v in value]
    if isinstance(value, str):
        return run.confine(value, stable_share(field, key)) if path else not_a_path(value)
    return value


def _escaped(run: RunDirectory, value: Any, path: bool, field: str | None = None) -> str | None:
    """The first string of `value` that names a guest place outside the run's directory, if any."""
    if isinstance(value, dict):
        for k, v in value.items():
            if field is None and k in {"credentials", "vm"}:
                continue
            found = _escaped(run, v, path or k in GUEST_PATH_FIELDS, k)
            if found is not None:
                return found
    elif isinstance(value, list):
        return next((f for v in value if (f := _escaped(run, v, path, field)) is not None), None)
    elif isinstance(value, str):
        # The run's directory itself is only ever a parent (of a temporary name), never a path acted on.
        ours = run.owns(value) or (field == "parent_path" and value == run.path)
        return value if (not ours if path else not_a_path(value) != value) else None
    return None


def _sessions(state: RunState, case: Any, params: dict[str, Any]) -> None:
    """The session provider (_auth) gives session_create the run's credentials and session_delete a
    throwaway session: nothing to rewrite."""


# x-vcenter-guest-effect -> the rule that makes a case of such an operation safe to send.
RULES = {
    Effect.NONE: _reads,
    Effect.CREATES_SESSION: _sessions,
    Effect.ENDS_SESSION: _sessions,
    Effect.STARTS_PROGRAM: _starts_program,
    Effect.TERMINATES_PROCESS: _terminates_process,
    **dict.fromkeys(FILE_EFFECTS, _guest_files),
}


PROBE_METHODS = frozenset({"get", "options", "trace", "query"})
"""The methods a probe of a method the document does not list (schemathesis' unexpected-method
scenario) may use against a server that is not a sandbox: those that change nothing. VMware's
servers answer methods the document leaves out: the bindings send guest Power's shutdown, reboot and
standby as a bare `POST .../guest/power` and Tools.upgrade as `POST .../tools`, so a POST probe of
the Power.get path would shut the guest down (shared/vsphere-guest-services-facts.md §8)."""


def unguarded(table: OperationTable) -> list[Operation]:
    """The operations no safety rule covers: never sent to a server that is not a sandbox."""
    return [op for op in table.values() if op.effect not in RULES]


# Headers that frame the HTTP message itself: a generated value (a Content-Length that is not a
# number) breaks the request before any API sees it, and the answer is the HTTP stack's, not the API's.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"})


HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name as HTTP allows it (RFC 9110 token)."""


def _sendable_header(name: object) -> bool:
    """Whether a generated header can go into a valid HTTP request without framing it anew: a token
    for a name (RFC 9110), and not one of the headers that frame the message."""
    return isinstance(name, str) and bool(HTTP_TOKEN.fullmatch(name)) and name.lower() not in _FRAMING_HEADERS


SPARED_VM = "vm-spared-by-the-fuzz-run"
"""Where a sandbox run sends a power change aimed at one of its own VMs: a VM that does not exist
(NOT_FOUND), so that the run's guest keeps running for the operations and checks that need it."""


def _spare_the_runs_vms(state: RunState, case: Any) -> None:
    params = case.path_parameters
    if isinstance(params, dict) and params.get("vm") in state.target.vms:
        params["vm"] = SPARED_VM


def guard(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """`before_call` hook: rewrite a case of a fuzz run so that it keeps the safety rules, or refuse it."""
    state = state_of(case)
    if state is None:
        return
    for headers in (getattr(case, "headers", None), kwargs.get("headers")):
        if isinstance(headers, dict):
            for name in [n for n in headers if not _sendable_header(n)]:
                del headers[name]
    op = operation_of(state, case)
    method = str(getattr(case, "method", None) or (op.method if op is not None else "")).lower()
    if op is not None and method != op.method.lower() and method not in PROBE_METHODS and not state.target.sandbox:
        raise Refused(f"a {method.upper()} probe of {op.id}'s path may change the guest: not sent")
    if op is not None and op.effect is Effect.CHANGES_POWER and state.target.sandbox:
        _spare_the_runs_vms(state, case)
    rule = RULES.get(op.effect) if op is not None and op.effect is not None else None
    if rule is None:
        if state.target.sandbox:
            return
        raise Refused(f"no safety rule covers {getattr(op, 'id', None) or case.operation.label}: not sent")
    params = case.path_parameters
    if params is None:
        params = case.path_parameters = {}
    rule(state, case, params)


_installed = False


def install_guard() -> None:
    """Registers `guard` with schemathesis (once per process; it ignores cases of other runs)."""
    global _installed  # noqa: PLW0603 - schemathesis only offers a process-wide before_call
    if not _installed:
        schemathesis.hook("before_call")(guard)
        _installed = True
