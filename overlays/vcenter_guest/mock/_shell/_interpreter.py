"""One simulated bash process walking the tree bashlex parsed: lists, pipelines, groups, simple commands,
redirections, programs and scripts (the builtins and utilities it runs are handed to it: `Commands`)."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import wcmatch.fnmatch

from vcenter_guest.mock._budget import OverBudget, meter
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._filesystem import Account, GuestFilesystem, Kind
from vcenter_guest.mock._records import Program

from ._compound import MATCH, CompoundCommands
from ._expansion import Expander
from ._parsing import NAME, ShellSyntaxError, parse
from ._streams import (
    Buffer,
    Closed,
    ExitShell,
    FileStream,
    Forever,
    Machine,
    Null,
    Return,
    Stream,
    Unsupported,
    UnsupportedOption,
    complain,
    reason,
    write,
)

__all__ = ["DEFAULT_PATH", "Builtin", "Commands", "Shell", "Utility", "Where"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DECLARATIONS = frozenset({"local", "export"})
"""Builtins whose NAME=VALUE arguments are expanded as assignments (no field splitting)."""
NAME_EQ = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
LITERAL_STOPS = re.compile(r"[\x27\"\\`~*?\[$]")
"""The characters that make a word's source more than its own text (see `Shell.expander`)."""


@attrs.frozen
class Commands:
    """The builtins and the utilities (what a program file of the inventory may be) a shell runs, by name."""

    builtins: Mapping[str, Builtin]
    utilities: Mapping[str, Utility]


