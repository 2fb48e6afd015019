"""Conformance scenarios: the facts of the API a server can break that no schema can see.

Each scenario is named after the fact it stands for, deterministic (fixed names, sizes and
arguments) and stateful (a short sequence of calls whose later answers must agree with the earlier
ones). They run before the random phases, on the first VM and the programs the user named, and
their files only inside the run's proven scratch directory; nothing stops a guest (a process is
only deleted when this scenario started it).

A scenario that cannot run here (no guest credentials, no scratch directory, a transfer URL on
another host) is not exercised, and says why: the verdict lists it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import httpx

from vcenter_guest.operations import OperationTable

from ._auth import SESSION_HEADER, Transport, login, logout
from ._guestfiles import TEMPORARY_PREFIX, RunDirectory, served_by_the_server
from ._settings import FuzzTarget
from ._state import NO_SUCH_PID

__all__ = ["RETENTION_PROBE_SECONDS", "SCENARIOS", "ScenarioOutcome", "run_scenarios"]

# How long after a process ends the retention scenario checks that its exit code is still there (the
# document says 5 minutes; a run cannot afford to wait that long).
RETENTION_PROBE_SECONDS = 2.0
# How long a scenario waits for a process it started to end (a program given the argument "0" or run
# without one ends at once on the mock and on real guests).
_SETTLE_SECONDS = 10.0
_PAGE_SIZE = 2
_LISTED_ENTRIES = 5
_PAYLOAD = bytes(range(256)) * 12 + b"vcenter-guest conformance\n"


class Broken(Exception):
    """The server broke the scenario's fact (the message says how)."""


class NotHere(Exception):
    """The scenario cannot run against this target (the message says why)."""


@attrs.frozen
class ScenarioOutcome:
    """What one scenario found: requests it sent, whether the fact held, or why it did not run."""

    name: str
    fact: str
    cases: int = 0
    failure: str | None = None
    not_run: str | None = None

    @property
    def exercised(self) -> bool:
        """Whether the scenario ran to a verdict."""
        return self.not_run is None


