"""The `argv` utility of the mock's Windows guests: a program that reports the arguments it received.

The counterpart of a POSIX program that prints its argv: a Windows program gets one command line
and splits it itself, by the rules of CommandLineToArgvW (the C runtime's), here `mslex.split`'s
(`like_cmd=False`: no cmd.exe in between; the msvcrt rules, which CommandLineToArgvW follows). It
writes the arguments after its own name to stdout as a JSON array (ASCII, no newline), then, from
its environment (names without case): `WRITE_STDERR` to stderr (in the OEM code page), the JSON
also to the file `WRITE_ARGV_TO` (UTF-8; a program started without cmd.exe has no stdout anyone
reads), and exits with `EXIT` (a Windows exit code: 32 bits, negative ones as cmd shows them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import mslex

from ._errors import MockError
from ._filesystem import Account, GuestFilesystem
from ._shell import Outcome

__all__ = ["ARGV", "argv_of", "run_argv"]

ARGV = "argv"
"""The utility name of the argv program in an inventory's `programs`."""


def argv_of(arguments: str) -> list[str]:
    """The arguments a Windows program splits from the text after its name on its command line.

    >>> argv_of('a "b c" d\\\\"e "f\\\\\\\\"')
    ['a', 'b c', 'd"e', 'f\\\\']
    """
    return mslex.split(arguments, like_cmd=False, ucrt=False)


def run_argv(fs: GuestFilesystem, who: Account, arguments: str, *, env: Mapping[str, str]) -> Outcome:
    """One run of the argv program with `arguments` (its command line after its own name)."""
    variables = {k.upper(): v for k, v in env.items()}
    report = json.dumps(argv_of(arguments))
    stderr = variables.get("WRITE_STDERR", "").encode("cp437", "replace")
    status = 0
    target = variables.get("WRITE_ARGV_TO")
    if target:
        try:
            fs.write_file(target, report.encode(), who, overwrite=True)
        except MockError:
            stderr += b"argv: cannot write " + target.encode("cp437", "replace") + b"\r\n"
            status = 1
    try:
        code = int(variables.get("EXIT", str(status)))
    except ValueError:
        code = 1
    code = (code + 2**31) % 2**32 - 2**31  # a DWORD, as cmd's %ERRORLEVEL% shows it
    return Outcome(report.encode(), stderr, code, 0.0)
