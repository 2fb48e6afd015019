"""How programs behave when the guest starts them: what a declared program does with its arguments, the
environment a login gives, and which starts are sure to be short (run on the event loop).

No API rule here: the processes service (`services.processes`) keeps the processes and answers the
API; this is the guest's side of it, beside the simulated shells (`_shell`, `_cmd`, `_argv`).
"""

from __future__ import annotations

import io
import math
import shlex

from ._filesystem import Account
from ._records import GuestUser, Program
from ._shell import DEFAULT_PATH

__all__ = [
    "MAX_PATH_LENGTH",
    "NOT_EXECUTABLE",
    "PEEK",
    "QUICK_ARGUMENTS",
    "QUICK_BUILTINS",
    "QUICK_PARSE",
    "WORDS_SCAN",
    "default_environment",
    "program_behaviour",
    "quick_program",
]

MAX_PATH_LENGTH = 4096
# A file the guest cannot execute (no execute permission for the user, or not a program the mock
# knows): bash reports it and exits 126 at once.
NOT_EXECUTABLE = Program(exit_code=126)
# Starts run on the event loop (no worker thread) when they are sure to be short (see Processes._quick).
QUICK_ARGUMENTS = 4096
QUICK_PARSE = 512
QUICK_UTILITIES = frozenset({"true", "false", "echo", "sleep"})
QUICK_BUILTINS = frozenset({"echo", "true", "false", ":", "cd", "exit", "export", "test", "["})
PEEK = Account("(mock)", 0, True, "/")  # finds a program's file whoever may run it


def quick_program(program: Program) -> bool:
    """A declared program of little output, or a utility that reads no file and starts nothing."""
    if program.utility is None:
        return program.output_bytes <= QUICK_ARGUMENTS
    return program.utility in QUICK_UTILITIES


# Characters of `arguments` read for the words a simulated program takes (a duration, an exit
# code): the shell's word splitting (shlex) is pure Python, and a megabyte of arguments took it 4 s
# of the event loop. Longer lines are split only this far (see _leading_words).
WORDS_SCAN = 1024


def _leading_words(arguments: str, count: int) -> list[str] | None:
    """The first `count` words of `arguments` as the guest's shell splits them (fewer if it has fewer);
    None if the shell rejects the line (an unbalanced quote).

    A line longer than WORDS_SCAN is split only that far: a word not complete by then is left out
    (no duration or exit code is that long), and a quote that is unbalanced past it goes unseen.

    >>> _leading_words("5 'a b' c", 2), _leading_words("'5", 1), _leading_words("5 " + "x" * 5000, 2)
    (['5', 'a b'], None, ['5'])
    """
    if len(arguments) <= WORDS_SCAN:
        try:
            return shlex.split(arguments)[:count]
        except ValueError:
            return None
    prefix = arguments[:WORDS_SCAN]
    stream = io.StringIO(prefix)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        while len(words) < count:
            word = lexer.get_token()
            if word is None:
                break  # nothing but blanks up to the cut
            # A word ends on the blank after it (which the lexer has read); one that ran into the cut
            # may go on past it, so it is not taken.
            if stream.tell() == len(prefix) and prefix[-1] not in lexer.whitespace:
                break
            words.append(word)
    except ValueError:  # a quote still open at the cut: that word is not complete
        pass
    return words


def program_behaviour(program: Program, arguments: str) -> tuple[float, int]:
    """(duration in seconds, exit code) of one run of `program` with `arguments`."""
    duration, exit_code = program.duration, program.exit_code
    if not (program.duration_from_args or program.exit_code_from_args):
        return duration, exit_code
    words = _leading_words(arguments, int(program.duration_from_args) + int(program.exit_code_from_args))
    if words is None:
        return 0.0, 2  # the shell rejects unbalanced quotes before the program runs
    if program.duration_from_args:
        # Like sleep(1): a missing or bad operand makes it exit 1 at once.
        try:
            duration = float(words.pop(0))
        except (IndexError, ValueError):
            return 0.0, 1
        if math.isnan(duration) or duration < 0:
            return 0.0, 1
    if program.exit_code_from_args:
        try:
            exit_code = int(words.pop(0)) % 256
        except (IndexError, ValueError):
            exit_code = 2
    return duration, exit_code


def default_environment(windows: bool, user: GuestUser) -> dict[str, str]:
    """The environment a program gets when create sets none (a login's, as vmtoolsd gives it)."""
    if windows:
        return {
            "PATH": "C:\\Windows\\system32;C:\\Windows",
            "SystemRoot": "C:\\Windows",
            "USERNAME": user.name,
            "USERPROFILE": user.home,
            "TEMP": user.home + "\\AppData\\Local\\Temp",
        }
    return {
        "PATH": DEFAULT_PATH,
        "HOME": user.home,
        "USER": user.name,
        "LOGNAME": user.name,
        "SHELL": "/bin/bash",
    }
