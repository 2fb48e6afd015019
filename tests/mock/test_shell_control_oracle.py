"""The machine's real /bin/bash is the oracle for the simulated shell's compound commands and functions.

Property, as in test_shell_oracle.py: a line of `if`/`elif`/`else`, `for`, `while`/`until`, `case`
(with `;&` and `;;&`), `{ ...; }` and `( ... )`, `!`, shell functions (`return`, `local`, arguments),
`break` and `continue` (with counts), around the simple commands of that test, run by real
`/bin/bash -c LINE` in a scratch directory and by the mock's shell over the same layout, writes the
same bytes to stdout and stderr, exits with the same status and leaves the same files.

Loops are bounded the way a script without arithmetic bounds them (a variable that grows by one
letter a round), so that real bash ends too; a loop that never ends is test_budgets' business.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest.mock._budget import BUDGET_EXIT_CODE, Budget
from vcenter_guest.mock._shell import run_script

from .test_shell_oracle import BASH, ENV, FILES, ROOT, _mock_filesystem, _simple, _tree_of, _tree_of_mock, _word

pytestmark = pytest.mark.skipif(not Path(BASH).exists(), reason="needs the machine's /bin/bash")

_redirect = st.sampled_from(["", "", "", " > {f}", " 2>&1", " 2>/dev/null", " >> {f}", " | cat"])
_condition = st.sampled_from(
    [
        "true",
        "false",
        '[ "$v" = b ]',
        '[ -n "$1" ]',
        "[ -f f1 ]",
        '[ "$n1" = xx ]',
        "! true",
        "! [ -d sub ]",
        "false || true",
        "cat nowhere",
        "(exit 3)",
    ]
)
_pattern = st.sampled_from(
    ["a", "a*", "*", "[ab]", "?", '"a*"', "x|a", "[!a]*", "$X", '"$X"', "b|\\*", "[[:digit:]]*", "''", "-*"]
)
_subject = st.sampled_from(["a", "ab", "b", "'*'", "$v", '"$X"', "$1", "42", "''", "-n"])


@st.composite
def _commands(draw: st.DrawFn, depth: int) -> str:
    """One to three commands joined by ; && ||, each a simple command or (not too deep) a compound."""
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        if depth < 2 and draw(st.integers(0, 2)) == 0:
            parts.append(draw(_compound(depth + 1)))
        else:
            command = draw(
                st.one_of(
                    _simple(1),
                    st.sampled_from(["break", "continue", "break 2", "continue 2", "return", "return 4", "local v=z"]),
                )
            )
            parts.append(command)
    operators = [draw(st.sampled_from(["; ", " && ", " || "])) for _ in range(count - 1)]
    line = parts[0]
    for operator, part in zip(operators, parts[1:], strict=True):
        line += operator + part
    return line


@st.composite
def _compound(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.sampled_from(["if", "for", "while", "until", "case", "group", "subshell"]))
    body = draw(_commands(depth))
    if kind == "if":
        line = f"if {draw(_condition)}; then {body}; "
        if draw(st.booleans()):
            line += f"elif {draw(_condition)}; then {draw(_commands(depth))}; "
        if draw(st.booleans()):
            line += f"else {draw(_commands(depth))}; "
        line += "fi"
    elif kind == "for":
        words = draw(st.lists(st.one_of(_word, st.sampled_from(["a", "b", "c", "f*", '"$@"'])), max_size=4))
        variable = draw(st.sampled_from(["v", "v", "X"]))
        header = f"for {variable} in {' '.join(words)}" if draw(st.integers(0, 4)) else f"for {variable}"
        line = f"{header}; do {body}; done"
    elif kind in {"while", "until"}:
        # nD grows by one x a round: at most three rounds (a loop inside has a counter of its own)
        n = f"n{depth}"
        test = f'[ "${n}" != xxx ]' if kind == "while" else f'[ "${n}" = xxx ]'
        line = f"{n}=; {kind} {test}; do {n}=${{{n}}}x; {body}; done"
    elif kind == "case":
        clauses = []
        for _ in range(draw(st.integers(0, 3))):
            patterns = "|".join(draw(st.lists(_pattern, min_size=1, max_size=2)))
            terminator = draw(st.sampled_from([";;", ";;", ";&", ";;&"]))
            clauses.append(f"{patterns}) {draw(_commands(depth))} {terminator}")
        line = f"case {draw(_subject)} in {' '.join(clauses)} esac"
    elif kind == "group":
        line = f"{{ {body}; }}"
    else:
        line = f"( {body} )"
    return line + draw(_redirect).format(f=draw(st.sampled_from(FILES)))


@st.composite
def _script(draw: st.DrawFn) -> str:
    """Maybe a function or two, then commands that may call them."""
    definitions = []
    for name in draw(st.lists(st.sampled_from(["f", "g"]), max_size=2, unique=True)):
        keyword = draw(st.sampled_from([f"{name}()", f"function {name}", f"function {name}()"]))
        definitions.append(f"{keyword} {{ {draw(_commands(1))}; }}")
    calls = draw(
        st.lists(
            st.sampled_from(["f", "f a b", 'f "$X" c', "g", "g 1", "f; echo $?", "v=q; g; echo $v", "X=o f"]),
            max_size=2,
        )
    )
    return "; ".join([*definitions, draw(_commands(0)), *calls])


LINES = b"a b  c\n  lead\\ ing  \nx\\\ny\n\t\nlast"
"""A file for `read`: blanks, a quoted blank, a line joined by a backslash, a blank line, no last newline."""


def _compare(line: str) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-shell-"))
    try:
        (scratch / "sub").mkdir()
        (scratch / "f1").write_bytes(b"one\n")
        (scratch / "lines").write_bytes(LINES)
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
        fs.write_file(f"{scratch}/f1", b"one\n", ROOT)
        fs.write_file(f"{scratch}/lines", LINES, ROOT)
        mock = run_script(fs, ROOT, line, env={**ENV, "HOME": str(scratch)}, cwd=str(scratch), pid=1)
        assert (mock.stdout, mock.stderr, mock.status) == (real.stdout, real.stderr, real.returncode), line
        assert _tree_of_mock(fs, str(scratch)) == _tree_of(scratch), line
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=_script())
def test_compound_commands_and_functions_do_what_real_bash_does(line: str) -> None:
    _compare(line)


@pytest.mark.parametrize(
    "line",
    [
        # if / elif / else, and the status of an if whose branches did not run
        "if false; then echo 1; elif cat nowhere; then echo 2; else echo 3 $?; fi; echo $?",
        "if false; then echo no; fi; echo $?",
        "if ! false; then echo negated; fi",
        "if true\nthen\n  cd nowhere\nfi\necho $?",
        # for: words, globs, no words, the positional parameters
        "for v in a 'b c' f*; do echo \"[$v]\"; done",
        "for v in; do echo never; done; echo $?",
        "f() { for v; do echo $v; done; }; f x 'y z'",
        "for 1x in a; do echo; done; echo $?",
        # while / until, break and continue with counts, and their errors
        'n=; while [ "$n" != xxx ]; do n=${n}x; if [ $n = xx ]; then continue; fi; echo $n; done',
        "until false; do echo once; break; done; echo $?",
        "for a in 1 2; do for b in x y; do echo $a$b; continue 2; done; done",
        "for a in 1 2; do for b in x y; do break 2; done; echo no; done; echo $?",
        "for a in 1 2; do break 0; echo $a; done; echo $?",
        "for a in 1; do break x; done; echo never",
        "break; echo $?",
        "continue 2 3; echo $?",
        "for a in 1 2; do true | break; echo $a; done",
        "for a in 1 2; do ( break ); echo $a; done",
        "for a in 1 2; do { echo $a; break; } | cat; done",
        # case: quoting, classes, alternatives, fall-through, expansions as patterns
        "case ab in a) echo a;; a*) echo a-star;; *) echo any;; esac",
        "case 'a*' in a\\*) echo escaped;; esac; case ab in \"a*\") echo no;; esac",
        "p='a*'; case abc in $p) echo from-var;; esac; case abc in \"$p\") echo no;; esac",
        "case 5x in [[:digit:]]*) echo digit;; esac; case b in [!a]) echo not-a;; esac",
        "case b in a) echo 1 ;& b) echo 2 ;& c) echo 3 ;; d) echo 4 ;; esac",
        "case b in b) echo 1 ;;& a) echo 2 ;;& *) echo 3 ;; esac",
        "case x in esac; echo $?",
        "case x in\n  x)\n    echo multi\n    ;;\nesac",
        "case x in x) echo out; cat nowhere ;; esac > f2 2>&1; cat f2",
        # functions: arguments, $0, return, local, redirections, errors inside
        'f() { echo "$0|$#|$1|$2"; }; f one "two three"',
        "f() { return 300; }; f; echo $?",
        "f() { false; return; }; f; echo $?",
        "f() { return x; echo no; }; f; echo $?",
        "f() { return 1 2; }; f; echo never",
        "return; echo $?",
        "v=out; f() { local v=in; g; }; g() { echo $v; }; f; echo $v",
        'X=out; f() { local X; echo "[$X]"; }; f; echo $X',
        "f() { local 1x=2; echo $?; }; f",
        "local v; echo $?",
        'f() { echo "[$X]"; }; X=tmp f; echo "[$X]"',
        "f() { echo in-f; } > f2; f; cat f2",
        "f() { cd nowhere; }; f; echo $?",
        "f() {\n  cd nowhere\n}\nf",
        "f() { g() { echo inner; }; }; f; g",
        "function f { echo kw; }; function g() { echo kw2; }; f; g",
        "f() { break; }; for a in 1 2; do f; echo $a; done",
        "f() { exit 7; echo no; }; f; echo never",
        "f() { echo $1; }; f a | cat; f b > f3; cat f3",
        "echo() { printf 'shadowed %s\\n' \"$1\"; }; echo builtin",
        # read: fields, -r, REPLY, the end of the input, a file read a line at a time by a loop
        'while read a b; do echo "[$a][$b]"; done < lines; echo "[$a][$b] $?"',
        'while read -r l; do echo "[$l]"; done < lines',
        'while read; do echo "[$REPLY]"; done < lines; echo "[$REPLY]"',
        'read x y z < lines; echo "[$x][$y][$z] $?"',
        "{ read first; cat; } < lines",
        'printf "1\\n2\\n" | while read n; do echo got $n; done',
        "read; echo $?",
        "read 1x < lines; echo $?",
        # groups, subshells and negation
        '( cd sub; v=in; exit 4 ); echo $? "[$v]"',
        "{ echo a; echo b >&2; } 2>&1 | cat",
        "! true; echo $?; ! false | cat; echo $?",
        'X="a  b"; f() { local y=$X; echo "$y"; }; f',
    ],
)
def test_a_compound_command_does_what_real_bash_does(line: str) -> None:
    _compare(line)


@pytest.mark.parametrize(
    "script",
    [
        'f() { cd nowhere; echo "$0 $1"; }\nf arg\ncd nowhere',
        'for a in "$@"; do case $a in -*) echo option $a;; *) echo word $a;; esac; done',
        "g() { return 3; }\nif ! g; then echo $?; fi\nbreak",
    ],
)
def test_a_script_file_with_functions_does_what_real_bash_does(script: str) -> None:
    """Errors in a script file's functions name the script, a script read from stdin's say "main", a -c
    string's "environment"."""
    scratch = Path(tempfile.mkdtemp(prefix="vcenter-guest-shell-"))
    try:
        (scratch / "s.sh").write_text(script)
        line = "bash s.sh -x y; echo $?; bash < s.sh; echo $?"
        real = subprocess.run(
            [BASH, "-c", line], cwd=scratch, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        fs = _mock_filesystem(str(scratch))
        fs.write_file(f"{scratch}/s.sh", script.encode(), ROOT)
        mock = run_script(fs, ROOT, line, env=ENV, cwd=str(scratch), pid=1)
        assert (mock.stdout, mock.stderr, mock.status) == (real.stdout, real.stderr, real.returncode)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize(
    "line",
    [
        "while true; do :; done; echo never",
        "until false; do echo y > /dev/null; done",
        "for a in 1; do while :; do continue; done; done",
        "f() { f; }; f",
        "f() { while :; do f; done; }; f",
    ],
)
def test_a_loop_or_recursion_that_never_ends_ends_with_the_budgets_exit(line: str) -> None:
    """Real bash would run these for ever (or crash): the mock ends them with BUDGET_EXIT_CODE and
    says which budget, on the stderr of the command that went over, and runs nothing after."""
    outcome = run_script(_mock_filesystem(), ROOT, line, env=ENV, cwd="/s", pid=1, budget=Budget(steps=500))
    assert outcome.status == BUDGET_EXIT_CODE, outcome
    assert b"exceeds the mock's budget" in outcome.stderr, outcome
    assert b"never" not in outcome.stdout
