"""Checks of this API's contract that schemathesis's generic checks cannot know.

* `create_returns_a_fresh_pid`: a pid create hands out is not handed out again while the first
  process can still be seen (its exit code stays 5 minutes after it ends, so within 5 minutes of
  the first create the old process certainly is still there).
* `terminated_process_is_finished`: replaces schemathesis's `use_after_free`, which assumes that a
  deleted resource is gone (404). Here delete *terminates* a process (SIGTERM, then SIGKILL); get
  keeps showing it, finished (exit code 143 after SIGTERM, 137 after the SIGKILL), until retention
  lapses. So after a 204 from delete, a get of the same process must show `finished` and
  `exit_code`, unless its program is declared to survive termination (stuck in the kernel).
* `created_process_is_available`: replaces schemathesis's `ensure_resource_availability`, which never
  judges a case of this document: it takes a POST's path for the collection the created resource lies
  under, and VMware's path keys carry the action (`processes?action=create` is no prefix of
  `processes/{pid}?action=get`). A get of the pid a create of the run returned (a stateful chain
  create -> get, or any later get of it) must not be 404 within the retention period: a process stays
  visible while it runs and for 5 minutes after it ends, whether it ended or a delete ended it.
* `no_undocumented_server_error`: replaces schemathesis's `not_a_server_error`, which fails every 5xx.
  vAPI puts conditions of the VM at 5xx (RESOURCE_BUSY at 500, SERVICE_UNAVAILABLE at 503 when the
  VMware Tools are not running): a 5xx passes when its body is a vAPI error whose `error_type` the
  operation documents at exactly that status (or, `error_type` being optional, a vAPI error without
  it at such a status); any other 5xx (INTERNAL_SERVER_ERROR, an undocumented type or status, a body
  that is not a vAPI error) is a server error.
* `transfer_urls_serve_once`: a transfer URL (Transfers.create) serves one successful GET or PUT of
  `/guestFile`; a second 2xx for the same id and token fails (steering sends about one data-plane case
  in seven to a URL the run has used, so a second use is judged too). It also gives the run the URLs,
  which steering points data-plane cases at.
* `guest_credentials_are_enforced`: a guest call that succeeded must have carried the guest
  credentials the run knows to be good. Generated credentials are random; a server that accepts
  them (or accepts a password-less USERNAME_PASSWORD object) does not check them.

Checks raise AssertionError with a message naming the contract; schemathesis reports the check by
its function name. A check returns True for a case it does not judge (schemathesis then records no
verdict for it), so that the run's verdict counts only the cases each check really judged.
"""

from __future__ import annotations

import json
import time
from typing import Any

import schemathesis

from vcenter_guest.operations import Effect

from ._state import RunState, operation_of, state_of

__all__ = ["CUSTOM_CHECKS", "PID_RETENTION_SECONDS", "register_checks"]

PID_RETENTION_SECONDS = 300.0


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, TypeError):
        return None