@attrs.define
class Shell(CompoundCommands):
    """One bash process: its variables, positional parameters, working directory and descriptors."""

    fs: GuestFilesystem
    who: Account
    env: dict[str, str]
    cwd: str
    name: str
    positional: list[str] = attrs.field(factory=list)
    fds: dict[int, Stream] = attrs.field(factory=dict)
    variables: dict[str, str] = attrs.field(factory=dict)
    status: int = 0
    duration: float = 0.0
    depth: int = 0
    pid: int = 0
    source: str = ""
    ignores_term: bool = False
    unkillable: bool = False
    commands: Commands = attrs.field(kw_only=True)
    machine: Machine = attrs.field(factory=Machine, kw_only=True)
    function_label: str | None = attrs.field(default="environment", kw_only=True)
    """What bash names in the errors of the source's functions: "environment" for a `-c` string,
    "main" for a script read from stdin, None for a script file (its name, as elsewhere)."""
    functions: dict[str, Any] = attrs.field(factory=dict, kw_only=True)
    """Shell functions by name: the compound command that is each one's body."""
    loops: int = attrs.field(default=0, kw_only=True)
    """Loops the command under way is in (a function's body starts outside any, as in bash)."""
    frames: list[dict[str, tuple[str | None, str | None]]] = attrs.field(factory=list, kw_only=True)
    """One per function call under way: the variables it made local, with their values before (in the
    environment, among the shell's variables; None: unset there)."""

    # -- messages --------------------------------------------------------------------------------

    def line_of(self, pos: int) -> int:
        """The line of the script a source position is on (for bash's `line N:` prefix)."""
        return self.source.count("\n", 0, pos) + 1

    def error(self, pos: int, text: str, fds: Mapping[int, Stream] | None = None) -> None:
        """Writes `NAME: line N: text` to stderr (the command's, once its redirections apply), as bash
        reports errors of a `-c` string or script (in a function of a `-c` string, NAME is "environment")."""
        name = (self.function_label or self.name) if self.frames else self.name
        write(self.fds if fds is None else fds, 2, f"{name}: line {self.line_of(pos)}: {text}\n".encode())

    # -- running ---------------------------------------------------------------------------------

    def run(self, source: str) -> int:
        """Runs a whole script or `-c` string; returns its exit status."""
        self.source = source
        try:
            nodes = parse(source)
            for node in nodes:
                self.status = self.node(node)
        except ExitShell as stop:
            self.status = stop.status
        except Return as stop:  # not raised outside a function (`return` refuses there): for safety
            self.status = stop.status
        except Unsupported as exc:
            self.fds.get(2, Null()).write(
                f"{self.name}: vcenter-guest mock: {exc} is not supported by the simulated shell\n".encode()
            )
            self.status = 2
        except ShellSyntaxError as exc:
            self.fds.get(2, Null()).write(f"{self.name}: -c: line {exc.line}: syntax error\n".encode())
            self.status = 2
        return self.status

    def node(self, node: Any) -> int:
        kind = node.kind
        if kind == "list":
            return self.list_(node.parts)
        if kind == "pipeline":
            return self.pipeline(node.parts)
        if kind == "command":
            return self.command(node, self.fds)
        if kind == "compound":
            return self.compound(node)
        if kind == "function":
            self.functions[node.name.word] = node.body
            return 0
        raise Unsupported(f"the construct {kind!r}")

    # -- one simple command ------------------------------------------------------------------------

    def command(self, node: Any, base: Mapping[int, Stream]) -> int:
        meter().step()
        fds = dict(base)
        try:
            return self._command(node, fds)
        except OverBudget as exc:
            # Where this command's stderr goes (a captured run's file), once; then the whole run ends.
            self.report(exc, fds)
            raise

    def report(self, exc: OverBudget, fds: Mapping[int, Stream]) -> None:
        """Writes why the run ends on `fds`' stderr (once: the innermost command says it)."""
        if exc.reported:
            return
        exc.reported = True
        with contextlib.suppress(OSError, MockError):
            fds.get(2, Null()).write(f"{self.name}: vcenter-guest mock: {exc}\n".encode())

    def _command(self, node: Any, fds: dict[int, Stream]) -> int:
        assignments, words, redirects = self.parts_of(node)
        for redirect in redirects:
            if not self.redirect(redirect, fds):
                return 1
        if not words:
            for name, value in assignments:
                self.assign(name, value)
            return 0
        name = words[0]
        if name == "exec":
            return self.exec_(words[1:], assignments, fds, node)
        function = self.functions.get(name)
        if function is not None:
            return self.call(function, words, assignments, fds)
        builtin = self.commands.builtins.get(name)
        if builtin is not None:
            return builtin(self, words, fds, node)
        env = dict(self.env)
        env.update(assignments)
        return self.external(words, env, fds, node)

    def parts_of(self, node: Any) -> tuple[list[tuple[str, str]], list[str], list[Any]]:
        """A simple command's assignments (expanded), words (expanded) and redirections (not yet)."""
        assignments: list[tuple[str, str]] = []
        words: list[str] = []
        redirects: list[Any] = []
        declaring = False  # `local NAME=VALUE`, `export NAME=VALUE`: no field splitting after the `=`
        for part in node.parts:
            if part.kind == "word" and words and declaring and NAME_EQ.match(part.word):
                words += self.expand(self.source[part.pos[0] : part.pos[1]], part.pos[0], part, split=False)
            elif part.kind == "assignment":
                name, _, _ = part.word.partition("=")
                raw = self.source[part.pos[0] : part.pos[1]]
                value_source = raw[raw.index("=") + 1 :]
                offset = part.pos[0] + raw.index("=") + 1
                assignments.append((name, "".join(self.expand(value_source, offset, part, split=False))))
            elif part.kind == "word":
                words += self.expand_word(part)
                declaring = declaring or (len(words) == 1 and words[0] in DECLARATIONS)
            elif part.kind == "redirect":
                redirects.append(part)
            else:
                raise Unsupported(f"the construct {part.kind!r}")
        return assignments, words, redirects

    def assign(self, name: str, value: str) -> None:
        if name in self.env:
            self.env[name] = value
            self.variables.pop(name, None)  # a `local` without a value no longer hides it
        else:
            self.variables[name] = value

    def exec_(self, words: list[str], assignments: list[tuple[str, str]], fds: dict[int, Stream], node: Any) -> int:
        if not words:
            self.fds = fds  # `exec >file`: the redirections stay for the rest of the shell
            return 0
        env = dict(self.env)
        env.update(assignments)
        builtin = self.commands.builtins.get(words[0])
        status = builtin(self, words, fds, node) if builtin else self.external(words, env, fds, node)
        raise ExitShell(status)

    def redirect(self, node: Any, fds: dict[int, Stream]) -> bool:  # noqa: PLR0911 - one answer per kind
        kind = node.type
        fd = node.input if isinstance(node.input, int) else (0 if kind == "<" else 1)
        if kind in {">&", "<&"} and not hasattr(node.output, "kind"):
            target = node.output
            if target == "-":
                fds[fd] = Closed()
                return True
            source = fds.get(int(target)) if len(str(target)) < 19 else None
            if source is None or isinstance(source, Closed):
                self.error(node.pos[0], f"{target}: Bad file descriptor", fds)
                return False
            fds[fd] = source
            return True
        if kind not in {">", ">>", "<", ">|"}:
            raise Unsupported(f"the redirection {kind}")
        expanded = self.expand_word(node.output)
        if len(expanded) != 1:
            self.error(node.pos[0], f"{self.source[node.output.pos[0] : node.output.pos[1]]}: ambiguous redirect", fds)
            return False
        target = expanded[0]
        if target == "/dev/null":
            fds[fd] = Null()
            return True
        path = self.absolute(target)
        try:
            if kind == "<":
                node_ = self.fs.open_file(path, self.who)
                fds[fd] = Buffer(bytes(node_.data))
                return True
            if kind in {">", ">|"}:
                self.fs.write_file(path, b"", self.who, overwrite=True)
            else:
                self.fs.write_file(path, b"", self.who, append=True)
        except MockError as error:
            self.error(node.pos[0], f"{target}: {reason(error)}", fds)
            return False
        fds[fd] = FileStream(self.fs, self.who, path, append=kind == ">>")
        return True

    # -- programs ----------------------------------------------------------------------------------

    def absolute(self, path: str) -> str:
        """A path of this shell as the guest's file system takes it (relative ones from the working directory)."""
        return path if path.startswith("/") else self.cwd.rstrip("/") + "/" + path

    def find(self, name: str, env: Mapping[str, str]) -> str | None:
        """The file a command name runs: itself if it has a `/`, else the first executable file in PATH."""
        if "/" in name:
            return self.absolute(name)
        for directory in env.get("PATH", DEFAULT_PATH).split(":"):
            candidate = (directory or ".").rstrip("/") + "/" + name
            try:
                node, _ = self.fs.lookup(self.absolute(candidate), self.who)
            except MockError:
                continue
            if node.kind is Kind.FILE and self.fs.may(node, self.who, 1, candidate):
                return self.absolute(candidate)
        return None

    def external(  # noqa: PLR0911 - one exit status per way a program fails to start
        self, words: list[str], env: dict[str, str], fds: dict[int, Stream], node: Any
    ) -> int:
        path = self.find(words[0], env)
        if path is None:
            self.error(node.pos[0], f"{words[0]}: command not found", fds)
            return 127
        try:
            file, _ = self.fs.lookup(path, self.who)
        except MockError as error:
            self.error(node.pos[0], f"{words[0]}: {reason(error)}", fds)
            return 127 if error.error_type == "NOT_FOUND" else 126
        if file.kind is Kind.DIRECTORY:
            self.error(node.pos[0], f"{words[0]}: Is a directory", fds)
            return 126
        if not self.fs.may(file, self.who, 1, path):
            self.error(node.pos[0], f"{words[0]}: Permission denied", fds)
            return 126
        if file.program is not None:
            return self.program(file.program, words, env, fds)
        data = bytes(file.data)
        if data.startswith(b"\x7fELF"):
            self.error(node.pos[0], f"{words[0]}: cannot execute binary file: Exec format error", fds)
            return 126
        return self.script(data, path, words[1:], env, fds)

    def program(self, program: Program, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
        self.ignores_term |= program.ignores_term
        self.unkillable |= program.unkillable
        if program.utility is not None:
            try:
                return self.commands.utilities[program.utility](self, words, env, fds)
            except UnsupportedOption as exc:
                # As a real utility rejects an option: on its own stderr, exit 2, and the script goes
                # on (a captured run still records it), where an unsupported construct stops it all.
                name = words[0].rsplit("/", 1)[-1]
                complain(fds, f"{name}: vcenter-guest mock: {exc} is not supported by the simulated {name}")
                return 2
        duration, status = program.duration, program.exit_code
        rest = words[1:]
        if program.duration_from_args:
            try:
                duration = float(rest.pop(0))
            except (IndexError, ValueError):
                return 1
            if math.isnan(duration) or duration < 0:
                return 1
        if program.exit_code_from_args:
            try:
                status = int(rest.pop(0)) % 256
            except (IndexError, ValueError):
                status = 2
        if not isinstance(fds.get(1, Null()), Null | Closed):  # its output_bytes are made only to be kept
            meter().expect(len(program.stdout) + program.output_bytes)
            write(fds, 1, program.stdout_data())
        write(fds, 2, program.stderr.encode())
        self.pass_time(duration)
        return status % 256

    def pass_time(self, seconds: float) -> None:
        if math.isinf(seconds):
            raise Forever
        self.duration += seconds

    def script(self, data: bytes, path: str, args: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
        first = data.split(b"\n", 1)[0]
        if first.startswith(b"#!"):
            interpreter = first[2:].strip().split()
            name = interpreter[-1].decode("utf-8", "replace").rsplit("/", 1)[-1] if interpreter else ""
            if name not in {"sh", "bash", "dash"}:
                raise Unsupported(f"a script for {first[2:].decode('utf-8', 'replace').strip()!r}")
        return self.subshell(data.decode("utf-8", "replace"), path, args, env, fds)

    def subshell(
        self,
        source: str,
        name: str,
        args: list[str],
        env: dict[str, str],
        fds: dict[int, Stream],
        *,
        function_label: str | None = None,
    ) -> int:
        run = meter()
        run.step()
        if self.depth >= run.budget.nesting:
            raise Unsupported(f"nesting shells deeper than {run.budget.nesting}")
        child = Shell(
            self.fs,
            self.who,
            dict(env),
            self.cwd,
            name,
            list(args),
            dict(fds),
            depth=self.depth + 1 + len(self.frames),
            pid=self.pid,
            commands=self.commands,
            machine=self.machine,
            function_label=function_label,
        )
        status = child.run(source)
        self.duration += child.duration
        self.ignores_term |= child.ignores_term
        self.unkillable |= child.unkillable
        return status

    # -- expansion ---------------------------------------------------------------------------------

    def lookup(self, name: str) -> str | None:
        if name.isdigit():
            index = int(name) if len(name) < 19 else 2**63  # ${99...9}: unset, as in bash
            if index == 0:
                return self.name
            return self.positional[index - 1] if index <= len(self.positional) else None
        special = {
            "?": str(self.status),
            "#": str(len(self.positional)),
            "$": str(self.pid),
            "*": " ".join(self.positional),
        }
        if name in special:
            return special[name]
        if not NAME.fullmatch(name):
            raise Unsupported(f"the parameter expansion ${{{name}}}")
        return self.variables.get(name, self.env.get(name))

    def expand_word(self, node: Any) -> list[str]:
        """The fields a word becomes: quote removal, parameter and tilde expansion, field splitting."""
        start, end = node.pos
        return self.expand(self.source[start:end], start, node, split=True)

    def expand(self, text: str, offset: int, node: Any, *, split: bool) -> list[str]:
        """The fields of a word's source `text` (at `offset` in the script); `split`: field splitting
        and pathname expansion (off for an assignment's value)."""
        fields = self.expander(text, offset, node, split=split).fields
        if not split:
            return ["".join(f.text for f in fields)]
        result: list[str] = []
        for field in fields:
            matches = self.glob(field.pattern) if field.glob else []
            if matches:
                result += matches
            elif field.text or field.quoted:
                result.append(field.text)
        return result

    def pattern(self, text: str, offset: int, node: Any) -> str:
        """A word as a pattern (`case`): expanded, not split, its quoted characters escaped."""
        return "".join(f.pattern for f in self.expander(text, offset, node, split=False, pattern=True).fields)

    def expander(self, text: str, offset: int, node: Any, *, split: bool, pattern: bool = False) -> Expander:
        """A word's source `text` walked: quote removal, expansions (see `expand`)."""
        expansions = {}
        substitutions = set()
        for part in getattr(node, "parts", []) or []:
            if part.kind in {"parameter", "tilde"}:
                expansions[part.pos[0] - offset] = part
            elif part.kind in {"commandsubstitution", "processsubstitution"}:
                substitutions.add(part.pos[0] - offset)
            else:
                raise Unsupported(f"the expansion {part.kind!r}")
        expander = Expander(self, text, split, pattern=pattern)
        if not expansions and not substitutions and not LITERAL_STOPS.search(text):
            # No quote, escape, expansion or glob character: each character is itself, unquoted (as
            # the walk below would add them one at a time)
            expander.fields[-1].add(text, quoted=False)
            return expander
        while expander.i < len(text):
            # bashlex marks a `$X` (or a `...` or $(...)) inside single quotes as an expansion when the
            # word has other parts: the quoting seen here decides.
            if expander.i in substitutions and expander.state != "'":
                raise Unsupported("command substitution")
            part = expansions.get(expander.i) if expander.state != "'" else None
            if part is not None:
                expander.expansion(part)
                expander.i = part.pos[1] - offset
            else:
                expander.character()
        return expander

    def glob(self, pattern: str) -> list[str]:
        """Pathname expansion: the names the pattern matches in one directory, sorted (none: [])."""
        directory, slash, last = pattern.rpartition("/")
        unescaped = re.sub(r"\\(.)", r"\1", directory)
        if any(c in re.sub(r"\\.", "", directory) for c in "*?["):
            raise Unsupported("pathname expansion in a directory part of a path")
        where = self.absolute((unescaped or "/") if slash else ".") if slash else self.cwd
        try:
            names = [node.name for node in self.fs.list_directory(where, self.who)]
        except MockError:
            return []
        hidden = last.startswith(".")
        found = sorted(
            n for n in names if wcmatch.fnmatch.fnmatch(n, last, flags=MATCH) and (hidden or not n.startswith("."))
        )
        prefix = unescaped + "/" if slash else ""
        return [prefix + name for name in found]


Builtin = Callable[[Shell, list[str], dict[int, Stream], Any], int]
Utility = Callable[[Shell, list[str], dict[str, str], dict[int, Stream]], int]


class Where:
    """The position errors of a command a utility runs are reported at (the start of the script)."""

    def __init__(self, shell: Shell) -> None:
        self.pos = (0, 0)
