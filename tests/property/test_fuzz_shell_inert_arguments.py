"""L12: the arguments the fuzz command sends to the programs it was allowed (`--program`) are shell-inert.

A guest may start a program through a shell (`/bin/sh -c`, cmd.exe). Generated arguments once carried
`;`, `<`, `*` (and the document's own example, `-l /tmp > /tmp/ls.out 2>&1`, a redirection that
writes a file outside the run's directory): with them an allowed program becomes any command line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest.fuzz import FuzzOptions, FuzzTarget, run
from vcenter_guest.fuzz._shaping import SHELL_INERT, guard, shell_inert
from vcenter_guest.fuzz._state import RunState, forget, remember
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, create_app, serve
from vcenter_guest.operations import OperationTable, load_document

from tests.property.proxy import Proxy

# Written out here, not taken from the code under test: what a POSIX shell or cmd.exe acts on.
SH_SPECIAL = set("|&;<>()$`\\\"' \t\n*?[]#~=%{}!^")
CMD_SPECIAL = set('%^&|<>()"!,;=\r\n')
# The one character of those an argument string needs: the space between words.
SEPARATOR = " "


@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_shell_inert_leaves_no_character_a_shell_acts_on(text: str) -> None:
    inert = shell_inert(text)
    assert len(inert) == len(text)
    assert SHELL_INERT.fullmatch(inert), inert
    assert not (set(inert) - {SEPARATOR}) & (SH_SPECIAL | CMD_SPECIAL), inert
    assert inert.isascii()


SH = [s for s in (shutil.which("sh"), shutil.which("dash"), shutil.which("bash")) if s]


@pytest.mark.skipif(not SH, reason="no POSIX shell on this machine")
@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
def test_a_real_shell_passes_shaped_arguments_on_word_for_word(text: str, tmp_path: Path) -> None:
    """Run by `sh -c`, shaped arguments reach the program as their words: no expansion, redirection,
    glob, comment or command (the directory holds files a glob would find)."""
    (tmp_path / "a.txt").write_text("x")
    inert = shell_inert(text)
    for shell in SH:
        done = subprocess.run(
            [shell, "-c", f"{shutil.which('printf') or 'printf'} '%s\\n' {inert}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        words = inert.split()
        expected = "".join(f"{w}\n" for w in words) if words else "\n"
        assert (done.returncode, done.stdout) == (0, expected), (shell, inert, done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"], "the shell wrote a file"


def _create_case(arguments: Any) -> Any:
    schema = object()
    return SimpleNamespace(
        operation=SimpleNamespace(
            schema=schema, definition=SimpleNamespace(raw={"operationId": "processes.create"}), label="create"
        ),
        path_parameters={"vm": "vm-42"},
        body={"credentials": {}, "spec": {"path": "/bin/true", "arguments": arguments}},
        query=None,
        meta=None,
        method="POST",
    )


def _guarded(case: Any, *, any_program: bool, sandbox: bool) -> Any:
    target = FuzzTarget(
        url="http://127.0.0.1:9", user=DEMO_API_USER, password=DEMO_API_PASSWORD, vms=("vm-42",),
        programs=("/bin/true",), any_program=any_program, sandbox=sandbox,
    )  # fmt: skip
    state = RunState(
        target=target,
        options=FuzzOptions(),
        secrets=SimpleNamespace(add=lambda *_: None),  # type: ignore[arg-type]
        table=OperationTable(load_document()),
    )
    remember(case.operation.schema, state)
    try:
        guard(None, case, {})
    finally:
        forget(case.operation.schema)
    return case


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3))


# What a generated `arguments` may be: a string, or (negative cases) anything else holding strings.
ARGUMENTS = st.recursive(st.text() | st.none() | st.integers(), _containers, max_leaves=6)


@settings(max_examples=200, derandomize=True, database=None)
@given(arguments=ARGUMENTS, sandbox=st.booleans())
def test_the_guard_makes_every_generated_argument_of_an_allowed_program_shell_inert(
    arguments: Any, sandbox: bool
) -> None:
    case = _guarded(_create_case(arguments), any_program=False, sandbox=sandbox)
    sent = case.body["spec"]["arguments"]
    assert type(sent) is type(arguments), "the shape of the value is kept (a negative case stays negative)"
    for text in _strings(sent):
        assert SHELL_INERT.fullmatch(text), text


def test_with_any_program_the_generated_arguments_are_sent_as_generated() -> None:
    """--any-program (never on real guests) explores what the server does with any command line."""
    case = _guarded(_create_case("a; b < c *"), any_program=True, sandbox=True)
    assert case.body["spec"]["arguments"] == "a; b < c *"


@pytest.mark.slow
def test_a_run_against_the_mock_never_sends_an_allowed_program_an_argument_a_shell_acts_on() -> None:
    proxy = Proxy(create_app())
    with serve(app=proxy) as url:
        target = FuzzTarget(
            url=url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, vms=("vm-42",), programs=("/bin/true",),
            guest_user=DEMO_GUEST_USER, guest_password=DEMO_GUEST_PASSWORD,
        )  # fmt: skip
        result = run(target, FuzzOptions(max_examples=10, seed=5))
    assert result.ok, (result.failures, result.errors)
    bodies = [r.json() for r in proxy.requests if r.path.endswith("/guest/processes") and r.query == "action=create"]
    arguments = [
        b["spec"]["arguments"]
        for b in bodies
        if isinstance(b, dict) and isinstance(b.get("spec"), dict) and "arguments" in b["spec"]
    ]
    texts = [a for a in arguments if isinstance(a, str)]
    assert [a for a in texts if a not in {"", "1", "30"}], "no generated argument reached the server"
    for text in (t for a in arguments for t in _strings(a)):
        assert re.fullmatch(r"[A-Za-z0-9 ._+-]*", text), f"sent to an allowed program: {text!r}"
