"""Reading a command line as bash does (bashlex, a port of bash's own parser), within the run's budget,
and what can be known of a line before it runs (its plain words, the names of its commands)."""

from __future__ import annotations

import functools
import re
from typing import Any

import bashlex
import bashlex.errors

from vcenter_guest.mock._budget import meter

from ._streams import Unsupported

__all__ = [
    "CACHED_SOURCE",
    "MAX_LINE",
    "NAME",
    "ShellSyntaxError",
    "command_line",
    "command_names",
    "parse",
    "parsed",
    "plain_words",
]

MAX_LINE = 16384
"""Characters of a command line the shell parses (bashlex is pure Python: 16 KiB take about 0.1 s);
a longer line that needs parsing fails (exit 2), one of plain words runs (see `plain_words`)."""
# Arguments of plain words (letters, digits and `-_./:,+@%=` separated by spaces) mean the same to
# bash as their split on spaces: no quoting, expansion, operator or redirection can be in them (an
# assignment needs `=` before the command name, and the program path comes first).
PLAIN = re.compile(r"[A-Za-z0-9_\-./:,+@%= ]*")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ShellSyntaxError(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


CACHED_SOURCE = 4096
"""Sources this short are parsed once (`command_names` parses a line, then its run does again)."""


@functools.lru_cache(maxsize=256)
def parsed(source: str) -> tuple[Any, ...]:
    return tuple(bashlex.parse(source))  # the shell only reads the nodes


def parse(source: str) -> list[Any]:
    if not source.strip():
        return []
    meter().parse(len(source))
    try:
        return list(parsed(source) if len(source) <= CACHED_SOURCE else bashlex.parse(source))
    except bashlex.errors.ParsingError as exc:
        raise ShellSyntaxError(source.count("\n", 0, max(0, min(exc.position, len(source)))) + 1) from None
    except NotImplementedError as exc:
        raise Unsupported(str(exc) or "this construct") from None
    except (IndexError, AttributeError, TypeError, AssertionError, ValueError, RecursionError):
        # bashlex's own limits: report them as the syntax bash would accept but we cannot run.
        raise Unsupported("this command line (the parser cannot read it)") from None


def plain_words(arguments: str) -> list[str] | None:
    """The words of `arguments` when bash has nothing to interpret in them (split on spaces); else None.

    >>> plain_words("-l /tmp --run=3"), plain_words("a > b"), plain_words("$HOME")
    (['-l', '/tmp', '--run=3'], None, None)
    """
    return arguments.split() if PLAIN.fullmatch(arguments) else None


_NAMELESS_KINDS = frozenset({"list", "pipeline", "compound", "operator", "pipe", "reservedword", "redirect"})


def command_names(line: str) -> list[str] | None:
    """The names of the commands a short line runs, as written (`echo`, `/opt/app/job`); None if the line
    is long, does not parse, names a command through an expansion, or has a construct the shell
    does not simulate (what it runs is then not known before it runs)."""
    if len(line) > CACHED_SOURCE:
        return None
    try:
        nodes = list(parsed(line)) if line.strip() else []
    except Exception:  # bashlex fails in many ways; the run will say how
        return None
    names: list[str] = []
    while nodes:
        node = nodes.pop()
        kind = node.kind
        if kind == "command":
            words = [p for p in node.parts if p.kind == "word"]
            if words and getattr(words[0], "parts", None):
                return None  # `$X args`: known only when it runs
            names += [words[0].word] if words else []
        elif kind in _NAMELESS_KINDS:
            nodes += getattr(node, "parts", None) or getattr(node, "list", None) or []
        else:
            return None
    return names


def command_line(path: str, arguments: str) -> str:
    """The line the guest's bash runs for Processes.create: the program path quoted, then the arguments."""
    quoted = f'"{path}"' if not re.search(r'[$`"\\!]', path) else "'" + path.replace("'", "'\\''") + "'"
    return f"{quoted} {arguments}" if arguments else quoted
