"""The utilities of the demo guest, what a program file of the inventory may be: `cat`, `head`, `base64`,
`env`, `ls`, `sleep`, `mkdir`, `sh` / `bash`, and the builtins that are programs too (`echo`, `printf`, `true`,
`false`)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

from vcenter_guest.mock._budget import meter
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._nodes import Kind

from ._builtins import INT64_MAX, echo, int_of, printf, status_of
from ._interpreter import Builtin, Shell, Utility, Where
from ._parsing import NAME
from ._streams import FileStream, Null, Stream, UnsupportedOption, complain, reason, write
from ._system import ls as _ls  # `ls`, `uptime` and `uname` show the guest: see `_system`
from ._system import uname, uptime

__all__ = ["UTILITIES", "UTILITY_TABLE"]


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
                complain(fds, f"{name}: {file}: Is a directory")
                failed.append(file)
                continue
            # coreutils' rule (9.1, as the oracle test finds it): the same file, and not empty
            if node is output_node and node.size > 0:
                complain(fds, f"{name}: {file}: input file is output file")
                failed.append(file)
                continue
            data = bytes(shell.fs.read_file(shell.absolute(file), shell.who))
        except MockError as error:
            complain(fds, f"{name}: {file}: {reason(error)}")
            failed.append(file)
            continue
        yield data


def _cat(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    files = [w for w in words[1:] if w != "--"]
    if any(w.startswith("-") and w != "-" for w in files):
        complain(fds, f"cat: invalid option -- '{files[0][1:2]}'")
        return 1
    failed: list[str] = []
    for data in _inputs(shell, "cat", files, fds, failed, not_output=True):
        write(fds, 1, data)
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
            complain(fds, f"head: invalid number of {'bytes' if by_bytes else 'lines'}: '{value}'")
            return 1
        count = min(int_of(value, 10), INT64_MAX)  # GNU head takes any count, as "all"
    failed: list[str] = []
    names = files or ["-"]
    for n, data in enumerate(_inputs(shell, "head", files, fds, failed)):
        if len(names) > 1:
            write(fds, 1, f"{'' if n == 0 else chr(10)}==> {names[n + len(failed)]} <==\n".encode())
        if by_bytes:
            write(fds, 1, data[:count])
        else:
            write(fds, 1, _first_lines(data, count))
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
            write(fds, 1, base64.b64decode(b"".join(data.split()), validate=True))
        except ValueError:
            complain(fds, "base64: invalid input")
            return 1
        return status
    with memoryview(data) as view:
        # A piece at a time, as base64 itself writes (the output budget stops a big file early).
        for start in range(0, len(view), _BASE64_PIECE):
            write(fds, 1, base64.encodebytes(view[start : start + _BASE64_PIECE]))
    return status


def _env(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args = words[1:]
    env = dict(env)
    while args and "=" in args[0] and NAME.fullmatch(args[0].partition("=")[0]):
        name, _, value = args.pop(0).partition("=")
        env[name] = value
    if not args:
        write(fds, 1, "".join(f"{k}={v}\n" for k, v in env.items()).encode("utf-8", "surrogateescape"))
        return 0
    if args[0].startswith("-"):
        raise UnsupportedOption(f"the option {args[0]}")
    return shell.external(args, env, fds, Where(shell))


def _sleep(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    if len(words) < 2:
        complain(fds, "sleep: missing operand")
        return 1
    total = 0.0
    for word in words[1:]:
        match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", word)
        if match is None:
            complain(fds, f"sleep: invalid time interval '{word}'")
            return 1
        total += float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    shell.pass_time(total)
    return 0


def _shell(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    args = words[1:]
    if args and args[0] == "-c":
        if len(args) < 2:
            complain(fds, f"{words[0]}: -c: option requires an argument")
            return 2
        command, rest = args[1], args[2:]
        name = rest[0] if rest else words[0]
        return shell.subshell(command, name, rest[1:], env, fds, function_label="environment")
    if args and args[0].startswith("-"):
        raise UnsupportedOption(f"the option {args[0]}")
    if not args:
        source = fds.get(0, Null()).read().decode("utf-8", "replace")
        return shell.subshell(source, words[0], [], env, fds, function_label="main")
    path = shell.absolute(args[0])
    try:
        data = bytes(shell.fs.read_file(path, shell.who))
    except MockError as error:
        complain(fds, f"{words[0]}: {args[0]}: {reason(error)}")
        return 127
    return shell.subshell(data.decode("utf-8", "replace"), args[0], args[1:], env, fds)


def _mkdir(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    """`mkdir [-m MODE] [--] DIR...` (MODE in octal, whatever the umask): a new directory each, or an
    error for what is there already (a symbolic link included, never followed), as coreutils' mkdir."""
    args, mode = words[1:], 0o755
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option == "--":
            break
        if option != "-m" or not args or re.fullmatch(r"[0-7]{1,4}", args[0]) is None:
            raise UnsupportedOption(f"the option {option}")
        mode = int(args.pop(0), 8)
    name = words[0]  # coreutils names itself as it was called (`/bin/mkdir: ...`)
    if not args:
        complain(fds, f"{name}: missing operand\nTry '{name} --help' for more information.")
        return 1
    status = 0
    for path in args:
        try:
            shell.fs.make_directory(shell.absolute(path), shell.who, mode=mode)
        except MockError as error:
            why = "File exists" if error.error_type == "ALREADY_EXISTS" else reason(error)
            complain(fds, f"{name}: cannot create directory '{path}': {why}")
            status = 1
    return status


def builtin_as_program(builtin: Builtin) -> Utility:
    return lambda shell, words, env, fds: builtin(shell, words, fds, Where(shell))


UTILITY_TABLE: dict[str, Utility] = {
    "cat": _cat,
    "head": _head,
    "base64": _base64,
    "env": _env,
    "ls": _ls,
    "sleep": _sleep,
    "mkdir": _mkdir,
    "sh": _shell,
    "bash": _shell,
    "echo": builtin_as_program(echo),
    "printf": builtin_as_program(printf),
    "true": builtin_as_program(status_of(0)),
    "false": builtin_as_program(status_of(1)),
    "uptime": uptime,
    "uname": uname,
}
UTILITIES = frozenset(UTILITY_TABLE)
