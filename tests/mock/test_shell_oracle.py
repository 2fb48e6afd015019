"""The machine's real /bin/bash is the oracle for the mock's simulated shell.

Property: a command line within the supported subset (quoting and escapes, variables and special
parameters, redirections, `;`, `&&`, `||`, pipes, `cd`, `exit`, nested `bash -c`), run by
`/bin/bash -c LINE` in a scratch directory and by the mock's shell in the same layout of the
simulated file system, writes the same bytes to stdout and to stderr, exits with the same status,
and leaves the same files with the same bytes. Only real `echo`, `printf`, `cat`, `true` and
`false` are used, as the issue says; the mock runs its own simulated ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from vcenter_guest.mock._filesystem import Account, GuestFilesystem, Kind
from vcenter_guest.mock._inventory import Program
from vcenter_guest.mock._shell import run_script

BASH = "/bin/bash"
pytestmark = pytest.mark.skipif(not os.access(BASH, os.X_OK), reason="needs the machine's /bin/bash")

ROOT = Account("root", 0, True, "/root")
ENV = {"PATH": "/usr/bin:/bin", "X": "a  b", "E": "", "N": "42", "LC_ALL": "C"}
FILES = ("f1", "f2", "f3")

# Words: literals, every kind of quoting, and the expansions of the subset.
_literal = st.sampled_from(["a", "b", "hello", "-", "x.y", "1", "0", "-e", "-n"])
_quoted = st.sampled_from(
    ['"a b"', "'a b'", '"$X"', "'$X'", "\\$X", '"a\\"b"', '""', "''", '"$E"', "\\ ", "'$(x)'", "\\`"]
)  # (not '`'a: bashlex cannot parse a backquote in single quotes with more of the word after them)
_expansion = st.sampled_from(["$X", "$E", "$N", "${N}", "$1", "$#", "$?", '"$@"', "$@", "$0x", "~"])
_word = st.one_of(_literal, _quoted, _expansion).flatmap(
    lambda first: st.sampled_from(["", "a", '"b"', "$N"] if first != "~" else ["", "/a"]).map(lambda glue: first + glue)
)
_words = st.lists(_word, min_size=0, max_size=4).map(" ".join)
_file = st.sampled_from([*FILES, "sub/f4"])
_redirect = st.sampled_from(
    ["", "", " > {f}", " >> {f}", " 2> {f}", " 2>&1", " >&2", " < {f}", " 2>/dev/null", " >/dev/null"]
)
_printf_format = st.sampled_from(
    ["'%s\\n'", "'[%s]'", "'%d-%s\\n'", "'%5s|%-3s|\\n'", "'a\\tb\\n'", "'%%\\n'", "'\\303\\251\\xff%s'"]
)


@st.composite
def _simple(draw: st.DrawFn, depth: int = 0, *, piped: bool = False) -> str:
    # A pipeline's commands do one thing each and write no errors: one that goes on writing after its
    # reader ended would get SIGPIPE in real bash, at a moment no simulation can know.
    kinds = (
        ["echo", "printf", "cat", "true", "false"]
        if piped
        else ["echo", "echo", "printf", "cat", "true", "false", "assign", "cd", "exit", "bash", "test"]
    )
    kind = draw(st.sampled_from(kinds))
    if kind == "echo":
        command = f"echo {draw(_words)}"
    elif kind == "printf":
        formats = _printf_format.filter(lambda f: "%d" not in f) if piped else _printf_format
        command = f"printf {draw(formats)} {draw(_words)}"
    elif kind == "cat":
        # In a pipeline, cat reads the pipe only: an error message there would race the other
        # commands' output (even into the same file, with 2>&1 around the pipeline).
        files = st.just("") if piped else st.lists(_file, max_size=2).map(" ".join)
        command = f"cat {draw(files)}"
    elif kind == "assign":
        command = f"{draw(st.sampled_from(['X', 'N', 'Z']))}={draw(_word)}"
    elif kind == "cd":
        command = f"cd {draw(st.sampled_from(['sub', 'nowhere', '']))}"  # never out of the scratch directory
    elif kind == "exit":
        command = f"exit {draw(st.integers(0, 300))}"
    elif kind == "test":
        # One word per operand (quoted): an unquoted $X would split into "too many arguments".
        operand = st.sampled_from(['"$X"', '"$E"', "a", "''", '"$N"', "42"])
        expression = draw(
            st.one_of(
                st.tuples(st.sampled_from(["-e", "-f", "-d", "-s"]), st.sampled_from([*FILES, "sub", "nowhere"])).map(
                    " ".join
                ),
                st.tuples(st.sampled_from(["-n", "-z"]), operand).map(" ".join),
                st.tuples(operand, st.sampled_from(["=", "!="]), operand).map(" ".join),
                operand,
            )
        )
        negation = draw(st.sampled_from(["", "! "]))
        command = draw(st.sampled_from([f"[ {negation}{expression} ]", f"test {negation}{expression}"]))
    elif kind == "bash" and depth == 0:
        inner = draw(_line(1)).replace("'", '"')
        # '$(x)' turned into "$(x)" is a command substitution, outside the subset on purpose.
        assume("$(" not in inner)
        command = f"bash -c '{inner}' {draw(st.sampled_from(['zero', 'zero one', 'zero one two']))}"
    else:
        command = draw(st.sampled_from(["true", "false"]))
    return command


@st.composite
def _line(draw: st.DrawFn, depth: int = 0) -> str:
    """Commands joined by ; && || and |; those in a pipeline get no redirection: they run at the same
    time in real bash, and a file one writes while another reads would make the oracle a race."""
    count = draw(st.integers(1, 4))
    operators = [draw(st.sampled_from(["; ", " && ", " || ", " | "])) for _ in range(count - 1)]
    line = ""
    for i in range(count):
        piped = (i > 0 and operators[i - 1] == " | ") or (i < count - 1 and operators[i] == " | ")
        command = draw(_simple(depth, piped=piped))
        if not piped:
            command += draw(_redirect).format(f=draw(_file))
        line += command + (operators[i] if i < count - 1 else "")
    return line


def _mock_filesystem(scratch: str = "/s") -> GuestFilesystem:
    """The guest's files: the programs, and the scratch directory at the very path real bash has it."""
    fs = GuestFilesystem(windows=False, capacity=1 << 30)
    for directory in ("/usr", "/usr/bin", "/root"):
        fs.make_directory(directory, ROOT)
    fs.make_directory(scratch, ROOT, parents=True)
    fs.make_directory(scratch + "/sub", ROOT)
    fs.symlink("/bin", "usr/bin", ROOT)
    for name in ("echo", "printf", "cat", "true", "false", "bash", "sh"):
        node = fs.write_file(f"/usr/bin/{name}", b"\x7fELF", ROOT, mode=0o755)
        node.program = Program(utility=name)
    return fs


