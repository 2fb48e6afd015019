"""Shaping generated cases: reaching the interesting states, and never breaking the safety rules.

Two layers:

* `steer` (a schemathesis `map_case` hook, per schema): makes a share of the *positive* guest calls
  use the known-good guest credentials, an allowed program and a plausible spec, and points some
  get/delete calls at processes the run started, so that creates succeed and stateful chains get
  going. Negative cases are left alone: they explore the error paths.
* `guard` (a `before_call` hook, which schemathesis only offers globally): the last step before
  any request of a run leaves, including the coverage phase's and the checks' probes. It enforces
  `SAFETY_RULES` whatever generated the case (against a sandbox, only the program rule, and only
  without `any_program`).

Choices come from `stable_share` of the case's own content, so a shaped case is reproducible.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import schemathesis
from schemathesis import GenerationMode

from ._state import GUEST_OPERATIONS, NO_SUCH_PID, RunState, operation_id, stable_share, state_of

__all__ = ["PLAUSIBLE_ARGUMENTS", "guard", "install_guard", "steer"]

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
PLAUSIBLE_ARGUMENTS = ("", "1", "30")


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _key(case: Any) -> list[Any]:
    return [case.path_parameters, case.body if isinstance(case.body, (dict, list, str, int)) else None]


def steer(context: Any, case: Any) -> Any:
    """`map_case` hook: bias positive guest calls towards states where the server does real work."""
    state = state_of(case)
    op = operation_id(case)
    if state is None or op not in GUEST_OPERATIONS or not _is_positive(case) or not isinstance(case.body, dict):
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
    if op == "create":
        spec = case.body.get("spec")
        if isinstance(spec, dict):
            if target.programs:
                spec["path"] = target.programs[int(stable_share("program", key) * len(target.programs))]
            if stable_share("spec", key) < options.plausible_spec_share:
                # Windows-only flag and generated directories make most creates fail validation;
                # a number for arguments keeps a sleep-like program running long enough for
                # get and delete to meet it running (and short enough to leave nothing behind).
                spec.pop("start_minimized", None)
                spec.pop("working_directory", None)
                spec["arguments"] = PLAUSIBLE_ARGUMENTS[int(stable_share("arguments", key) * len(PLAUSIBLE_ARGUMENTS))]
    elif op in {"get", "delete"} and isinstance(vm, str):
        pids = state.created_pids(vm)
        if pids and stable_share("pid", key) < 0.5:
            case.path_parameters["pid"] = pids[int(stable_share("which", key) * len(pids))]
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


def guard(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """`before_call` hook: rewrite a case of a fuzz run so that it keeps the safety rules."""
    state = state_of(case)
    if state is None:
        return
    op = operation_id(case)
    if op not in GUEST_OPERATIONS:
        return
    params = case.path_parameters
    if params is None:
        params = case.path_parameters = {}
    sandbox = state.target.sandbox
    if not sandbox and params.get("vm") not in state.target.vms:
        params["vm"] = _allowed_vm(state, case)
    body = case.body
    if op == "create" and not state.target.any_program and isinstance(body, dict):
        spec = body.get("spec")
        if isinstance(spec, dict) and "path" in spec and spec["path"] not in state.target.programs:
            programs = state.target.programs
            spec["path"] = programs[int(stable_share("program", _key(case)) * len(programs))]
    if not sandbox and op == "delete" and "pid" in params and not _pid_is_ours(state, params["vm"], params["pid"]):
        params["pid"] = NO_SUCH_PID


_installed = False


def install_guard() -> None:
    """Registers `guard` with schemathesis (once per process; it ignores cases of other runs)."""
    global _installed  # noqa: PLW0603 - schemathesis only offers a process-wide before_call
    if not _installed:
        schemathesis.hook("before_call")(guard)
        _installed = True
