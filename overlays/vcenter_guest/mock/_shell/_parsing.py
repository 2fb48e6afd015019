"""Reading a command line as bash does (bashlex, a port of bash's own parser), within the run's budget,
and what can be known of a line before it runs (its plain words, the names of its commands)."""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs
import bashlex
import bashlex.ast
import bashlex.errors
import bashlex.parser

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


# -- `case`: bashlex 0.18 has bash's grammar and tokenizer for it, but its actions raise NotImplementedError
# (upstream has them since, unreleased). The actions below build the nodes for those productions;
# the grammar, the tokenizer and the parse tables stay bashlex's. bashlex's own tree walker (which
# `bashlex.parse` runs over every tree) knows only its kinds, so a `case` is a `compound` node whose
# `list` holds its words and clauses, marked by `construct` ("case", "clause").


def _reserved(p: Any, i: int) -> Any:
    return bashlex.ast.node(kind="reservedword", word=p[i], pos=p.lexspan(i))


def _word(p: Any, i: int) -> Any:
    return bashlex.parser._expandword(p.context, p.slice[i])  # bashlex's own word expansion


def _compound(construct: str, parts: list[Any], **fields: Any) -> Any:
    """A `compound` node of a `case` construct: its words and clauses in `list`, spanning them all."""
    return bashlex.ast.node(
        kind="compound",
        construct=construct,
        list=parts,
        redirects=[],
        pos=(parts[0].pos[0], parts[-1].pos[1]),
        **fields,
    )


def _case_pattern(p: Any) -> None:
    """pattern : WORD | pattern BAR WORD: the list of pattern words."""
    p[0] = [_word(p, 1)] if len(p) == 2 else [*p[1], _word(p, 3)]


def _case_pattern_list(p: Any) -> None:
    """pattern_list : newline_list [LEFT_PAREN] pattern RIGHT_PAREN (compound_list | newline_list): one clause."""
    patterns = p[2] if len(p) == 5 else p[3]
    body = p[len(p) - 1] if isinstance(p[len(p) - 1], bashlex.ast.node) else None
    paren = _reserved(p, len(p) - 2)
    parts = [*patterns, paren, *([body] if body is not None else [])]
    p[0] = _compound("clause", parts, patterns=patterns, body=body, terminator=None)


def _case_clause_sequence(p: Any) -> None:
    """case_clause_sequence : [case_clause_sequence] pattern_list (;; | ;& | ;;&): clauses with their ends."""
    clauses, clause, end = ([], p[1], 2) if len(p) == 3 else (p[1], p[2], 3)
    clause.terminator = p[end]
    clause.list.append(_reserved(p, end))
    clause.pos = (clause.pos[0], p.lexspan(end)[1])
    p[0] = [*clauses, clause]


def _case_clause(p: Any) -> None:
    """case_clause : [case_clause_sequence] pattern_list: the clauses, the last without its `;;`."""
    p[0] = [p[1]] if len(p) == 2 else [*p[1], p[2]]


def _case_command(p: Any) -> None:
    """case_command : CASE WORD newline_list IN [clauses] [newline_list] ESAC."""
    clauses = next((x for x in list(p)[5:] if isinstance(x, list)), [])
    word = _word(p, 2)
    parts = [_reserved(p, 1), word, _reserved(p, 4), *clauses, _reserved(p, len(p) - 1)]
    p[0] = _compound("case", parts, word=word, clauses=clauses)


_CASE_ACTIONS = {
    "pattern": _case_pattern,
    "pattern_list": _case_pattern_list,
    "case_clause_sequence": _case_clause_sequence,
    "case_clause": _case_clause,
    "case_command": _case_command,
}
for _production in bashlex.parser.yaccparser.productions:
    if _production.name in _CASE_ACTIONS:
        _production.callable = _CASE_ACTIONS[_production.name]


# -- Lines of one shape. A line is parsed once by text (`parsed`), and lines that differ only in their
# plain words holding punctuation (paths, names like `run-3f2a`, numbers like `1.5`) share one parse:
# such a word means the same to bash's grammar whatever its letters and digits (it cannot be a
# reserved word, an assignment, a file descriptor's number, `time -p`'s option or a brace), so the
# line with those letters and digits all `x` (its shape: same length, same positions) parses to the
# same tree but for those words' values. The shape's tree is parsed once; a line of that shape gets
# a copy with its own words put back, once each such word is found as a word node of exactly its
# span (anything else, e.g. a word inside quotes or a comment, and the line is parsed as it is).
_SHAPED = re.compile(
    r"""'[^']*'|(?<![^\s;|&<>()])(?P<quoted>"[A-Za-z0-9_\-./:,+@%]*")(?![^\s;|&<>()])|"(?:[^"\\]|\\.)*"|\\.|"""
    r"(?<![^\s;|&<>()])(?P<word>[A-Za-z0-9_./:,+@%][A-Za-z0-9_\-./:,+@%]*)(?![^\s;|&<>()])",
    re.DOTALL,
)
_PUNCTUATION = re.compile(r"[\-./:,+@%]")
_LETTERS = re.compile(r"[A-Za-z0-9_]")
_TEXT_KINDS = frozenset({"word", "assignment", "parameter", "tilde", "heredoc", "commandsubstitution"})


