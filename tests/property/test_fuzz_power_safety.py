"""Fuzz safety for the power operations of issue 27: nothing that can stop a guest (VM Power start,
stop, suspend, reset; guest Power shutdown, reboot, standby) is sent to a server that is not
`--sandbox`. Their effect, `changes-power`, has no safety rule on purpose: default-deny keeps them out."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from vcenter_guest.fuzz import FuzzOptions, FuzzTarget, run
from vcenter_guest.fuzz._shaping import RULES, Refused, guard, unguarded
from vcenter_guest.fuzz._state import RunState, forget, remember
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, create_app, serve
from vcenter_guest.operations import Effect, operations

POWER_CHANGES = {
    "power.start",
    "power.stop",
    "power.suspend",
    "power.reset",
    "guest_power.shutdown",
    "guest_power.reboot",
    "guest_power.standby",
}


def test_every_operation_that_can_stop_a_guest_changes_power_and_no_rule_covers_that() -> None:
    changing = {op.id for op in operations().values() if op.effect is Effect.CHANGES_POWER}
    assert changing == POWER_CHANGES
    assert Effect.CHANGES_POWER not in RULES
    assert {op.id for op in unguarded(operations())} >= POWER_CHANGES


def test_the_new_reads_have_a_rule_so_a_real_server_is_fuzzed_with_them() -> None:
    reads = {"identity.get", "local_filesystem.get", "networking.get", "interfaces.list", "routes.list"}
    reads |= {"environment.get", "environment.list", "guest_power.get", "power.get", "tools.get"}
    assert all(operations()[op].effect in RULES for op in reads)


def _target(url: str, *, sandbox: bool) -> FuzzTarget:
    return FuzzTarget(
        url=url,
        user=DEMO_API_USER,
        password=DEMO_API_PASSWORD,
        vms=("vm-42",),
        programs=("/bin/true",),
        guest_user=DEMO_GUEST_USER,
        guest_password=DEMO_GUEST_PASSWORD,
        sandbox=sandbox,
        any_program=False,
    )


@pytest.mark.parametrize("operation_id", sorted(POWER_CHANGES))
def test_the_guard_refuses_a_power_change_for_a_real_server_and_lets_a_sandbox_have_it(operation_id: str) -> None:
    schema = object()
    case = SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": operation_id}), label=operation_id
        ),
        path_parameters={"vm": "vm-7"},
        body=None,
    )
    for sandbox in (False, True):
        target = _target("http://127.0.0.1:9", sandbox=sandbox)
        state = RunState(target=target, options=FuzzOptions(), secrets=SimpleNamespace(), table=operations())  # type: ignore[arg-type]
        remember(schema, state)
        try:
            if sandbox:
                guard(None, case, {})
            else:
                with pytest.raises(Refused, match=operation_id.replace(".", r"\.")):
                    guard(None, case, {})
        finally:
            forget(schema)


def _recording(app: ASGIApp, requests: list[str]) -> ASGIApp:
    async def record(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            requests.append(f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode()}")
        await app(scope, receive, send)

    return record


@pytest.fixture
def recorded() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    with serve(app=_recording(create_app(), requests)) as url:
        yield url, requests


def _power_changes(requests: list[str]) -> list[str]:
    return [r for r in requests if r.startswith("POST ") and "/power?" in r]


@pytest.mark.slow
def test_a_fuzz_run_against_a_real_server_sends_no_power_change(recorded: tuple[str, list[str]]) -> None:
    url, requests = recorded
    run(_target(url, sandbox=False), FuzzOptions(max_examples=5, seed=3, stateful=False))
    assert any("/guest/identity" in r for r in requests), "the run fuzzed the new reads"
    assert _power_changes(requests) == []


@pytest.mark.slow
def test_a_sandbox_run_does_send_power_changes(recorded: tuple[str, list[str]]) -> None:
    """The recording sees them when nothing forbids them: the test above can fail."""
    url, requests = recorded
    run(_target(url, sandbox=True), FuzzOptions(max_examples=5, seed=3, stateful=False))
    assert _power_changes(requests)


def test_the_guard_refuses_a_post_probe_of_the_power_get_path_on_a_real_server() -> None:
    """VMware's bindings send guest Power shutdown as a bare POST to Power.get's path: a probe of an
    undocumented method there is a shutdown."""
    schema = object()
    case = SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": "guest_power.get"}), label="GET power"
        ),
        method="POST",
        path_parameters={"vm": "vm-7"},
        body=None,
    )
    state = RunState(
        target=_target("http://127.0.0.1:9", sandbox=False),
        options=FuzzOptions(),
        secrets=SimpleNamespace(),
        table=operations(),
    )  # type: ignore[arg-type]
    remember(schema, state)
    try:
        with pytest.raises(Refused, match="POST probe"):
            guard(None, case, {})
        case.method = "OPTIONS"
        guard(None, case, {})
    finally:
        forget(schema)


def test_a_sandbox_run_sends_power_changes_aimed_at_its_own_vm_elsewhere() -> None:
    """A sandbox gets power changes, but not on the VM the run's processes and files live in."""
    from vcenter_guest.fuzz._shaping import SPARED_VM

    schema = object()
    case = SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": "power.stop"}), label="stop"
        ),
        path_parameters={"vm": "vm-42"},
        body=None,
    )
    target = _target("http://127.0.0.1:9", sandbox=True)
    state = RunState(target=target, options=FuzzOptions(), secrets=SimpleNamespace(), table=operations())  # type: ignore[arg-type]
    remember(schema, state)
    try:
        guard(None, case, {})
        assert case.path_parameters["vm"] == SPARED_VM
        case.path_parameters["vm"] = "vm-7"
        guard(None, case, {})
        assert case.path_parameters["vm"] == "vm-7", "another VM of the sandbox is fair game"
    finally:
        forget(schema)
