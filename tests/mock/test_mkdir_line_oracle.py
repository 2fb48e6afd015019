"""The simulated guest's `mkdir` and the line a captured run sends when it makes its own run directory,
against the machine's real /bin/bash and mkdir: the same output, exit status and files."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from vcenter_guest import CreateSpec
from vcenter_guest._services.commandline import posix_line
from vcenter_guest.mock._shell import run_script

from .test_shell_oracle import BASH, ENV, ROOT, _mock_filesystem, _tree_of, _tree_of_mock

pytestmark = pytest.mark.skipif(not os.access(BASH, os.X_OK), reason="needs the machine's /bin/bash")


def _both(line: str, prepare: str = "") -> None:
    scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-mkdir-"))
    try:
        (scratch / "sub").mkdir()
        fs = _mock_filesystem(str(scratch))
        node = fs.write_file("/usr/bin/mkdir", b"\x7fELF", ROOT, mode=0o755)
        from vcenter_guest.mock._inventory import Program

        node.program = Program(utility="mkdir")
        for command in filter(None, prepare.split(";")):
            subprocess.run([BASH, "-c", command], cwd=scratch, check=True)
            run_script(fs, ROOT, command, env=ENV, cwd=str(scratch), pid=1)
        line = line.replace("SCRATCH", str(scratch))
        real = subprocess.run(
            [BASH, "-c", line], cwd=scratch, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        mock = run_script(fs, ROOT, line, env=ENV, cwd=str(scratch), pid=1)
        assert (mock.stdout, mock.stderr, mock.status) == (real.stdout, real.stderr, real.returncode), line
        assert _tree_of_mock(fs, str(scratch)) == _tree_of(scratch), line
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize(
    ("line", "prepare"),
    [
        ("mkdir d && echo made", ""),
        ("mkdir -m 700 -- d; echo $?", ""),
        ("mkdir d; echo $?", "mkdir d"),
        ("mkdir d 2>/dev/null || echo failed", "echo x >d"),
        ("mkdir sub/a sub/b; echo $?", ""),
        ("mkdir", ""),
    ],
)
def test_mkdir_does_what_real_mkdir_does(line: str, prepare: str) -> None:
    _both(line, prepare)


@pytest.mark.parametrize("prepare", ["", "mkdir run", "echo x >run"])
@pytest.mark.parametrize("program", ["/bin/echo out", "/bin/sh -c 'echo err >&2; exit 125'"])
def test_the_line_that_makes_its_run_directory_does_what_it_does_in_real_bash(program: str, prepare: str) -> None:
    path, _, arguments = program.partition(" ")
    captured = posix_line(CreateSpec(path, arguments=arguments), "SCRATCH/run", "MARK", made=True)
    _both(f'"{captured.path}" {captured.arguments}', prepare)
