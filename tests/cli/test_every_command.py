"""Every example of every `--help` runs on `--mock`, as a reader would type it; and every command
that takes `--vm` takes many (each VM's result is shown) or refuses a second one (exit 2, saying
why): no VM is dropped silently.

The commands are found from the click group (a new command's examples are tested without a list
to extend). An example is a line of a command's help (lines continued with `\\` joined) that
calls `vcenter-guest` (as a word: at its start, after a pipe or variables); it runs in bash
(`set -o pipefail`) with `vcenter-guest` standing for this checkout's command line with `--mock`
before the command, in a working directory holding the local files the examples name
(`deploy.sh`, `app.tar.gz`, `src/`). It must exit 0, or with the code a trailing `# exits N: why`
says. Each invocation has a fresh mock (its state lasts one invocation), so an example stands on
its own against the demo inventory.

A command's --vm is tested with its first example that runs plainly (no pipe), one more VM and
--json, in this process: its JSON must hold a result for each VM, or it must refuse with exit 2
and `takes one --vm`. `fuzz` (whose --vm lists the VMs a fuzz run may target; its example names a
real server) is checked by its option taking many.

Left out of the examples, saying why: the `mock` command (it serves until interrupted: it is what
--mock embeds) and examples that name `--server` (they show a real vCenter).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from vcenter_guest.cli import main

EXPECTED_TO_FAIL: dict[str, str] = {}
"""Examples that do not run yet, each with the work that makes it run (strict: an example that
starts to run fails its test until its line here goes)."""

_CALL = re.compile(r"(^|[|\s])vcenter-guest\s")
_EXITS = re.compile(r"#\s*exits\s+(\d+)\b")


def commands() -> dict[str, click.Command]:
    ctx = click.Context(main)
    found = {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def examples() -> list[tuple[str, str]]:
    """(command, example line) of every command's help."""
    found = []
    for name, command in commands().items():
        text = re.sub(r"\\\n\s*", "", command.help or "")  # a line continued with \ is one example
        found.extend((name, line.strip()) for line in text.splitlines() if _CALL.search(line.strip()))
    return found


EXAMPLES = examples()


def _params() -> list[object]:
    params: list[object] = []
    for name, line in EXAMPLES:
        marks: list[pytest.MarkDecorator] = []
        if name == "mock":
            marks.append(pytest.mark.skip(reason="`mock` serves until interrupted: it is what --mock embeds"))
        elif "--server" in shlex.split(line, comments=True):
            marks.append(pytest.mark.skip(reason="names --server: an example of a real vCenter"))
        elif line in EXPECTED_TO_FAIL:
            marks.append(pytest.mark.xfail(reason=EXPECTED_TO_FAIL[line], strict=True))
        params.append(pytest.param(name, line, marks=marks, id=f"{name}: {line}"))
    return params


def test_every_command_that_takes_vm_has_an_example() -> None:
    with_vm = [n for n, c in commands().items() if any("--vm" in getattr(p, "opts", ()) for p in c.params)]
    shown = {name for name, _ in EXAMPLES}
    assert with_vm
    assert sorted(set(with_vm) - shown) == []


def test_the_examples_of_expected_failures_are_still_examples() -> None:
    assert set(EXPECTED_TO_FAIL) <= {line for _, line in EXAMPLES}


_LAUNCH = 'import sys; from vcenter_guest.cli import main; sys.argv[0] = "vcenter-guest"; main()'


def _local_files(directory: Path) -> None:
    """The local files the examples name."""
    (directory / "deploy.sh").write_text('echo "deploying $*"\n', encoding="utf-8")
    (directory / "app.tar.gz").write_bytes(b"\x1f\x8b" + bytes(range(256)) * 16)
    (directory / "src").mkdir()
    (directory / "src" / "main.py").write_text("print('hello')\n", encoding="utf-8")


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "line"), _params())
def test_the_help_example_runs_on_mock(name: str, line: str, tmp_path: Path) -> None:
    _local_files(tmp_path)
    expected = int(match.group(1)) if (match := _EXITS.search(line)) else 0
    launch = f"{shlex.quote(sys.executable)} -c {shlex.quote(_LAUNCH)} --mock"
    script = f'set -o pipefail\nvcenter-guest() {{ {launch} "$@"; }}\n{line}\n'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, timeout=100, check=False)
    assert done.returncode == expected, f"{name}: {line}\nstdout: {done.stdout!r}\nstderr: {done.stderr!r}"
    assert b"Traceback" not in done.stderr


def _vm_commands() -> list[str]:
    return [n for n, c in commands().items() if any("--vm" in getattr(p, "opts", ()) for p in c.params)]


def _plain_example(name: str) -> tuple[list[str], int] | None:
    """The arguments of the first example of `name` that runs as one plain invocation, and its exit code."""
    for command, line in EXAMPLES:
        if command != name or line in EXPECTED_TO_FAIL:
            continue
        words = shlex.split(line, comments=True)
        if words[0] == "vcenter-guest" and not {"|", ">", "--server"} & set(words):
            return words[1:], int(match.group(1)) if (match := _EXITS.search(line)) else 0
    return None


SECOND_VM = "vm-50"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", _vm_commands())
def test_a_command_given_many_vms_does_its_work_in_each_or_refuses_with_exit_2(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = commands()[name]
    (vm_option,) = [p for p in command.params if "--vm" in getattr(p, "opts", ())]
    assert getattr(vm_option, "multiple", False), f"{name}: --vm must be repeatable, to take many or refuse them"
    if name == "fuzz":
        return  # its --vm lists the VMs a run may target (see the module)
    found = _plain_example(name)
    assert found is not None, f"{name} has no plain example to try with many VMs"
    example, expected = found
    monkeypatch.chdir(tmp_path)
    _local_files(tmp_path)
    args = ["--mock", example[0], "--vm", SECOND_VM, "--json", *example[1:]]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    if result.exit_code == 2:
        assert "takes one --vm" in result.stderr, result.stderr
        return
    assert result.exit_code == expected, f"{args}: {result.stderr}"
    given = {args[i + 1] for i, word in enumerate(args) if word == "--vm"}
    assert len(given) >= 2
    assert {record["vm"] for record in json.loads(result.stdout)} == given, result.stdout
