"""The simulated `/bin/bash` of the mock's Linux and Solaris guests: a command line run over the guest's files.

vCenter starts `path arguments` through `/bin/bash` on those guests, so the mock runs the whole line
as bash does. `bashlex` (a port of bash's own parser) parses it; this module walks the tree:
quoting and escapes, variables and the special parameters (`$?`, `$#`, `$@`, `$*`, `$0`..`$9`,
`$$`), `~`, assignments, redirections (`<`, `>`, `>>`, `N>file`, `2>&1`, `>&2`, `N>&-`,
`/dev/null`), `;`, `&&`, `||`, pipes, `{ ...; }` groups (with redirections), and the builtins
`cd`, `exit`, `exec`, `export`, `echo`, `printf`, `true`, `false`, `:`. Programs are files of the
guest: a declared program (the inventory's `programs`, with a simulated utility or declared
output), or a script (a shebang of sh or bash, or none), run by a nested shell. Anything else
(command substitution, subshells, `if`, loops, functions, globbing, here-documents, `&`...) fails
loudly: a message on the shell's stderr and exit status 2.

Everything a line does happens when the process starts; its duration (the sleeps and declared
durations of what it ran) only decides when it ends. A command of infinite duration stops the line
there: nothing after it ever runs. A run has a budget (`_budget.Budget`: commands, nesting, source
parsed, bytes written, printf widths); past it the run ends at once with `BUDGET_EXIT_CODE` and says
why on the stderr of the command that went over.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import bashlex
import bashlex.errors

from ._budget import BUDGET_EXIT_CODE, Budget, OverBudget, meter, metered
from ._errors import MockError
from ._filesystem import Account, GuestFilesystem, Kind, Node

if TYPE_CHECKING:
    from ._inventory import Program

__all__ = [
    "DEFAULT_PATH",
    "MAX_LINE",
    "UTILITIES",
    "Outcome",
    "command_line",
    "command_names",
    "plain_words",
    "run_line",
    "run_script",
]

MAX_LINE = 16384
"""Characters of a command line the shell parses (bashlex is pure Python: 16 KiB take about 0.1 s);
a longer line that needs parsing fails (exit 2), one of plain words runs (see `_plain_words`)."""
MAX_OUTPUT = 64 << 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT_MAX = 2**31 - 1
"""The largest printf width or precision bash takes (a larger one prints nothing for its directive)."""
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Arguments of plain words (letters, digits and `-_./:,+@%=` separated by spaces) mean the same to
# bash as their split on spaces: no quoting, expansion, operator or redirection can be in them (an
# assignment needs `=` before the command name, and the program path comes first).
_PLAIN = re.compile(r"[A-Za-z0-9_\-./:,+@%= ]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Unsupported(Exception):
    """A construct outside the simulated subset."""


class UnsupportedOption(Exception):
    """An option of a simulated utility outside what the mock implements (the utility fails, exit 2)."""


class ExitShell(Exception):
    """`exit N`, or the end of `exec COMMAND`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Forever(Exception):
    """A command that never ends by itself: nothing after it runs."""


@attrs.define
class Outcome:
    """What a command line did: its own stdout and stderr (not redirected), exit status and duration."""

    stdout: bytes
    stderr: bytes
    status: int
    duration: float
    ignores_term: bool = False
    unkillable: bool = False


# -- file descriptors --------------------------------------------------------------------------------


class Stream:
    """An open file description: what writes and reads on a descriptor reach."""

    def write(self, data: bytes) -> None:
        """Takes bytes written to the descriptor."""

    def read(self) -> bytes:
        """The bytes a read until end of file gets."""
        return b""