def create_returns_a_fresh_pid(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 201 of create carries a pid no earlier create of the run returned within the retention period."""
    state = state_of(case)
    if state is None or not _is(state, case, Effect.STARTS_PROGRAM) or response.status_code != 201:
        return True
    pid, vm = _json(response), (case.path_parameters or {}).get("vm")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(vm, str):
        return True  # response_schema_conformance reports a pid that is not an integer
    before = state.record_pid(vm, pid)
    if before is not None and time.monotonic() - before < PID_RETENTION_SECONDS:
        raise AssertionError(
            f"create returned pid {pid} in {vm}, which an earlier create of this run returned "
            f"{time.monotonic() - before:.1f}s ago: that process is still within its retention, "
            "so get, list and delete can no longer tell the two processes apart"
        )
    return None


def created_process_is_available(ctx: Any, response: Any, case: Any) -> bool | None:
    """A get of a pid a create of this run returned is not NOT_FOUND while that process is retained."""
    state = state_of(case)
    if state is None or not _is_process_read(state, case):
        return True
    key = _process_key(case)
    created = state.created_at(key[0], key[1]) if key is not None else None
    if created is None or time.monotonic() - created >= PID_RETENTION_SECONDS:
        return True  # not a pid of this run, or one whose retention may have lapsed
    if response.status_code != 404:
        return None
    raise AssertionError(
        f"get of pid {key[1] if key else '?'}, which a create of this run returned "
        f"{time.monotonic() - created:.1f}s ago, answered 404: a process stays visible to get (running, "
        "then finished with its exit code) for 5 minutes after it ends"
    )


def _is(state: RunState, case: Any, effect: Effect) -> bool:
    op = operation_of(state, case)
    return op is not None and op.effect is effect


def _is_process_read(state: RunState, case: Any) -> bool:
    op = operation_of(state, case)
    return op is not None and op.effect is Effect.NONE and "pid" in op.path_parameters


def _ancestor(ctx: Any, state: RunState, case: Any, effect: Effect) -> Any:
    node = ctx.internals.find_parent(case_id=case.id)
    while node is not None and not _is(state, node, effect):
        node = ctx.internals.find_parent(case_id=node.id)
    return node


def _process_key(case: Any) -> tuple[str, str] | None:
    params = case.path_parameters or {}
    vm, pid = params.get("vm"), params.get("pid")
    return (vm, str(pid)) if isinstance(vm, str) and pid is not None else None


def terminated_process_is_finished(ctx: Any, response: Any, case: Any) -> bool | None:
    """A get after a 204 from delete shows the process finished, unless its program survives termination.

    "After" is a stateful chain (delete -> get of the same process) or any later get in the run of a
    process a delete of the run terminated (steering points gets and deletes at the run's own pids).
    """
    state = state_of(case)
    if state is None:
        return True
    if _is(state, case, Effect.TERMINATES_PROCESS) and response.status_code == 204:
        key = _process_key(case)
        if key is not None:
            with state.lock:
                state.terminated[key] = None
        return True
    if not _is_process_read(state, case) or response.status_code != 200:
        return True
    parent = ctx.internals.find_parent(case_id=case.id)
    chained = (
        parent is not None
        and _is(state, parent, Effect.TERMINATES_PROCESS)
        and getattr(ctx.internals.find_response(case_id=parent.id), "status_code", None) == 204
        and parent.path_parameters == case.path_parameters
    )
    key = _process_key(case)
    with state.lock:
        earlier = key is not None and key in state.terminated
    if not chained and not earlier:
        return True
    info = _json(response)
    if not isinstance(info, dict) or ("finished" in info and "exit_code" in info):
        return None
    stubborn = state.target.ignores_termination
    creator = _ancestor(ctx, state, parent, Effect.STARTS_PROGRAM) if chained else None
    spec = creator.body.get("spec") if creator is not None and isinstance(creator.body, dict) else None
    program = spec.get("path") if isinstance(spec, dict) else None
    command = info.get("command")
    command = command if isinstance(command, str) else ""
    if program in stubborn or any(path in command for path in stubborn):
        return True
    pid = case.path_parameters.get("pid") if case.path_parameters else None
    raise AssertionError(
        f"delete of pid {pid} returned 204, but get still shows it running (no `finished` and "
        "`exit_code`); a terminated process must show as finished (exit code 143 after SIGTERM, 137 "
        "after the SIGKILL that follows) unless its program is declared to survive termination"
    )


def _identity(credentials: Any) -> tuple[Any, ...] | None:
    if not isinstance(credentials, dict):
        return None
    if credentials.get("type") == "SAML_BEARER_TOKEN":
        return ("SAML_BEARER_TOKEN", credentials.get("saml_token"))
    return (credentials.get("type"), credentials.get("user_name"), credentials.get("password"))


def guest_credentials_are_enforced(ctx: Any, response: Any, case: Any) -> bool | None:
    """A guest call that succeeded carried the run's known-good guest credentials."""
    state = state_of(case)
    op = operation_of(state, case) if state is not None else None
    if state is None or op is None or not op.takes_guest_credentials or not 200 <= response.status_code < 300:
        return True
    sent = case.body.get("credentials") if isinstance(case.body, dict) else None
    known = state.target.guest_credentials()
    if known is not None and _identity(sent) == _identity(known):
        return None
    raise AssertionError(
        f"{op.id} succeeded ({response.status_code}) with guest credentials that are not "
        "the run's known-good ones (generated, or incomplete): the server must answer 401 "
        "UNAUTHENTICATED, or 400 INVALID_ARGUMENT for a credentials object missing its password or token"
    )


# Error types that say "the server failed", never a documented condition, at whatever status.
_GENERIC_ERRORS = frozenset({"ERROR", "INTERNAL_SERVER_ERROR"})


def no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 5xx is a documented vAPI error of the operation at that status, or a server error."""
    status = response.status_code
    if status < 500:
        return None  # judged: not a server error
    state = state_of(case)
    op = operation_of(state, case) if state is not None else None
    body = _json(response)
    error_type = body.get("error_type") if isinstance(body, dict) else None
    if op is not None and isinstance(error_type, str):
        if error_type not in _GENERIC_ERRORS and op.error_statuses.get(error_type) == status:
            return None
    elif op is not None and isinstance(body, dict) and isinstance(body.get("messages"), list):
        # error_type is optional (older vAPI implementations leave it unset): a vAPI error at a status
        # where the operation documents a condition passes.
        documented = {s for t, s in op.error_statuses.items() if t not in _GENERIC_ERRORS}
        if status in documented:
            return None
    shown = f" {error_type}" if isinstance(error_type, str) else ""
    raise AssertionError(
        f"Server error: {status}{shown} is not an error the API document gives this operation at that status"
    )


def transfer_urls_serve_once(ctx: Any, response: Any, case: Any) -> bool | None:
    """A transfer URL serves one successful request; records the URLs Transfers.create returns."""
    state = state_of(case)
    op = operation_of(state, case) if state is not None else None
    if state is None or op is None:
        return True
    if op.served_by_host:
        return _served_once(state, case, response.status_code)
    if not 200 <= response.status_code < 300:
        return True
    if op.effect is Effect.OPENS_TRANSFER:
        spec = case.body.get("spec") if isinstance(case.body, dict) else None
        attributes = spec.get("attributes") if isinstance(spec, dict) else None
        size = attributes.get("size") if isinstance(attributes, dict) else None
        upload = isinstance(size, int) and not isinstance(size, bool)
        state.record_transfer(_json(response), size if upload else None)
    return True


def _served_once(state: RunState, case: Any, status: int) -> bool | None:
    """A request on a transfer URL of the run: judged when it is the URL's first success, or a second use."""
    query = case.query if isinstance(case.query, dict) else {}
    key = (query.get("id"), query.get("token"))
    transfer = state.transfer(key) if all(isinstance(k, str) for k in key) else None  # type: ignore[arg-type]
    if transfer is None:
        return True  # not a URL of this run: nothing to compare with
    if not 200 <= status < 300:
        return None if transfer.used else True  # a used URL refused is the contract; else not judged
    if transfer.used:
        raise AssertionError(
            f"{case.method} /guestFile succeeded ({status}) with a transfer URL that had "
            "already served a successful request: a transfer URL is single-use"
        )
    transfer.used = True
    return None


CUSTOM_CHECKS = {
    "created_process_is_available": created_process_is_available,
    "no_undocumented_server_error": no_undocumented_server_error,
    "transfer_urls_serve_once": transfer_urls_serve_once,
    "create_returns_a_fresh_pid": create_returns_a_fresh_pid,
    "terminated_process_is_finished": terminated_process_is_finished,
    "guest_credentials_are_enforced": guest_credentials_are_enforced,
}

_registered = False


def register_checks() -> None:
    """Registers the checks with schemathesis (once per process; they ignore other runs' cases)."""
    global _registered  # noqa: PLW0603 - schemathesis's check registry is process-wide
    if not _registered:
        for check in CUSTOM_CHECKS.values():
            schemathesis.check(check)
        _registered = True
