"""Fault injection: configured rules inject their documented error at their rate, reproducibly."""

from __future__ import annotations

import pytest
from vcenter_guest.mock import DEMO_INVENTORY

FAULT = "vcenter_guest.mock.injected_fault"


def _with_faults(**faults):
    return {**DEMO_INVENTORY, "faults": faults}


def _create_statuses(api, n=30):
    statuses = []
    for _ in range(n):
        response = api.op("create", spec={"path": "/bin/true"})
        if response.status_code == 503:
            api.expect_error(
                response, 503, "SERVICE_UNAVAILABLE", FAULT, args=["SERVICE_UNAVAILABLE", "processes.create"]
            )
        statuses.append(response.status_code)
        api.op("list")  # other operations do not shift the create sequence
    return statuses


def test_fault_rule_injects_its_error_at_its_rate_reproducibly_with_a_seed(make_api):
    rule = {"operation": "processes.create", "error_type": "SERVICE_UNAVAILABLE", "rate": 0.5}
    first = _create_statuses(make_api(_with_faults(seed=7, rules=[rule])))
    second = _create_statuses(make_api(_with_faults(seed=7, rules=[rule])))
    other_seed = _create_statuses(make_api(_with_faults(seed=8, rules=[rule])))
    assert first == second, "the same seed must give the same faults"
    assert set(first) == {201, 503}
    assert first != other_seed


@pytest.mark.parametrize(
    ("operation", "error_type", "status"),
    [
        ("session.create", "SERVICE_UNAVAILABLE", 503),
        ("processes.get", "INVALID_ARGUMENT", 400),
        ("processes.delete", "RESOURCE_BUSY", 500),
        ("processes.list", "UNAUTHENTICATED", 401),
    ],
)
def test_fault_rule_with_rate_one_always_injects_with_the_documented_status(make_api, operation, error_type, status):
    api = make_api(_with_faults(rules=[{"operation": operation, "error_type": error_type}]))
    if operation == "session.create":
        response = api.request("POST", "/api/session", auth=("administrator@vsphere.local", "Admin!23"))
    else:
        api.login()
        action = operation.partition(".")[2]
        response = api.op(action, pid=1 if action in {"get", "delete"} else None)
    body = api.expect_error(response, status, error_type, FAULT)
    assert ("challenge" in body) == (error_type == "UNAUTHENTICATED")


def test_latency_delays_every_response(make_api, monkeypatch):
    import vcenter_guest.mock._app as app_module

    delays = []

    async def fake_sleep(seconds):
        delays.append(seconds)

    monkeypatch.setattr(app_module.anyio, "sleep", fake_sleep)
    api = make_api(_with_faults(latency_ms=250))
    api.login()
    api.op("list")
    api.op("get", "vm-404", 1)
    assert delays == [0.25, 0.25, 0.25]


def test_nothing_is_injected_without_fault_rules(api):
    assert all(api.op("create", spec={"path": "/bin/true"}).status_code == 201 for _ in range(50))
