"""The simulated `cmd.exe` of the mock's Windows guests.

Windows starts programs with no shell; `cmd.exe /c LINE` is how a caller gets redirections, so the
mock's `cmd.exe` runs its own subset of LINE over the guest's files, as cmd does:

* Switches before `/c`: `/d` (no AutoRun: the mock has none), `/q` (echo off), `/s` (strip the
  first character of LINE if it is a quote, and the last quote in it); without `/s`, a LINE of
  exactly two quotes, at its ends, loses them. Any other switch fails loudly; no `/c` (or `/k`):
  cmd waits for input that never comes (it never ends).
* `%NAME%` expands from the environment (names without case) when the line is read, before any of
  it runs; `%ERRORLEVEL%` to the last exit code. On the command line an unset `%NAME%` stays as
  written and `%%` is `%%`; in a batch file an unset one is empty, `%%` is `%`, and `%0`..`%9`,
  `%~1` (quotes removed) and `%*` are its arguments.
* Commands are joined by `&` (always), `&&` (after success) and `||` (after failure); `^` escapes
  the next character outside quotes (and is removed); double quotes protect operators and spaces.
* Redirections: `>file`, `>>file`, `<file`, `2>file`, `2>>file`, `2>&1`, `1>&2`, `>nul`, before
  or after the command's words.
* Builtins: `echo text` (`echo.` prints an empty line, `echo off` / `echo on` in a batch file),
  `type file`, `set NAME=value` (`set "NAME=value"`), `call COMMAND` (the rest is `%`-expanded once
  more, after the carets were removed, then run: `call echo %^ERRORLEVEL%` shows the exit code of
  what ran before it on the same line, as on real cmd; `call` leaves ERRORLEVEL 0 after a builtin),
  `rem`, `exit /b N` (ends a batch file, or cmd outside one), `exit N`, `mkdir DIR` / `md DIR`.
* `!` is an ordinary character: delayed expansion is off, as cmd starts by default (`/v:on` is
  one of the switches that fail loudly).
* Any other command is a program of the guest (a full path, or a name found in
  `C:\\Windows\\System32` with `.exe`), run with no shell; it gets its argument text (the rest of the
  command, carets removed, redirections left out), which a program splits itself (the `argv`
  utility: `_argv`). A `.cmd` or `.bat` file runs line by line as a batch file (`@` before a
  command, `::` comments), its arguments split at spaces, commas, semicolons and `=` outside quotes;
  a batch file with echo on (no `@echo off`, no `/q`) would print each command with a prompt,
  which is not simulated: it fails loudly. A `cmd.exe` program runs this simulation again.

Output is text in the OEM code page (437, en-US Windows), lines end with CRLF; a batch file is read
in it too. Anything else (`if`, `for`, `goto` and labels, `setlocal`, pipes, parentheses,
operators in what `call` runs...) fails loudly: a message on stderr and exit
code 1 (cmd's own for an unknown command is 9009, kept for names it cannot find).

cmd has no grammar a maintained library parses (mslex quotes and splits for CommandLineToArgvW,
which programs use for their own arguments, not cmd's operators), so the subset is split here.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._argv import ARGV, argv_of, run_argv
from ._budget import BUDGET_EXIT_CODE, Budget, OverBudget, meter, metered
from ._errors import MockError
from ._filesystem import Account, GuestFilesystem, Kind
from ._shell import Buffer, Closed, FileStream, Null, Outcome, Stream, write

if TYPE_CHECKING:
    from ._records import Program

__all__ = ["CMD", "run_cmd"]

CMD = "cmd"
"""The utility name of cmd.exe in an inventory's `programs`."""

OEM = "cp437"
NOT_RECOGNIZED = 9009
_OPERATORS = re.compile(r"&&|\|\||&|\||[()]|[0-9]?>>|[0-9]?>&[0-9]|[0-9]?>|<")
_JOINERS = {"&", "&&", "||"}
_UNSUPPORTED = {"if", "for", "goto", "setlocal", "endlocal", "pushd", "popd", "cd", "dir", "del", "copy", "move"}

Token = tuple[str, str, int, int]


class _Unsupported(Exception):
    pass


def _variables(env: Mapping[str, str], errorlevel: int) -> dict[str, str]:
    variables = {k.upper(): v for k, v in env.items()}
    variables.setdefault("ERRORLEVEL", str(errorlevel))
    return variables


