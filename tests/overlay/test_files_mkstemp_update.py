"""`vc.files.mkstemp` (Files.createTemporary) and `vc.files.update` (Files.update) against the mock:
a new private file proven the caller's own, and a file's attributes changed as the document says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio
import pytest
from vcenter_guest import Credentials, errors
from vcenter_guest.mock import DEMO_VM
from vcenter_guest.ownership import UnprovenFile, claim_prefix, prove_file

from tests.conftest import MockServer

from .test_ownership import BAD_ANSWERS, TemporaryAnswers


def test_mkstemp_makes_a_new_empty_file_only_its_owner_may_read(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        path = vc.files.mkstemp(DEMO_VM, guest, prefix="job-", suffix=".txt")
        other = vc.files.mkstemp(DEMO_VM, guest, prefix="job-", suffix=".txt")
        info = vc.files.stat(DEMO_VM, guest, path)
        assert path != other
        assert path.startswith("/tmp/job-")
        assert path.endswith(".txt")
        assert (info.type, info.size, info.permissions) == ("FILE", 0, "600")
        vc.files.mkdir(DEMO_VM, guest, "/tmp/work")
        inside = vc.files.mkstemp(DEMO_VM, guest, parent="/tmp/work")
        assert inside.startswith("/tmp/work/vcenter-guest-")


def test_update_changes_mode_times_and_owner_of_a_file(server: Any, guest: Credentials) -> None:
    when = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"x", "/tmp/u.txt", permissions=0o644)
        vc.files.update(DEMO_VM, guest, "/tmp/u.txt", permissions=0o600, last_modified=when, owner=1000, group=1000)
        info = vc.files.stat(DEMO_VM, guest, "/tmp/u.txt")
        assert (info.permissions, info.last_modified, info.owner, info.group) == ("600", when, 1000, 1000)
        vc.files.update(DEMO_VM, guest, "/tmp/u.txt", permissions="0o640")
        after = vc.files.stat(DEMO_VM, guest, "/tmp/u.txt")
        assert (after.permissions, after.last_modified, after.owner) == ("640", when, 1000)


def test_update_of_a_file_that_is_not_there_is_not_found(server: Any, guest: Credentials) -> None:
    with server.client() as vc, pytest.raises(errors.NotFound):
        vc.files.update(DEMO_VM, guest, "/tmp/missing.txt", permissions=0o600)


def test_the_async_client_makes_and_updates_files_too(server: Any, guest: Credentials) -> None:
    async def main() -> None:
        async with server.async_client() as vc:
            path = await vc.files.mkstemp(DEMO_VM, guest)
            await vc.files.update(DEMO_VM, guest, path, permissions=0o644)
            assert (await vc.files.stat(DEMO_VM, guest, path)).permissions == "644"

    anyio.run(main)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda vc, g: vc.files.mkstemp(DEMO_VM, g, prefix="a/b"), "prefix must be a string without"),
        (lambda vc, g: vc.files.mkstemp(DEMO_VM, g, parent=""), "parent must be a non-empty path"),
        (lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x"), "update needs at least one attribute"),
        (lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", permissions="rwx"), "octal mode"),
        (lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", owner=-1), "owner must be a user id"),
        (lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", group="wheel"), "group must be a group id"),
        (lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", hidden="yes"), "hidden must be True or False"),
        (
            lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", last_modified=dt.datetime(2020, 1, 1)),
            "last_modified must be a timezone-aware datetime",
        ),
        (
            lambda vc, g: vc.files.update(DEMO_VM, g, "/tmp/x", permissions=0o600, hidden=True),
            "POSIX attributes .* and Windows attributes",
        ),
    ],
)
def test_bad_arguments_of_mkstemp_and_update_are_usage_errors(
    in_process_server: MockServer, guest: Credentials, call: Any, message: str
) -> None:
    with in_process_server.client() as vc, pytest.raises(errors.UsageError, match=message):
        call(vc, guest)


@pytest.mark.parametrize("bad", list(BAD_ANSWERS))
def test_mkstemp_adopts_no_file_it_cannot_prove_its_own(
    bad: str, in_process_server: MockServer, guest: Credentials
) -> None:
    app = TemporaryAnswers(BAD_ANSWERS[bad])
    app.inner = in_process_server.app
    server = MockServer(app, in_process_server.url, "in-process", in_process_server._portal)
    with server.client() as vc, pytest.raises(errors.UnexpectedResponse) as caught:
        vc.files.mkstemp(DEMO_VM, guest)
    assert "files.create_temporary" in str(caught.value)
    assert "is not a new file of this run" in str(caught.value)
    assert app.after_create_temporary() == []


def test_prove_file_accepts_only_a_new_name_directly_in_its_parent() -> None:
    prefix = claim_prefix("p-")
    assert prove_file(f"/var/tmp/{prefix}x.log", prefix=prefix, suffix=".log", parent="/var/tmp") == (
        f"/var/tmp/{prefix}x.log"
    )
    for answer in ["/var/tmp", f"/tmp/{prefix}x.log", f"/var/tmp/../{prefix}x.log", f"/var/tmp/{prefix}x"]:
        with pytest.raises(UnprovenFile, match="is not a new file of this run"):
            prove_file(answer, prefix=prefix, suffix=".log", parent="/var/tmp")
