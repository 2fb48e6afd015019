"""The simulated `cmd.exe /c` of the mock's Windows guests.

Windows starts programs with no shell; `cmd.exe /c LINE` is how a caller gets redirections, so the
mock's `cmd.exe` runs its own subset of LINE over the guest's files, as cmd does:

* `%NAME%` expands from the environment (names without case) before anything else, `%ERRORLEVEL%`
  to the last exit code; an unset `%NAME%` stays as written; `%%` is `%`.
* Commands are joined by `&` (always), `&&` (after success) and `||` (after failure); `^` escapes
  the next character; double quotes protect operators and spaces.
* Redirections: `>file`, `>>file`, `<file`, `2>file`, `2>>file`, `2>&1`, `1>&2`, `>nul`.
* Builtins: `echo text` (`echo.` prints an empty line), `type file`, `exit /b N`, `exit N`; any
  other command is a program of the guest (a full path, or a name found in
  `C:\\Windows\\System32` with `.exe`), run with no shell.

Output is text in the OEM code page (437, en-US Windows), lines end with CRLF. Anything else
(`if`, `for`, `set`, `call`, pipes, parentheses, `!delayed!` expansion...) fails loudly: a message on
stderr and exit code 1 (cmd's own for an unknown command is 9009, kept for names it cannot find).

cmd has no grammar a maintained library parses (mslex quotes and splits for CommandLineToArgvW,
which programs use for their own arguments, not cmd's operators), so the subset is split here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ._errors import MockError
from ._filesystem import Account, GuestFilesystem, Kind
from ._shell import Buffer, Closed, FileStream, Null, Outcome, Stream, _write

__all__ = ["CMD", "run_cmd"]

CMD = "cmd"
"""The utility name of cmd.exe in an inventory's `programs`."""

OEM = "cp437"
NOT_RECOGNIZED = 9009
_OPERATORS = re.compile(r"&&|\|\||&|\||[()]|[0-9]?>>|[0-9]?>&[0-9]|[0-9]?>|<")


class _Unsupported(Exception):
    pass


def _expand(line: str, env: Mapping[str, str], errorlevel: int) -> str:
    variables = {k.upper(): v for k, v in env.items()}
    variables.setdefault("ERRORLEVEL", str(errorlevel))

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "":
            return "%"
        return variables.get(name.upper(), match.group(0))

    if "!" in line and "!" in line[line.index("!") + 1 :]:
        raise _Unsupported("delayed expansion (!NAME!)")
    return re.sub(r"%([^%\s]*)%", value, line)