class Buffer(Stream):
    """Bytes kept in memory: a pipe, or the process's own stdout and stderr (vCenter keeps neither)."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)

    def write(self, data: bytes) -> None:
        if len(self.data) + len(data) > MAX_OUTPUT:
            data = data[: max(0, MAX_OUTPUT - len(self.data))]
        self.data += data

    def read(self) -> bytes:
        return bytes(self.data)


class Null(Stream):
    """`/dev/null`."""


class FileStream(Stream):
    """A guest file opened by a redirection, with its own offset as an open file description has:
    `>` writes from where this description is (after truncating at open), `>>` at the end."""

    def __init__(self, fs: GuestFilesystem, who: Account, path: str, *, append: bool = False) -> None:
        self.fs, self.who, self.path, self.append = fs, who, path, append
        self.offset = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        fs, who = self.fs, self.who
        if self.append:
            fs.write_file(self.path, data, who, append=True)
            return
        node, _ = fs.lookup(self.path, who)  # its bytes, without needing read permission
        start = self.offset
        if start == node.size:  # at the end (the usual case): an append, which copies nothing
            fs.write_file(self.path, data, who, append=True)
            self.offset = start + len(data)
            return
        old = bytes(node.data)
        # Past the end (someone truncated the file since): the gap reads as zeros, as in a sparse file.
        new = old[:start] + b"\0" * max(0, start - len(old)) + data + old[start + len(data) :]
        fs.write_file(self.path, new, who)
        self.offset = start + len(data)

    def read(self) -> bytes:
        return bytes(self.fs.read_file(self.path, self.who))


class Closed(Stream):
    """A closed descriptor (`N>&-`): writes fail."""

    def write(self, data: bytes) -> None:
        raise OSError("Bad file descriptor")


# -- the shell ----------------------------------------------------------------------------------------


@attrs.define
class Shell:
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

    # -- messages --------------------------------------------------------------------------------

    def line_of(self, pos: int) -> int:
        """The line of the script a source position is on (for bash's `line N:` prefix)."""
        return self.source.count("\n", 0, pos) + 1

    def error(self, pos: int, text: str, fds: Mapping[int, Stream] | None = None) -> None:
        """Writes `NAME: line N: text` to stderr (the command's, once its redirections apply), as bash
        reports errors of a `-c` string or script."""
        _write(self.fds if fds is None else fds, 2, f"{self.name}: line {self.line_of(pos)}: {text}\n".encode())

    # -- running ---------------------------------------------------------------------------------

    def run(self, source: str) -> int:
        """Runs a whole script or `-c` string; returns its exit status."""
        self.source = source
        try:
            nodes = _parse(source)
            for node in nodes:
                self.status = self.node(node)
        except ExitShell as stop:
            self.status = stop.status
        except Unsupported as exc:
            self.fds.get(2, Null()).write(
                f"{self.name}: vcenter-guest mock: {exc} is not supported by the simulated shell\n".encode()
            )
            self.status = 2
        except _SyntaxError as exc:
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
            return self.group(node)
        if kind in {"if", "for", "while", "until", "function", "case"}:
            raise Unsupported(f"`{kind}`")
        raise Unsupported(f"the construct {kind!r}")

    def group(self, node: Any) -> int:
        """`{ LIST; } REDIRECTIONS`: the list runs in this shell with the group's redirections."""
        parts = node.list
        if not (parts[0].kind == "reservedword" and parts[0].word == "{" and parts[-1].kind == "reservedword"):
            raise Unsupported("a subshell ( ... )")
        fds = dict(self.fds)
        for redirect in getattr(node, "redirects", None) or []:
            if not self.redirect(redirect, fds):
                return 1
        saved, self.fds = self.fds, fds
        try:
            return self.list_(parts[1:-1])
        finally:
            self.fds = saved

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
        commands = [p for p in parts if p.kind != "pipe"]
        if any(p.kind == "reservedword" for p in parts):
            raise Unsupported("`!` or `time` before a pipeline")
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
                status = self.in_subshell(command, fds)
            data = out.read() if out is not None else None
        return status

    def in_subshell(self, command: Any, fds: dict[int, Stream]) -> int:
        """Runs a command of a pipeline as bash does, in a subshell: its cd, variables and exit stay in it."""
        saved = (self.cwd, dict(self.env), dict(self.variables), self.fds)
        try:
            return self.command(command, fds) if command.kind == "command" else self.node(command)
        except ExitShell as stop:
            return stop.status
        finally:
            self.cwd, self.env, self.variables, self.fds = saved

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
        assignments: list[tuple[str, str]] = []
        words: list[str] = []
        redirects: list[Any] = []
        for part in node.parts:
            if part.kind == "assignment":
                name, _, _ = part.word.partition("=")
                raw = self.source[part.pos[0] : part.pos[1]]
                value_source = raw[raw.index("=") + 1 :]
                offset = part.pos[0] + raw.index("=") + 1
                assignments.append((name, "".join(self.expand(value_source, offset, part, split=False))))
            elif part.kind == "word":
                words += self.expand_word(part)
            elif part.kind == "redirect":
                redirects.append(part)
            else:
                raise Unsupported(f"the construct {part.kind!r}")
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
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            return builtin(self, words, fds, node)
        env = dict(self.env)
        env.update(assignments)
        return self.external(words, env, fds, node)

    def assign(self, name: str, value: str) -> None:
        if name in self.env:
            self.env[name] = value
        else:
            self.variables[name] = value

    def exec_(self, words: list[str], assignments: list[tuple[str, str]], fds: dict[int, Stream], node: Any) -> int:
        if not words:
            self.fds = fds  # `exec >file`: the redirections stay for the rest of the shell
            return 0
        env = dict(self.env)
        env.update(assignments)
        builtin = _BUILTINS.get(words[0])
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
            self.error(node.pos[0], f"{target}: {_reason(error)}", fds)
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
            self.error(node.pos[0], f"{words[0]}: {_reason(error)}", fds)
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
                return _UTILITIES[program.utility](self, words, env, fds)
            except UnsupportedOption as exc:
                # As a real utility rejects an option: on its own stderr, exit 2, and the script goes
                # on (a captured run still records it), where an unsupported construct stops it all.
                name = words[0].rsplit("/", 1)[-1]
                _complain(fds, f"{name}: vcenter-guest mock: {exc} is not supported by the simulated {name}")
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
            _write(fds, 1, program.stdout_data())
        _write(fds, 2, program.stderr.encode())
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

    def subshell(self, source: str, name: str, args: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
        run = meter()
        run.step()
        if self.depth >= run.budget.nesting:
            raise Unsupported(f"nesting shells deeper than {run.budget.nesting}")
        child = Shell(
            self.fs, self.who, dict(env), self.cwd, name, list(args), dict(fds), depth=self.depth + 1, pid=self.pid
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
        if not _NAME.fullmatch(name):
            raise Unsupported(f"the parameter expansion ${{{name}}}")
        return self.variables.get(name, self.env.get(name))

    def expand_word(self, node: Any) -> list[str]:
        """The fields a word becomes: quote removal, parameter and tilde expansion, field splitting."""
        start, end = node.pos
        return self.expand(self.source[start:end], start, node, split=True)

    def expand(self, text: str, offset: int, node: Any, *, split: bool) -> list[str]:
        """The fields of a word's source `text` (at `offset` in the script); `split`: field splitting
        and pathname expansion (off for an assignment's value)."""
        expansions = {}
        substitutions = set()
        for part in getattr(node, "parts", []) or []:
            if part.kind in {"parameter", "tilde"}:
                expansions[part.pos[0] - offset] = part
            elif part.kind in {"commandsubstitution", "processsubstitution"}:
                substitutions.add(part.pos[0] - offset)
            else:
                raise Unsupported(f"the expansion {part.kind!r}")
        expander = _Expander(self, text, split)
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
        fields = expander.fields
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

    def glob(self, pattern: str) -> list[str]:
        """Pathname expansion: the names the pattern matches in one directory, sorted (none: [])."""
        directory, slash, last = pattern.rpartition("/")
        unescaped = re.sub(r"\[([*?\[])\]", r"\1", directory)
        if any(c in re.sub(r"\[[*?\[]\]", "", directory) for c in "*?["):
            raise Unsupported("pathname expansion in a directory part of a path")
        where = self.absolute((unescaped or "/") if slash else ".") if slash else self.cwd
        try:
            names = [node.name for node in self.fs.list_directory(where, self.who)]
        except MockError:
            return []
        hidden = last.startswith(".")
        found = sorted(n for n in names if fnmatch.fnmatchcase(n, last) and (hidden or not n.startswith(".")))
        prefix = unescaped + "/" if slash else ""
        return [prefix + name for name in found]


class _Expander:
    """Quote removal and expansion over a word's source, one character or expansion at a time."""

    def __init__(self, shell: Shell, text: str, split: bool) -> None:
        self.shell, self.text, self.split = shell, text, split
        self.fields = [_Field()]
        self.i = 0
        self.state = ""  # "", "'" or '"': the quotes the walk is inside
        self.saw_at = False  # "$@" in the current double quotes: with no positional parameters, no field

    def expansion(self, part: Any) -> None:
        shell, fields = self.shell, self.fields
        if part.kind == "tilde":
            user = part.value[1:]
            if user and not re.fullmatch(r"[A-Za-z0-9._-]+", user):
                # `~$N`: bashlex takes the expansion into the tilde; bash expands it after a plain ~
                raise Unsupported(f"a tilde followed by an expansion ({part.value})")
            fields[-1].add(shell.env.get("HOME", shell.who.home) if not user else "~" + user, quoted=True)
        elif part.value == "@" and self.state == '"' and self.split:
            self.saw_at = True
            for n, arg in enumerate(shell.positional):
                if n:
                    fields.append(_Field())
                fields[-1].add(arg, quoted=True)
        else:
            value = (shell.lookup(part.value) if part.value != "@" else " ".join(shell.positional)) or ""
            if self.state == '"' or not self.split:
                fields[-1].add(value, quoted=True)
                return
            # field splitting on the default IFS; the pieces are subject to pathname expansion too
            for n, piece in enumerate(re.split(r"[ \t\n]+", value)):
                if n:
                    fields.append(_Field())
                fields[-1].add(piece, quoted=False)

    def character(self) -> None:  # noqa: PLR0912 - bash's quoting rules, one branch each
        text, i, field = self.text, self.i, self.fields[-1]
        char = text[i]
        following = text[i + 1] if i + 1 < len(text) else None
        if char == "`" and self.state != "'":  # inside single quotes a backquote is a character
            raise Unsupported("command substitution")
        if self.state == "'":
            if char == "'":
                self.state, field.quoted = "", True
            else:
                field.add(char, quoted=True)
        elif self.state == '"':
            if char == '"':
                self.state = ""
                field.quoted = field.quoted or not self.saw_at
                self.saw_at = False
            elif char == "\\" and following is not None and following in '$`"\\\n':
                if following != "\n":
                    field.add(following, quoted=True)
                self.i += 1
            else:
                field.add(char, quoted=True)
        elif char in "'\"":
            self.state = char
        elif char == "~" and not self.split and (i == 0 or text[i - 1] == ":") and following in {None, "/", ":"}:
            # An assignment's value: bash expands a ~ at its start and after each `:` (PATH-like lists);
            # bashlex marks none of them.
            field.add(self.shell.env.get("HOME", self.shell.who.home), quoted=True)
        elif char == "\\":
            if following is not None:
                if following != "\n":
                    field.add(following, quoted=True)
                self.i += 1
        else:
            field.add(char, quoted=False)
        self.i += 1


@attrs.define
class _Field:
    """A field being built by expansion: its text, the same as a glob pattern, and what was quoted."""

    text: str = ""
    pattern: str = ""
    quoted: bool = False
    glob: bool = False

    def add(self, text: str, *, quoted: bool) -> None:
        self.text += text
        if quoted:
            self.pattern += "".join(f"[{c}]" if c in "*?[" else c for c in text)
            self.quoted = True
        else:
            self.pattern += text
            self.glob = self.glob or any(c in "*?[" for c in text)


class _SyntaxError(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


_CACHED_SOURCE = 4096
"""Sources this short are parsed once (`command_names` parses a line, then its run does again)."""


@functools.lru_cache(maxsize=256)
def _parsed(source: str) -> tuple[Any, ...]:
    return tuple(bashlex.parse(source))  # the shell only reads the nodes


def _parse(source: str) -> list[Any]:
    if not source.strip():
        return []
    meter().parse(len(source))
    try:
        return list(_parsed(source) if len(source) <= _CACHED_SOURCE else bashlex.parse(source))
    except bashlex.errors.ParsingError as exc:
        raise _SyntaxError(source.count("\n", 0, max(0, min(exc.position, len(source)))) + 1) from None
    except NotImplementedError as exc:
        raise Unsupported(str(exc) or "this construct") from None
    except (IndexError, AttributeError, TypeError, AssertionError, ValueError, RecursionError):
        # bashlex's own limits: report them as the syntax bash would accept but we cannot run.
        raise Unsupported("this command line (the parser cannot read it)") from None


def _reason(error: MockError) -> str:
    """The strerror text bash prints for a refusal of the guest's file system."""
    reason = (error.data or {}).get("reason")
    if error.error_type == "UNAUTHORIZED":
        return "Permission denied"
    if error.error_type == "UNABLE_TO_ALLOCATE_RESOURCE":
        return "No space left on device"
    return {
        "FILE_NOT_FOUND": "No such file or directory",
        "NOT_A_DIRECTORY": "Not a directory",
        "NOT_A_FILE": "Is a directory",
        "PATH_TOO_LONG": "File name too long",
    }.get(str(reason), "No such file or directory" if error.error_type == "NOT_FOUND" else "Invalid argument")


def _write(fds: Mapping[int, Stream], fd: int, data: bytes) -> bool:
    """Writes to a descriptor; False (the write failed) on a closed one or a full disk."""
    if not data:
        return True
    stream = fds.get(fd, Null())
    if not isinstance(stream, Null | Closed):
        meter().output(len(data))
    try:
        stream.write(data)
    except (OSError, MockError):
        return False
    return True


# -- builtins -----------------------------------------------------------------------------------------

Builtin = Callable[[Shell, list[str], dict[int, Stream], Any], int]


def _echo(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    args = words[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for flag in args[0][1:]:
            newline = newline and flag != "n"
            escapes = (escapes or flag == "e") and flag != "E"
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = _escapes(text, echo=True)
        newline = newline and not stop
    if not _write(fds, 1, (text + ("\n" if newline else "")).encode("utf-8", "surrogateescape")):
        shell.error(node.pos[0], "echo: write error: Bad file descriptor", fds)
        return 1
    return 0


_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def _byte(value: int) -> str:
    """The character an escape's byte value becomes in text that is encoded with surrogateescape: a
    byte, not the code point of that number (printf '\\303\\251' writes two bytes, é in UTF-8)."""
    return chr(value) if value < 0x80 else chr(0xDC00 + value)


def _escapes(text: str, *, echo: bool) -> tuple[str, bool]:
    """Backslash escapes as echo -e and printf's format take them; (text, whether \\c stopped it)."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "c":
            return "".join(out), True
        elif nxt == "0" or (nxt in "1234567" and not echo):
            start = i + 2 if nxt == "0" and echo else i + 1
            digits = re.match(r"[0-7]{0,3}", text[start:])
            value = digits.group(0) if digits else ""
            out.append(_byte(int(value or "0", 8) & 0xFF))
            i = start + len(value)
        elif nxt == "x":
            digits = re.match(r"[0-9A-Fa-f]{1,2}", text[i + 2 :])
            if digits:
                out.append(_byte(int(digits.group(0), 16)))
                i += 2 + len(digits.group(0))
            else:
                out.append("\\x")
                i += 2
        elif nxt == '"' and not echo:
            out.append('"')
            i += 2
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out), False


_DIRECTIVE = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?:\.(?P<precision>\d*))?(?P<conv>[sdiouxXcb%])")


def _printf(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    if len(words) < 2:
        shell.error(node.pos[0], "printf: usage: printf [-v var] format [arguments]", fds)
        return 2
    fmt, args = words[1], words[2:]
    status, out = 0, []
    run = meter()
    while True:
        used = pos = pending = 0
        for match in _DIRECTIVE.finditer(fmt):
            text, stop = _escapes(fmt[pos : match.start()], echo=False)
            out.append(text)
            if stop:
                return _flush(shell, fds, out, status, node)
            pos = match.end()
            conv = match["conv"]
            if conv == "%":
                out.append("%")
                continue
            arg = args[used] if used < len(args) else None
            used += arg is not None
            text, failed = _directive(shell, match, arg, fds, node)
            status = status or failed
            out.append(text)
            pending += len(text)
            run.expect(pending)  # before a round of wide directives makes gigabytes
        text, stop = _escapes(fmt[pos:], echo=False)
        out.append(text)
        if stop:
            break
        # bash writes each round of the format as it goes: errors of the next come after it.
        status = _flush(shell, fds, out, status, node)
        out = []
        args = args[used:]
        if not args or not used:
            break
    return _flush(shell, fds, out, status, node)


def _directive(
    shell: Shell, match: re.Match[str], arg: str | None, fds: dict[int, Stream], node: Any
) -> tuple[str, int]:
    """The text of one directive (not %%) for `arg`, and 1 if the argument is not a number (else 0)."""
    conv, width, precision = match["conv"], match["width"], match["precision"]
    if _too_wide(width) or _too_wide(precision):
        return "", 0  # bash's printf fails on it (EOVERFLOW) and writes nothing for the directive
    run = meter()
    run.width(int(width or "0"))
    run.width(int(precision or "0"))
    spec = f"%{match['flags']}{width}" + (f".{precision}" if precision is not None else "")
    if conv in "diouxX":
        number, ok = _integer(arg)
        if not ok:
            shell.error(node.pos[0], f"printf: {arg}: invalid number", fds)
        elif not INT64_MIN <= number <= INT64_MAX:
            shell.error(node.pos[0], f"printf: warning: {arg}: Numerical result out of range", fds)
            number = max(INT64_MIN, min(INT64_MAX, number))
        return (spec + {"i": "d", "u": "d"}.get(conv, conv)) % number, int(not ok)
    if conv == "c":
        return (spec + "s") % ((arg or "")[:1]), 0
    if conv == "b":
        return (spec + "s") % _escapes(arg or "", echo=True)[0], 0
    return (spec + "s") % (arg or ""), 0


def _too_wide(digits: str | None) -> bool:
    """Whether a printf width or precision is more than bash takes."""
    return digits is not None and digits != "" and (len(digits.lstrip("0")) > 10 or int(digits) > INT_MAX)


def _int(text: str, base: int) -> int:
    """int(text, base), for any number of digits: past 64 bits the exact value does not matter (callers
    clamp it), and Python's int() refuses more than 4,300 decimal digits (ValueError as int() for a
    text that is not a number)."""
    sign = text[:1] if text[:1] in {"+", "-"} else ""
    body, radix = text[len(sign) :], base or 10
    if base == 0 and body[:2].lower() in _RADIX_PREFIXES:
        body, radix = body[2:], _RADIX_PREFIXES[body[:2].lower()]
    if len(body.lstrip("0")) <= 40:
        return int(text, base)
    if not body or any(c not in _RADIX_DIGITS[radix] for c in body):
        raise ValueError(f"not a number in base {radix}")
    return -(2**64) if sign == "-" else 2**64


_RADIX_PREFIXES = {"0x": 16, "0o": 8, "0b": 2}
_RADIX_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _integer(arg: str | None) -> tuple[int, bool]:
    if arg is None or arg == "":
        return 0, True
    text = arg.strip()
    if len(text) >= 2 and text[0] in "'\"":
        return ord(text[1]), True
    try:
        return _int(text, 0) if not re.fullmatch(r"[+-]?0[0-7]+", text) else _int(text, 8), True
    except ValueError:
        digits = re.match(r"[+-]?\d*", text)
        return _int(digits.group(0), 10) if digits and digits.group(0) not in {"", "+", "-"} else 0, False


def _flush(shell: Shell, fds: dict[int, Stream], out: list[str], status: int, node: Any) -> int:
    if not _write(fds, 1, "".join(out).encode("utf-8", "surrogateescape")):
        shell.error(node.pos[0], "printf: write error: Bad file descriptor", fds)
        return 1
    return status


def _cd(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    if len(words) > 2:
        shell.error(node.pos[0], "cd: too many arguments", fds)
        return 1
    target = words[1] if len(words) > 1 else shell.env.get("HOME", shell.who.home)
    path = shell.absolute(target)
    try:
        _, resolved = shell.fs.directory(path, shell.who)
    except MockError as error:
        shell.error(
            node.pos[0],
            f"cd: {target}: {_reason(error) if error.error_type != 'INVALID_ARGUMENT' else 'Not a directory'}",
            fds,
        )
        return 1
    shell.cwd = resolved
    shell.env["PWD"] = resolved
    return 0


def _exit(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    if len(words) > 1:
        number, ok = _integer(words[1])
        if not ok or not re.fullmatch(r"[+-]?\d+", words[1]) or not INT64_MIN <= number <= INT64_MAX:
            shell.error(node.pos[0], f"exit: {words[1]}: numeric argument required", fds)
            raise ExitShell(2)
        raise ExitShell(number % 256)
    raise ExitShell(shell.status)


def _export(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    for word in words[1:]:
        name, eq, value = word.partition("=")
        if not _NAME.fullmatch(name):
            shell.error(node.pos[0], f"export: `{word}': not a valid identifier", fds)
            return 1
        shell.env[name] = value if eq else shell.variables.pop(name, shell.env.get(name, ""))
    return 0


_FILE_TESTS: dict[str, Callable[[Node], bool]] = {
    "-e": lambda node: True,
    "-f": lambda node: node.kind is Kind.FILE,
    "-d": lambda node: node.kind is Kind.DIRECTORY,
    "-s": lambda node: node.kind is not Kind.FILE or node.size > 0,
}


def _test(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    """`test` and `[`: one file test (-e -f -d -s), -n / -z of a word, `=` / `!=` of two words, a
    leading `!`; anything else fails loudly (status 2, as bash's test does for what it cannot parse)."""
    name, args = words[0], words[1:]
    if name == "[":
        if not args or args[-1] != "]":
            shell.error(node.pos[0], "[: missing `]'", fds)
            return 2
        args = args[:-1]
    negate = len(args) >= 2 and args[0] == "!"
    if negate:
        args = args[1:]
    if not args:
        result = False
    elif len(args) == 1:
        result = args[0] != ""
    elif len(args) == 2 and args[0] in _FILE_TESTS:
        try:
            found, _ = shell.fs.lookup(shell.absolute(args[1]), shell.who)
        except MockError:
            result = False
        else:
            result = _FILE_TESTS[args[0]](found)
    elif len(args) == 2 and args[0] in {"-n", "-z"}:
        result = (args[1] != "") == (args[0] == "-n")
    elif len(args) == 3 and args[1] in {"=", "==", "!="}:
        result = (args[0] == args[2]) == (args[1] != "!=")
    else:
        shell.error(node.pos[0], f"{name}: the mock's test takes -e -f -d -s FILE, -n -z WORD, = and != only", fds)
        return 2
    return 0 if result != negate else 1


def _status(value: int) -> Builtin:
    return lambda shell, words, fds, node: value


_BUILTINS: dict[str, Builtin] = {
    "echo": _echo,
    "printf": _printf,
    "cd": _cd,
    "exit": _exit,
    "export": _export,
    "true": _status(0),
    "false": _status(1),
    ":": _status(0),
    "test": _test,
    "[": _test,
}


# -- the utilities of the demo guest (what a program file of the inventory may be) ----------------------

Utility = Callable[[Shell, list[str], dict[str, str], dict[int, Stream]], int]


def _complain(fds: Mapping[int, Stream], text: str) -> None:
    _write(fds, 2, (text + "\n").encode())


def _inputs(
    shell: Shell, name: str, files: list[str], fds: dict[int, Stream], failed: list[str], *, not_output: bool = False
) -> Iterator[bytes]:
    """The contents of FILE arguments (stdin for none or `-`), one at a time, as a utility reads them:
    an error is written when its file's turn comes, and the file is added to `failed`.

    `not_output`: refuse a file that is also the standard output (cat: "input file is output file").
    """
    output = fds.get(1)
    output_node = None
    if not_output and isinstance(output, FileStream):
        try:
            output_node, _ = shell.fs.lookup(output.path, shell.who)
        except MockError:
            output_node = None
    for file in files or ["-"]:
        if file == "-":
            yield fds.get(0, Null()).read()
            continue
        try:
            node, _ = shell.fs.lookup(shell.absolute(file), shell.who)
            if node.kind is Kind.DIRECTORY:
                _complain(fds, f"{name}: {file}: Is a directory")
                failed.append(file)
                continue
            # coreutils' rule (9.1, as the oracle test finds it): the same file, and not empty
            if node is output_node and node.size > 0:
                _complain(fds, f"{name}: {file}: input file is output file")
                failed.append(file)
                continue
            data = bytes(shell.fs.read_file(shell.absolute(file), shell.who))
        except MockError as error:
            _complain(fds, f"{name}: {file}: {_reason(error)}")
            failed.append(file)
            continue
        yield data


def _cat(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    files = [w for w in words[1:] if w != "--"]
    if any(w.startswith("-") and w != "-" for w in files):
        _complain(fds, f"cat: invalid option -- '{files[0][1:2]}'")
        return 1
    failed: list[str] = []
    for data in _inputs(shell, "cat", files, fds, failed, not_output=True):
        _write(fds, 1, data)
    return 1 if failed else 0


def _head(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args, count, by_bytes = words[1:], 10, False
    files = []
    while args:
        arg = args.pop(0)
        if arg in {"-c", "-n"} and args:
            by_bytes = arg == "-c"
            value = args.pop(0)
        elif re.fullmatch(r"-[cn]\d+", arg):
            by_bytes, value = arg[1] == "c", arg[2:]
        else:
            files.append(arg)
            continue
        if not value.isdigit():
            _complain(fds, f"head: invalid number of {'bytes' if by_bytes else 'lines'}: '{value}'")
            return 1
        count = min(_int(value, 10), INT64_MAX)  # GNU head takes any count, as "all"
    failed: list[str] = []
    names = files or ["-"]
    for n, data in enumerate(_inputs(shell, "head", files, fds, failed)):
        if len(names) > 1:
            _write(fds, 1, f"{'' if n == 0 else chr(10)}==> {names[n + len(failed)]} <==\n".encode())
        if by_bytes:
            _write(fds, 1, data[:count])
        else:
            _write(fds, 1, _first_lines(data, count))
    return 1 if failed else 0


def _first_lines(data: bytes, count: int) -> bytes:
    """The first `count` lines of `data` (all of it if it has fewer), found in C, without a list of lines."""
    room = meter().room()
    count = min(count, room + 1)  # more lines than that would not fit the output budget anyway
    if count == 0:
        return b""
    window = memoryview(data)[: room + 1]
    found = re.match(rb"(?:[^\n]*\n){0,%d}" % count, window)
    end = found.end() if found else 0
    full = data.count(b"\n", 0, end) == count
    return data[:end] if full else data


_BASE64_PIECE = 57 * 16384
"""Bytes base64 encodes at a time: whole lines of 76 characters (57 bytes each), about 1 MiB."""


def _base64(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args = words[1:]
    decode = any(a in {"-d", "--decode"} for a in args)
    files = [a for a in args if a not in {"-d", "--decode"}]
    failed: list[str] = []
    data = b"".join(_inputs(shell, "base64", files[:1], fds, failed))
    status = 1 if failed else 0
    if decode:
        try:
            _write(fds, 1, base64.b64decode(b"".join(data.split()), validate=True))
        except ValueError:
            _complain(fds, "base64: invalid input")
            return 1
        return status
    with memoryview(data) as view:
        # A piece at a time, as base64 itself writes (the output budget stops a big file early).
        for start in range(0, len(view), _BASE64_PIECE):
            _write(fds, 1, base64.encodebytes(view[start : start + _BASE64_PIECE]))
    return status


def _env(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args = words[1:]
    env = dict(env)
    while args and "=" in args[0] and _NAME.fullmatch(args[0].partition("=")[0]):
        name, _, value = args.pop(0).partition("=")
        env[name] = value
    if not args:
        _write(fds, 1, "".join(f"{k}={v}\n" for k, v in env.items()).encode("utf-8", "surrogateescape"))
        return 0
    if args[0].startswith("-"):
        raise UnsupportedOption(f"the option {args[0]}")
    return shell.external(args, env, fds, _Where(shell))


class _Where:
    """The position errors of a command a utility runs are reported at (the start of the script)."""

    def __init__(self, shell: Shell) -> None:
        self.pos = (0, 0)


def _ls(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    flags = "".join(w[1:] for w in words[1:] if w.startswith("-") and w != "-")
    if unknown := "".join(sorted(set(flags) - {"a", "A", "1"})):
        raise UnsupportedOption(f"the option -{unknown}")
    paths = [w for w in words[1:] if not w.startswith("-") or w == "-"] or ["."]
    status = 0
    for n, path in enumerate(paths):
        try:
            node, _ = shell.fs.lookup(shell.absolute(path), shell.who)
            if node.kind is not Kind.DIRECTORY:
                _write(fds, 1, (path + "\n").encode())
                continue
            names = sorted(n.name for n in shell.fs.list_directory(shell.absolute(path), shell.who))
        except MockError as error:
            _complain(fds, f"ls: cannot access '{path}': {_reason(error)}")
            status = 2
            continue
        if "a" in flags:
            names = [".", "..", *names]
        elif "A" not in flags:
            names = [name for name in names if not name.startswith(".")]
        header = f"{'' if n == 0 else chr(10)}{path}:\n" if len(paths) > 1 else ""
        _write(fds, 1, (header + "".join(f"{name}\n" for name in names)).encode())
    return status


def _sleep(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    if len(words) < 2:
        _complain(fds, "sleep: missing operand")
        return 1
    total = 0.0
    for word in words[1:]:
        match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", word)
        if match is None:
            _complain(fds, f"sleep: invalid time interval '{word}'")
            return 1
        total += float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    shell.pass_time(total)
    return 0


def _shell(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args = words[1:]
    if args and args[0] == "-c":
        if len(args) < 2:
            _complain(fds, f"{words[0]}: -c: option requires an argument")
            return 2
        command, rest = args[1], args[2:]
        return shell.subshell(command, rest[0] if rest else words[0], rest[1:], env, fds)
    if args and args[0].startswith("-"):
        raise UnsupportedOption(f"the option {args[0]}")
    if not args:
        return shell.subshell(fds.get(0, Null()).read().decode("utf-8", "replace"), words[0], [], env, fds)
    path = shell.absolute(args[0])
    try:
        data = bytes(shell.fs.read_file(path, shell.who))
    except MockError as error:
        _complain(fds, f"{words[0]}: {args[0]}: {_reason(error)}")
        return 127
    return shell.subshell(data.decode("utf-8", "replace"), args[0], args[1:], env, fds)


def _builtin_as_program(builtin: Builtin) -> Utility:
    return lambda shell, words, env, fds: builtin(shell, words, fds, _Where(shell))


_UTILITIES: dict[str, Utility] = {
    "cat": _cat,
    "head": _head,
    "base64": _base64,
    "env": _env,
    "ls": _ls,
    "sleep": _sleep,
    "sh": _shell,
    "bash": _shell,
    "echo": _builtin_as_program(_echo),
    "printf": _builtin_as_program(_printf),
    "true": _builtin_as_program(_status(0)),
    "false": _builtin_as_program(_status(1)),
}
UTILITIES = frozenset(_UTILITIES)


def plain_words(arguments: str) -> list[str] | None:
    """The words of `arguments` when bash has nothing to interpret in them (split on spaces); else None.

    >>> plain_words("-l /tmp --run=3"), plain_words("a > b"), plain_words("$HOME")
    (['-l', '/tmp', '--run=3'], None, None)
    """
    return arguments.split() if _PLAIN.fullmatch(arguments) else None


_NAMELESS_KINDS = frozenset({"list", "pipeline", "compound", "operator", "pipe", "reservedword", "redirect"})


def command_names(line: str) -> list[str] | None:
    """The names of the commands a short line runs, as written (`echo`, `/opt/app/job`); None if the line
    is long, does not parse, names a command through an expansion, or has a construct the shell
    does not simulate (what it runs is then not known before it runs)."""
    if len(line) > _CACHED_SOURCE:
        return None
    try:
        nodes = list(_parsed(line)) if line.strip() else []
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


def run_line(
    fs: GuestFilesystem,
    who: Account,
    path: str,
    arguments: str,
    *,
    env: Mapping[str, str],
    cwd: str,
    pid: int,
    name: str = "/bin/bash",
    budget: Budget | None = None,
) -> Outcome:
    """Runs `path arguments` as the guest's `/bin/bash -c` does for Processes.create; what it did.

    `budget` limits what the run may cost (a run within another shares that one's)."""
    with metered(budget):
        return _run_line(fs, who, path, arguments, env=env, cwd=cwd, pid=pid, name=name)


def _run_line(
    fs: GuestFilesystem,
    who: Account,
    path: str,
    arguments: str,
    *,
    env: Mapping[str, str],
    cwd: str,
    pid: int,
    name: str,
) -> Outcome:
    out, err = Buffer(), Buffer()
    shell = Shell(fs, who, dict(env), cwd, name, fds={0: Null(), 1: out, 2: err}, pid=pid)
    words = plain_words(arguments)
    line = command_line(path, arguments)
    if words is None:
        return run_script(fs, who, line, env=env, cwd=cwd, pid=pid, name=name)
    shell.source = line
    return _outcome(shell, lambda: shell.external([path, *words], shell.env, shell.fds, _Where(shell)))


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
    return Outcome(out.read(), err.read(), shell.status, shell.duration, shell.ignores_term, shell.unkillable)


def run_script(
    fs: GuestFilesystem,
    who: Account,
    line: str,
    *,
    env: Mapping[str, str],
    cwd: str,
    pid: int,
    name: str = "/bin/bash",
    budget: Budget | None = None,
) -> Outcome:
    """Runs `line` as `/bin/bash -c LINE` (started with no stdin) does in the guest; what it did."""
    with metered(budget):
        return _run_script(fs, who, line, env=env, cwd=cwd, pid=pid, name=name)


def _run_script(
    fs: GuestFilesystem, who: Account, line: str, *, env: Mapping[str, str], cwd: str, pid: int, name: str
) -> Outcome:
    out, err = Buffer(), Buffer()
    shell = Shell(fs, who, dict(env), cwd, name, fds={0: Null(), 1: out, 2: err}, pid=pid)
    if len(line) > MAX_LINE:
        err.write(
            f"{name}: vcenter-guest mock: a command line over {MAX_LINE} characters is not interpreted\n".encode()
        )
        return Outcome(b"", err.read(), 2, 0.0)
    return _outcome(shell, lambda: shell.run(line))
