"""Every operation of the document through the official SDK's default client (vAPI JSON-RPC on `POST
/api`), as an SDK user writes it: `create_vsphere_client(server, user, password, session=...)` and
the stubs it builds, nothing switched or patched. Success and error cases; errors are checked by the
exception class the SDK raises (it picks it by the error's name) and by `error_type`."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from com.vmware.vapi.std import errors_client as std
from com.vmware.vcenter.vm.guest.filesystem_client import Files, Transfers
from com.vmware.vcenter.vm.guest_client import Credentials, Operations, Processes
from com.vmware.vcenter.vm_client import Power
from com.vmware.vcenter_client import VM
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM
from vcenter_guest.operations import VapiId, operations
from vmware.vapi.vsphere.client import create_vsphere_client

ROOT = Credentials(
    interactive_session=False,
    type=Credentials.Type.USERNAME_PASSWORD,
    user_name=DEMO_GUEST_USER,
    password=DEMO_GUEST_PASSWORD,
)
WRONG = Credentials(
    interactive_session=False, type=Credentials.Type.USERNAME_PASSWORD, user_name=DEMO_GUEST_USER, password="nope"
)
POWERED_OFF = "vm-44"
TRUE = Processes.CreateSpec(path="/bin/true")
BROKEN = Processes.CreateSpec(path="/opt/app/broken")


@pytest.fixture
def client(sdk_mock: Any) -> Any:
    """The SDK's vSphere client, logged in to the mock (its `Session.create` over JSON-RPC)."""
    vsphere = create_vsphere_client(sdk_mock.server, DEMO_API_USER, DEMO_API_PASSWORD, session=sdk_mock.http())
    return vsphere


def guest(client: Any) -> Any:
    return client.vcenter.vm.guest


def raises(kind: type[Exception], error_type: str) -> Any:
    class _Check:
        def __enter__(self) -> None:
            self.inner = pytest.raises(kind)
            self.info = self.inner.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = bool(self.inner.__exit__(*exc))
            assert str(self.info.value.error_type) == error_type, self.info.value
            return handled

    return _Check()


# -- sessions --------------------------------------------------------------------------------------------


def test_the_sdk_logs_in_and_reads_its_session_over_jsonrpc(client: Any) -> None:
    info = client.session_svc.get()
    assert info.user == DEMO_API_USER
    assert isinstance(info.created_time, datetime.datetime)
    assert isinstance(client.get_session_id(), str)
    assert client.get_session_id()


def test_a_wrong_password_raises_unauthenticated_from_create_vsphere_client(failed_login: Any) -> None:
    error = failed_login(DEMO_API_USER, "wrong")  # create_vsphere_client(server, user, "wrong", ...)
    assert isinstance(error, std.Unauthenticated), error
    assert str(error.error_type) == "UNAUTHENTICATED"


def test_after_session_delete_the_session_is_unauthenticated(client: Any) -> None:
    client.session_svc.delete()
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        client.session_svc.get()


def test_an_unknown_session_id_is_unauthenticated(sdk_mock: Any) -> None:
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        create_vsphere_client(sdk_mock.server, session_id="not-a-session", session=sdk_mock.http()).vcenter.VM.list()


# -- processes --------------------------------------------------------------------------------------------


def test_processes_create_get_list_delete_round_trip(client: Any) -> None:
    processes = guest(client).Processes
    pid = processes.create(
        DEMO_VM,
        ROOT,
        Processes.CreateSpec(path="/opt/app/stuck", arguments="--x", environment_variables={"A": "1"}),
    )
    assert isinstance(pid, int)
    assert pid > 0
    info = processes.get(DEMO_VM, ROOT, pid)
    assert isinstance(info, Processes.Info)
    assert info.finished is None
    assert info.exit_code is None
    assert isinstance(info.started, datetime.datetime)
    listed = processes.list(DEMO_VM, ROOT)
    assert pid in [summary.pid for summary in listed]
    assert all(isinstance(summary, Processes.Summary) for summary in listed)
    processes.delete(DEMO_VM, ROOT, pid)
    done = processes.get(DEMO_VM, ROOT, pid)
    assert done.finished is not None
    assert done.exit_code is not None


