"""The command line `run` sends, run by the machine's real /bin/bash and /bin/sh: every argument reaches
the program unchanged, and the marker line gives back the exit code and whether stderr has bytes.

The program is a script that writes its argv as JSON, so what a real program receives is compared
with what the caller passed, for any text (quotes, `$`, backquotes, newlines, non-ASCII...).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest._services.capture import Output
from vcenter_guest._services.checks import program_spec
from vcenter_guest._services.commandline import _command_suffix

SHELLS = [shell for shell in ("/bin/bash", "/bin/sh") if Path(shell).exists()]
# Any text a program can receive: no NUL (argv cannot hold one), surrogates excluded (not encodable).
_arg = st.text(st.characters(exclude_characters="\0", exclude_categories=("Cs",)), max_size=12)
_special = st.sampled_from(
    ["'", '"', "$HOME", "`id`", "$(id)", "\\", "\n", "*", "~", "!", ";", "&", "|", " ", "#", "é€"]
)
_args = st.lists(st.one_of(_arg, _special, st.lists(_special, max_size=4).map("".join)), max_size=6)


@pytest.fixture(scope="module")
def argv_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    script = tmp_path_factory.mktemp("program") / "print argv.py"  # a space in its path, too
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "sys.stdout.write(json.dumps([os.fsdecode(a) for a in sys.argv[1:]]))\n"
        "sys.stderr.write(os.environ.get('WRITE_STDERR', ''))\n"
        "sys.exit(int(os.environ.get('EXIT', '0')))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _run_as_the_guest_would(shell: str, program: Path, args: list[str], directory: Path, env: dict[str, str]) -> None:
    spec = program_spec(str(program), args)
    # vCenter hands `path arguments` to the guest's shell; the mock quotes the path the same way.
    line = shlex.quote(spec.path) + " " + (spec.arguments or "") + _command_suffix(str(directory), "MARK")
    subprocess.run([shell, "-c", line], env={"PATH": "/usr/bin:/bin", **env}, timeout=30, check=False)


@pytest.mark.parametrize("shell", SHELLS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=_args)
def test_every_argument_reaches_a_real_program_unchanged(
    shell: str, argv_program: Path, tmp_path: Path, args: list[str]
) -> None:
    directory = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example
    _run_as_the_guest_would(shell, argv_program, args, directory, {})
    out = Output(None, 1 << 20)
    out.take_stdout((directory / "stdout").read_bytes())
    line = out.end_stdout("MARK", complete=True)
    assert json.loads(out.kept.decode("utf-8")) == args
    assert line == (0, False)
    assert (directory / "rc").read_text() == "0\n"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("code", "stderr"), [(0, ""), (3, "oops"), (255, "x\n")])
def test_the_marker_line_gives_the_exit_code_and_whether_stderr_has_bytes(
    shell: str, argv_program: Path, tmp_path: Path, code: int, stderr: str
) -> None:
    _run_as_the_guest_would(shell, argv_program, ["a"], tmp_path, {"EXIT": str(code), "WRITE_STDERR": stderr})
    out = Output(None, 1 << 20)
    out.take_stdout((tmp_path / "stdout").read_bytes())
    assert out.end_stdout("MARK", complete=True) == (code, bool(stderr))
    assert bytes(out.kept) == b'["a"]'
    assert (tmp_path / "stderr").read_text() == stderr


def _run_verbatim(shell: str, directory: Path, arguments: str) -> tuple[subprocess.CompletedProcess[bytes], Output]:
    """Runs `/bin/echo` with verbatim `arguments` as a captured run's line, under `shell`, as the guest
    would: what the shell did, and the run directory's stdout read into an Output."""
    from vcenter_guest import CreateSpec
    from vcenter_guest._services.commandline import posix_line

    captured = posix_line(CreateSpec("/bin/echo", arguments=arguments), str(directory), "MARK")
    line = shlex.quote(captured.path) + " " + (captured.arguments or "")
    done = subprocess.run([shell, "-c", line], env={"PATH": "/usr/bin:/bin"}, timeout=30, check=False)
    out = Output(None, 1 << 20)
    out.take_stdout((directory / "stdout").read_bytes())
    return done, out


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("arguments", "stdout", "stderr", "code"),
    [
        ("a; echo b", b"a\nb\n", b"", 0),
        ("a && echo b || echo c", b"a\nb\n", b"", 0),
        ("a # a comment", b"a\n", b"", 0),
        ("a >&2; echo b", b"b\n", b"a\n", 0),
        ("a; false", b"a\n", b"", 1),
        ("'a b'   c", b"a b c\n", b"", 0),
        ("3\n", b"3\n", b"", 0),  # a trailing line break ends the line, not the command
        ("3\r\n", b"3\r\n", b"", 0),
        ("a\n\necho b\n", b"a\nb\n", b"", 0),
    ],
)
def test_verbatim_arguments_with_shell_syntax_have_every_commands_output_captured(  # noqa: PLR0917 - the table's columns
    shell: str, tmp_path: Path, arguments: str, stdout: bytes, stderr: bytes, code: int
) -> None:
    """`arguments=` is shell text: whatever its commands print is captured, not only the last one's."""
    done, out = _run_verbatim(shell, tmp_path, arguments)
    assert out.end_stdout("MARK", complete=True) == (code, bool(stderr))
    assert bytes(out.kept) == stdout
    assert (tmp_path / "stderr").read_bytes() == stderr
    assert done.returncode == code


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("arguments", ["'unbalanced", "a; (", "a |", "$(("])
def test_a_verbatim_line_that_does_not_parse_gives_the_shells_message_and_exit_code_2(
    shell: str, tmp_path: Path, arguments: str
) -> None:
    """Not 'the run directory's stdout was not found': the marker line, exit code 2, the shell's own words."""
    done, out = _run_verbatim(shell, tmp_path, arguments)
    assert out.end_stdout("MARK", complete=True) == (2, True)
    assert bytes(out.kept) == b""
    assert b"rror" in (tmp_path / "stderr").read_bytes()  # "Syntax error" (dash), "syntax error" (bash)
    assert done.returncode == 2
