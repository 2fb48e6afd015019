"""The shell's builtins: `echo`, `printf`, `cd`, `exit`, `export`, `test` / `[`, `true`, `false`, `:`,
and those of loops and functions: `break`, `continue`, `return`, `local`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from vcenter_guest.mock._budget import meter
from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._nodes import Kind, Node

from ._interpreter import Builtin, Shell
from ._parsing import NAME
from ._streams import ExitShell, LoopControl, Return, Stream, Unsupported, reason, write

__all__ = ["BUILTINS", "INT64_MAX", "INT64_MIN", "INT_MAX", "echo", "int_of", "printf", "status_of"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT_MAX = 2**31 - 1
"""The largest printf width or precision bash takes (a larger one prints nothing for its directive)."""


def echo(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
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
    if not write(fds, 1, (text + ("\n" if newline else "")).encode("utf-8", "surrogateescape")):
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


def printf(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
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


def int_of(text: str, base: int) -> int:
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
        return int_of(text, 0) if not re.fullmatch(r"[+-]?0[0-7]+", text) else int_of(text, 8), True
    except ValueError:
        digits = re.match(r"[+-]?\d*", text)
        return int_of(digits.group(0), 10) if digits and digits.group(0) not in {"", "+", "-"} else 0, False


def _flush(shell: Shell, fds: dict[int, Stream], out: list[str], status: int, node: Any) -> int:
    if not write(fds, 1, "".join(out).encode("utf-8", "surrogateescape")):
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
            f"cd: {target}: {reason(error) if error.error_type != 'INVALID_ARGUMENT' else 'Not a directory'}",
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
        if not NAME.fullmatch(name):
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


def _loop_control(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    """`break [N]` and `continue [N]`, with bash's messages and statuses for what is wrong with them."""
    name = words[0]
    if not shell.loops:
        shell.error(node.pos[0], f"{name}: only meaningful in a `for', `while', or `until' loop", fds)
        return 0
    if len(words) > 2:
        shell.error(node.pos[0], f"{name}: too many arguments", fds)
        raise ExitShell(1)  # bash leaves a non-interactive shell there
    levels = 1
    if len(words) == 2:
        if not re.fullmatch(r"[+-]?\d+", words[1]):
            shell.error(node.pos[0], f"{name}: {words[1]}: numeric argument required", fds)
            raise ExitShell(128)
        levels = int_of(words[1], 10)
        if levels < 1:
            shell.error(node.pos[0], f"{name}: {words[1]}: loop count out of range", fds)
            raise LoopControl(stop=True, levels=shell.loops, status=1)  # bash leaves every loop
    raise LoopControl(stop=name == "break", levels=min(levels, shell.loops))


def _return(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    if not shell.frames:
        shell.error(node.pos[0], "return: can only `return' from a function or sourced script", fds)
        return 2
    if len(words) > 2:
        shell.error(node.pos[0], "return: too many arguments", fds)
        raise ExitShell(1)
    if len(words) == 1:
        raise Return(shell.status)
    number, ok = _integer(words[1])
    if not ok or not re.fullmatch(r"[+-]?\d+", words[1].strip()) or not INT64_MIN <= number <= INT64_MAX:
        shell.error(node.pos[0], f"return: {words[1]}: numeric argument required", fds)
        raise Return(2)
    raise Return(number % 256)


def _local(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    """`local NAME[=VALUE]...`: variables of the function under way (restored when it returns)."""
    if not shell.frames:
        shell.error(node.pos[0], "local: can only be used in a function", fds)
        return 1
    status = 0
    for word in words[1:]:
        name, eq, value = word.partition("=")
        if not NAME.fullmatch(name):
            shell.error(node.pos[0], f"local: `{word}': not a valid identifier", fds)
            status = 1
            continue
        shell.make_local(name)
        if eq:
            shell.assign(name, value)
        elif name in shell.env:
            # Declared without a value: empty here; bash's children still get the exported value.
            shell.variables[name] = ""
        else:
            shell.variables.pop(name, None)
    return status


def _read(shell: Shell, words: list[str], fds: dict[int, Stream], node: Any) -> int:
    """`read [-r] [NAME...]`: a line of stdin split at blanks into the NAMEs (the last takes the rest;
    none: REPLY takes the line); without -r a backslash quotes the next character and joins lines.
    Status 1 at the end of the input (what was read before it is still assigned)."""
    args = words[1:]
    raw = bool(args) and args[0] == "-r"
    args = args[1:] if raw else args
    if args and args[0].startswith("-"):
        raise Unsupported(f"the option {args[0]} of read")
    names = args or ["REPLY"]
    for name in names:
        if not NAME.fullmatch(name):
            shell.error(node.pos[0], f"read: `{name}': not a valid identifier", fds)
            return 1
    stdin = fds.get(0)
    chars: list[tuple[str, bool]] = []  # (character, quoted by a backslash)
    ended = True
    while True:
        line = stdin.read_line() if stdin is not None else b""
        ended = not line.endswith(b"\n")
        text = line.decode("utf-8", "surrogateescape").removesuffix("\n")
        i, joined = 0, False
        while i < len(text):
            if text[i] == "\\" and not raw:
                if i + 1 < len(text):
                    chars.append((text[i + 1], True))
                    i += 2
                    continue
                joined = not ended  # a backslash at the end of the line: the next line continues it
                break
            chars.append((text[i], False))
            i += 1
        if not joined:
            break
    if not args:
        shell.assign("REPLY", "".join(c for c, _ in chars))
        return int(ended)
    fields = _split_read(chars, len(names))
    for name, value in zip(names, fields + [""] * (len(names) - len(fields)), strict=True):
        shell.assign(name, value)
    return int(ended)


def _split_read(chars: list[tuple[str, bool]], count: int) -> list[str]:
    """`read`'s fields: split at unquoted blanks (space, tab), at most `count`; the last field keeps
    the rest of the line, blanks inside it included, without the blanks at its ends."""
    fields: list[str] = []
    i = 0
    while i < len(chars) and len(fields) < count - 1:
        while i < len(chars) and chars[i][0] in " \t" and not chars[i][1]:
            i += 1
        if i == len(chars):
            break
        start = i
        while i < len(chars) and not (chars[i][0] in " \t" and not chars[i][1]):
            i += 1
        fields.append("".join(c for c, _ in chars[start:i]))
    rest = chars[i:]
    while rest and rest[0][0] in " \t" and not rest[0][1]:
        rest = rest[1:]
    while rest and rest[-1][0] in " \t" and not rest[-1][1]:
        rest = rest[:-1]
    if rest or len(fields) < count:
        fields.append("".join(c for c, _ in rest))
    return fields


def status_of(value: int) -> Builtin:
    return lambda shell, words, fds, node: value


BUILTINS: dict[str, Builtin] = {
    "echo": echo,
    "printf": printf,
    "cd": _cd,
    "exit": _exit,
    "export": _export,
    "true": status_of(0),
    "false": status_of(1),
    ":": status_of(0),
    "test": _test,
    "[": _test,
    "break": _loop_control,
    "continue": _loop_control,
    "return": _return,
    "local": _local,
    "read": _read,
}