def _expand(line: str, env: Mapping[str, str], errorlevel: int) -> str:
    """Command-line `%` expansion: a set `%NAME%` is its value; anything else stays as written."""
    variables = _variables(env, errorlevel)

    def value(match: re.Match[str]) -> str:
        return variables.get(match.group(1).upper(), match.group(0)) if match.group(1) else match.group(0)

    return re.sub(r"%([^%\s]*)%", value, line)


def _expand_batch(line: str, env: Mapping[str, str], errorlevel: int, args: list[str]) -> str:
    """A batch file's `%` expansion: `%%` is `%`, `%0`..`%9`, `%~N`, `%*` its arguments, an unset
    `%NAME%` is empty."""
    variables = _variables(env, errorlevel)

    def value(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "%%":
            return "%"
        if text == "%*":
            return " ".join(args[1:])
        if match.group(2) is not None:
            arg = args[int(match.group(2))] if int(match.group(2)) < len(args) else ""
            return arg.strip('"') if match.group(1) else arg
        return variables.get(text[1:-1].upper(), "")

    return re.sub(r"%%|%\*|%(~?)([0-9])|%[^%\s]+%", value, line)


def _tokens(line: str) -> list[Token]:
    """(kind, text, start, end): a `word` (quotes kept, carets removed) or an `op`, in order, with
    where it is in the line (echo prints the line's own text, spaces and all)."""
    out: list[Token] = []
    word, quoted, i, start = "", False, 0, 0

    def flush(end: int) -> None:
        nonlocal word
        if word:
            out.append(("word", word, start, end))
            word = ""

    while i < len(line):
        char = line[i]
        if not word:
            start = i
        if char == '"':
            quoted = not quoted
            word += char
        elif quoted:
            word += char
        elif char == "^" and i + 1 < len(line):
            word += line[i + 1]
            i += 1
        elif char in " \t":
            flush(i)
        else:
            match = _OPERATORS.match(line, i)
            if match and (not match.group(0)[0].isdigit() or not word):
                flush(i)
                out.append(("op", match.group(0), i, match.end()))
                i = match.end()
                continue
            word += char
        i += 1
    flush(len(line))
    return out


def _unquote(word: str) -> str:
    return word.replace('"', "")


def _batch_args(text: str) -> list[str]:
    """A batch file's arguments (`%1`...): split at spaces, tabs, commas, semicolons and `=` outside
    quotes, the quotes kept."""
    return re.findall(r'(?:"[^"]*"?|[^\s,;="])+', text)


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _ExitBatch(_Exit):
    pass


class _Forever(Exception):
    pass


class _Cmd:
    def __init__(
        self, fs: GuestFilesystem, who: Account, env: Mapping[str, str], cwd: str, *, echo: bool, depth: int = 0
    ) -> None:
        self.fs, self.who, self.env, self.cwd = fs, who, dict(env), cwd
        self.out, self.err = Buffer(), Buffer()
        self.errorlevel = 0
        self.duration = 0.0
        self.echo_on = echo
        self.batch_depth = 0
        self.cmd_file = False  # in a .cmd file (not .bat), SET clears ERRORLEVEL
        self.depth = depth

    def absolute(self, path: str) -> str:
        if re.match(r"^[A-Za-z]:[\\/]", path):
            return path
        return self.cwd.rstrip("\\") + "\\" + path

    def run(self, line: str, fds: dict[int, Stream] | None = None, args: list[str] | None = None) -> int:
        """Runs one line: expanded as a whole first (for a batch file, with its `args`), then split."""
        expanded = (
            _expand(line, self.env, self.errorlevel)
            if args is None
            else _expand_batch(line, self.env, self.errorlevel, args)
        )
        commands: list[tuple[str | None, list[Token]]] = [(None, [])]
        for token in _tokens(expanded):
            kind, text = token[0], token[1]
            if kind == "op" and text in _JOINERS:
                commands.append((text, []))
            elif kind == "op" and text in {"|", "(", ")"}:
                raise _Unsupported(f"`{text}`")
            else:
                commands[-1][1].append(token)
        for joiner, command in commands:
            if joiner == "&&" and self.errorlevel != 0:
                continue
            if joiner == "||" and self.errorlevel == 0:
                continue
            if command:
                status = self.command(command, expanded, fds)
                if status is not None:
                    self.errorlevel = status
        return self.errorlevel

    def command(self, tokens: list[Token], line: str, base: dict[int, Stream] | None = None) -> int | None:
        """Runs one command; its exit status, or None for a builtin that leaves ERRORLEVEL as it is."""
        meter().step()
        fds: dict[int, Stream] = dict(base) if base is not None else {0: Null(), 1: self.out, 2: self.err}
        words: list[str] = []
        raw: list[str] = []  # each word with the blanks before it, carets removed, quotes kept
        text_parts: list[str] = []  # the command's own text without its redirections, for echo
        i, last = 0, tokens[0][2]
        while i < len(tokens):
            kind, text, start, end = tokens[i]
            if kind == "word":
                words.append(_unquote(text))
                raw.append(line[last:start] + text)
                following = tokens[i + 1][2] if i + 1 < len(tokens) else end
                text_parts.append(line[start:following])
                last = end
                i += 1
                continue
            if re.fullmatch(r"[0-9]?>&[0-9]", text):
                fd = int(text[0]) if text[0].isdigit() else 1
                fds[fd] = fds.get(int(text[-1]), Closed())
                last = end
                i += 1
                continue
            if i + 1 >= len(tokens) or tokens[i + 1][0] != "word":
                self.err.write(b"The syntax of the command is incorrect.\r\n")
                return 1
            target = _unquote(tokens[i + 1][1])
            last = tokens[i + 1][3]
            i += 2
            if not self.redirect(text, target, fds):
                return 1
        if not words:
            return None
        try:
            return self.dispatch(words, "".join(raw[1:]).lstrip(), "".join(text_parts), fds)
        except _Unsupported as exc:
            # Where this command's stderr goes (a captured run's D\\stderr); the line ends there.
            write(fds, 2, _unsupported(exc))
            raise _Exit(1) from None
        except OverBudget as exc:
            if not exc.reported:  # there too, once (the innermost command says it); the run ends
                exc.reported = True
                with contextlib.suppress(OSError, MockError):
                    fds.get(2, Null()).write(f"vcenter-guest mock: {exc}\r\n".encode())
            raise

    def dispatch(self, words: list[str], rest: str, source: str, fds: dict[int, Stream]) -> int | None:  # noqa: PLR0911 - one per builtin
        """Runs a command: a builtin, or a program with its argument text `rest`."""
        name = words[0].lower()
        if name == "echo" or name.startswith(("echo.", "echo:")):
            return self.echo(source, fds)
        if name == "type":
            return self.type_(words[1:], fds)
        if name == "exit":
            return self.exit(words[1:])
        if name == "set":
            return self.set(rest)
        if name == "rem" or name.startswith("::"):
            return None
        if name == "call":
            return self.call(rest, fds)
        if name in {"mkdir", "md"}:
            return self.mkdir(words[1:], fds)
        if name in _UNSUPPORTED or name.startswith(":"):
            raise _Unsupported(f"the command {name}")
        return self.program(words[0], rest, fds)

    def mkdir(self, paths: list[str], fds: dict[int, Stream]) -> int:
        """`mkdir DIR` / `md DIR`: a new directory (missing parents too, as with command extensions), or,
        when anything is there already, cmd's message and errorlevel 1."""
        if not paths:
            write(fds, 2, b"The syntax of the command is incorrect.\r\n")
            return 1
        status = 0
        for path in paths:
            try:
                self.fs.make_directory(self.absolute(path), self.who, parents=True)
            except MockError as error:
                exists = error.error_type == "ALREADY_EXISTS"
                text = f"A subdirectory or file {path} already exists." if exists else "Access is denied."
                write(fds, 2, (text + "\r\n").encode(OEM, "replace"))
                status = 1
        return status

    def call(self, rest: str, fds: dict[int, Stream]) -> int:
        """`call COMMAND`: COMMAND (carets already removed) is `%`-expanded again, now, and run."""
        again = _expand(rest, self.env, self.errorlevel)
        tokens = _tokens(again)
        if any(kind == "op" and text in _JOINERS | {"|", "(", ")"} for kind, text, _, _ in tokens):
            raise _Unsupported("operators in what `call` runs")
        if not tokens or tokens[0][1].startswith(":"):
            raise _Unsupported("call of a label")
        status = self.command(tokens, again, fds)
        return 0 if status is None else status  # CALL clears ERRORLEVEL after a builtin that leaves it

    def set(self, rest: str) -> int | None:
        """`set NAME=value` (everything after `=`, trailing blanks included) or `set "NAME=value"`."""
        if rest.startswith('"') and rest.count('"') >= 2:
            rest = rest[1 : rest.rindex('"')]
        if "=" not in rest or rest.startswith("="):
            raise _Unsupported("set without NAME=value")
        name, value = rest.split("=", 1)
        for key in [k for k in self.env if k.upper() == name.upper()]:
            del self.env[key]
        if value:
            self.env[name] = value
        # On the command line and in a .bat file, SET leaves ERRORLEVEL as it is; in a .cmd file it clears it.
        return 0 if self.cmd_file else None

    def redirect(self, op: str, target: str, fds: dict[int, Stream]) -> bool:
        fd = int(op[0]) if op[0].isdigit() else (0 if op == "<" else 1)
        if target.lower() == "nul":
            fds[fd] = Null()
            return True
        path = self.absolute(target)
        try:
            if op.endswith("<"):
                fds[fd] = Buffer(bytes(self.fs.read_file(path, self.who)))
                return True
            append = op.endswith(">>")
            self.fs.write_file(path, b"", self.who, overwrite=True, append=append)
        except MockError as error:
            text = (
                "Access is denied."
                if error.error_type == "UNAUTHORIZED"
                else "The system cannot find the path specified."
            )
            self.err.write((text + "\r\n").encode())
            return False
        fds[fd] = FileStream(self.fs, self.who, path, append=True)  # cmd writes at the end
        return True

    def echo(self, source: str, fds: dict[int, Stream]) -> int | None:
        """`echo TEXT`: TEXT as written (spaces kept up to a redirection); `echo.`: an empty line;
        `echo off` / `echo on` in a batch file."""
        rest = source[4:]
        if rest[:1] in {".", ":"}:
            text = rest[1:]
        elif not rest.strip():
            text = "ECHO is on." if self.echo_on else "ECHO is off."
        elif self.batch_depth and rest.strip().lower() in {"off", "on"}:
            self.echo_on = rest.strip().lower() == "on"
            return None
        else:
            text = rest[1:]
        write(fds, 1, (text.replace("^", "") + "\r\n").encode(OEM, "replace"))
        return 0

    def type_(self, files: list[str], fds: dict[int, Stream]) -> int:
        status = 0
        for file in files:
            try:
                node, _ = self.fs.lookup(self.absolute(file), self.who)
                if node.kind is Kind.DIRECTORY:
                    raise MockError("INVALID_ARGUMENT", "x", "x")
                write(fds, 1, bytes(self.fs.read_file(self.absolute(file), self.who)))
            except MockError:
                write(fds, 2, b"The system cannot find the file specified.\r\n")
                status = 1
        return status

    def exit(self, args: list[str]) -> int:
        batch = any(a.lower() == "/b" for a in args)
        rest = [a for a in args if a.lower() != "/b"]
        try:
            code = int(rest[0]) if rest else self.errorlevel
        except ValueError:
            code = 0
        if batch and self.batch_depth:
            raise _ExitBatch(code)
        raise _Exit(code)

    def program(self, name: str, arguments: str, fds: dict[int, Stream]) -> int:
        candidates = (
            [name]
            if re.search(r"[\\/]", name)
            else [f"C:\\Windows\\System32\\{name}", f"C:\\Windows\\System32\\{name}.exe"]
        )
        for candidate in candidates:
            path = self.absolute(candidate)
            try:
                node, _ = self.fs.lookup(path, self.who)
            except MockError:
                continue
            if node.kind is Kind.FILE and path.lower().endswith((".cmd", ".bat")):
                return self.batch(path, arguments, fds)
            if node.kind is Kind.FILE and node.program is not None:
                program = node.program
                if program.utility == ARGV:
                    outcome = run_argv(self.fs, self.who, arguments, env=self.env)
                elif program.utility == CMD:
                    if self.depth >= meter().budget.nesting:
                        raise _Unsupported("cmd.exe nested this deep")
                    outcome = run_cmd(self.fs, self.who, arguments, env=self.env, cwd=self.cwd, depth=self.depth + 1)
                else:
                    duration, status = _behaviour(program, arguments)
                    meter().expect(len(program.stdout) + program.output_bytes)  # before it is made
                    outcome = Outcome(program.stdout_data(), program.stderr.encode(), status, duration)
                write(fds, 1, outcome.stdout)
                write(fds, 2, outcome.stderr)
                if math.isinf(outcome.duration):
                    raise _Forever
                self.duration += outcome.duration
                return outcome.status
        text = f"'{name}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
        write(fds, 2, text.encode(OEM, "replace"))
        return NOT_RECOGNIZED

    def batch(self, path: str, arguments: str, fds: dict[int, Stream]) -> int:
        """Runs a batch file line by line (read in the OEM code page); `exit /b N` ends it with N."""
        if self.batch_depth >= meter().budget.nesting:
            raise _Unsupported("batch files nested this deep")
        text = bytes(self.fs.read_file(path, self.who)).decode(OEM)
        args = [path, *_batch_args(arguments)]
        echo, cmd_file = self.echo_on, self.cmd_file
        self.cmd_file = path.lower().endswith(".cmd")
        self.batch_depth += 1
        try:
            for line in re.split(r"\r?\n", text):
                stripped = line.lstrip(" \t")
                if not stripped.strip() or stripped.startswith("::"):
                    continue
                if stripped.startswith("@"):
                    stripped = stripped[1:]
                elif self.echo_on:
                    raise _Unsupported(
                        "a batch file with echo on (cmd would print each command with a prompt): "
                        "start it with @echo off, or run cmd /q"
                    )
                if stripped.startswith(":"):
                    raise _Unsupported("labels in a batch file")
                self.run(stripped, fds, args)
        except _ExitBatch as stop:
            self.errorlevel = stop.code
        finally:
            self.batch_depth -= 1
            self.echo_on, self.cmd_file = echo, cmd_file
        return self.errorlevel


def _behaviour(program: Program, arguments: str) -> tuple[float, int]:
    """(duration, exit code) of a declared program, which may take them from its arguments (as the
    program splits them: `timeout.exe 5`)."""
    duration, status = program.duration, program.exit_code
    words = argv_of(arguments)
    try:
        if program.duration_from_args:
            duration = float(words.pop(0))
            if math.isnan(duration) or duration < 0:
                return 0.0, 1
        if program.exit_code_from_args:
            status = int(words.pop(0))
    except (IndexError, ValueError):
        return 0.0, 1
    return duration, status


def _unsupported(exc: _Unsupported) -> bytes:
    return f"vcenter-guest mock: {exc} is not supported by the simulated cmd.exe\r\n".encode()


def _switches(arguments: str) -> tuple[set[str], str | None]:
    """cmd's switches before `/c` (lower case), and the text after `/c` (None: no `/c` nor `/k`)."""
    found: set[str] = set()
    rest = arguments
    while True:
        match = re.match(r"\s*/([A-Za-z])(:[a-z]+)?", rest, re.IGNORECASE)
        if match is None:
            return found, None
        switch = match.group(1).lower()
        rest = rest[match.end() :]
        if switch == "c":
            return found, rest.lstrip(" \t")
        if switch == "k" or match.group(2):
            found.add(match.group(0).strip().lower())
            return found, None
        found.add(switch)


def run_cmd(
    fs: GuestFilesystem,
    who: Account,
    arguments: str,
    *,
    env: Mapping[str, str],
    cwd: str,
    depth: int = 0,
    budget: Budget | None = None,
) -> Outcome:
    """What `cmd.exe ARGUMENTS` does in a Windows guest: `[/d] [/q] [/s] /c LINE` runs LINE; without
    /c, cmd waits for input that never comes (it never ends). `budget` limits what the run may cost
    (a run within another shares that one's)."""
    with metered(budget):
        return _run_cmd(fs, who, arguments, env=env, cwd=cwd, depth=depth)


def _run_cmd(
    fs: GuestFilesystem, who: Account, arguments: str, *, env: Mapping[str, str], cwd: str, depth: int
) -> Outcome:
    switches, line = _switches(arguments)
    unknown = switches - {"d", "q", "s"}
    if unknown:
        message = f"vcenter-guest mock: the cmd.exe switch {sorted(unknown)[0]} is not supported\r\n"
        return Outcome(b"", message.encode(), 1, 0.0)
    if line is None:
        return Outcome(b"", b"", 0, math.inf)
    cmd = _Cmd(fs, who, env, cwd, echo="q" not in switches, depth=depth)
    if "s" in switches:
        if line.startswith('"'):
            line = line[1:]
            if '"' in line:
                cut = line.rindex('"')
                line = line[:cut] + line[cut + 1 :]
    elif len(line) >= 2 and line[0] == '"' and line[-1] == '"' and line.count('"') == 2:
        line = line[1:-1]  # cmd /c "..." drops the outer quotes
    try:
        status = cmd.run(line)
    except _Exit as stop:
        status = stop.code
    except _Forever:
        return Outcome(cmd.out.read(), cmd.err.read(), 0, math.inf)
    except _Unsupported as exc:
        cmd.err.write(_unsupported(exc))
        status = 1
    except OverBudget as exc:
        if not exc.reported:
            cmd.err.write(f"vcenter-guest mock: {exc}\r\n".encode())
        status = BUDGET_EXIT_CODE
    return Outcome(cmd.out.read(), cmd.err.read(), status, cmd.duration)