def test_a_finished_process_reports_its_exit_code(client: Any) -> None:
    processes = guest(client).Processes
    pid = processes.create(DEMO_VM, ROOT, Processes.CreateSpec(path="/opt/app/exit", arguments="3"))
    assert processes.get(DEMO_VM, ROOT, pid).exit_code == 3


@pytest.mark.parametrize(
    ("vm", "spec", "kind", "error_type"),
    [
        ("vm-nope", TRUE, std.NotFound, "NOT_FOUND"),
        (DEMO_VM, Processes.CreateSpec(path="/no/such/program"), std.NotFound, "NOT_FOUND"),
        (DEMO_VM, Processes.CreateSpec(path="/bin/ls", start_minimized=True), std.InvalidArgument, "INVALID_ARGUMENT"),
        (POWERED_OFF, TRUE, std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-46", TRUE, std.ServiceUnavailable, "SERVICE_UNAVAILABLE"),
        ("vm-47", TRUE, std.ResourceBusy, "RESOURCE_BUSY"),
        ("vm-48", TRUE, std.Unsupported, "UNSUPPORTED"),
        (DEMO_VM, BROKEN, std.UnableToAllocateResource, "UNABLE_TO_ALLOCATE_RESOURCE"),
    ],
    ids=["vm-not-found", "program-not-found", "start-minimized-on-linux", "powered-off", "tools-not-running",
         "busy", "tools-unsupported", "fails-to-start"],
)  # fmt: skip
def test_processes_create_raises_the_class_of_each_error(
    client: Any, vm: str, spec: Any, kind: type[Exception], error_type: str
) -> None:
    with raises(kind, error_type):
        guest(client).Processes.create(vm, ROOT, spec)


def test_wrong_guest_credentials_raise_unauthenticated_on_list(client: Any) -> None:
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        guest(client).Processes.list(DEMO_VM, WRONG)


def test_a_missing_privilege_raises_unauthorized(sdk_mock: Any) -> None:
    auditor = create_vsphere_client(sdk_mock.server, "auditor@vsphere.local", "Audit!23", session=sdk_mock.http())
    with raises(std.Unauthorized, "UNAUTHORIZED"):
        guest(auditor).Processes.create(DEMO_VM, ROOT, Processes.CreateSpec(path="/bin/true"))


def test_get_and_delete_of_an_unknown_pid_raise_not_found_with_its_details(client: Any) -> None:
    processes = guest(client).Processes
    with raises(std.NotFound, "NOT_FOUND"):
        processes.get(DEMO_VM, ROOT, 999999)
    with raises(std.NotFound, "NOT_FOUND"):
        processes.delete(DEMO_VM, ROOT, 999999)


# -- files, directories, transfers ------------------------------------------------------------------------


def test_files_and_directories_round_trip(client: Any) -> None:
    files, directories = guest(client).filesystem.Files, guest(client).filesystem.Directories
    directories.create(DEMO_VM, ROOT, "/tmp/sdk/a", create_parents=True)
    temporary = directories.create_temporary(DEMO_VM, ROOT, "pre", "suf", parent_path="/tmp/sdk")
    assert temporary.startswith("/tmp/sdk/pre")
    assert temporary.endswith("suf")
    directories.move(DEMO_VM, ROOT, temporary, "/tmp/sdk/moved")
    made = files.create_temporary(DEMO_VM, ROOT, "f", ".txt", parent_path="/tmp/sdk")
    info = files.get(DEMO_VM, ROOT, made)
    assert info.type == Files.Type.FILE
    assert info.size == 0
    assert info.attributes.filesystem_family == Files.FilesystemFamily.POSIX
    assert info.attributes.posix_attributes.permissions == "600"
    files.update(
        DEMO_VM,
        ROOT,
        made,
        Files.FileAttributesUpdateSpec(posix=Files.PosixFileAttributesUpdateSpec(permissions="644")),
    )
    assert files.get(DEMO_VM, ROOT, made).attributes.posix_attributes.permissions == "644"
    files.move(DEMO_VM, ROOT, made, "/tmp/sdk/file.txt", overwrite=False)
    page = files.list(
        DEMO_VM,
        ROOT,
        "/tmp/sdk",
        iteration=Files.IterationSpec(size=2, index=0),
        filter=Files.FilterSpec(match_pattern="^(a|moved|file.txt)$"),
    )
    assert isinstance(page, Files.ListResult)
    assert page.total == 3
    assert len(page.files) == 2
    assert page.status == Files.LastIterationStatus.READY
    assert page.start_index == 0
    assert page.end_index == 1
    files.delete(DEMO_VM, ROOT, "/tmp/sdk/file.txt")
    directories.delete(DEMO_VM, ROOT, "/tmp/sdk", recursive=True)
    with raises(std.NotFound, "NOT_FOUND"):
        files.get(DEMO_VM, ROOT, "/tmp/sdk")


def test_file_errors_carry_their_class_and_details(client: Any) -> None:
    files, directories = guest(client).filesystem.Files, guest(client).filesystem.Directories
    with raises(std.NotFound, "NOT_FOUND"):
        files.get(DEMO_VM, ROOT, "/no/such/file")
    with pytest.raises(std.NotFound) as caught:
        files.delete(DEMO_VM, ROOT, "/no/such/file")
    assert caught.value.data is not None  # FileErrorDetails, a dynamic structure
    with raises(std.AlreadyExists, "ALREADY_EXISTS"):
        directories.create(DEMO_VM, ROOT, "/tmp")
    with raises(std.InvalidArgument, "INVALID_ARGUMENT"):
        files.delete(DEMO_VM, ROOT, "/tmp")
    with raises(std.NotFound, "NOT_FOUND"):
        directories.move(DEMO_VM, ROOT, "/no/such/dir", "/tmp/x")
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        files.list(DEMO_VM, WRONG, "/tmp")
    with raises(std.InvalidArgument, "INVALID_ARGUMENT"):
        files.list(DEMO_VM, ROOT, "/tmp", filter=Files.FilterSpec(match_pattern="("))
    with raises(std.NotFound, "NOT_FOUND"):
        files.create_temporary(DEMO_VM, ROOT, "p", "s", parent_path="/no/such/dir")
    with raises(std.NotFound, "NOT_FOUND"):
        files.move(DEMO_VM, ROOT, "/no/such/file", "/tmp/x")
    with raises(std.NotFound, "NOT_FOUND"):
        files.update(DEMO_VM, ROOT, "/no/such/file", Files.FileAttributesUpdateSpec())
    with raises(std.NotFound, "NOT_FOUND"):
        directories.delete(DEMO_VM, ROOT, "/no/such/dir")
    with raises(std.NotFound, "NOT_FOUND"):
        directories.create_temporary(DEMO_VM, ROOT, "p", "s", parent_path="/no/such/dir")


def test_transfers_hand_out_urls_the_sdk_user_can_download_and_upload_with(client: Any, sdk_mock: Any) -> None:
    transfers = guest(client).filesystem.Transfers
    http = sdk_mock.http()
    content = b"uploaded by the official SDK\n"
    upload = transfers.create(
        DEMO_VM,
        ROOT,
        Transfers.CreateSpec(
            path="/tmp/sdk-upload.txt", attributes=Transfers.FileCreationAttributes(size=len(content))
        ),
    )
    assert upload.startswith(f"https://{sdk_mock.server}/guestFile?"), upload  # the address the mock is reached at
    assert http.put(upload, data=content, timeout=30).status_code == 200
    download = transfers.create(DEMO_VM, ROOT, Transfers.CreateSpec(path="/tmp/sdk-upload.txt"))
    got = http.get(download, timeout=30)
    assert got.status_code == 200
    assert got.content == content
    with raises(std.NotFound, "NOT_FOUND"):
        transfers.create(DEMO_VM, ROOT, Transfers.CreateSpec(path="/no/such/file"))
    with raises(std.AlreadyExists, "ALREADY_EXISTS"):
        transfers.create(
            DEMO_VM,
            ROOT,
            Transfers.CreateSpec(path="/etc/os-release", attributes=Transfers.FileCreationAttributes(size=1)),
        )


# -- operations, VMs ---------------------------------------------------------------------------------------


def test_operations_get_says_whether_the_guest_takes_operations(client: Any) -> None:
    ready = guest(client).Operations.get(DEMO_VM)
    assert isinstance(ready, Operations.Info)
    assert ready.guest_operations_ready is True
    assert guest(client).Operations.get(POWERED_OFF).guest_operations_ready is False
    with raises(std.NotFound, "NOT_FOUND"):
        guest(client).Operations.get("vm-nope")


def test_vm_list_applies_the_sdk_filter_spec(client: Any) -> None:
    everything = client.vcenter.VM.list()
    assert len(everything) == 9
    assert all(isinstance(vm, VM.Summary) for vm in everything)
    assert [vm.vm for vm in client.vcenter.VM.list(VM.FilterSpec(names={"demo-linux"}))] == [DEMO_VM]
    off = client.vcenter.VM.list(VM.FilterSpec(power_states={Power.State.POWERED_OFF}))
    assert [vm.vm for vm in off] == [POWERED_OFF]
    both = client.vcenter.VM.list(VM.FilterSpec(vms={DEMO_VM, "vm-43"}, power_states={Power.State.POWERED_ON}))
    assert sorted(vm.vm for vm in both) == [DEMO_VM, "vm-43"]
    assert client.vcenter.VM.list(VM.FilterSpec(names={"no such vm"})) == []


def test_vm_list_without_a_session_is_unauthenticated(sdk_mock: Any) -> None:
    from vmware.vapi.lib.connect import get_requests_connector
    from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

    anonymous = StubConfigurationFactory.new_std_configuration(
        get_requests_connector(session=sdk_mock.http(), url=f"https://{sdk_mock.server}/api")
    )
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        VM(anonymous).list()


def test_every_vapi_operation_of_the_document_is_called_through_the_sdk_here() -> None:
    """A new operation with `x-vcenter-guest-vapi` fails this until a test of this folder calls it through
    the SDK (`Processes.create(`, `LocalFilesystem.get(` for `local_filesystem`...)."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in sorted(Path(__file__).parent.glob("test_*.py")))
    missing = []
    for op in operations().values():
        if op.vapi is None:
            continue
        service = op.vapi.service.rsplit(".", 1)[-1]  # processes, files, VM, session, local_filesystem...
        receiver = "session_svc" if service == "session" else re.escape(service).replace("_", "_?")
        called = re.search(rf"\b{receiver}\.{re.escape(op.vapi.operation)}\(", source, re.IGNORECASE)
        if op.vapi == VapiId("com.vmware.cis.session", "create"):
            called = re.search(r"\bcreate_vsphere_client\(", source)
        if called is None:
            missing.append(f"{op.id} ({op.vapi.service} {op.vapi.operation})")
    assert not missing, f"no SDK interop test calls {', '.join(missing)}"


def test_the_sdk_over_plain_http_with_the_stub_configuration_create_vsphere_client_builds() -> None:
    """What an SDK user does against `vcenter-guest mock` (plain HTTP; create_vsphere_client insists on
    https): the same connector, security filter and stub configuration, at an http:// URL."""
    from com.vmware.cis_client import Session
    from vcenter_guest.mock import serve
    from vmware.vapi.lib.connect import get_requests_connector
    from vmware.vapi.security.client.security_context_filter import LegacySecurityContextFilter
    from vmware.vapi.security.session import create_session_security_context
    from vmware.vapi.security.user_password import create_user_password_security_context
    from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

    def stub_config(url: str, context: Any) -> Any:
        connector = get_requests_connector(
            session=requests.Session(),
            url=url + "/api",
            provider_filter_chain=[LegacySecurityContextFilter(security_context=context)],
        )
        return StubConfigurationFactory.new_std_configuration(connector)

    with serve() as url:
        login = stub_config(url, create_user_password_security_context(DEMO_API_USER, DEMO_API_PASSWORD))
        session_id = Session(login).create()
        config = stub_config(url, create_session_security_context(session_id))
        assert [vm.vm for vm in VM(config).list(VM.FilterSpec(names={"demo-linux"}))] == [DEMO_VM]
        pid = Processes(config).create(DEMO_VM, ROOT, Processes.CreateSpec(path="/opt/app/exit", arguments="5"))
        assert Processes(config).get(DEMO_VM, ROOT, pid).exit_code == 5
