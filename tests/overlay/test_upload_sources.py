"""Uploads of sources whose size is unknown up front (a pipe, a FIFO, a /proc file, process
substitution) send their real bytes, spooled in constant memory, never 0 bytes called success."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from vcenter_guest import Credentials
from vcenter_guest.mock import DEMO_VM

from tests.conftest import MockServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /proc are POSIX")

DATA = b"".join(b"line %d of a stream\n" % i for i in range(20000))  # ~400 KiB: more than one piece


def _feed(path: str, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as fifo:
            fifo.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


def test_an_upload_from_a_fifo_sends_every_byte(
    in_process_server: MockServer, guest: Credentials, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = _feed(str(fifo), DATA)
    with in_process_server.client() as vc:
        sent = vc.files.upload(DEMO_VM, guest, fifo, "/tmp/from-fifo")
        assert (sent, vc.files.download(DEMO_VM, guest, "/tmp/from-fifo")) == (len(DATA), DATA)
    writer.join(5)


def test_an_upload_from_a_pipe_named_by_dev_fd_sends_every_byte(
    in_process_server: MockServer, guest: Credentials
) -> None:
    """What `upload <(command) ...` hands over: /dev/fd/N, the read end of a pipe."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as pipe:  # closed when written: the reader then sees its end
            pipe.write(DATA)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        with in_process_server.client() as vc:
            sent = vc.files.upload(DEMO_VM, guest, f"/dev/fd/{read_end}", "/tmp/from-pipe")
            assert (sent, vc.files.download(DEMO_VM, guest, "/tmp/from-pipe")) == (len(DATA), DATA)
    finally:
        writer.join(5)
        os.close(read_end)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc")
def test_an_upload_of_a_proc_file_sends_its_bytes_though_it_says_its_size_is_0(
    in_process_server: MockServer, guest: Credentials
) -> None:
    assert os.stat("/proc/self/cmdline").st_size == 0
    with open("/proc/self/cmdline", "rb") as proc:
        expected = proc.read()
    with in_process_server.client() as vc:
        sent = vc.files.upload(DEMO_VM, guest, "/proc/self/cmdline", "/tmp/cmdline")
        with open("/proc/self/cmdline", "rb") as proc:
            sent_object = vc.files.upload(DEMO_VM, guest, proc, "/tmp/cmdline-2")
        assert sent == sent_object == len(expected) > 0
        assert vc.files.download(DEMO_VM, guest, "/tmp/cmdline") == expected


def test_an_empty_regular_file_still_uploads_as_an_empty_file(
    in_process_server: MockServer, guest: Credentials, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with in_process_server.client() as vc:
        assert vc.files.upload(DEMO_VM, guest, empty, "/tmp/empty") == 0
        assert vc.files.download(DEMO_VM, guest, "/tmp/empty") == b""
