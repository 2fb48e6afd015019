"""The fuzz command's safety guard is default-deny: an operation no rule covers never reaches a real server.

The document is the source of every operation the fuzz command knows; a newer document may bring
operations (file deletes, moves...) whose effect the safety rules were not written for. Against a
server that is not a sandbox such an operation is never sent; against a sandbox it is explored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote

import pytest
from vcenter_guest.fuzz import FuzzOptions, FuzzTarget, run
from vcenter_guest.fuzz._guestfiles import RunDirectory
from vcenter_guest.fuzz._shaping import Refused, guard
from vcenter_guest.fuzz._state import RunState, forget, remember
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, create_app, serve
from vcenter_guest.operations import OperationTable, load_document

from tests.property.proxy import Proxy

pytestmark = pytest.mark.slow

NEW_PATH = "/api/vcenter/vm/{vm}/guest/filesystem/wipe"


def _with_unclassified_operation() -> dict[str, Any]:
    """The shipped document plus a `{vm}` operation that says nothing of its effect (a guest-wiping one, say)."""
    document = copy.deepcopy(load_document())
    create = document["paths"]["/api/vcenter/vm/{vm}/guest/processes?action=create"]["post"]
    wipe = copy.deepcopy(create)
    wipe["operationId"] = "filesystem.wipe"
    wipe.pop("x-vcenter-guest-effect")
    wipe.pop("x-vcenter-guest-resend")
    wipe["x-vcenter-guest-vapi"] = {"service": "com.vmware.vcenter.vm.guest.filesystem", "operation": "wipe"}
    wipe["responses"]["201"].pop("links")
    document["paths"][f"{NEW_PATH}?action=wipe"] = {"post": wipe}
    return document


@pytest.fixture
def recorded() -> Iterator[tuple[str, Proxy]]:
    """The correct mock (it does not know the new operation) on a loopback socket, recording every path."""
    proxy = Proxy(create_app())
    with serve(app=proxy) as url:
        yield url, proxy


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
        document=_with_unclassified_operation(),
    )


def _wipes(paths: list[str]) -> list[str]:
    return [p for p in paths if p.endswith("/guest/filesystem/wipe")]


def test_an_operation_without_a_safety_rule_is_never_sent_to_a_real_server(recorded: tuple[str, Proxy]) -> None:
    url, proxy = recorded
    result = run(_target(url, sandbox=False), FuzzOptions(max_examples=5, seed=3))
    paths = [r.path for r in proxy.requests]
    assert [p for p in paths if "/guest/processes" in p], "the run fuzzed the operations it has rules for"
    assert _wipes(paths) == [], "an operation no safety rule covers reached the server"
    assert not any("filesystem.wipe" in label or "wipe" in label for label in result.operations)


def test_against_a_sandbox_the_same_operation_is_explored(recorded: tuple[str, Proxy]) -> None:
    """The recording does see the operation when nothing forbids it: the test above can fail."""
    url, proxy = recorded
    run(_target(url, sandbox=True), FuzzOptions(max_examples=5, seed=3, stateful=False))
    paths = [r.path for r in proxy.requests]
    assert _wipes(paths), "a sandbox run explores every operation of the document"


def test_the_guard_refuses_a_case_of_an_unclassified_operation_itself() -> None:
    """Defense in depth: should such a case come through anyway, the last hook before sending refuses it."""
    target = _target("http://127.0.0.1:9", sandbox=False)
    table = OperationTable(target.document or {})
    schema = object()
    case = SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": "filesystem.wipe"}), label="POST wipe"
        ),
        path_parameters={"vm": "vm-7"},
        body={},
    )
    state = RunState(target=target, options=FuzzOptions(), secrets=SimpleNamespace(), table=table)  # type: ignore[arg-type]
    remember(schema, state)
    try:
        with pytest.raises(Refused, match=r"filesystem\.wipe"):
            guard(None, case, {})
        known = SimpleNamespace(
            **{
                **vars(case),
                "operation": SimpleNamespace(
                    **{**vars(case.operation), "definition": SimpleNamespace(raw={"operationId": "processes.get"})}
                ),
            }
        )
        guard(None, known, {})
        assert known.path_parameters["vm"] == "vm-42", "a classified operation is rewritten to the named VM"
    finally:
        forget(schema)


def test_printed_safety_rules_say_that_unclassified_operations_are_not_sent() -> None:
    from vcenter_guest.fuzz import safety_rules

    rules = safety_rules(_target("http://127.0.0.1:9", sandbox=False))
    assert any("never sent" in rule and "x-vcenter-guest-effect" in rule for rule in rules), json.dumps(rules)


# -- file operations against a real server: confined to the run's own guest directory -------------------

RUN = "/tmp/vcenter-guest-fuzz-0123abcd"


def _file_case(operation_id: str, *, path: str | None = None, body: Any = None, query: Any = None) -> Any:
    schema = object()
    return SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": operation_id}), label=operation_id
        ),
        path_parameters={"vm": "vm-7", **({"path": path} if path is not None else {})},
        body=body if body is not None else {},
        query=query,
        method=OperationTable(load_document())[operation_id].method,  # the guard refuses a probe of another method
    )


def _guarded(case: Any, run_directory: Any) -> Any:
    target = FuzzTarget(
        url="http://127.0.0.1:9", user=DEMO_API_USER, password=DEMO_API_PASSWORD, vms=("vm-42", "vm-43"),
        programs=("/bin/true",), guest_user=DEMO_GUEST_USER, guest_password=DEMO_GUEST_PASSWORD,
    )  # fmt: skip
    state = RunState(
        target=target,
        options=FuzzOptions(),
        secrets=SimpleNamespace(add=lambda *_: None),
        table=OperationTable(load_document()),
    )  # type: ignore[arg-type]
    state.run_directory = RunDirectory("vm-42", run_directory) if run_directory else None
    remember(case.operation.schema, state)
    try:
        guard(None, case, {})
    finally:
        forget(case.operation.schema)
    return case


HOSTILE = [
    "/etc/passwd",
    f"{RUN}/../etc",
    f"{RUN}",
    f"{RUN}x/a",
    f"{RUN}//a",
    f"{RUN}/./a",
    f"{RUN}/a\x00/../../b",
    "relative",
    "",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_guest_path_of_a_file_operation_is_put_inside_the_run_directory(hostile: str) -> None:
    move = _guarded(_file_case("files.move", body={"path": hostile, "new_path": hostile, "overwrite": True}), RUN)
    assert move.path_parameters["vm"] == "vm-42", "file operations go to the run directory's VM"
    for field in ("path", "new_path"):
        assert move.body[field].startswith(RUN + "/"), move.body[field]
        assert ".." not in move.body[field].split("/")
    get = _guarded(_file_case("files.delete", path=quote(hostile, safe="")), RUN)
    assert unquote(get.path_parameters["path"]).startswith(RUN + "/")
    upload = _guarded(_file_case("transfers.create", body={"spec": {"path": hostile, "attributes": {"size": 1}}}), RUN)
    assert upload.body["spec"]["path"].startswith(RUN + "/")


def test_a_path_inside_the_run_directory_made_of_the_runs_names_is_left_as_it_is() -> None:
    case = _guarded(_file_case("directories.move", body={"path": f"{RUN}/dir", "new_path": f"{RUN}/moved-7"}), RUN)
    assert (case.body["path"], case.body["new_path"]) == (f"{RUN}/dir", f"{RUN}/moved-7")


def test_a_temporary_name_without_a_parent_is_made_in_the_run_directory() -> None:
    case = _guarded(_file_case("files.create_temporary", body={"prefix": "a", "suffix": "b"}), RUN)
    assert case.body["parent_path"] == RUN


def test_the_data_plane_only_gets_the_runs_own_transfers() -> None:
    case = _file_case("guest_file.download", query={"id": "7", "token": "someone-elses"})
    case.path_parameters = {}
    assert _guarded(case, RUN).query == {"id": "0", "token": "not-a-transfer-of-this-run"}


def test_without_a_run_directory_no_file_operation_is_sent() -> None:
    with pytest.raises(Refused, match="guest directory"):
        _guarded(_file_case("files.get", path="%2Fetc%2Fshadow"), None)


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("C:\\Temp\\vcenter-guest-fuzz-1\\a", True),
        ("c:/temp/VCENTER-GUEST-FUZZ-1/a", True),  # Windows compares without case, takes / too
        ("C:\\Temp\\vcenter-guest-fuzz-1\\..\\x", False),
        ("C:\\Temp\\vcenter-guest-fuzz-1\\.. \\x", False),  # Windows drops trailing dots and spaces
        ("C:\\Temp\\vcenter-guest-fuzz-1\\...\\x", False),
        ("C:\\Temp\\vcenter-guest-fuzz-1", False),
        ("D:\\Temp\\vcenter-guest-fuzz-1\\a", False),
    ],
)
def test_a_windows_run_directory_knows_what_is_inside_it(path: str, inside: bool) -> None:
    assert RunDirectory("vm-43", "C:\\Temp\\vcenter-guest-fuzz-1").inside(path) is inside


@pytest.mark.parametrize(
    ("headers", "valid"),
    [
        ({"Content-Type": ["application/json"], "Content-Length": ["42"]}, True),
        ({"Content-Length": ["/rT:j"]}, False),  # what the HTTP parser rejects before any API
        ({"a b": ["1"]}, False),
        ({"X": ["line\nbreak"]}, False),
        ({"yS|4.4": [""]}, True),  # odd, but a token: valid HTTP, and judged
    ],
)
def test_only_cases_that_are_http_are_judged(headers: dict[str, list[str]], valid: bool) -> None:
    from vcenter_guest.fuzz._runner import _valid_http

    assert _valid_http(headers) is valid