def _shape(source: str) -> tuple[str, list[tuple[int, int]]]:
    """`source` with the letters and digits of its plain punctuated words (bare or alone in double
    quotes) as `x`, and those words' spans."""
    if "<<" in source:  # a here-document's delimiter word decides where its body ends
        return source, []
    spans = [
        match.span(group)
        for match in _SHAPED.finditer(source)
        for group in ("word", "quoted")
        if match[group] is not None and _PUNCTUATION.search(match[group])
    ]
    if not spans:
        return source, []
    parts: list[str] = []
    end = 0
    for start, stop in spans:
        parts += [source[end:start], _LETTERS.sub("x", source[start:stop])]
        end = stop
    parts.append(source[end:])
    return "".join(parts), spans


@attrs.frozen
class _Plan:
    """The tree of a shape, the ids of its nodes that hold a shaped word (at any depth), and the
    shaped words' nodes."""

    tree: tuple[Any, ...]
    dirty: frozenset[int]
    words: frozenset[int]


def _children(node: Any) -> list[Any]:
    found: list[Any] = []
    for value in node.__dict__.values():
        if isinstance(value, bashlex.ast.node):
            found.append(value)
        elif isinstance(value, list):
            found += [item for item in value if isinstance(item, bashlex.ast.node)]
    return found


@functools.lru_cache(maxsize=256)
def _plan(shape: str) -> _Plan | None:
    """How to fill the shape's tree (see "Lines of one shape"); None unless each shaped word is exactly
    one word node without expansions, and no other text of the tree holds one (`$(ls /tmp)`)."""
    _, spans = _shape(shape)  # the shape's shaped words are the line's, letters apart
    try:
        tree = _parsed_text(shape)
    except Exception:  # bashlex fails in many ways; the line itself says how when it is parsed as it is
        return None
    wanted = set(spans)
    seen: set[tuple[int, int]] = set()
    dirty: set[int] = set()
    words: set[int] = set()

    def holds(node: Any) -> bool:
        """Whether `node` is or holds a shaped word; raises LookupError if the tree cannot be filled."""
        pos = node.pos
        if node.kind == "word" and pos in wanted and not getattr(node, "parts", None):
            if pos in seen:
                raise LookupError(pos)
            seen.add(pos)
            words.add(id(node))
            inside = True
        elif node.kind in _TEXT_KINDS and any(pos[0] <= a and b <= pos[1] for a, b in spans):
            raise LookupError(pos)
        else:
            inside = False
        for child in _children(node):
            inside = holds(child) or inside
        if inside:
            dirty.add(id(node))
        return inside

    try:
        for node in tree:
            holds(node)
    except LookupError:
        return None
    return _Plan(tree, frozenset(dirty), frozenset(words)) if seen == wanted else None


def _filled(plan: _Plan, source: str) -> tuple[Any, ...]:
    """The plan's tree with its shaped words taken from `source` (a line of its shape): the nodes
    that hold them are copied, the others shared (the shell only reads the nodes)."""
    copies: dict[int, Any] = {}

    def copy(value: Any) -> Any:
        if isinstance(value, list):
            return [copy(item) for item in value]
        if not isinstance(value, bashlex.ast.node) or id(value) not in plan.dirty:
            return value
        done = copies.get(id(value))
        if done is None:
            done = copies[id(value)] = bashlex.ast.node(**{k: copy(v) for k, v in value.__dict__.items()})
            if id(value) in plan.words:
                start, stop = value.pos
                done.word = source[start + 1 : stop - 1] if source[start] == '"' else source[start:stop]
        return done

    return tuple(copy(node) for node in plan.tree)


@functools.lru_cache(maxsize=256)
def _parsed_text(source: str) -> tuple[Any, ...]:
    return tuple(bashlex.parse(source))  # the shell only reads the nodes


@functools.lru_cache(maxsize=256)
def parsed(source: str) -> tuple[Any, ...]:
    """The nodes bashlex parses `source` to (see "Lines of one shape" above)."""
    shape, spans = _shape(source)
    plan = _plan(shape) if spans else None
    return _parsed_text(source) if plan is None else _filled(plan, source)


def parse(source: str) -> list[Any]:
    if not source.strip():
        return []
    meter().parse(len(source))
    try:
        return list(parsed(source) if len(source) <= CACHED_SOURCE else bashlex.parse(source))
    except bashlex.errors.ParsingError as exc:
        raise ShellSyntaxError(source.count("\n", 0, max(0, min(exc.position, len(source)))) + 1) from None
    except NotImplementedError as exc:
        # bashlex names the production it lacks: "type = {time command}, token = {time}"
        what = re.search(r"type = \{([^}]*)\}", str(exc))
        raise Unsupported(f"the {what[1]}" if what else "this construct") from None
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
