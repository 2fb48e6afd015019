"""The utilities that show the guest rather than transform bytes: `ls` (GNU coreutils' output, `-l`
included), `uptime` (procps-ng's line) and `uname` (coreutils')."""

from __future__ import annotations

import math
import time

from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._nodes import Kind, Node

from ._interpreter import Shell
from ._streams import Stream, UnsupportedOption, complain, reason, write

__all__ = ["ls", "uname", "uptime"]

SIX_MONTHS = 31556952 // 2
"""GNU ls: a time is recent (shown with hours and minutes, not the year) if it is less than half an
average Gregorian year old and not in the future."""
BLOCK = 4096
"""The allocation unit of the guest's file system (ext4): `ls -l`'s `total` counts these, in KiB."""
LS_FLAGS = frozenset("aAl1")
_TYPES = {Kind.FILE: "-", Kind.DIRECTORY: "d", Kind.SYMLINK: "l"}


def _options(words: list[str]) -> tuple[set[str], list[str]]:
    """The one-letter flags and the operands of a utility's arguments (`--` ends the options)."""
    flags: set[str] = set()
    operands: list[str] = []
    args = iter(words[1:])
    for word in args:
        if word == "--":
            operands += list(args)
        elif word.startswith("-") and word != "-":
            if word.startswith("--"):
                raise UnsupportedOption(f"the option {word}")
            flags.update(word[1:])
        else:
            operands.append(word)
    return flags, operands


