"""The line that makes its own run directory, run by the machine's real /bin/sh and /bin/bash: it makes a
private directory, or, when anything is at its name, stops before anything runs (exit 125); a
program's own 125 comes back as 124 from the line and 125 from the marker line."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
from vcenter_guest import CreateSpec
from vcenter_guest._services.capture import Output
from vcenter_guest._services.commandline import posix_line

SHELLS = [shell for shell in ("/bin/bash", "/bin/sh") if Path(shell).exists()]


def _run(shell: str, directory: Path, spec: CreateSpec) -> int:
    captured = posix_line(spec, str(directory), "MARK", made=True)
    # The guest hands `"PATH" ARGUMENTS` to its shell, the path in double quotes.
    line = f'"{captured.path}" {captured.arguments}'
    return subprocess.run([shell, "-c", line], env={"PATH": "/usr/bin:/bin"}, timeout=30, check=False).returncode


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("code", "reported"), [(0, 0), (3, 3), (124, 124), (125, 124)])
def test_the_line_makes_a_private_directory_and_reports_the_programs_exit_code(
    shell: str, tmp_path: Path, code: int, reported: int
) -> None:
    directory = tmp_path / "run"
    spec = CreateSpec("/bin/sh", arguments=shlex.join(["-c", f"echo out; exit {code}"]))
    assert _run(shell, directory, spec) == reported
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    out = Output(None, 1 << 20)
    out.take_stdout((directory / "stdout").read_bytes())
    assert out.end_stdout("MARK", complete=True) == (code, False)
    assert bytes(out.kept) == b"out\n"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("planted", ["directory", "file", "symlink", "dangling symlink"])
def test_when_anything_is_at_the_name_nothing_runs_and_nothing_is_written(
    shell: str, tmp_path: Path, planted: str
) -> None:
    directory, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    elsewhere.mkdir()
    if planted == "directory":
        directory.mkdir()
    elif planted == "file":
        directory.write_bytes(b"")
    else:
        os.symlink(elsewhere if planted == "symlink" else tmp_path / "nothing", directory)
    marker = tmp_path / "ran"
    spec = CreateSpec("/bin/sh", arguments=shlex.join(["-c", f"echo ran >{marker}"]))
    assert _run(shell, directory, spec) == 125
    assert not marker.exists()
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["elsewhere", "run"])
    if planted == "directory":
        assert list(directory.iterdir()) == []
