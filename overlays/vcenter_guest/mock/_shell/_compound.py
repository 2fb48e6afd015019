"""The compound commands a simulated bash process runs: lists, pipelines, groups and subshells, `if`,
`for`, `while`/`until`, `case`, and calls of shell functions (simple commands are the interpreter's)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import wcmatch.fnmatch

from vcenter_guest.mock._budget import OverBudget, meter

from ._parsing import NAME
from ._streams import Buffer, ExitShell, LoopControl, Return, Stream, Unsupported

__all__ = ["MATCH", "CompoundCommands"]

MATCH = wcmatch.fnmatch.CASE | wcmatch.fnmatch.DOTMATCH
"""bash's pattern matching (`case`, pathname expansion): `*`, `?`, `[...]` with `!`/`^` and classes,
backslash escapes, case-sensitive; a leading dot is for the caller to decide."""


class CompoundCommands:
    """The shell's compound commands, a base of `Shell`: what they read and call of it is declared here."""

    if not TYPE_CHECKING:  # Shell is slotted (attrs); its fields, declared below for mypy, are its slots
        __slots__ = ()

    source: str
    status: int
    cwd: str
    depth: int
    loops: int
    positional: list[str]
    fds: dict[int, Stream]
    env: dict[str, str]
    variables: dict[str, str]
    functions: dict[str, Any]
    frames: list[dict[str, tuple[str | None, str | None]]]

    if TYPE_CHECKING:

        def node(self, node: Any) -> int: ...
        def command(self, node: Any, base: Mapping[int, Stream]) -> int: ...
        def redirect(self, node: Any, fds: dict[int, Stream]) -> bool: ...
        def error(self, pos: int, text: str, fds: Mapping[int, Stream] | None = None) -> None: ...
        def assign(self, name: str, value: str) -> None: ...
        def expand_word(self, node: Any) -> list[str]: ...
        def expand(self, text: str, offset: int, node: Any, *, split: bool) -> list[str]: ...
        def pattern(self, text: str, offset: int, node: Any) -> str: ...

    def run_node(self, node: Any) -> int:
        """Runs a list or command of a compound command; its status is then `$?`."""
        self.status = self.node(node)
        return self.status

    def compound(self, node: Any) -> int:
        """A compound command with its redirections: `{ LIST; }`, `( LIST )`, `if`, `for`, `while`,
        `until`, `case`; it runs in this shell (a subshell's changes stay in it)."""
        fds = dict(self.fds)
        for redirect in getattr(node, "redirects", None) or []:
            if not self.redirect(redirect, fds):
                return 1
        saved, self.fds = self.fds, fds
        try:
            return self._compound(node)
        finally:
            self.fds = saved

    def _compound(self, node: Any) -> int:
        parts = node.list
        first = parts[0]
        if getattr(node, "construct", None) == "case":
            return self.case(node)
        if first.kind == "reservedword" and first.word == "{":
            return self.list_(parts[1:-1])
        if first.kind == "reservedword" and first.word == "(":
            if self.source.startswith("((", first.pos[0]):
                raise Unsupported("arithmetic ((...))")  # bashlex reads it as two subshells
            # bash's `( ... )` starts outside any loop (a command of a pipeline stays in it)
            return self.in_subshell(lambda: self.list_(parts[1:-1]), self.fds, loops=0)
        if first.kind == "if":
            return self.if_(first.parts)
        if first.kind == "for":
            return self.for_(first.parts)
        if first.kind in {"while", "until"}:
            return self.loop(first.parts, until=first.kind == "until")
        raise Unsupported(f"the construct {first.kind!r}")

    def if_(self, parts: list[Any]) -> int:
        """`if LIST; then LIST; [elif LIST; then LIST;]... [else LIST;] fi`: 0 if no branch ran."""
        i = 0
        while i + 3 < len(parts) and parts[i].kind == "reservedword" and parts[i].word in {"if", "elif"}:
            if self.run_node(parts[i + 1]) == 0:
                return self.run_node(parts[i + 3])
            i += 4
        if i + 1 < len(parts) and parts[i].kind == "reservedword" and parts[i].word == "else":
            return self.run_node(parts[i + 1])
        return 0

    def for_(self, parts: list[Any]) -> int:
        """`for NAME [in WORDS]; do LIST; done` (no `in`: the positional parameters)."""
        name = parts[1].word
        if parts[2].kind == "reservedword" and parts[2].word == "in":
            values: list[str] = []
            for word in parts[3:]:
                if word.kind != "word":
                    break
                values += self.expand_word(word)
        else:
            values = list(self.positional)
        if not NAME.fullmatch(name):
            self.error(parts[0].pos[0], f"`{name}': not a valid identifier")
            return 1
        body = next(part for part in reversed(parts) if part.kind != "reservedword")
        return self.repeat(body, values, name)

    def loop(self, parts: list[Any], *, until: bool) -> int:
        """`while LIST; do LIST; done` and `until`; every round counts against the run's budget of
        commands, so a loop that never ends ends with the budget's exit."""
        return self.repeat(parts[3], None, "", condition=parts[1], until=until)

    def repeat(
        self, body: Any, values: list[str] | None, name: str, *, condition: Any = None, until: bool = False
    ) -> int:
        """The rounds of a loop: over `values` (assigned to `name`), or while `condition` holds (fails,
        `until`); `break` and `continue` end a round or the loop (N levels: the outer loops see it too)."""
        status = 0
        self.loops += 1
        try:
            for round_ in range(len(values)) if values is not None else iter(int, 1):
                meter().step()
                try:
                    if values is not None:
                        self.assign(name, values[round_])
                    elif (self.run_node(condition) == 0) == until:
                        break
                    status = self.run_node(body)
                except LoopControl as control:
                    status = control.status
                    if control.levels > 1:
                        control.levels -= 1
                        raise
                    if control.stop:
                        break
        finally:
            self.loops -= 1
        return status

    def case(self, node: Any) -> int:
        """`case WORD in PATTERN [| PATTERN]...) LIST ;; ... esac`, with `;&` (run the next clause's list
        too) and `;;&` (test the next clauses too); 0 if no clause ran."""
        start, end = node.word.pos
        subject = self.expand(self.source[start:end], start, node.word, split=False)[0]
        status, fall_through = 0, False
        for clause in node.clauses:
            if not fall_through and not any(self.matches(subject, pattern) for pattern in clause.patterns):
                continue
            status = self.run_node(clause.body) if clause.body is not None else 0
            if clause.terminator not in {";&", ";;&"}:
                return status
            fall_through = clause.terminator == ";&"
        return status

    def matches(self, text: str, pattern: Any) -> bool:
        """Whether `text` matches a `case` pattern word (quoted characters match themselves)."""
        start, end = pattern.pos
        compiled = self.pattern(self.source[start:end], start, pattern)
        if not text:  # wcmatch matches file names, never empty: only stars (or nothing) match nothing
            return not compiled.strip("*")
        return wcmatch.fnmatch.fnmatch(text, compiled, flags=MATCH)

    def call(self, body: Any, words: list[str], assignments: list[tuple[str, str]], fds: dict[int, Stream]) -> int:
        """Runs a shell function: its arguments are the positional parameters, `return` ends it, and
        the variables it makes `local` (and the assignments before its name) are restored after it."""
        run = meter()
        if len(self.frames) + self.depth >= run.budget.nesting:
            raise OverBudget("the depth of function calls and shells", run.budget.nesting, "nesting")
        saved = (self.positional, self.fds, self.loops)
        self.positional, self.fds, self.loops = words[1:], fds, 0
        self.frames.append({})
        try:
            for name, value in assignments:
                self.make_local(name)
                self.env[name] = value
            return self.compound(body)
        except Return as stop:
            return stop.status
        finally:
            for name, before in self.frames.pop().items():
                for values, kept in zip((self.env, self.variables), before, strict=True):
                    if kept is None:
                        values.pop(name, None)
                    else:
                        values[name] = kept
            self.positional, self.fds, self.loops = saved

    def make_local(self, name: str) -> None:
        """Keeps the value `name` has outside the function under way, to restore when it returns."""
        self.frames[-1].setdefault(name, (self.env.get(name), self.variables.get(name)))

    def list_(self, parts: list[Any]) -> int:
        if any(part.kind == "operator" and part.op == "&" for part in parts):
            raise Unsupported("a background job (&)")  # before anything of the list runs
        status = self.status
        skip = False
        for part in parts:
            if part.kind == "operator":
                if part.op == "&&":
                    skip = status != 0
                elif part.op == "||":
                    skip = status == 0
                else:  # ; or a newline
                    skip = False
                continue
            if skip:
                continue
            status = self.status = self.node(part)
        return status

    def pipeline(self, parts: list[Any]) -> int:
        negate = parts[0].kind == "reservedword" and parts[0].word == "!"
        status = self._pipeline(parts[1:] if negate else parts)
        return int(status == 0) if negate else status

    def _pipeline(self, parts: list[Any]) -> int:
        commands = [p for p in parts if p.kind != "pipe"]
        if any(p.kind == "reservedword" for p in parts):
            raise Unsupported("`time` before a pipeline")
        data: bytes | None = None
        status = 0
        for i, command in enumerate(commands):
            fds = dict(self.fds)
            if data is not None:
                fds[0] = Buffer(data)
            out = Buffer() if i < len(commands) - 1 else None
            if out is not None:
                fds[1] = out
            if len(commands) == 1:
                status = self.command(command, fds) if command.kind == "command" else self.node(command)
            else:
                # a compound command of a pipeline starts outside any loop, a simple one stays in it (bash)
                loops = None if command.kind == "command" else 0
                status = self.in_subshell(functools.partial(self.piped, command, fds), fds, loops=loops)
            data = out.read() if out is not None else None
        return status

    def piped(self, command: Any, fds: dict[int, Stream]) -> int:
        """A command of a pipeline, with the pipeline's descriptors."""
        if command.kind == "command":
            return self.command(command, fds)
        self.fds = fds
        return self.node(command)

    def in_subshell(self, run: Callable[[], int], fds: dict[int, Stream], *, loops: int | None = None) -> int:
        """Runs commands as bash does in a subshell (`( ... )`, a command of a pipeline): its cd,
        variables, functions and exit stay in it; `break`, `continue` and `return` end it."""
        saved = (self.cwd, dict(self.env), dict(self.variables), dict(self.functions), self.fds, self.status)
        frames = [dict(frame) for frame in self.frames]
        self.fds = fds
        outer_loops = self.loops
        self.loops = outer_loops if loops is None else loops
        try:
            return run()
        except (ExitShell, Return) as stop:
            return stop.status
        except LoopControl as control:
            return control.status
        finally:
            self.cwd, self.env, self.variables, self.functions, self.fds, _ = saved
            self.frames[:] = frames
            self.loops = outer_loops
