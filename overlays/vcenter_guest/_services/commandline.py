"""The command lines of a captured run: the wrapper around the user's program that sends its output
to the run directory and ends stdout with the marker line (POSIX sh and Windows cmd.exe), the
wrapper's own `mkdir` when the line makes the run directory, how a wrapper is recognised again
(`user_command`, for `ps`), and the codec of a Windows program's output. Why each line is written as
it is: the module docstring of `capture`, which runs them.
"""

from __future__ import annotations

import re
import shlex

import attrs

from vcenter_guest._values import CreateSpec

from .checks import WINDOWS_SHELL

__all__ = [
    "CMD_EXE",
    "MKDIR_FAILED",
    "cmd_line",
    "made_line",
    "posix_line",
    "user_command",
    "windows_encoding",
]

CMD_EXE = WINDOWS_SHELL
"""The program a captured run on a Windows guest starts (its cmd.exe runs the program, see the module)."""

MKDIR_FAILED = 125
"""The exit code of a line that could not make its run directory (nothing ran); a program's own 125
is reported as 124 by the line (see the module)."""

_MKDIR = "/bin/mkdir"


def _command_suffix(directory: str, marker: str, *, stdin: bool = False, made: bool = False) -> str:
    """What follows the program's arguments: the redirections (stdin from D/stdin when `stdin`), then
    the marker line and the exit code (a program's 125 said as 124 when the line `made` D, so that
    125 means mkdir failed: see the module)."""
    out, err, rc, src = (shlex.quote(f"{directory}/{name}") for name in ("stdout", "stderr", "rc", "stdin"))
    ending = f"[ $rc = {MKDIR_FAILED} ] && exit {MKDIR_FAILED - 1}; exit $rc" if made else "exit $rc"
    return (
        f"{f' <{src}' if stdin else ''} >{out} 2>{err}; rc=$?; echo $rc >{rc}; [ -s {err} ] && e=1 || e=0; "
        f'printf \'\\n%s %d %d\\n\' {marker} "$rc" "$e" >>{out}; {ending}'
    )


def posix_line(spec: CreateSpec, directory: str, marker: str, *, stdin: bool = False, made: bool = False) -> CreateSpec:
    """`spec` with its output in the POSIX run directory `directory` (see the module); with `made`, the
    line makes the directory first (`made_line`).

    Arguments that are a list of words (what `run(*args)` sends) are followed by the redirections.
    Verbatim `arguments=` are shell text: they may hold shell syntax (`a; b`, `&&`, a `#` comment,
    a line break), so the redirections cannot simply follow them (they would catch the last
    command only, or stand on a line of their own), and they may not parse at all. The line is
    then given to a shell of its own, as its `$1`: `/bin/sh -c '/bin/sh -c "$1" >D/stdout
    2>D/stderr; ...' sh 'PATH ARGUMENTS'`. Whatever its commands print is captured; a syntax error
    is that inner shell's message on stderr and its exit code (2), as running the line would give.

    >>> posix_line(CreateSpec("/bin/echo", arguments="'a b' c"), "/tmp/d", "M").arguments.startswith("'a b' c >")
    True
    >>> nested = posix_line(CreateSpec("/bin/echo", arguments="a; /bin/echo b"), "/tmp/d", "M")
    >>> nested.path, shlex.split(nested.arguments)[-2:]
    ('/bin/sh', ['sh', '/bin/echo a; /bin/echo b'])
    """
    arguments = spec.arguments or ""
    suffix = _command_suffix(directory, marker, stdin=stdin, made=made)
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = None
    if words is not None and shlex.join(words) == arguments.strip(" "):
        captured = attrs.evolve(spec, arguments=arguments + suffix)
    else:
        line = f"{shlex.quote(spec.path)} {arguments}"
        outer = '/bin/sh -c "$1"' + suffix
        captured = attrs.evolve(spec, path="/bin/sh", arguments=f"-c {shlex.quote(outer)} sh {shlex.quote(line)}")
    return made_line(captured, directory) if made else captured


def made_line(captured: CreateSpec, directory: str) -> CreateSpec:
    """A captured POSIX line that makes its run directory first: the guest runs `"PATH" ARGUMENTS`
    through its shell, so the spec's path becomes `/bin/mkdir` and the line follows its arguments
    (see the module).

    >>> made = made_line(CreateSpec("/bin/echo", arguments="a >/tmp/d/stdout"), "/tmp/d")
    >>> made.path, made.arguments
    ('/bin/mkdir', '-m 700 -- /tmp/d || exit 125; "/bin/echo" a >/tmp/d/stdout')
    """
    path = shlex.quote(captured.path)
    if path == captured.path:  # as the guest's process list shows a program: its path in double quotes
        path = f'"{path}"'
    rest = f"{path} {captured.arguments or ''}".rstrip(" ")
    arguments = f"-m 700 -- {shlex.quote(directory)} || exit {MKDIR_FAILED}; {rest}"
    return attrs.evolve(captured, path=_MKDIR, arguments=arguments)


