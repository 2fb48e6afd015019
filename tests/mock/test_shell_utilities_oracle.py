"""The machine's own programs are the oracle for the mock's `ls` (GNU coreutils) and `uptime` (procps-ng).

`ls`: a tree that hypothesis draws (files of sizes around the 4 KiB block, modes with setuid, setgid
and sticky bits, links, directories, times recent, old and in the future) is made in a real scratch
directory and in the mock's file system with the same modes and times; real `ls` and the simulated
one, given the same arguments, write the same bytes and exit with the same status.

`uptime`: the real one's line, and the mock's for the same moment and the same time since boot, are
the same but for the load averages and the count of logged-in users (the mock's guest is idle, with
nobody logged in).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest.mock._filesystem import Account, GuestFilesystem
from vcenter_guest.mock._inventory import Program
from vcenter_guest.mock._shell import Machine, run_script

BASH = "/bin/bash"
LS = shutil.which("ls", path="/usr/bin:/bin")
UPTIME = shutil.which("uptime", path="/usr/bin:/bin")
ROOT = Account("root", 0, True, "/root")
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}
DAY = 86400

pytestmark = pytest.mark.skipif(not (os.access(BASH, os.X_OK) and LS), reason="needs the machine's bash and GNU ls")

_names = st.sampled_from(["a", "b.txt", "Z", "_x", "-dash", "long name", "é", ".dot", "10", "9"])
_entry = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["file", "file", "dir", "link"]),
        "size": st.sampled_from([0, 1, 4095, 4096, 4097, 12345]),
        "mode": st.sampled_from([0o644, 0o600, 0o755, 0o4755, 0o2750, 0o1777, 0o1644, 0o4644, 0o000]),
        # seconds before now: recent, just under and over six months, years, in the future
        "age": st.sampled_from([60, 3 * DAY, 180 * DAY, 185 * DAY, 800 * DAY, -3 * DAY]),
        "target": st.sampled_from(["a", "nowhere", "../x", "a" * 70]),
    }
)
_tree = st.dictionaries(_names, _entry, min_size=0, max_size=6)
_arguments = st.sampled_from(
    ["-l", "-la", "-lA", "-l1", "", "-a", "-A", "-l sub", "-l a b.txt sub", "-l nowhere a", "-l sub/", "-la sub"]
)


def _build(scratch: Path, fs: GuestFilesystem, tree: dict[str, dict[str, object]], now: float) -> None:
    """The same files under `scratch/top` on the disk and in the mock (and `sub` with one file)."""
    uid, gid = os.getuid(), os.getgid()
    top = scratch / "top"
    entries = {**tree, "sub": {"kind": "dir", "size": 0, "mode": 0o755, "age": 3600, "target": ""}}
    top.mkdir()
    fs.make_directory(str(top), ROOT, parents=True, mode=0o755)
    (top / "sub").mkdir()
    fs.make_directory(str(top / "sub"), ROOT)
    (top / "sub" / "inside").write_bytes(b"in\n")
    fs.write_file(str(top / "sub" / "inside"), b"in\n", ROOT)
    for name, entry in entries.items():
        path = top / name
        kind, mode, when = entry["kind"], int(entry["mode"]), now - int(entry["age"])  # type: ignore[call-overload]
        if kind == "link":
            target = str(entry["target"])
            path.symlink_to(target)
            fs.symlink(str(path), target, ROOT)
        elif kind == "dir":
            if name != "sub":
                path.mkdir()
                fs.make_directory(str(path), ROOT)
            path.chmod(mode)
            fs.lookup(str(path), ROOT)[0].mode = mode
        else:
            data = b"x" * int(entry["size"])  # type: ignore[call-overload]
            path.write_bytes(data)
            path.chmod(mode)
            fs.write_file(str(path), data, ROOT, mode=mode)
        os.utime(path, (when, when), follow_symlinks=False)
    # the mock's times, owners and group are the disk's (the directories' times changed as files came)
    for path in [scratch, top, *top.rglob("*")]:
        node = fs.lookup(str(path), ROOT, follow=False)[0]
        stat = path.lstat()
        node.modified, node.owner, node.group = stat.st_mtime, uid, gid
        if path.is_dir() and not path.is_symlink():
            node.mode = stat.st_mode & 0o7777


def _mock_filesystem(scratch: Path, now: float | None = None) -> GuestFilesystem:
    """The mock's disk; its clock reads `now`, or the machine's clock (as real ls reads it when it runs)."""
    fs = GuestFilesystem(windows=False, capacity=1 << 30, clock=time.time if now is None else lambda: now)
    fs.make_directory("/usr/bin", ROOT, parents=True)
    fs.make_directory(str(scratch), ROOT, parents=True, mode=0o700)
    for name in ("ls", "uptime"):
        fs.write_file(f"/usr/bin/{name}", b"\x7fELF", ROOT, mode=0o755).program = Program(utility=name)
    return fs


def _users() -> dict[int, str]:
    return {os.getuid(): pwd.getpwuid(os.getuid()).pw_name, os.getgid(): grp.getgrgid(os.getgid()).gr_name}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_tree, arguments=_arguments)
def test_ls_writes_what_gnu_ls_writes(tree: dict[str, dict[str, object]], arguments: str) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-ls-"))
    try:
        now = time.time()
        fs = _mock_filesystem(scratch)
        _build(scratch, fs, tree, now)
        line = f"ls {arguments}"
        top = scratch / "top"
        real = subprocess.run(
            [BASH, "-c", line], cwd=top, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, check=False
        )
        machine = Machine(users=_users())
        mock = run_script(fs, ROOT, line, env=ENV, cwd=str(top), pid=1, machine=machine)
        assert (mock.stdout.decode(), mock.stderr, mock.status) == (
            real.stdout.decode(),
            real.stderr,
            real.returncode,
        ), line
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _idle(line: bytes) -> bytes:
    """An uptime line with the users and the load averages as an idle guest with nobody logged in has them."""
    line = re.sub(rb"\d+ users?,", b"0 user,", line)
    return re.sub(rb"load average: .*", b"load average: 0.00, 0.00, 0.00", line)


@pytest.mark.skipif(not UPTIME or not Path("/proc/uptime").exists(), reason="needs procps' uptime and /proc")
def test_uptime_writes_what_procps_uptime_writes_for_the_same_moment() -> None:
    for _ in range(5):  # the same second on both sides: retry if the clock ticked in between
        before = time.time()
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
        real = subprocess.run([UPTIME or "uptime"], env=ENV, capture_output=True, check=True, timeout=10)
        after = time.time()
        if int(before) == int(after) and int(since_boot) == int(since_boot + after - before):
            break
    else:
        pytest.skip("the clock kept ticking between the real uptime and its reading")
    fs = _mock_filesystem(Path("/s"), before)
    machine = Machine(booted=before - since_boot)
    mock = run_script(fs, ROOT, "uptime", env=ENV, cwd="/", pid=1, machine=machine)
    assert (mock.stdout, mock.stderr, mock.status) == (_idle(real.stdout), b"", 0)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, " 00:00:00 up 0 min,  0 user,  load average: 0.00, 0.00, 0.00\n"),
        (59 * 60 + 59, " 00:00:00 up 59 min,  0 user,  load average: 0.00, 0.00, 0.00\n"),
        (3600, " 00:00:00 up  1:00,  0 user,  load average: 0.00, 0.00, 0.00\n"),
        (DAY + 60, " 00:00:00 up 1 day, 1 min,  0 user,  load average: 0.00, 0.00, 0.00\n"),
        (3 * DAY + 11 * 3600 + 5 * 60, " 00:00:00 up 3 days, 11:05,  0 user,  load average: 0.00, 0.00, 0.00\n"),
    ],
)
def test_uptime_says_days_hours_and_minutes_as_procps_does(seconds: int, expected: str) -> None:
    midnight = 1_765_152_000.0  # 2025-12-08 00:00:00 UTC
    fs = _mock_filesystem(Path("/s"), midnight)
    outcome = run_script(fs, ROOT, "uptime", env=ENV, cwd="/", pid=1, machine=Machine(booted=midnight - seconds))
    assert (outcome.stdout.decode(), outcome.status) == (expected, 0)