def _tree_of_mock(fs: GuestFilesystem, scratch: str) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}

    def visit(prefix: str, node: object) -> None:
        for child in node.children.values():  # type: ignore[attr-defined]
            path = f"{prefix}/{child.name}".lstrip("/")
            tree[path] = bytes(child.data) if child.kind is Kind.FILE else None
            if child.kind is Kind.DIRECTORY:
                visit(path, child)

    visit("", fs.lookup(scratch, ROOT)[0])
    return tree


def _tree_of(directory: Path) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        tree[str(path.relative_to(directory))] = path.read_bytes() if path.is_file() else None
    return tree


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=_line(0))
def test_the_simulated_shell_does_what_real_bash_does(line: str) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-shell-"))
    try:
        (scratch / "sub").mkdir()
        real = subprocess.run(
            [BASH, "-c", line],
            cwd=scratch,
            env={**ENV, "HOME": str(scratch)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
        fs = _mock_filesystem(str(scratch))
        mock = run_script(fs, ROOT, line, env={**ENV, "HOME": str(scratch)}, cwd=str(scratch), pid=1)
        expected_out, expected_err = real.stdout, real.stderr
        assert (mock.stdout, mock.stderr, mock.status) == (expected_out, expected_err, real.returncode), line
        assert _tree_of_mock(fs, str(scratch)) == _tree_of(scratch), line
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize(
    "line",
    [
        "echo $(true)",
        "echo `true`",
        "if ((1)); then echo; fi",
        "select a in b; do echo; done",
        "echo a &",
        "echo */x*",
        "cat <<EOF\nx\nEOF",
        "f() { echo $(true); }; f",
        "echo ${X:-d}",
        "echo ~$N",
        "time true",
    ],
)
def test_a_construct_outside_the_subset_fails_loudly(line: str) -> None:
    """Exit status 2 and a message naming what is not supported, never a silent wrong result."""
    outcome = run_script(_mock_filesystem(), ROOT, line, env=ENV, cwd="/s", pid=1)
    assert outcome.status == 2, outcome
    assert b"not supported by the simulated shell" in outcome.stderr, outcome
    assert outcome.stdout == b""


def test_an_unsupported_option_fails_that_utility_only_as_real_bash_runs_an_invalid_option() -> None:
    """A utility given an option the mock lacks fails as a real one given an invalid option does:
    exit 2, the message on its own (redirected) stderr, and the script goes on, so a captured run
    still records the exit status and shows why (real bash with `ls --no-such-option` is the oracle
    for the status and the flow)."""
    line = "ls --no-such-option / >out 2>err; echo status $? >>out"
    scratch = Path(tempfile.mkdtemp(prefix="oracle-"))
    try:
        real = subprocess.run(
            [BASH, "-c", line], cwd=scratch, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        real_out = (scratch / "out").read_bytes()
        fs = _mock_filesystem(str(scratch))
        fs.write_file("/usr/bin/ls", b"\x7fELF", ROOT, mode=0o755).program = Program(utility="ls")
        mock = run_script(fs, ROOT, line, env=ENV, cwd=str(scratch), pid=1)
        assert (mock.status, mock.stdout, mock.stderr) == (real.returncode, b"", b"") == (0, b"", b"")
        assert bytes(fs.read_file(f"{scratch}/out", ROOT)) == real_out == b"status 2\n"
        message = bytes(fs.read_file(f"{scratch}/err", ROOT))
        assert b"not supported by the simulated ls" in message, message
        assert (scratch / "err").read_bytes()  # real ls complained there too
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
