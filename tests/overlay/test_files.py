"""`vc.files` against the mock vCenter (in process and over loopback; sync and async): what a user of
uploads, downloads and the file operations relies on."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Any

import anyio
import pytest
from vcenter_guest import Credentials, FileInfo, FileSummary, errors
from vcenter_guest.mock import DEMO_VM


def test_bytes_go_up_and_come_back_unchanged(server: Any, guest: Credentials) -> None:
    data = bytes(range(256)) * 4096 + b"end"  # 1 MiB and a bit: more than one piece each way
    with server.client() as vc:
        assert vc.files.upload(DEMO_VM, guest, data, "/tmp/blob.bin") == len(data)
        assert vc.files.download(DEMO_VM, guest, "/tmp/blob.bin") == data
        info = vc.files.stat(DEMO_VM, guest, "/tmp/blob.bin")
    assert isinstance(info, FileInfo)
    assert (info.path, info.type, info.size, info.filesystem_family) == ("/tmp/blob.bin", "FILE", len(data), "POSIX")
    assert info.owner == 0
    assert info.last_modified.tzinfo is not None


def test_local_files_and_file_objects_stream_both_ways(server: Any, guest: Credentials, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(3 << 20))
    target = tmp_path / "out.bin"
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, source, "/tmp/in.bin", permissions=0o640)
        assert vc.files.download(DEMO_VM, guest, "/tmp/in.bin", target) == source.stat().st_size
        sink = io.BytesIO()
        vc.files.download(DEMO_VM, guest, "/tmp/in.bin", sink)
        vc.files.upload(DEMO_VM, guest, io.BytesIO(b"from a file object"), "/tmp/obj.txt")
        assert vc.files.download(DEMO_VM, guest, "/tmp/obj.txt") == b"from a file object"
        assert vc.files.stat(DEMO_VM, guest, "/tmp/in.bin").permissions == "640"
    assert target.read_bytes() == source.read_bytes() == sink.getvalue()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_stream_that_cannot_tell_its_size_is_spooled_and_uploaded(server: Any, guest: Credentials) -> None:
    read, write = os.pipe()
    os.write(write, b"piped bytes\n" * 100)
    os.close(write)
    with os.fdopen(read, "rb") as pipe, server.client() as vc:
        assert vc.files.upload(DEMO_VM, guest, pipe, "/tmp/piped.txt") == 1200
        assert vc.files.download(DEMO_VM, guest, "/tmp/piped.txt") == b"piped bytes\n" * 100


def test_an_existing_file_is_replaced_only_with_overwrite(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"one", "/tmp/a.txt")
        with pytest.raises(errors.AlreadyExists):
            vc.files.upload(DEMO_VM, guest, b"two", "/tmp/a.txt")
        vc.files.upload(DEMO_VM, guest, b"two", "/tmp/a.txt", overwrite=True)
        assert vc.files.download(DEMO_VM, guest, "/tmp/a.txt") == b"two"


def test_a_failed_download_leaves_no_local_file(server: Any, guest: Credentials, tmp_path: Path) -> None:
    target = tmp_path / "never.txt"
    with server.client() as vc, pytest.raises(errors.NotFound) as caught:
        vc.files.download(DEMO_VM, guest, "/tmp/missing.txt", target)
    assert caught.value.operation == "transfers.create"
    assert list(tmp_path.iterdir()) == []


def test_max_bytes_refuses_a_larger_file_without_keeping_it(server: Any, guest: Credentials, tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"x" * 5000, "/tmp/big.bin")
        assert vc.files.download(DEMO_VM, guest, "/tmp/big.bin", max_bytes=5000) == b"x" * 5000
        with pytest.raises(errors.UsageError, match="larger than max_bytes=4999"):
            vc.files.download(DEMO_VM, guest, "/tmp/big.bin", target, max_bytes=4999)
    assert list(tmp_path.iterdir()) == []


def test_a_guest_user_cannot_read_what_the_guest_denies_it(server: Any) -> None:
    svc = Credentials.password("svc", "svc-pass")
    with server.client() as vc, pytest.raises(errors.Unauthorized):
        vc.files.download(DEMO_VM, svc, "/root/secret")


def test_directories_list_move_and_remove(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        vc.files.mkdir(DEMO_VM, guest, "/tmp/work/a/b", parents=True)
        for index in range(60):  # more than one page of Files.list
            vc.files.upload(DEMO_VM, guest, b"%d" % index, f"/tmp/work/f{index:02}.txt")
        listed = vc.files.list(DEMO_VM, guest, "/tmp/work")
        assert all(isinstance(entry, FileSummary) for entry in listed)
        assert sorted(e.filename for e in listed if not e.is_directory) == [f"f{i:02}.txt" for i in range(60)]
        assert [e.filename for e in listed if e.is_directory] == ["a"]
        assert [e.filename for e in vc.files.list(DEMO_VM, guest, "/tmp/work", pattern=r"^f0[0-2]")] == [
            "f00.txt",
            "f01.txt",
            "f02.txt",
        ]
        vc.files.move(DEMO_VM, guest, "/tmp/work/f00.txt", "/tmp/work/a/moved.txt")
        vc.files.move(DEMO_VM, guest, "/tmp/work/a", "/tmp/work/c", directory=True)
        assert vc.files.download(DEMO_VM, guest, "/tmp/work/c/moved.txt") == b"0"
        vc.files.delete(DEMO_VM, guest, "/tmp/work/f01.txt")
        with pytest.raises(errors.ResourceInUse):
            vc.files.rmdir(DEMO_VM, guest, "/tmp/work")
        vc.files.rmdir(DEMO_VM, guest, "/tmp/work", recursive=True)
        with pytest.raises(errors.NotFound):
            vc.files.stat(DEMO_VM, guest, "/tmp/work")


def test_a_temporary_directory_is_private_and_removed_however_the_block_ends(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        seen: list[str] = []

        def fail_inside() -> None:
            with vc.files.temporary_directory(DEMO_VM, guest) as tmp:
                seen.append(tmp)
                assert tmp.startswith("/tmp/vcenter-guest-")
                assert vc.files.stat(DEMO_VM, guest, tmp).permissions == "700"
                vc.files.upload(DEMO_VM, guest, b"inside", f"{tmp}/x.txt")
                raise RuntimeError("the block failed")

        with pytest.raises(RuntimeError):
            fail_inside()
        (tmp,) = seen
        with pytest.raises(errors.NotFound):
            vc.files.stat(DEMO_VM, guest, tmp)


def test_the_async_client_has_the_same_service(server: Any, guest: Credentials) -> None:
    async def main() -> None:
        async with server.async_client() as vc:
            async with vc.files.temporary_directory(DEMO_VM, guest) as tmp:
                await vc.files.upload(DEMO_VM, guest, b"async bytes" * 100_000, f"{tmp}/a.bin")
                assert await vc.files.download(DEMO_VM, guest, f"{tmp}/a.bin") == b"async bytes" * 100_000
                assert [e.filename for e in await vc.files.list(DEMO_VM, guest, tmp)] == ["a.bin"]
            with pytest.raises(errors.NotFound):
                await vc.files.stat(DEMO_VM, guest, tmp)

    anyio.run(main)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda vc, g: vc.files.upload(DEMO_VM, g, 42, "/tmp/x"), "source must be bytes, a local path"),
        (lambda vc, g: vc.files.upload(DEMO_VM, g, b"x", ""), "guest_path must be a non-empty path"),
        (lambda vc, g: vc.files.upload(DEMO_VM, g, b"x", "/tmp/x", permissions="rwx"), "octal mode"),
        (lambda vc, g: vc.files.upload(DEMO_VM, g, "/no/such/file", "/tmp/x"), "cannot read '/no/such/file'"),
        (lambda vc, g: vc.files.download(DEMO_VM, g, "/etc/hostname", "/no/such/dir/x"), "cannot write"),
        (lambda vc, g: vc.files.download(DEMO_VM, g, "/etc/hostname", max_bytes=-1), "max_bytes"),
        (lambda vc, g: vc.files.mkdir(DEMO_VM, g, "/tmp/d", parents="yes"), "parents must be True or False"),
        (lambda vc, g: vc.files.mkdtemp(DEMO_VM, g, prefix="a/b"), "prefix must be a string without"),
    ],
)
def test_bad_arguments_are_usage_errors_before_anything_is_sent(
    in_process_server: Any, guest: Credentials, call: Any, message: str
) -> None:
    with in_process_server.client() as vc:
        before = len(in_process_server.simulator._vms[DEMO_VM].transfers)
        with pytest.raises(errors.UsageError, match=message):
            call(vc, guest)
        assert len(in_process_server.simulator._vms[DEMO_VM].transfers) == before


def test_transfers_go_to_the_esxi_host_the_url_names(guest: Credentials) -> None:
    from vcenter_guest import Client
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, serve

    # Its own server: the root conftest's has no second listener standing for the ESXi host.
    with serve(esxi_host=True) as url, Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
        vc.files.upload(DEMO_VM, guest, b"via the host", "/tmp/host.txt")
        assert vc.files.download(DEMO_VM, guest, "/tmp/host.txt") == b"via the host"


def test_an_unreachable_esxi_host_is_named_without_the_transfer_token(
    guest: Credentials, demo_inventory: dict[str, Any], make_loopback_server: Any
) -> None:
    import socket

    from vcenter_guest import Client
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inventory = {**demo_inventory, "transfer_base_url": f"http://127.0.0.1:{port}"}
    url = make_loopback_server(inventory).url
    with Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
        with pytest.raises(errors.RequestNotSent) as caught:
            vc.files.download(DEMO_VM, guest, "/etc/hostname")
        message = str(caught.value)
        assert f"ESXi host 127.0.0.1:{port}" in message
        assert "443" in message
        assert "token=" not in message
        assert "token=" not in repr(caught.value)


def test_esxi_hosts_reach_a_host_at_another_address_under_its_own_name(
    guest: Credentials, make_loopback_server: Any
) -> None:
    from vcenter_guest import Client
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

    server = make_loopback_server()
    app, url = server.app, server.url
    # Transfer URLs now name a host this machine cannot resolve, on the port the mock listens on.
    port = url.rsplit(":", 1)[1]
    app.state.simulator.host_url = f"http://esxi-1.invalid:{port}"
    with Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc, pytest.raises(errors.RequestNotSent):
        vc.files.download(DEMO_VM, guest, "/etc/hostname")
    mapped = {"ESXi-1.invalid": f"127.0.0.1:{port}"}
    with Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, esxi_hosts=mapped) as vc:
        assert vc.files.download(DEMO_VM, guest, "/etc/hostname") == b"demo-linux\n"
        vc.files.upload(DEMO_VM, guest, b"mapped", "/tmp/mapped.txt")
        assert vc.files.download(DEMO_VM, guest, "/tmp/mapped.txt") == b"mapped"


@pytest.mark.parametrize("hosts", [["esxi-1"], {"esxi-1": 42}, {"": "10.0.0.1"}, {"esxi-1": "a b"}])
def test_bad_esxi_hosts_are_usage_errors(hosts: Any) -> None:
    from vcenter_guest import Client

    with pytest.raises(errors.UsageError, match="esxi_hosts"):
        Client("https://vc.example.com", user="u", password="p", esxi_hosts=hosts)


def test_progress_reports_every_byte_moved_each_way(server: Any, guest: Credentials, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    sent: list[int] = []
    received: list[int] = []
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, data, "/tmp/progress.bin", progress=sent.append)
        vc.files.download(DEMO_VM, guest, "/tmp/progress.bin", tmp_path / "back.bin", progress=received.append)
        with pytest.raises(errors.UsageError, match="progress must be a function"):
            vc.files.download(DEMO_VM, guest, "/tmp/progress.bin", progress=42)
    assert sum(sent) == sum(received) == len(data)
    assert len(sent) > 1
    assert (tmp_path / "back.bin").read_bytes() == data


def test_mkdir_with_parents_accepts_a_directory_that_is_there_as_mkdir_p_does(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        vc.files.mkdir(DEMO_VM, guest, "/tmp/again/x", parents=True)
        vc.files.mkdir(DEMO_VM, guest, "/tmp/again/x", parents=True)  # there already: fine
        assert vc.files.stat(DEMO_VM, guest, "/tmp/again/x").is_directory
        with pytest.raises(errors.AlreadyExists):
            vc.files.mkdir(DEMO_VM, guest, "/tmp/again/x")  # without parents, as mkdir
        vc.files.upload(DEMO_VM, guest, b"f", "/tmp/again/file")
        with pytest.raises(errors.AlreadyExists):
            vc.files.mkdir(DEMO_VM, guest, "/tmp/again/file", parents=True)  # a file is not a directory


def test_a_text_file_object_is_refused_before_anything_is_sent(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        before = len(vc.processes.list(DEMO_VM, guest))
        for call in (
            lambda: vc.files.download(DEMO_VM, guest, "/etc/hostname", io.StringIO()),
            lambda: vc.files.upload(DEMO_VM, guest, io.StringIO("text"), "/tmp/t.txt"),
            lambda: vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi", stdout=io.StringIO()),
            lambda: vc.processes.run_script(DEMO_VM, guest, "echo hi", stderr=io.StringIO()),
        ):
            with pytest.raises(errors.UsageError, match=r"binary file object .* not a text one \(StringIO\)"):
                call()
        assert len(vc.processes.list(DEMO_VM, guest)) == before  # no program was started
        with pytest.raises(errors.NotFound):
            vc.files.stat(DEMO_VM, guest, "/tmp/t.txt")


def test_a_downloaded_file_gets_the_mode_cp_would_give_it(server: Any, guest: Credentials, tmp_path: Path) -> None:
    """Written through a private temporary file, it still ends with the umask's mode (or the mode of
    the file it replaces), not the temporary file's 600."""
    fresh, replaced = tmp_path / "fresh", tmp_path / "replaced"
    replaced.write_bytes(b"old")
    replaced.chmod(0o640)
    old_mask = os.umask(0o027)
    try:
        with server.client() as vc:
            vc.files.download(DEMO_VM, guest, "/etc/hostname", fresh)
            vc.files.download(DEMO_VM, guest, "/etc/hostname", replaced)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # 666 less the umask 027
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o640
    assert replaced.read_bytes() == b"demo-linux\n"


def test_permissions_may_be_written_as_python_writes_octal(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"x", "/tmp/p.txt", permissions="0o604")
        assert vc.files.stat(DEMO_VM, guest, "/tmp/p.txt").permissions == "604"
        with pytest.raises(errors.UsageError, match="'0o640'"):
            vc.files.upload(DEMO_VM, guest, b"x", "/tmp/q.txt", permissions="0o9")
