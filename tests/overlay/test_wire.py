"""The overlay's reading of `get` and `list` bodies agrees with the generated models' `from_dict`.

The processes service reads Processes.Info and Processes.Summary with the generated `from_dict` and
then checks the types and converts to its values. These tests keep the values faithful: for any
body the schema allows, both readings give the same values, and what the generated reader rejects,
the overlay rejects too (as UnexpectedResponse).
"""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest import errors
from vcenter_guest._engine import Call
from vcenter_guest._services import processes
from vcenter_guest.operations import operations
from vcenter_guest_client.models import ProcessInfo, ProcessSummary
from vcenter_guest_client.types import UNSET

zones = st.sampled_from(
    [
        datetime.timezone.utc,
        datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
        datetime.timezone(-datetime.timedelta(hours=7)),
    ]
)
moments = st.datetimes(
    min_value=datetime.datetime(1971, 1, 1), max_value=datetime.datetime(2200, 1, 1), timezones=zones
)


def _stamp(moment: datetime.datetime, style: int) -> str:
    # The spellings of RFC 3339 date-times servers send: Z or offset, with or without fractions.
    if style == 0:
        return moment.isoformat().replace("+00:00", "Z")
    if style == 1:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if style == 2:
        return moment.isoformat(timespec="seconds")
    return moment.isoformat(timespec="microseconds")


stamps = st.builds(_stamp, moments, st.integers(0, 3))
texts = st.text(max_size=30)
int64 = st.integers(-(2**63), 2**63 - 1)


def _response(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def _read_get(body: Any, pid: int) -> Any:
    call = Call(operations()["processes.get"], dict, processes._parse_get, vm="vm-1", pid=pid)
    return call.read(_response(body))


def _read_list(body: Any) -> Any:
    call = Call(operations()["processes.list"], dict, processes._parse_list, vm="vm-1")
    return call.read(_response(body))


@settings(max_examples=200, deadline=None)
@given(
    name=texts,
    owner=texts,
    command=texts,
    started=stamps,
    finished=st.none() | stamps,
    exit_code=st.none() | int64,
    pid=st.integers(0, 2**31),
)
def test_get_bodies_read_the_same_as_the_generated_process_info(
    *, name: str, owner: str, command: str, started: str, finished: str | None, exit_code: int | None, pid: int
) -> None:
    body: dict[str, Any] = {"name": name, "owner": owner, "command": command, "started": started}
    if finished is not None:
        body["finished"] = finished
    if exit_code is not None:
        body["exit_code"] = exit_code
    ours = _read_get(body, pid)
    generated = ProcessInfo.from_dict(body)
    assert (ours.name, ours.owner, ours.command, ours.pid) == (generated.name, generated.owner, generated.command, pid)
    assert ours.started == generated.started
    assert ours.finished == (None if generated.finished is UNSET else generated.finished)
    assert ours.exit_code == (None if generated.exit_code is UNSET else generated.exit_code)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"name": texts, "pid": int64, "owner": texts, "command": texts, "started": stamps}),
        max_size=5,
    )
)
def test_list_bodies_read_the_same_as_the_generated_process_summary(body: list[dict[str, Any]]) -> None:
    ours = _read_list(body)
    generated = [ProcessSummary.from_dict(item) for item in body]
    assert [(s.pid, s.name, s.owner, s.command, s.started) for s in ours] == [
        (g.pid, g.name, g.owner, g.command, g.started) for g in generated
    ]


@pytest.mark.parametrize(
    "started",
    ["yesterday", "2026-13-01T00:00:00Z", "", 1700000000, None, ["2026-01-01T00:00:00Z"]],
)
def test_a_date_time_both_readers_reject_is_an_unexpected_response(started: Any) -> None:
    body = {"name": "a", "owner": "o", "command": "c", "started": started}
    with pytest.raises((ValueError, TypeError, KeyError, AttributeError, OverflowError)):
        ProcessInfo.from_dict(body)
    with pytest.raises(errors.UnexpectedResponse):
        _read_get(body, 1)