@attrs.define
class Probe:
    """The calls a scenario makes: counted, and confined to the VM and directory the run may touch."""

    send: Transport
    session: str
    table: OperationTable
    target: FuzzTarget
    run: RunDirectory | None
    requests: int = 0

    @property
    def vm(self) -> str:
        return self.run.vm if self.run is not None else self.target.vms[0]

    @property
    def credentials(self) -> dict[str, Any]:
        credentials = self.target.guest_credentials()
        if credentials is None:
            raise NotHere("no guest credentials (VCENTER_GUEST_USER / VCENTER_GUEST_PASSWORD)")
        return credentials

    def directory(self) -> RunDirectory:
        if self.run is None:
            raise NotHere("the run has no guest directory of its own")
        return self.run

    def route(self, op_id: str, **params: str | int) -> tuple[str, str]:
        """(method, route) of an operation of the document on the run's VM, its path parameters filled in."""
        op = self.table.get(op_id)
        if op is None:
            raise NotHere(f"the API document has no {op_id}")
        path = op.path.replace("{vm}", self.vm)
        for name, value in params.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        return op.method, f"{path}?action={op.action}" if op.action else path

    def call(self, op_id: str, body: dict[str, Any] | None = None, **params: str | int) -> tuple[int, Any]:
        """POST an operation of the document with the guest credentials; (status, JSON answer or None)."""
        method, route = self.route(op_id, **params)
        content = json.dumps({"credentials": self.credentials, **(body or {})}).encode()
        status, answer = self.raw(method, route, content, {"Content-Type": "application/json"})
        return status, _loads(answer)

    def raw(self, method: str, route: str, content: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        self.requests += 1
        return self.send(method, route, {SESSION_HEADER: self.session, **headers}, content)

    def start(self, arguments: str) -> int:
        """Starts one of the user's programs; its pid."""
        status, pid = self.call("processes.create", {"spec": {"path": _program(self.target), "arguments": arguments}})
        if status != 201 or not isinstance(pid, int):
            raise NotHere(f"create of {_program(self.target)} answered {status}, not a pid")
        return pid

    def transfer_route(self, spec: dict[str, Any]) -> str:
        """A transfer URL of the run's directory, as a route on the server called."""
        status, url = self.call("transfers.create", {"spec": spec})
        if status != 201 or not isinstance(url, str):
            raise Broken(f"Transfers.create answered {status} with {str(url)[:80]!r}, not a transfer URL")
        if not served_by_the_server(url, self.target.base_url):
            raise NotHere("transfer URLs name another host (an ESXi host); the run only calls the server")
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    def upload(self, name: str, data: bytes) -> str:
        path = self.directory().child(name)
        route = self.transfer_route({"path": path, "attributes": {"size": len(data), "overwrite": True}})
        status, _ = self.raw("PUT", route, data, {"Content-Type": "application/octet-stream"})
        if not 200 <= status < 300:
            raise Broken(f"PUT of {len(data)} bytes to a fresh transfer URL answered {status}")
        return path


def _program(target: FuzzTarget) -> str:
    """The user's program the scenarios start: one that sleeps if there is one (so delete meets it running)."""
    programs = target.programs or ("/bin/sleep",)
    return next((p for p in programs if "sleep" in p.rsplit("/", 1)[-1]), programs[0])


def _get(probe: Probe, pid: int) -> dict[str, Any]:
    status, info = probe.call("processes.get", pid=pid)
    if status != 200 or not isinstance(info, dict):
        raise Broken(f"get of pid {pid}, which create returned, answered {status}")
    return info


def create_then_list_shows_the_process(probe: Probe) -> None:
    pid = probe.start("0")
    status, listed = probe.call("processes.list")
    pids = [p.get("pid") for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    if status != 200 or pid not in pids:
        raise Broken(f"create returned pid {pid}, but list (answered {status}) does not show it")


def delete_ends_the_process_and_its_exit_code_stays(probe: Probe) -> None:
    program = _program(probe.target)
    if program in probe.target.ignores_termination:
        raise NotHere(f"{program} is declared to survive termination")
    pid = probe.start("30")
    if "finished" in _get(probe, pid):
        raise NotHere(f"{program} had ended before delete could meet it running (name one that sleeps: /bin/sleep)")
    status, _ = probe.call("processes.delete", pid=pid)
    if status != 204:
        raise Broken(f"delete of pid {pid} (a process the run started) answered {status}, not 204")
    after = _get(probe, pid)
    if "finished" not in after or "exit_code" not in after:
        raise Broken(f"after delete answered 204, get of pid {pid} still shows it running (no finished/exit_code)")
    if after["exit_code"] not in {143, 137}:
        raise Broken(f"delete ended running pid {pid}, but get shows exit code {after['exit_code']}, not 143 or 137")
    time.sleep(RETENTION_PROBE_SECONDS)
    later = _get(probe, pid)
    if (later.get("exit_code"), later.get("finished")) != (after["exit_code"], after["finished"]):
        raise Broken(
            f"{RETENTION_PROBE_SECONDS:.0f}s after pid {pid} ended, get shows exit code {later.get('exit_code')!r} "
            f"and end {later.get('finished')!r} instead of {after['exit_code']!r} and {after['finished']!r}: "
            "they stay available for 5 minutes"
        )


def get_of_an_unknown_pid_is_not_found(probe: Probe) -> None:
    status, error = probe.call("processes.get", pid=NO_SUCH_PID)
    data = error.get("data") if isinstance(error, dict) else None
    kind = error.get("error_type", "NOT_FOUND") if isinstance(error, dict) else None
    if status != 404 or kind != "NOT_FOUND":
        raise Broken(f"get of pid {NO_SUCH_PID}, which no guest can have, answered {status} {kind}, not 404 NOT_FOUND")
    if not isinstance(data, dict) or data.get("pid") != NO_SUCH_PID:
        raise Broken(f"the NOT_FOUND error of pid {NO_SUCH_PID} carries data {data!r}, not ProcessErrorDetails with it")


def a_transfer_url_serves_once(probe: Probe) -> None:
    seed = probe.upload(f"{TEMPORARY_PREFIX}served-once.txt", _PAYLOAD)
    route = probe.transfer_route({"path": seed})
    first, _ = probe.raw("GET", route, None, {})
    second, _ = probe.raw("GET", route, None, {})
    if not 200 <= first < 300:
        raise Broken(f"the first GET of a fresh download URL answered {first}")
    if 200 <= second < 300:
        raise Broken("a download URL served a second GET: a transfer URL serves exactly once")
    spec = {
        "path": probe.directory().child(f"{TEMPORARY_PREFIX}served-once-upload.txt"),
        "attributes": {"size": 3, "overwrite": True},
    }
    route = probe.transfer_route(spec)
    headers = {"Content-Type": "application/octet-stream"}
    first, _ = probe.raw("PUT", route, b"abc", headers)
    second, _ = probe.raw("PUT", route, b"abc", headers)
    if 200 <= first < 300 and 200 <= second < 300:
        raise Broken("an upload URL took a second PUT: a transfer URL serves exactly once")


def upload_then_download_gives_the_same_bytes(probe: Probe) -> None:
    path = probe.upload(f"{TEMPORARY_PREFIX}same-bytes.txt", _PAYLOAD)
    status, info = probe.call("files.get", path=path)
    size = info.get("size") if isinstance(info, dict) else None
    if status != 200 or size != len(_PAYLOAD):
        raise Broken(f"files.get of a file uploaded with {len(_PAYLOAD)} bytes answered {status} with size {size!r}")
    status, got = probe.raw("GET", probe.transfer_route({"path": path}), None, {})
    if status != 200 or got != _PAYLOAD:
        raise Broken(f"{len(_PAYLOAD)} bytes uploaded, {len(got)} downloaded (status {status}), or not the same bytes")


def a_listing_pages_through_every_entry_once(probe: Probe) -> None:
    run = probe.directory()
    where = run.child(f"{TEMPORARY_PREFIX}listed")
    probe.call("directories.create", {"path": where, "create_parents": False})
    names = [f"{TEMPORARY_PREFIX}{i}" for i in range(_LISTED_ENTRIES)]
    for name in names:
        probe.call("directories.create", {"path": f"{where}/{name}"})
    seen: list[str] = []
    index = 0
    for _ in range(2 * _LISTED_ENTRIES + 2):
        status, page = probe.call("files.list", {"path": where, "iteration": {"size": _PAGE_SIZE, "index": index}})
        files = page.get("files") if isinstance(page, dict) else None
        if status != 200 or not isinstance(files, list):
            raise Broken(f"files.list of a directory the run made answered {status}")
        seen += [str(f.get("filename")) for f in files if isinstance(f, dict) and f.get("filename") not in {".", ".."}]
        index += len(files)
        if page.get("status") != "READY" or not files:
            break
    if sorted(seen) != names:
        raise Broken(f"pages of {_PAGE_SIZE} listed {seen} for the {_LISTED_ENTRIES} entries {names}")


def create_temporary_makes_a_new_empty_distinct_directory(probe: Probe) -> None:
    run = probe.directory()
    made = []
    for _ in range(2):
        body = {"prefix": TEMPORARY_PREFIX, "suffix": "", "parent_path": run.path}
        status, path = probe.call("directories.create_temporary", body)
        if status != 200 or not isinstance(path, str) or not run.inside(path) or "/" in path[len(run.path) + 1 :]:
            raise Broken(f"createTemporary in {run.path!r} answered {status} {str(path)[:80]!r}: not a path in it")
        status, page = probe.call("files.list", {"path": path})
        files = page.get("files") if isinstance(page, dict) else None
        if status != 200 or [f for f in files or [] if isinstance(f, dict) and f.get("filename") not in {".", ".."}]:
            raise Broken(f"createTemporary answered {path!r}, which is not an empty directory ({status})")
        made.append(path)
    if made[0] == made[1]:
        raise Broken(f"two createTemporary calls answered the same path {made[0]!r}")


def delete_removes_the_file(probe: Probe) -> None:
    path = probe.upload(f"{TEMPORARY_PREFIX}deleted.txt", b"gone")
    status, _ = probe.call("files.delete", path=path)
    if status != 204:
        raise Broken(f"files.delete of a file the run made answered {status}")
    status, _ = probe.call("files.get", path=path)
    if status != 404:
        raise Broken(f"files.delete answered 204, but files.get of the same path then answered {status}, not 404")


def move_moves_and_refuses_to_overwrite(probe: Probe) -> None:
    source = probe.upload(f"{TEMPORARY_PREFIX}move-from.txt", b"from")
    taken = probe.upload(f"{TEMPORARY_PREFIX}move-taken.txt", b"taken")
    status, _ = probe.call("files.move", {"path": source, "new_path": taken, "overwrite": False})
    if 200 <= status < 300:
        raise Broken(f"files.move onto an existing file with overwrite false answered {status}: it must be refused")
    target = probe.directory().child(f"{TEMPORARY_PREFIX}move-to.txt")
    status, _ = probe.call("files.move", {"path": source, "new_path": target})
    if status != 204:
        raise Broken(f"files.move of a file the run made to a free name answered {status}, not 204")
    gone, _ = probe.call("files.get", path=source)
    there, _ = probe.call("files.get", path=target)
    if (gone, there) != (404, 200):
        raise Broken(f"after files.move answered 204, get of the old path answered {gone} and of the new {there}")


@attrs.frozen
class Provoked:
    """One error the error scenario provokes: the condition, the call, the error the condition is, and the
    value (a pid, a path) the call named, which documented data must carry."""

    condition: str
    op_id: str
    error_type: str
    call: Callable[[], tuple[int, Any]]
    named: object = None


def _provocations(probe: Probe) -> list[Provoked]:
    """Each error the run can cause without touching anything but its own directory and a pid no guest has.

    One per distinct (status, error type) the server can be made to give safely, and the two kinds of
    documented data (a pid's, a path's). The document's table gives each its status and data schema.
    """
    run = probe.directory()
    missing = run.child(f"{TEMPORARY_PREFIX}missing.txt")
    full = run.child(f"{TEMPORARY_PREFIX}full")
    status, _ = probe.call("directories.create", {"path": full})
    if status != 204:
        raise Broken(f"directories.create of a new directory in the run's own answered {status}, not 204")
    probe.upload(f"{TEMPORARY_PREFIX}full/{TEMPORARY_PREFIX}inside.txt", b"x")
    method, route = probe.route("processes.list")
    json_body = {"Content-Type": "application/json"}

    def without_session() -> tuple[int, Any]:
        probe.requests += 1
        status, answer = probe.send(method, route, json_body, json.dumps({"credentials": probe.credentials}).encode())
        return status, _loads(answer)

    def without_credentials() -> tuple[int, Any]:
        status, answer = probe.raw(method, route, b"{}", json_body)
        return status, _loads(answer)

    return [
        Provoked("delete of a pid no guest has", "processes.delete", "NOT_FOUND",
                 lambda: probe.call("processes.delete", pid=NO_SUCH_PID), NO_SUCH_PID),
        Provoked("files.get of a path that does not exist", "files.get", "NOT_FOUND",
                 lambda: probe.call("files.get", path=missing), missing),
        Provoked("files.delete of a directory (not a file)", "files.delete", "INVALID_ARGUMENT",
                 lambda: probe.call("files.delete", path=full), full),
        Provoked("directories.create of a directory that exists", "directories.create", "ALREADY_EXISTS",
                 lambda: probe.call("directories.create", {"path": full})),
        Provoked("directories.delete of a directory that is not empty, without recursive", "directories.delete",
                 "RESOURCE_IN_USE", lambda: probe.call("directories.delete", {"path": full})),
        Provoked("processes.list with a body without its credentials", "processes.list", "INVALID_ARGUMENT",
                 without_credentials),
        Provoked("processes.list without an API session", "processes.list", "UNAUTHENTICATED", without_session),
    ]  # fmt: skip


def _loads(answer: bytes) -> Any:
    try:
        return json.loads(answer) if answer else None
    except ValueError:
        return None


def _error_schema(table: OperationTable, error_type: str) -> str:
    """The component of the document's specific error schema for a type (its `x-vapi-error-type`)."""
    schemas = table.document.get("components", {}).get("schemas", {})
    return str(next(name for name, schema in schemas.items() if schema.get("x-vapi-error-type") == error_type))


def _invalid(table: OperationTable, component: str, value: Any) -> str | None:
    """Why `value` does not conform to a component schema of the document, or None."""
    from jsonschema.exceptions import best_match  # noqa: PLC0415 - the mock extra, which fuzz needs
    from openapi_schema_validator import OAS30Validator  # noqa: PLC0415

    root = {"$ref": f"#/components/schemas/{component}", "components": table.document.get("components", {})}
    error = best_match(OAS30Validator(root).iter_errors(value))
    return None if error is None else f"{error.message} at {'/'.join(map(str, error.absolute_path)) or 'the top'}"


def _judge(table: OperationTable, provoked: Provoked, status: int, body: Any) -> str | None:
    """What is wrong with the answer to one provoked error, by the document, or None."""
    op = table[provoked.op_id]
    expected = op.error_statuses.get(provoked.error_type)
    if expected is None:
        return None  # the document's operation no longer gives this error: nothing to hold it to
    said = f"{provoked.condition} ({provoked.op_id}) answered {status}"
    kind = body.get("error_type", provoked.error_type) if isinstance(body, dict) else None
    if status != expected or kind != provoked.error_type:
        return f"{said} {kind}: the document gives {provoked.error_type} at {expected} for it"
    schema = _error_schema(table, provoked.error_type)
    wrong = _invalid(table, schema, body)
    if wrong is not None:
        return f"{said} with a body that is not a {schema}: {wrong}"
    return _judge_data(table, provoked, f"{said} {kind}", body)


def _judge_data(table: OperationTable, provoked: Provoked, said: str, body: dict[str, Any]) -> str | None:
    """What is wrong with the data of a provoked error whose type and shape are right, or None."""
    data_schema = table[provoked.op_id].error_data.get(provoked.error_type)
    if data_schema is None:
        return None  # the document gives this error no data
    data = body.get("data")
    wrong = "no data" if data is None else _invalid(table, data_schema, data)
    if wrong is not None:
        return f"{said} whose data is not the documented {data_schema}: {wrong}"
    if provoked.named is not None and isinstance(data, dict) and provoked.named not in data.values():
        return f"{said} whose {data_schema} {data!r} does not name {provoked.named!r}, which the call named"
    return None


def errors_match_their_status_and_carry_their_data(probe: Probe) -> None:
    failures = []
    for provoked in _provocations(probe):
        status, body = provoked.call()
        wrong = _judge(probe.table, provoked, status, body)
        if wrong is not None:
            failures.append(wrong)
    if failures:
        raise Broken("; ".join(failures))


def a_deleted_session_is_refused(probe: Probe) -> None:
    target = probe.target
    session = login(probe.send, target.user, target.password)
    probe.requests += 1
    logout(probe.send, session)
    probe.requests += 2
    status, _ = probe.send("GET", "/api/session", {SESSION_HEADER: session}, None)
    if status != 401:
        raise Broken(f"GET /api/session with a session DELETE /api/session ended answered {status}, not 401")


SCENARIOS: dict[str, tuple[str, Callable[[Probe], None]]] = {
    "create_then_list_shows_the_process": (
        "A process create started shows in list.",
        create_then_list_shows_the_process,
    ),
    "delete_ends_the_process_and_its_exit_code_stays": (
        "After delete (204) of a running process, get shows it finished with exit code 143 (or 137); "
        f"its exit code and end time stay available (checked {RETENTION_PROBE_SECONDS:.0f}s later; "
        "the document says 5 minutes).",
        delete_ends_the_process_and_its_exit_code_stays,
    ),
    "get_of_an_unknown_pid_is_not_found": (
        "get of a pid no guest has is 404 NOT_FOUND with the pid in the error's data.",
        get_of_an_unknown_pid_is_not_found,
    ),
    "a_transfer_url_serves_once": (
        "A transfer URL serves exactly one GET (download) or PUT (upload); a second is refused.",
        a_transfer_url_serves_once,
    ),
    "upload_then_download_gives_the_same_bytes": (
        "Bytes uploaded come back the same on download, and files.get gives their size.",
        upload_then_download_gives_the_same_bytes,
    ),
    "a_listing_pages_through_every_entry_once": (
        "files.list, page by page, gives every entry of a directory exactly once.",
        a_listing_pages_through_every_entry_once,
    ),
    "create_temporary_makes_a_new_empty_distinct_directory": (
        "createTemporary returns a new, empty directory directly in the parent asked for, a different one each time.",
        create_temporary_makes_a_new_empty_distinct_directory,
    ),
    "delete_removes_the_file": (
        "After files.delete answers 204, files.get of the path is 404.",
        delete_removes_the_file,
    ),
    "move_moves_and_refuses_to_overwrite": (
        "files.move moves (the old path is gone, the new one there) and refuses an existing target unless asked.",
        move_moves_and_refuses_to_overwrite,
    ),
    "errors_match_their_status_and_carry_their_data": (
        "Each error the run provokes (an unknown pid, a missing path, a directory where a file is wanted, an "
        "existing directory, a non-empty one, a body without credentials, no session) comes with the status the "
        "document gives its error_type, the error's schema, and the data the document gives it (the pid, the path).",
        errors_match_their_status_and_carry_their_data,
    ),
    "a_deleted_session_is_refused": (
        "A session DELETE /api/session ended is refused (401).",
        a_deleted_session_is_refused,
    ),
}


def run_scenarios(probe: Probe, say: Callable[[str], None]) -> list[ScenarioOutcome]:
    """Runs every scenario in order; never raises for what the server does."""
    outcomes = []
    for name, (fact, scenario) in SCENARIOS.items():
        say(f"scenario: {name}")
        before = probe.requests
        failure = not_run = None
        try:
            scenario(probe)
        except Broken as exc:
            failure = str(exc)
        except NotHere as exc:
            not_run = str(exc)
        except httpx.HTTPError as exc:  # a dropped connection or a timeout is the server's answer too
            failure = f"the scenario could not complete: {type(exc).__name__}: {exc}"
        outcomes.append(ScenarioOutcome(name, fact, probe.requests - before, failure, not_run))
    return outcomes