def ls(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    """`ls [-a] [-A] [-l] [-1] [FILE]...` as GNU ls writes into a pipe (one name a line, no quoting):
    the file operands first, then each directory's entries, sorted as in the C locale."""
    flags, operands = _options(words)
    if unknown := "".join(sorted(flags - LS_FLAGS)):
        raise UnsupportedOption(f"the option -{unknown}")
    long = "l" in flags
    status = 0
    files: list[tuple[str, Node]] = []
    directories: list[tuple[str, str]] = []
    directory_nodes: list[tuple[str, Node]] = []
    for operand in operands or ["."]:
        path = shell.absolute(operand)
        try:
            # ls -l shows a link given on the command line as a link (unless it ends in a slash)
            node, resolved = shell.fs.lookup(path, shell.who, follow=not long or operand.endswith("/"))
        except MockError as error:
            complain(fds, f"ls: cannot access '{operand}': {reason(error)}")
            status = 2
            continue
        if node.kind is Kind.DIRECTORY:
            directories.append((operand, resolved))
            directory_nodes.append((operand, node))
        else:
            files.append((operand, node))
    out: list[str] = []
    if files:
        # GNU ls sizes the columns of the file operands over the directory operands too
        out += _lines(shell, sorted(files, key=lambda entry: entry[0].encode()), long=long, sizing=directory_nodes)
    several = len(operands) > 1
    for n, (operand, resolved) in enumerate(sorted(directories, key=lambda entry: entry[0].encode())):
        try:
            entries = [(child.name, child) for child in shell.fs.list_directory(resolved, shell.who)]
        except MockError as error:
            complain(fds, f"ls: cannot open directory '{operand}': {reason(error)}")
            status = 2
            continue
        if "a" in flags:
            here, _ = shell.fs.lookup(resolved, shell.who)
            parent, _ = shell.fs.lookup(shell.fs.parent_path(resolved) if resolved != "/" else "/", shell.who)
            entries += [(".", here), ("..", parent)]
        elif "A" not in flags:
            entries = [(name, child) for name, child in entries if not name.startswith(".")]
        entries.sort(key=lambda entry: entry[0].encode())
        header = ("\n" if files or n else "") + (f"{operand}:\n" if several or files else "")
        out.append(header)
        if long:
            out.append(f"total {sum(_blocks(node) for _, node in entries)}\n")
        out += _lines(shell, entries, long=long)
    write(fds, 1, "".join(out).encode("utf-8", "surrogateescape"))
    return status


def _blocks(node: Node) -> int:
    """KiB a file takes on ext4 (whole blocks; a short link's target lives in its inode)."""
    if node.kind is Kind.SYMLINK and node.size < 60:
        return 0
    return math.ceil(node.size / BLOCK) * BLOCK // 1024


def _lines(
    shell: Shell, entries: list[tuple[str, Node]], *, long: bool, sizing: list[tuple[str, Node]] | None = None
) -> list[str]:
    """The lines of `entries` (`ls -l`'s with columns as wide as the widest of `entries` and `sizing`)."""
    if not long:
        return [f"{name}\n" for name, _ in entries]
    now = shell.fs.now()
    every = [*entries, *(sizing or [])]
    rows = [
        (
            _mode(node),
            str(
                2 + sum(c.kind is Kind.DIRECTORY for c in node.children.values()) if node.kind is Kind.DIRECTORY else 1
            ),
            shell.machine.users.get(node.owner, str(node.owner)),
            shell.machine.users.get(node.group, str(node.group)),
            str(node.size),
            _date(node.modified, now),
            name + (f" -> {node.target}" if node.kind is Kind.SYMLINK else ""),
        )
        for name, node in every
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    del rows[len(entries) :]
    return [
        f"{mode} {links:>{widths[1]}} {owner:<{widths[2]}} {group:<{widths[3]}} {size:>{widths[4]}} {date} {name}\n"
        for mode, links, owner, group, size, date, name in rows
    ]


def _mode(node: Node) -> str:
    """`-rwxr-xr-x`: the type, then each class's permissions (setuid, setgid, sticky as s/S, t/T)."""
    mode = node.mode
    text = _TYPES[node.kind] if node.kind is not Kind.SYMLINK else "l"
    for shift, special, mark in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        bits = (mode >> shift) & 7
        execute = "x" if bits & 1 else "-"
        if mode & special:
            execute = mark if bits & 1 else mark.upper()
        text += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + execute
    return text if node.kind is not Kind.SYMLINK else "lrwxrwxrwx"


def _date(when: float, now: float) -> str:
    """GNU ls's date in the C locale, UTC: `Dec  8 01:03` if recent, else `Jan  2  2026`."""
    moment = time.gmtime(when)
    recent = now - SIX_MONTHS < when <= now
    return time.strftime("%b %e %H:%M" if recent else "%b %e  %Y", moment)


def uptime(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    """procps-ng 4's `uptime`: ` 01:03:04 up 3 days,  2:05,  0 user,  load average: 0.00, 0.00, 0.00`
    (UTC; nobody logged in; an idle guest)."""
    if len(words) > 1:
        raise UnsupportedOption(f"the option {words[1]}")
    now = shell.fs.now()
    up = max(0, int(now - shell.machine.booted))
    days, minutes = up // 86400, up // 60
    hours, minutes = (minutes // 60) % 24, minutes % 60
    text = time.strftime(" %H:%M:%S up ", time.gmtime(now))
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += " 0 user,  load average: 0.00, 0.00, 0.00\n"
    write(fds, 1, text.encode())
    return 0


UNAME = {
    # uname's fields: -s kernel name, -r release, -v version, -m machine, -p processor, -i platform, -o OS
    "Linux": {
        "s": "Linux",
        "r": "6.1.0-28-amd64",
        "v": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
        "m": "x86_64",
        "p": "unknown",
        "i": "unknown",
        "o": "GNU/Linux",
    },
    "SunOS": {"s": "SunOS", "r": "5.11", "v": "11.4.0.15.0", "m": "i86pc", "p": "i386", "i": "i86pc", "o": "Solaris"},
}
_UNAME_ORDER = "snrvmpio"


def uname(shell: Shell, words: list[str], env: dict[str, str], fds: dict[int, Stream]) -> int:
    """`uname [-asnrvmpio]`, coreutils' order; the node name is the guest's /etc/hostname."""
    flags, operands = _options(words)
    if unknown := "".join(sorted(flags - set(_UNAME_ORDER + "a"))):
        raise UnsupportedOption(f"the option -{unknown}")
    if operands:
        complain(fds, f"uname: extra operand '{operands[0]}'")
        return 1
    fields = dict(UNAME.get(shell.machine.system, UNAME["Linux"]))
    try:
        fields["n"] = bytes(shell.fs.read_file("/etc/hostname", shell.who)).decode().strip() or "localhost"
    except MockError:
        fields["n"] = "localhost"
    if "a" in flags:
        # -a leaves out -p and -i when they are unknown, as coreutils does
        chosen = [c for c in _UNAME_ORDER if fields[c] != "unknown" or c not in "pi"]
    else:
        chosen = [c for c in _UNAME_ORDER if c in flags] or ["s"]
    write(fds, 1, (" ".join(fields[c] for c in chosen) + "\n").encode())
    return 0