def _tokens(line: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end): a `word` (quotes kept, carets removed) or an `op`, in order, with
    where it is in the line (echo prints the line's own text, spaces and all)."""
    out: list[tuple[str, str, int, int]] = []
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


class _Cmd:
    def __init__(self, fs: GuestFilesystem, who: Account, env: Mapping[str, str], cwd: str) -> None:
        self.fs, self.who, self.env, self.cwd = fs, who, env, cwd
        self.out, self.err = Buffer(), Buffer()
        self.errorlevel = 0
        self.duration = 0.0

    def absolute(self, path: str) -> str:
        if re.match(r"^[A-Za-z]:[\\/]", path):
            return path
        return self.cwd.rstrip("\\") + "\\" + path

    def run(self, line: str) -> int:
        expanded = _expand(line, self.env, self.errorlevel)
        commands: list[tuple[str | None, list[tuple[str, str, int, int]]]] = [(None, [])]
        for token in _tokens(expanded):
            kind, text = token[0], token[1]
            if kind == "op" and text in {"&", "&&", "||"}:
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
                self.errorlevel = self.command(command, expanded)
        return self.errorlevel

    def command(self, tokens: list[tuple[str, str, int, int]], line: str) -> int:  # noqa: PLR0911 - one per kind
        fds: dict[int, Stream] = {0: Null(), 1: self.out, 2: self.err}
        words: list[str] = []
        text_parts: list[str] = []  # the command's own text without its redirections, for echo
        i = 0
        while i < len(tokens):
            kind, text, start, end = tokens[i]
            if kind == "word":
                words.append(_unquote(text))
                following = tokens[i + 1][2] if i + 1 < len(tokens) else end
                text_parts.append(line[start:following])
                i += 1
                continue
            if re.fullmatch(r"[0-9]?>&[0-9]", text):
                fd = int(text[0]) if text[0].isdigit() else 1
                fds[fd] = fds.get(int(text[-1]), Closed())
                i += 1
                continue
            if i + 1 >= len(tokens) or tokens[i + 1][0] != "word":
                self.err.write(b"The syntax of the command is incorrect.\r\n")
                return 1
            target = _unquote(tokens[i + 1][1])
            i += 2
            if not self.redirect(text, target, fds):
                return 1
        if not words:
            return self.errorlevel
        name = words[0].lower()
        if name == "echo" or name.startswith(("echo.", "echo:")):
            return self.echo("".join(text_parts), fds)
        if name == "type":
            return self.type_(words[1:], fds)
        if name == "exit":
            return self.exit(words[1:])
        if name in {"if", "for", "set", "call", "goto", "setlocal", "pushd", "cd", "dir", "del", "copy", "move"}:
            raise _Unsupported(f"the command {name}")
        return self.program(words, fds)

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

    def echo(self, source: str, fds: dict[int, Stream]) -> int:
        """`echo TEXT`: TEXT as written (spaces kept up to a redirection); `echo.`: an empty line."""
        rest = source[4:]
        if rest[:1] in {".", ":"}:
            text = rest[1:]
        elif not rest.strip():
            text = "ECHO is on."
        else:
            text = rest[1:]
        _write(fds, 1, (text.replace("^", "") + "\r\n").encode(OEM, "replace"))
        return 0

    def type_(self, files: list[str], fds: dict[int, Stream]) -> int:
        status = 0
        for file in files:
            try:
                node, _ = self.fs.lookup(self.absolute(file), self.who)
                if node.kind is Kind.DIRECTORY:
                    raise MockError("INVALID_ARGUMENT", "x", "x")
                _write(fds, 1, bytes(self.fs.read_file(self.absolute(file), self.who)))
            except MockError:
                _write(fds, 2, b"The system cannot find the file specified.\r\n")
                status = 1
        return status

    def exit(self, args: list[str]) -> int:
        rest = [a for a in args if a.lower() != "/b"]
        try:
            code = int(rest[0]) if rest else self.errorlevel
        except ValueError:
            code = 0
        raise _Exit(code)

    def program(self, words: list[str], fds: dict[int, Stream]) -> int:
        name = words[0]
        candidates = (
            [name]
            if re.search(r"[\\/]", name)
            else [f"C:\\Windows\\System32\\{name}", f"C:\\Windows\\System32\\{name}.exe"]
        )
        for candidate in candidates:
            try:
                node, _ = self.fs.lookup(self.absolute(candidate), self.who)
            except MockError:
                continue
            if node.kind is Kind.FILE and node.program is not None:
                program = node.program
                _write(fds, 1, program.stdout_data())
                _write(fds, 2, program.stderr.encode())
                if math.isinf(program.duration):
                    raise _Forever
                self.duration += program.duration
                return program.exit_code
        text = f"'{name}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
        _write(fds, 2, text.encode(OEM, "replace"))
        return NOT_RECOGNIZED


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Forever(Exception):
    pass


def run_cmd(fs: GuestFilesystem, who: Account, arguments: str, *, env: Mapping[str, str], cwd: str) -> Outcome:
    """What `cmd.exe ARGUMENTS` does in a Windows guest: `/c LINE` runs LINE; without /c, cmd waits
    for input that never comes (it never ends)."""
    match = re.match(r"\s*/[cC]\s*(.*)$", arguments, re.DOTALL)
    if match is None:
        return Outcome(b"", b"", 0, math.inf)
    cmd = _Cmd(fs, who, env, cwd)
    line = match.group(1)
    if len(line) >= 2 and line[0] == '"' and line[-1] == '"' and line.count('"') == 2:
        line = line[1:-1]  # cmd /c "..." drops the outer quotes
    try:
        status = cmd.run(line)
    except _Exit as stop:
        status = stop.code
    except _Forever:
        return Outcome(cmd.out.read(), cmd.err.read(), 0, math.inf)
    except _Unsupported as exc:
        cmd.err.write(f"vcenter-guest mock: {exc} is not supported by the simulated cmd.exe\r\n".encode())
        status = 1
    return Outcome(cmd.out.read(), cmd.err.read(), status, cmd.duration)