def cmd_line(spec: CreateSpec, directory: str, marker: str, *, stdin: bool = False, made: bool = False) -> CreateSpec:
    """`spec` run through cmd.exe with its output in the Windows run directory `directory` (see the
    module); `spec.arguments` is put in cmd's line as it is (program_spec quotes args for it). With
    `made`, the line makes the directory first: `mkdir "D" || exit 125 & ...` (`exit` ends cmd)."""
    import mslex  # noqa: PLC0415 - only Windows guests need it

    out, err, rc, src = (
        mslex.quote(f"{directory}\\{name}", for_cmd=True) for name in ("stdout", "stderr", "rc", "stdin")
    )
    program = mslex.quote(spec.path, for_cmd=True)
    arguments = f" {spec.arguments}" if spec.arguments else ""
    first = f"mkdir {mslex.quote(directory, for_cmd=True)} || exit {MKDIR_FAILED} & " if made else ""
    line = (
        f"{first}{program}{arguments}{f' <{src}' if stdin else ''} >{out} 2>{err} & "
        "call set VCENTER_GUEST_RC=%^ERRORLEVEL%& "
        f">>{out} call echo {marker} %^VCENTER_GUEST_RC%& >{rc} call echo %^VCENTER_GUEST_RC%"
    )
    return attrs.evolve(spec, path=CMD_EXE, arguments=f'/d /q /s /c "{line}"')


# Patterns as strings, compiled by `re` on first use (its cache keeps them): only `user_command` (the CLI's
# `ps`) reads them, so `import vcenter_guest` does not pay for them. All match with re.DOTALL.
_MADE = r'"?/bin/mkdir"? -m 700 -- \S+ \|\| exit 125; (?P<rest>.*)\Z'
_SUFFIX = (
    r"(?: <\S+)? >\S+/stdout 2>\S+/stderr; rc=\$\?; echo \$rc >\S+; \[ -s \S+ \] && e=1 \|\| e=0; "
    r"printf '\\n%s %d %d\\n' vcenter-guest-[0-9a-f]+ \"\$rc\" \"\$e\" >>\S+; "
    r"(?:\[ \$rc = 125 \] && exit 124; )?exit \$rc"
)
_PLAIN = r"(?P<line>.*?)" + _SUFFIX + r"\Z"
_NESTED = r'/bin/sh -c "\$1"' + _SUFFIX + r"\Z"
_CMD = (
    r'"?C:\\Windows\\System32\\cmd\.exe"? /d /q /s /c "(?:mkdir (?:"[^"]*"|\S+) \|\| exit 125 & )?'
    r'(?P<line>.*?)(?: <"?[^"]*\\stdin"?)? >"?[^"]*\\stdout"? '
    r'2>"?[^"]*\\stderr"? & call set VCENTER_GUEST_RC=%\^ERRORLEVEL%& .*"\Z'
)


def user_command(command: str) -> str:
    """The command a user gave `run`, from the command line a captured run sent (as the guest's process
    list shows it: the program's path in double quotes, then its arguments); any other command as it is.

    >>> spec = posix_line(CreateSpec("/bin/ls", arguments="-l /tmp"), "/tmp/vcenter-guest-run-1", "vcenter-guest-ab")
    >>> user_command(f'"{spec.path}" {spec.arguments}')
    '"/bin/ls" -l /tmp'
    >>> nested = posix_line(CreateSpec("/bin/echo", arguments="a; b"), "/tmp/d", "vcenter-guest-ab", made=True)
    >>> user_command(f'"{nested.path}" {nested.arguments}')
    '/bin/echo a; b'
    >>> user_command('"/usr/bin/vmtoolsd"')
    '"/usr/bin/vmtoolsd"'
    """
    windows = re.fullmatch(_CMD, command, re.DOTALL | re.IGNORECASE)
    if windows is not None:
        return windows.group("line")
    made = re.match(_MADE, command, re.DOTALL)
    line = command if made is None else made.group("rest")
    if line.startswith(("/bin/sh -c ", '"/bin/sh" -c ')):
        try:
            words = shlex.split(line.split(" -c ", 1)[1])
        except ValueError:
            words = []
        if len(words) == 3 and words[1] == "sh" and re.fullmatch(_NESTED, words[0], re.DOTALL):
            return words[2]
    plain = re.fullmatch(_PLAIN, line, re.DOTALL)
    return command if plain is None else plain.group("line").rstrip(" ")


def windows_encoding(*streams: bytes | None) -> str:
    """The codec of a Windows program's output: UTF-16 when the first stream with bytes has a BOM or
    NULs every other byte (ASCII text in UTF-16), else the OEM code page of en-US Windows (cp437).

    >>> windows_encoding("hé".encode("utf-16")), windows_encoding(b"", "hi".encode("utf-16-le"))
    ('utf-16', 'utf-16-le')
    >>> windows_encoding(b"caf\\x82")
    'cp437'
    """
    data = next((s for s in streams if s), b"")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd >= pairs * 0.4 and even <= pairs * 0.1:
            return "utf-16-le"
        if even >= pairs * 0.4 and odd <= pairs * 0.1:
            return "utf-16-be"
    return "cp437"
