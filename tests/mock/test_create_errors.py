"""Processes.create: every documented reason a program cannot be started."""

from __future__ import annotations

import pytest

PROCESSES = "com.vmware.vcenter.vm.guest.processes"
SVC = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "svc", "password": "svc-pass"}


def _create(api, vm="vm-42", creds=None, **spec):
    return api.op("create", vm, creds=creds, spec=spec)


@pytest.mark.parametrize("path", ["bin/true", "true", "", "./bin/true"])
def test_relative_program_path_is_invalid_argument_with_file_error_details(api, path):
    api.expect_error(
        _create(api, path=path),
        400,
        "INVALID_ARGUMENT",
        f"{PROCESSES}.invalid_path",
        data={"reason": "NOT_A_FILE", "file_path": path},
    )


def test_overlong_program_path_is_invalid_argument_path_too_long(api):
    path = "/" + "a" * 5000
    response = _create(api, path=path)
    shown = path[:253] + "..."  # echoes of caller input are bounded
    api.expect_error(
        response,
        400,
        "INVALID_ARGUMENT",
        f"{PROCESSES}.path_too_long",
        data={"reason": "PATH_TOO_LONG", "file_path": shown},
    )


def test_unknown_program_is_not_found_with_file_error_details(api):
    api.expect_error(
        _create(api, path="/usr/bin/nope"),
        404,
        "NOT_FOUND",
        f"{PROCESSES}.program_not_found",
        data={"reason": "FILE_NOT_FOUND", "file_path": "/usr/bin/nope"},
    )


@pytest.mark.parametrize("path", ["/tmp", "/bin", "/opt/app", "/root/"])
def test_program_path_that_is_a_directory_is_invalid_argument_not_a_file(api, path):
    api.expect_error(
        _create(api, path=path),
        400,
        "INVALID_ARGUMENT",
        f"{PROCESSES}.not_a_file",
        data={"reason": "NOT_A_FILE", "file_path": path},
    )


@pytest.mark.parametrize("directory", ["/nope", "tmp", "/bin/true"], ids=["unknown", "relative", "a-file"])
def test_bad_working_directory_is_invalid_argument_not_a_directory(api, directory):
    api.expect_error(
        _create(api, path="/bin/true", working_directory=directory),
        400,
        "INVALID_ARGUMENT",
        f"{PROCESSES}.invalid_working_directory",
        data={"reason": "NOT_A_DIRECTORY", "file_path": directory},
    )


@pytest.mark.parametrize("directory", ["/tmp", "/opt/app", "", "/root"])
def test_existing_or_empty_working_directory_is_accepted(api, directory):
    assert _create(api, path="/bin/true", working_directory=directory).status_code == 201


def test_start_minimized_on_a_linux_guest_is_invalid_argument(api):
    api.expect_error(
        _create(api, path="/bin/true", start_minimized=True),
        400,
        "INVALID_ARGUMENT",
        f"{PROCESSES}.start_minimized_unsupported",
        args=["vm-42", "LINUX"],
    )


def test_start_minimized_on_a_windows_guest_starts_the_program(api):
    response = _create(api, vm="vm-43", path="c:\\windows\\system32\\CMD.EXE", start_minimized=True)
    assert response.status_code == 201, response.text
    info = api.op("get", "vm-43", response.json()).json()
    assert info["name"] == "CMD.EXE"


def test_linux_path_on_a_windows_guest_is_invalid_argument(api):
    assert _create(api, vm="vm-43", path="/bin/true").status_code == 400


def test_program_the_user_may_not_run_is_unauthorized(api):
    api.expect_error(
        _create(api, creds=SVC, path="/root/secret.sh"),
        403,
        "UNAUTHORIZED",
        f"{PROCESSES}.access_denied",
        args=["svc", "/root/secret.sh"],
    )
    assert _create(api, path="/root/secret.sh").status_code == 201  # root may


def test_program_that_fails_to_start_is_unable_to_allocate_resource(api):
    api.expect_error(
        _create(api, path="/opt/app/broken"),
        500,
        "UNABLE_TO_ALLOCATE_RESOURCE",
        f"{PROCESSES}.start_failed",
        args=["/opt/app/broken"],
    )
