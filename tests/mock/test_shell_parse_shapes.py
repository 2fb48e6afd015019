"""Lines of one shape share one parse (`_parsing.parsed`): what each line is read as stays exactly
what bashlex reads it as, whatever line of its shape came before it."""

from __future__ import annotations

import bashlex
import pytest
from vcenter_guest.mock._filesystem import Account, GuestFilesystem
from vcenter_guest.mock._shell import run_script
from vcenter_guest.mock._shell._parsing import _parsed_text, _plan, parsed

ROOT = Account("root", 0, True, "/root")

# Each template is filled twice with words of the same lengths (so the two lines have one shape).
TEMPLATES = [
    '"/bin/mkdir" -m 700 -- {a} || exit 125; "{p}" >{a}/stdout 2>{a}/stderr; rc=$?; echo $rc >{a}/rc; '
    '[ -s {a}/stderr ] && e=1 || e=0; printf \'\\n%s %d %d\\n\' {m} "$rc" "$e" >>{a}/stdout; exit $rc',
    "cat <{a} >{b} 2>&1",
    "echo '{a}' {b} # {m}",
    'echo "{a}" "x {b}" {m}',
    "ls $(ls {a}) {b}",
    "x={a} {p} {b}",
    "for f in {a} {m}; do echo $f; done",
    "{m}() {{ echo {a}; }}; {m}",
    'case {a} in "{b}") echo one;; {m}|x.y) echo two;; esac',
    "cat <<{m}\n{a}\n{m}\n",
    "echo {a}\\ {b} ${{x:-{a}}} ~{m}",
    "[ -f {a} ] && echo {b}.{m} || echo {p}",
]
FIRST = {"a": "/tmp/run-0123", "b": "/var/x.log", "m": "mark-aa11", "p": "/bin/true"}
SECOND = {"a": "/opt/job-9f9f", "b": "/srv/y.txt", "m": "tag-zz9.b", "p": "/usr/ls.b"}


def _dump(nodes: object) -> list[str]:
    return [node.dump() for node in nodes]  # type: ignore[attr-defined]


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_line_parsed_after_one_of_its_shape_is_the_tree_bashlex_gives_it(template: str) -> None:
    first, second = template.format(**FIRST), template.format(**SECOND)
    assert len(first) == len(second)
    parsed(first)
    assert _dump(parsed(second)) == _dump(bashlex.parse(second))


def test_lines_that_differ_only_in_their_paths_are_parsed_by_bashlex_once() -> None:
    for cache in (parsed, _plan, _parsed_text):
        cache.cache_clear()
    template = "mkdir -p {a} && cp {b} {a}/ ; ls {a}"
    for n in range(5):
        parsed(template.format(a=f"/tmp/dir-{n}", b=f"/etc/f{n}.conf"))
    assert _parsed_text.cache_info().misses == 1


def test_a_line_of_a_cached_shape_runs_with_its_own_words() -> None:
    fs = GuestFilesystem(windows=False, capacity=1 << 20)
    outputs = [
        run_script(fs, ROOT, f"echo {word} && echo {word}.x >&2", env={}, cwd="/", pid=1)
        for word in ("/one/a-b", "/two/c-d")
    ]
    assert [(o.stdout, o.stderr) for o in outputs] == [
        (b"/one/a-b\n", b"/one/a-b.x\n"),
        (b"/two/c-d\n", b"/two/c-d.x\n"),
    ]
