"""A command line longer than the simulated shell parses (MAX_LINE characters): a run of it, from
`run_script` or from `run_line` with arguments that need parsing, fails with exit 2 and one line naming
the shell, while a long line of plain words still runs."""

from __future__ import annotations

from vcenter_guest.mock._shell import run_line, run_script
from vcenter_guest.mock._shell._parsing import MAX_LINE

from .test_shell_oracle import ENV, ROOT, _mock_filesystem

_MESSAGE = f"vcenter-guest mock: a command line over {MAX_LINE} characters is not interpreted\n"


def test_a_script_line_over_the_limit_fails_with_exit_2_naming_the_shell() -> None:
    outcome = run_script(_mock_filesystem(), ROOT, "echo '" + "x" * MAX_LINE + "'", env=ENV, cwd="/s", pid=1)
    assert (outcome.stdout, outcome.stderr, outcome.status) == (b"", f"/bin/bash: {_MESSAGE}".encode(), 2)


def test_arguments_that_need_parsing_over_the_limit_fail_as_a_script_line_does_under_the_shell_name() -> None:
    arguments = "'" + "x" * MAX_LINE + "'"
    outcome = run_line(_mock_filesystem(), ROOT, "/bin/echo", arguments, env=ENV, cwd="/s", pid=1, name="/bin/sh")
    assert (outcome.stdout, outcome.stderr, outcome.status) == (b"", f"/bin/sh: {_MESSAGE}".encode(), 2)


def test_a_long_line_of_plain_words_still_runs() -> None:
    arguments = " ".join(["x"] * MAX_LINE)
    outcome = run_line(_mock_filesystem(), ROOT, "/bin/echo", arguments, env=ENV, cwd="/s", pid=1)
    assert (outcome.stdout, outcome.status) == ((arguments + "\n").encode(), 0)
