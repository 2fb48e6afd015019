"""Typed errors: one class per vAPI error type, chosen by `error_type`, and nothing raw escapes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest import Client, CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest.mock import DEMO_VM
from vcenter_guest_client import models
from vcenter_guest_client.models.error_type import ErrorType
from vcenter_guest_client.models.file_error_details import FileErrorDetails
from vcenter_guest_client.models.process_error_details import ProcessErrorDetails

GUEST = Credentials.password("root", "vmware")
NO_RETRY = RetryPolicy.never()


def explicit_classes() -> dict[str, type[errors.Error]]:
    return {
        cls.error_type: cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.Error) and cls.__module__ == errors.__name__
    }


def test_every_error_type_of_the_generated_enum_has_its_own_explicit_class() -> None:
    """If this fails after a spec change, add the named class to overlays/vcenter_guest/errors.py."""
    assert set(explicit_classes()) == {member.value for member in ErrorType}


def test_error_classes_are_named_as_vmware_and_the_generated_models_name_them() -> None:
    for error_type, cls in explicit_classes().items():
        assert cls.__name__ == errors.class_name(error_type)
        assert hasattr(models, cls.__name__), f"no generated model {cls.__name__} for {error_type}"
        assert cls.__name__ in errors.__all__


def test_the_specific_errors_derive_from_vmwares_error_under_vapi_error() -> None:
    for cls in explicit_classes().values():
        assert issubclass(cls, errors.Error)
        assert issubclass(cls, errors.VapiError)
        assert issubclass(cls, errors.VcenterGuestError)
    assert not issubclass(errors.UnexpectedResponse, errors.VapiError)
    assert issubclass(errors.TransportError, errors.VcenterGuestError)
    assert issubclass(errors.UsageError, ValueError)


def test_an_error_type_added_to_the_document_still_gets_its_own_class(monkeypatch: pytest.MonkeyPatch) -> None:
    import enum

    extended = enum.Enum("ErrorType", {m.name: m.value for m in ErrorType} | {"BRAND_NEW": "BRAND_NEW"}, type=str)
    monkeypatch.setattr("vcenter_guest_client.models.error_type.ErrorType", extended)
    monkeypatch.setattr(errors, "_BY_TYPE", None)
    cls = errors.error_class("BRAND_NEW")
    assert cls.__name__ == "BrandNew"
    assert issubclass(cls, errors.Error)
    assert cls.error_type == "BRAND_NEW"
    assert errors.error_class("NOT_FOUND") is errors.NotFound


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Client:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            if request.method == "GET":  # the session is alive: an UNAUTHENTICATED is about the guest
                stamp = "2026-01-01T00:00:00Z"
                return httpx.Response(200, json={"user": "u", "created_time": stamp, "last_accessed_time": stamp})
            return httpx.Response(201, json="s-1") if request.method == "POST" else httpx.Response(204)
        return handler(request)

    return Client(
        "http://vc.test",
        user="u",
        password="Pa55word!",
        transport=httpx.MockTransport(route),
        retry=NO_RETRY,
        **options,
    )


def _body(
    error_type: str | None, text: str = "Something odd happened.", args: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"id": "m.id", "default_message": text, "args": args or ["odd"]}]}
    if error_type is not None:
        body["error_type"] = error_type
    return body


@pytest.mark.parametrize("error_type", [m.value for m in ErrorType])
def test_each_error_type_raises_its_class_with_all_its_fields(error_type: str) -> None:
    vc = _client(lambda _: httpx.Response(400, json=_body(error_type) | {"data": {"x": 1}}))
    with pytest.raises(errors.VapiError) as caught:
        vc.processes.get("vm-1", GUEST, 7)
    error = caught.value
    assert type(error) is explicit_classes()[error_type]
    assert (error.error_type, error.status_code, error.operation, error.vm, error.pid) == (
        error_type,
        400,
        "processes.get",
        "vm-1",
        7,
    )
    assert [m.id for m in error.messages] == ["m.id"]
    assert error.data == {"x": 1}
    assert str(error) == "Something odd happened."


def test_dispatch_is_by_error_type_not_by_status() -> None:
    """Status 400 carries ten error types; the body decides."""
    vc = _client(lambda _: httpx.Response(400, json=_body("NOT_ALLOWED_IN_CURRENT_STATE")))
    with pytest.raises(errors.NotAllowedInCurrentState):
        vc.processes.list("vm-1", GUEST)
    vc = _client(lambda _: httpx.Response(500, json=_body("RESOURCE_BUSY")))
    with pytest.raises(errors.ResourceBusy):
        vc.processes.list("vm-1", GUEST)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.InvalidRequest),
        (401, errors.Unauthenticated),
        (403, errors.Unauthorized),
        (404, errors.NotFound),
        (409, errors.ConcurrentChange),
        (429, errors.ServiceUnavailable),
        (500, errors.InternalServerError),
        (503, errors.ServiceUnavailable),
        (504, errors.TimedOut),
        (418, errors.Error),
    ],
)
def test_the_status_decides_only_when_error_type_is_missing_or_unknown(status: int, expected: type) -> None:
    for error_type in (None, "NOT_A_KNOWN_TYPE"):
        vc = _client(lambda _, t=error_type: httpx.Response(status, json=_body(t)))
        with pytest.raises(errors.VapiError) as caught:
            vc.processes.list("vm-1", GUEST)
        assert type(caught.value) is expected


def test_message_renders_localized_text_when_present() -> None:
    body = _body("NOT_FOUND")
    body["messages"][0]["localized"] = "Introuvable."
    vc = _client(lambda _: httpx.Response(404, json=body))
    with pytest.raises(errors.NotFound, match=r"^Introuvable\.$"):
        vc.processes.list("vm-1", GUEST)


def test_message_is_the_substituted_default_message_as_sent() -> None:
    """VMware substitutes the arguments into default_message itself: nothing is filled in again, so a
    VM whose name looks like a placeholder keeps it."""
    body = _body("NOT_FOUND", "The virtual machine {0} was not found.", ["{0}"])
    body["messages"].append({"id": "detail", "default_message": "More detail.", "args": []})
    vc = _client(lambda _: httpx.Response(404, json=body))
    with pytest.raises(errors.NotFound) as caught:
        vc.processes.list("vm-1", GUEST)
    assert str(caught.value) == "The virtual machine {0} was not found.: More detail."


def test_file_and_process_error_details_are_typed() -> None:
    file_body = _body("NOT_FOUND") | {"data": {"reason": "FILE_NOT_FOUND", "file_path": "/x"}}
    vc = _client(lambda _: httpx.Response(404, json=file_body))
    with pytest.raises(errors.NotFound) as caught:
        vc.processes.create("vm-1", GUEST, CreateSpec("/x"))
    assert isinstance(caught.value.data, FileErrorDetails)
    assert caught.value.data.file_path == "/x"

    vc = _client(lambda _: httpx.Response(404, json=_body("NOT_FOUND") | {"data": {"pid": 7}}))
    with pytest.raises(errors.NotFound) as caught:
        vc.processes.get("vm-1", GUEST, 7)
    assert isinstance(caught.value.data, ProcessErrorDetails)
    assert caught.value.data.pid == 7


def test_unauthenticated_carries_the_challenge() -> None:
    body = _body("UNAUTHENTICATED") | {"challenge": 'Basic realm="vCenter"'}
    vc = _client(lambda request: httpx.Response(401, json=body))
    vc.login()  # a session that GET /api/session says is alive: an UNAUTHENTICATED is about the guest
    with pytest.raises(errors.Unauthenticated) as caught:
        vc.processes.list("vm-1", GUEST)
    assert caught.value.challenge == 'Basic realm="vCenter"'


NON_CONFORMING = {
    "undocumented 2xx status": httpx.Response(202, json=[]),
    "redirect": httpx.Response(302, headers={"location": "/elsewhere"}),
    "html error page": httpx.Response(502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}),
    "invalid json": httpx.Response(200, content=b"[{", headers={"content-type": "application/json"}),
    "wrong content type": httpx.Response(200, text="[]", headers={"content-type": "text/plain"}),
    "no content type": httpx.Response(200, content=b"[]"),
    "object instead of array": httpx.Response(200, json={"a": 1}),
    "summary missing pid": httpx.Response(200, json=[{"name": "a", "owner": "o", "command": "c", "started": "x"}]),
    "summary with bad date": httpx.Response(
        200, json=[{"pid": 1, "name": "a", "owner": "o", "command": "c", "started": "yesterday"}]
    ),
    "summary with string pid": httpx.Response(
        200, json=[{"pid": "1", "name": "a", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z"}]
    ),
    "error without messages": httpx.Response(500, json={"error_type": "ERROR"}),
    "error with malformed message": httpx.Response(500, json={"messages": [{"id": 1}]}),
}


@pytest.mark.parametrize("case", sorted(NON_CONFORMING))
def test_a_non_conforming_response_raises_unexpected_response_with_status_and_body(case: str) -> None:
    canned = NON_CONFORMING[case]
    vc = _client(lambda _: canned)
    with pytest.raises(errors.UnexpectedResponse) as caught:
        vc.processes.list("vm-1", GUEST)
    assert caught.value.status_code == canned.status_code
    assert caught.value.operation == "processes.list"
    assert caught.value.reason
    assert str(canned.status_code) in str(caught.value)


def test_unexpected_response_truncates_a_huge_body() -> None:
    vc = _client(lambda _: httpx.Response(500, text="x" * 100_000, headers={"content-type": "text/plain"}))
    with pytest.raises(errors.UnexpectedResponse) as caught:
        vc.processes.list("vm-1", GUEST)
    assert len(caught.value.body) < 1000
    assert len(str(caught.value)) < 1000


def test_create_rejects_a_pid_that_is_not_an_integer() -> None:
    for body in ("7", 7.5, True, -1, None):
        vc = _client(lambda _, b=body: httpx.Response(201, json=b))
        with pytest.raises(errors.UnexpectedResponse):
            vc.processes.create("vm-1", GUEST, "/bin/true")


def test_a_date_time_without_offset_is_read_as_utc() -> None:
    info = {"name": "a", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00"}
    vc = _client(lambda _: httpx.Response(200, json=info))
    started = vc.processes.get("vm-1", GUEST, 1).started
    assert started.utcoffset() is not None
    assert started.utcoffset().total_seconds() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.fixed_dictionaries(
        {"error_type": st.sampled_from([m.value for m in ErrorType]) | st.text(max_size=8), "messages": json_values}
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 418, 500, 502, 503, 504]),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/html", ""]),
    body=bodies,
    operation=st.sampled_from(["create", "list", "get", "delete"]),
)
def test_no_response_whatsoever_makes_a_public_method_raise_anything_but_package_errors(
    status: int, content_type: str, body: bytes, operation: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    vc = _client(lambda _: httpx.Response(status, content=body, headers=headers))
    # A session known to be alive, so that a 401 does not make the client look it up.
    vc.login()
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: vc.processes.create("vm-1", GUEST, "/bin/true"),
        "list": lambda: vc.processes.list("vm-1", GUEST),
        "get": lambda: vc.processes.get("vm-1", GUEST, 1),
        "delete": lambda: vc.processes.delete("vm-1", GUEST, 1),
    }
    with contextlib.suppress(errors.VcenterGuestError):
        calls[operation]()


# --- against the mock: each error the mock can produce, for its condition --------------------------


@pytest.mark.parametrize(
    ("vm", "program", "expected"),
    [
        ("vm-999", "/bin/true", errors.NotFound),  # no such VM
        (DEMO_VM, "/no/such/program", errors.NotFound),  # no such program (FileErrorDetails)
        (DEMO_VM, "bin/true", errors.InvalidArgument),  # not an absolute path
        (DEMO_VM, "/tmp", errors.InvalidArgument),  # a directory
        ("vm-44", "/bin/true", errors.NotAllowedInCurrentState),  # powered off
        ("vm-45", "/bin/true", errors.NotAllowedInCurrentState),  # suspended
        ("vm-46", "/bin/true", errors.ServiceUnavailable),  # tools not running (retried, then raised)
        ("vm-47", "/bin/true", errors.ResourceBusy),  # busy VM (retried, then raised)
        ("vm-48", "/bin/true", errors.Unsupported),  # tools too old
        ("vm-49", "/bin/true", errors.Unsupported),  # guest operations disabled
        (DEMO_VM, "/opt/app/broken", errors.UnableToAllocateResource),  # fails to start
    ],
)
def test_create_raises_the_class_of_each_condition(
    server: Any, guest: Credentials, vm: str, program: str, expected: type
) -> None:
    with server.client() as vc, pytest.raises(expected) as caught:
        vc.processes.create(vm, guest, program)
    assert type(caught.value) is expected
    assert caught.value.vm == vm
    assert caught.value.operation == "processes.create"


def test_program_not_found_carries_file_error_details(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.NotFound) as caught:
        vc.processes.create(DEMO_VM, guest, "/no/such/program")
    assert isinstance(caught.value.data, FileErrorDetails)
    assert caught.value.data.file_path == "/no/such/program"


def test_start_minimized_on_a_linux_guest_is_invalid_argument(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.InvalidArgument):
        vc.processes.create(DEMO_VM, guest, CreateSpec("/bin/true", start_minimized=True))


def test_unknown_pid_is_not_found_with_process_error_details(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        for call in (vc.processes.get, vc.processes.delete):
            with pytest.raises(errors.NotFound) as caught:
                call(DEMO_VM, guest, 999_999)
            assert isinstance(caught.value.data, ProcessErrorDetails)
            assert caught.value.data.pid == 999_999


def test_a_guest_user_without_access_to_a_program_is_unauthorized(server: Any) -> None:
    with server.client() as vc, pytest.raises(errors.Unauthorized):
        vc.processes.create(DEMO_VM, Credentials.password("svc", "svc-pass"), "/root/secret.sh")


def test_a_guest_user_may_not_terminate_another_users_process(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        pid = vc.processes.create(DEMO_VM, guest, CreateSpec("/bin/sleep", arguments="60"))
        with pytest.raises(errors.Unauthorized):
            vc.processes.delete(DEMO_VM, Credentials.password("svc", "svc-pass"), pid)


def test_an_api_user_without_the_execute_privilege_is_unauthorized(server: Any, guest: Credentials) -> None:
    with server.client(user="auditor@vsphere.local", password="Audit!23") as vc:
        assert vc.processes.list(DEMO_VM, guest)  # Query is enough to list
        with pytest.raises(errors.Unauthorized):
            vc.processes.create(DEMO_VM, guest, "/bin/true")


def test_wrong_guest_credentials_are_unauthenticated(server: Any) -> None:
    with server.client() as vc, pytest.raises(errors.Unauthenticated) as caught:
        vc.processes.list(DEMO_VM, Credentials.password("root", "wrong"))
    assert caught.value.operation == "processes.list"


def test_wrong_api_credentials_fail_at_login(server: Any) -> None:
    with pytest.raises(errors.Unauthenticated) as caught, server.client(password="wrong"):
        pass
    assert caught.value.operation == "session.create"


def test_retryable_errors_are_retried_before_they_are_raised(
    server: Any, guest: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    ready = server.simulator.check_vm_ready
    monkeypatch.setattr(server.simulator, "check_vm_ready", lambda vm: (seen.append(vm.spec.id), ready(vm))[1])
    with server.client(retry=RetryPolicy(attempts=3, initial=0.001, maximum=0.001, jitter=0)) as vc:
        with pytest.raises(errors.ServiceUnavailable):
            vc.processes.list("vm-46", guest)
        assert seen == ["vm-46"] * 3, "SERVICE_UNAVAILABLE must be tried exactly `attempts` times"
        seen.clear()
        with pytest.raises(errors.NotAllowedInCurrentState):
            vc.processes.list("vm-44", guest)
        assert seen == ["vm-44"], "an error that is not transient must not be retried"


def test_errors_survive_pickling_with_their_attributes() -> None:
    import pickle

    from vcenter_guest import ProcessResult

    result = ProcessResult(7, 3, datetime_now(), None, "vm-1")
    samples: list[errors.VcenterGuestError] = [
        errors.NotFound("gone", status_code=404, operation="processes.get", vm="vm-1", pid=7, data={"pid": 7}),
        errors.Unauthenticated("who?", challenge='Basic realm="vCenter"', status_code=401),
        errors.UnexpectedResponse("bad", status_code=502, body="<html>", reason="html"),
        errors.RequestNotSent("refused", operation="processes.create", vm="vm-1"),
        errors.ProcessTimeout("slow", vm="vm-1", pid=7, timeout=5.0, terminated=True),
        errors.ProcessVanished("gone", vm="vm-1", pid=7),
        errors.ProcessFailed("exit 3", result=result),
        errors.UsageError("bad pid"),
    ]
    for error in samples:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert vars(copy) == vars(error)


def datetime_now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)
