from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypedDict

from vcenter_guest.mock._budget import BUDGET_EXIT_CODE, Budget, OverBudget, metered
from vcenter_guest.mock._filesystem import Account, GuestFilesystem

from ._builtins import BUILTINS
from ._interpreter import Commands, Shell, Where
from ._parsing import MAX_LINE, command_line, plain_words
from ._streams import Buffer, ExitShell, Forever, Machine, Null, Outcome, Stream, Unsupported
from ._utilities import UTILITY_TABLE

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["COMMANDS", "ShellStart", "run_line", "run_script"]

COMMANDS = Commands(BUILTINS, UTILITY_TABLE)
"""What the guest's bash runs: its builtins and the demo guest's utilities."""


class _Surroundings(TypedDict):
    env: Mapping[str, str]
    cwd: str
    pid: int


class ShellStart(_Surroundings, total=False):
    """How the guest's shell starts, for `run_line` and `run_script`: its environment, working
    directory and pid; `name` (its `$0`, /bin/bash unless told); `budget`, what the run may cost (a run
    within another shares that one's); `machine`, what its programs know of the guest besides its
    files (a default one if None)."""

    name: str
    budget: Budget | None
    machine: Machine | None


def run_line(fs: GuestFilesystem, who: Account, path: str, arguments: str, **start: Unpack[ShellStart]) -> Outcome:
    """Runs `path arguments` as the guest's `/bin/bash -c` does for Processes.create; what it did."""
    with metered(start.get("budget")):
        shell = _shell(fs, who, start)
        words = plain_words(arguments)
        line = command_line(path, arguments)
        if words is None:
            return _script(shell, line)
        shell.source = line
        return _outcome(shell, lambda: shell.external([path, *words], shell.env, shell.fds, Where(shell)))


def run_script(fs: GuestFilesystem, who: Account, line: str, **start: Unpack[ShellStart]) -> Outcome:
    """Runs `line` as `/bin/bash -c LINE` (started with no stdin) does in the guest; what it did."""
    with metered(start.get("budget")):
        return _script(_shell(fs, who, start), line)


def _shell(fs: GuestFilesystem, who: Account, start: ShellStart) -> Shell:
    """A new shell of the guest with no stdin, its stdout and stderr buffers."""
    fds: dict[int, Stream] = {0: Null(), 1: Buffer(), 2: Buffer()}
    name, machine = start.get("name", "/bin/bash"), start.get("machine") or Machine()
    return Shell(
        fs, who, dict(start["env"]), start["cwd"], name, fds=fds, pid=start["pid"], commands=COMMANDS, machine=machine
    )


def _outcome(shell: Shell, run: Callable[[], int]) -> Outcome:
    """Runs the shell's work; what it did (its own stdout and stderr are the buffers it started with)."""
    out, err = shell.fds[1], shell.fds[2]
    try:
        shell.status = run()
    except Forever:
        return Outcome(out.read(), err.read(), 0, math.inf, shell.ignores_term, shell.unkillable)
    except ExitShell as stop:
        shell.status = stop.status
    except Unsupported as exc:
        err.write(f"{shell.name}: vcenter-guest mock: {exc} is not supported by the simulated shell\n".encode())
        shell.status = 2
    except OverBudget as exc:
        shell.report(exc, shell.fds)
        shell.status = BUDGET_EXIT_CODE
    except RecursionError:
        # Compound commands nested deeper than the walk can go (function calls are bounded before).
        err.write(f"{shell.name}: vcenter-guest mock: commands nested too deeply for the simulated shell\n".encode())
        shell.status = BUDGET_EXIT_CODE
    return Outcome(out.read(), err.read(), shell.status, shell.duration, shell.ignores_term, shell.unkillable)


def _script(shell: Shell, line: str) -> Outcome:
    """Runs `line` in `shell` (a line over MAX_LINE characters fails, exit 2, as bash is not asked to parse it)."""
    err = shell.fds[2]
    if len(line) > MAX_LINE:
        err.write(
            f"{shell.name}: vcenter-guest mock: a command line over {MAX_LINE} characters is not interpreted\n".encode()
        )
        return Outcome(b"", err.read(), 2, 0.0)
    return _outcome(shell, lambda: shell.run(line))
