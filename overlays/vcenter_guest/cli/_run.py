"""`vcenter-guest run`: run a program in one or many VMs; its output and exit code, as `ssh` gives them."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from vcenter_guest import errors

from ._common import Connection, connection_options, resolve_vms
from ._many import CONCURRENCY, vm_options
from ._outcome import EXIT_FAILED, check_terminate_flag, describe, error_json, run_async

if TYPE_CHECKING:
    from vcenter_guest import ProcessResult, RunOutcome

__all__ = [
    "Many",
    "environment",
    "exit_code_of",
    "many_output_options",
    "output_stem",
    "place_options",
    "print_many",
    "program_arguments",
    "program_options",
    "run",
    "run_on_many",
    "show_outputs",
    "write_new_file",
]


def exit_code_of(result: ProcessResult) -> int:
    """The program's exit code as a process exit status (0-255; anything else, e.g. Windows NTSTATUS, is 255)."""
    return result.exit_code if 0 <= result.exit_code <= 255 else 255


def _seconds(result: ProcessResult) -> float | None:
    return None if result.duration is None else result.duration.total_seconds()


def result_json(conn: Connection, vm: str, outcome: RunOutcome) -> dict[str, Any]:
    """One VM's outcome as JSON (the shape the README documents)."""
    if isinstance(outcome, errors.VcenterGuestError):
        return conn.record(vm, error=error_json(outcome))
    shown: dict[str, Any] = conn.record(
        vm,
        pid=outcome.pid,
        exit_code=outcome.exit_code,
        started=outcome.started.isoformat(),
        finished=None if outcome.finished is None else outcome.finished.isoformat(),
        duration_seconds=_seconds(outcome),
    )
    for name in ("stdout", "stderr"):
        data: bytes | None = getattr(outcome, name)
        if data is None:
            continue
        try:
            shown[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            shown[f"{name}_base64"] = base64.b64encode(data).decode("ascii")  # not text: the bytes, exactly
        shown[f"{name}_truncated"] = getattr(outcome, f"{name}_truncated")
    return shown


def environment(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--env")
        env[name] = value
    return env


_SECONDS = click.FloatRange(min=0, min_open=True)
_PROGRAM_OPTIONS = (
    click.option(
        "--wait-ready",
        type=_SECONDS,
        metavar="SECONDS",
        help="First wait up to this long for the guest to take guest operations (after a boot).",
    ),
    click.option(
        "--timeout",
        type=_SECONDS,
        metavar="SECONDS",
        help="Give up waiting after this long (exit 124); the output must arrive within --http-timeout more. "
        "Default: wait as long as it runs.",
    ),
    click.option("--terminate-on-timeout", is_flag=True, help="Terminate the program when --timeout passes."),
)


def place_options(*, short: bool = False) -> Callable[[Any], Any]:
    """Where and with what environment a program starts, shared by `run`, `script` and `start`:
    --cwd, --env (and govc's -C, -e with `short`)."""
    cwd = click.option(
        *(("-C",) if short else ()),
        "--cwd",
        metavar="DIR",
        help="Working directory in the guest (default: the user's home).",
    )
    env = click.option(
        *(("-e",) if short else ()),
        "--env",
        "env_pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="Environment variable (repeat); together they are the program's whole environment.",
    )
    return lambda command: cwd(env(command))


def program_options(command: Any) -> Any:
    """The options of how a program runs, shared by `run` and `script`: --wait-ready, --timeout,
    --terminate-on-timeout, --cwd, --env."""
    command = place_options()(command)
    for option in reversed(_PROGRAM_OPTIONS):
        command = option(command)
    return command


def program_arguments(command: Any) -> Any:
    """PROGRAM (a path in the guest, or a name) and its ARGS, as `run` and `start` take them (after `--`)."""
    return click.argument("program")(click.argument("args", nargs=-1, type=click.UNPROCESSED)(command))


_MANY_OUTPUT_OPTIONS = (
    click.option(
        "--max-output",
        "max_output",
        type=click.IntRange(min=1),
        metavar="BYTES",
        help="With many VMs or --json: bytes of each stream kept per VM (default 4 MiB; more is cut and flagged).",
    ),
    click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="With many VMs: write each VM's output to DIR/VM.stdout and DIR/VM.stderr instead of printing it "
        "(files replaced whole; a VM name too long for a file name is shortened, said on stderr).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        metavar="N",
        default=CONCURRENCY,
        show_default=True,
        help="With many VMs: how many run at once.",
    ),
)


def many_output_options(command: Any) -> Any:
    """How the outputs of a program run in many VMs are kept and shown, shared by `run` and `script`:
    --max-output, --output-dir, --concurrency."""
    for option in reversed(_MANY_OUTPUT_OPTIONS):
        command = option(command)
    return command


@click.command(context_settings={"allow_interspersed_args": False})
@vm_options
@program_options
@click.option(
    "--raw",
    is_flag=True,
    help="Pass ARGS to the guest verbatim, joined by spaces (shell syntax, Windows guests). "
    "Default: each ARG is quoted for the guest's POSIX shell.",
)
@click.option(
    "--no-capture",
    is_flag=True,
    help="Do not fetch the program's output: print its pid, exit code and duration instead "
    "(one exchange besides the polls, where capture takes five).",
)
@click.option(
    "--stdin",
    "feed_stdin",
    is_flag=True,
    help="Feed this process's stdin to the program (uploaded into its run directory, in constant memory "
    "with one VM; read whole first with many).",
)
@click.option(
    "-d",
    "data",
    metavar="DATA",
    help="The program's stdin, as govc's guest.run takes it: DATA itself, or '-' for this process's stdin "
    "(as --stdin).",
)
@click.option(
    "--guest-os",
    type=click.Choice(["linux", "posix", "windows"], case_sensitive=False),
    help="What the guest is, when you know (else the Identity service is asked, one exchange per VM): on "
    "a POSIX guest the run makes its own run directory (4 exchanges besides the polls).",
)
@many_output_options
@connection_options
@program_arguments
def run(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    timeout: float | None,
    terminate_on_timeout: bool,
    cwd: str | None,
    env_pairs: tuple[str, ...],
    raw: bool,
    wait_ready: float | None,
    no_capture: bool,
    max_output: int | None,
    output_dir: Path | None,
    prefix: bool | None,
    concurrency: int,
    feed_stdin: bool,
    data: str | None,
    guest_os: str | None,
    program: str,
    args: tuple[str, ...],
) -> None:
    """Run PROGRAM (an absolute path in the guest, or a name that the guest's shell finds: `/bin/sh -c`,
    or cmd.exe on Windows, as govc does) with ARGS: its stdout on stdout, its stderr on stderr, byte
    for byte, and its exit code as vcenter-guest's, as `ssh` does. --stdin (or -d -) feeds this
    process's stdin to the program.

    With many VMs it shows progress, prints each VM's output (lines prefixed by the VM on a
    terminal; or into --output-dir), then a summary table, and exits 0 if every program exited 0,
    1 if some exited otherwise, 125 if some VM could not run it. --no-capture prints the pid, exit
    code and duration instead of the output.

        vcenter-guest run --vm vm-42 -- /bin/ls -l /tmp
        vcenter-guest run --vm vm-42 --vm demo-solaris --json -- /bin/cat /etc/hostname
        vcenter-guest run --vm vm-42 --vm vm-50 --output-dir out -- /usr/bin/uptime
        echo hello | vcenter-guest run --vm vm-42 --stdin -- /bin/cat
        vcenter-guest run --vm vm-42 -- echo "no path: through /bin/sh -c"
    """
    targets = list(dict.fromkeys(vms))  # the same VM twice would run it twice by accident
    refuse_option_clashes(timeout, terminate_on_timeout, no_capture, max_output, output_dir, one_vm=len(targets) == 1)
    options = _run_options(
        working_directory=cwd,
        environment_variables=environment(env_pairs),
        timeout=timeout,
        terminate_on_timeout=terminate_on_timeout,
        capture=not no_capture,
        wait_ready=wait_ready,
        max_output_bytes=max_output,
        guest_os=guest_os,
        stdin=_stdin_option(feed_stdin, data, no_capture=no_capture, many=len(set(vms)) > 1),
    )
    if raw:
        options["arguments"] = " ".join(args)
        args = ()
    if len(targets) == 1:
        sys.exit(_run_on_one(conn, targets[0], program, args, options))
    many = Many(output_dir=output_dir, captured=not no_capture, prefix=prefix, concurrency=concurrency)
    outcomes = functools.partial(_run_many, conn, targets, program, args, options=options, concurrency=concurrency)
    sys.exit(run_on_many(conn, targets, outcomes, many=many))


def refuse_option_clashes(
    timeout: float | None,
    terminate_on_timeout: bool,
    no_capture: bool,
    max_output: int | None,
    output_dir: Path | None,
    *,
    one_vm: bool,
) -> None:
    """The usage errors (exit 2) of options that do not go together (`run`, `script`), before anything connects."""
    check_terminate_flag(timeout, terminate_on_timeout)
    if no_capture and (max_output is not None or output_dir is not None):
        raise click.UsageError("--max-output and --output-dir need the output: drop --no-capture")
    if one_vm and output_dir is not None:
        raise click.UsageError("--output-dir is for many VMs; with one, redirect stdout and stderr")


def _run_on_one(conn: Connection, vm: str, program: str, args: tuple[str, ...], options: dict[str, Any]) -> int:
    """Runs the program in one VM, its output streamed to ours (unless --json or --no-capture): the exit status."""
    captured = options["capture"]
    if captured and not conn.as_json:
        # Streamed as it is downloaded, whatever its size.
        options = {**options, "stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
        options.pop("max_output_bytes", None)
    result = run_async(conn, lambda: _run_one(conn, vm, program, args, options))
    _print_one(conn, vm, result, captured=captured)
    return exit_code_of(result)


def _run_options(**given: Any) -> dict[str, Any]:
    """The keywords of `vc.processes.run` the command line gives: those it has a value for (the
    directory, the environment, the timeout, capture and readiness always; the rest when given)."""
    always = ("working_directory", "environment_variables", "timeout", "terminate_on_timeout", "capture", "wait_ready")
    return {name: value for name, value in given.items() if name in always or value is not None}


def _stdin_option(feed_stdin: bool, data: str | None, *, no_capture: bool, many: bool) -> Any:
    """What the program reads on stdin: None, this process's stdin (streamed with one VM; bytes, read
    whole, with many: each VM gets them), or -d's DATA."""
    if feed_stdin and data is not None and data != "-":
        raise click.UsageError("--stdin feeds this process's stdin; -d DATA gives the data itself: use one")
    if not feed_stdin and data is None:
        return None
    if no_capture:
        raise click.UsageError("--stdin and -d go through the run directory: drop --no-capture")
    if data is not None and data != "-":
        return data.encode("utf-8", "surrogateescape")
    return sys.stdin.buffer.read() if many else sys.stdin.buffer


@attrs.frozen
class Many:
    """How `run` and `script` treat many VMs: where their outputs go, and how many run at once."""

    output_dir: Path | None
    captured: bool
    prefix: bool | None
    concurrency: int


def run_on_many(
    conn: Connection, targets: list[str], outcomes_of: Callable[[], Awaitable[list[RunOutcome]]], *, many: Many
) -> int:
    """Runs the program in every VM of `targets` (`outcomes_of()`); shows their outputs and a
    summary; the exit status."""
    output_dir = many.output_dir
    if output_dir is not None:  # before anything runs: a directory that cannot be made costs no run
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise click.BadParameter(f"cannot make {output_dir}: {reason}", param_hint="--output-dir") from None
    outcomes = run_async(conn, outcomes_of)
    unwritten: list[str] = []
    if many.captured and not conn.as_json:
        prefixed = sys.stdout.isatty() if many.prefix is None else many.prefix
        unwritten = show_outputs(conn, targets, outcomes, output_dir, prefixed)
    status = print_many(conn, targets, outcomes, table_on_stderr=many.captured)
    if unwritten:  # the programs' own status stands if it says more (125: some VM could not run it)
        conn.stderr.print(f"error: {len(unwritten)} output file(s) could not be written", markup=False, highlight=False)
        status = status or 1
    return status


_UNSAFE = frozenset('%/\\:*?"<>|')
"""Characters a file name cannot hold on POSIX or Windows (and `%`, the escape)."""


def output_file_name(vm: str) -> str:
    """The file name (without suffix) of a VM's output in --output-dir: the VM as given, with what a
    path cannot hold as a name percent-encoded, so that two VMs never share a file.

    >>> output_file_name("vm-42"), output_file_name("web 1/é"), output_file_name(".."), output_file_name("50%")
    ('vm-42', 'web 1%2Fé', '%2E.', '50%25')
    """
    from urllib.parse import quote  # noqa: PLC0415

    name = "".join(quote(c, safe="") if c in _UNSAFE or not c.isprintable() else c for c in vm)
    return "%2E" + name[1:] if name.startswith(".") else name


_STREAMS = ("stdout", "stderr")
_HASH_CHARACTERS = 12
"""Hex digits of the VM name's hash that keep a shortened file name unique (48 bits)."""


def _name_max(directory: Path) -> int:
    """The longest file name, in bytes, the filesystem of `directory` takes (255 when it does not say)."""
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no answer
        return 255


def output_stem(vm: str, name_max: int = 255) -> tuple[str, bool]:
    """The file name (without suffix) of a VM's output in --output-dir, and whether it was shortened.

    `output_file_name(vm)`, unless it and the longest suffix are too long for a file name: then its
    start, cut at a character, plus `~` and a hash of the whole VM name, so that two VMs whose long
    names start alike still get files of their own.

    >>> output_stem("vm-42")
    ('vm-42', False)
    >>> stem, shortened = output_stem("x" * 300)
    >>> shortened, len(stem), stem[-13:-12]
    (True, 248, '~')
    """
    stem = output_file_name(vm)
    room = name_max - max(len(f".{stream}") for stream in _STREAMS)
    if len(os.fsencode(stem)) <= room:
        return stem, False
    kept, size = [], 0
    for character in stem:
        size += len(os.fsencode(character))
        if size > room - 1 - _HASH_CHARACTERS:
            break
        kept.append(character)
    start = "".join(kept)
    start = start[: start.rfind("%")] if "%" in start[-2:] else start  # never half a %XX escape
    digest = hashlib.sha256(vm.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARACTERS]
    return f"{start}~{digest}", True


def write_new_file(path: Path, data: bytes) -> None:
    """Writes `data` as the file `path`, whole or not at all, never through a link planted there.

    The bytes go to a new file of a random name, made exclusively (O_EXCL: a link or file already
    there, planted or not, makes it fail rather than be followed), then renamed over `path`: a link
    at `path` is replaced, never written through, and a file there (an earlier run's) is replaced
    whole. The new file has the umask's mode, as any file a command makes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    temporary = path.with_name(f".vcenter-guest-{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def show_outputs(
    conn: Connection, vms: list[str], outcomes: list[RunOutcome], output_dir: Path | None, prefix: bool
) -> list[str]:
    """Each VM's output, in VM order: into DIR/VM.stdout and DIR/VM.stderr, or printed (prefixed).
    A stream cut at --max-output is said on stderr; the files that could not be written are
    returned (each said on stderr), the others are still written."""
    unwritten: list[str] = []
    name_max = 255 if output_dir is None else _name_max(output_dir)
    for vm, outcome in zip(vms, outcomes, strict=True):
        if isinstance(outcome, errors.VcenterGuestError):
            continue
        stem, shortened = output_stem(vm, name_max)
        if shortened and output_dir is not None:
            files = " and ".join(str(output_dir / f"{stem}.{name}") for name in _STREAMS)
            text = f"note: the name of VM {vm} is too long for a file name: its output is in {files}"
            conn.stderr.print(text, markup=False, highlight=False)
        for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            data: bytes = getattr(outcome, name) or b""
            if getattr(outcome, f"{name}_truncated"):
                conn.stderr.print(
                    f"warning: {vm}: {name} was cut at {len(data)} bytes (--max-output)", markup=False, highlight=False
                )
            if output_dir is not None:
                path = output_dir / f"{stem}.{name}"
                try:
                    write_new_file(path, data)
                except OSError as exc:
                    unwritten.append(str(path))
                    text = f"error: cannot write {path}: {exc.strerror or exc}"
                    conn.stderr.print(text, markup=False, highlight=False)
                continue
            if not data:
                continue
            stream.flush()  # what was printed as text so far comes first
            out = stream.buffer
            if prefix:
                lines = data.splitlines(keepends=True)
                data = b"".join(
                    vm.encode() + b": " + (line if line.endswith(b"\n") else line + b"\n") for line in lines
                )
            out.write(data)
            out.flush()
    return unwritten


async def _run_one(
    conn: Connection, vm: str, program: str, args: tuple[str, ...], options: dict[str, Any]
) -> ProcessResult:
    conn.vm = vm
    async with conn.connect() as vc:
        credentials = conn.credentials()
        (target,) = await resolve_vms(vc, [vm])
        return await vc.processes.run(target, credentials, program, *args, **options)


def _print_one(conn: Connection, vm: str, result: ProcessResult, *, captured: bool) -> None:
    if conn.as_json:
        conn.emit(result_json(conn, vm, result))
        return
    if captured:
        return  # the output was the answer, as with ssh; the exit code is vcenter-guest's
    seconds = _seconds(result)
    duration = "unknown" if seconds is None else f"{seconds:.3f} s"
    click.echo(f"{vm}: pid {result.pid}, exit code {result.exit_code}, duration {duration}")


async def _run_many(
    conn: Connection,
    vms: list[str],
    program: str,
    args: tuple[str, ...],
    *,
    options: dict[str, Any],
    concurrency: int,
) -> list[RunOutcome]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    async with conn.connect() as vc:
        credentials = conn.credentials()
        targets = await resolve_vms(vc, vms)
        names = dict(zip(targets, vms, strict=True))

        def finished(vm: str, outcome: RunOutcome) -> None:
            progress.advance(task)
            if conn.json_lines:
                conn.emit(result_json(conn, names.get(vm, vm), outcome))

        columns = (TextColumn("running {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=conn.stderr, transient=True) as progress:
            task = progress.add_task(program, total=len(vms))
            return await vc.processes.run_many(
                targets, credentials, program, *args, concurrency=concurrency, on_result=finished, **options
            )


def print_many(conn: Connection, vms: list[str], outcomes: list[RunOutcome], *, table_on_stderr: bool) -> int:
    """The outcomes as JSON, or a summary table: on stderr when stdout holds the programs' output."""
    failed = [o for o in outcomes if isinstance(o, errors.VcenterGuestError)]
    nonzero = [o for o in outcomes if not isinstance(o, errors.VcenterGuestError) and o.exit_code != 0]
    if conn.as_json:
        if not conn.json_lines:  # --json-lines printed each as it finished
            for vm, outcome in zip(vms, outcomes, strict=True):
                conn.emit(result_json(conn, vm, outcome))
    else:
        from rich.console import Console  # noqa: PLC0415 - rich loads only when a table is printed
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=f"{len(vms)} VMs", title_justify="left")
        for column in ("VM", "pid", "exit code", "duration", "error"):
            table.add_column(column, overflow="fold")
        for vm, outcome in zip(vms, outcomes, strict=True):
            if isinstance(outcome, errors.VcenterGuestError):
                table.add_row(vm, str(getattr(outcome, "pid", "") or ""), "", "", describe(outcome), style="red")
            else:
                seconds = _seconds(outcome)
                table.add_row(
                    vm,
                    str(outcome.pid),
                    str(outcome.exit_code),
                    "" if seconds is None else f"{seconds:.3f} s",
                    "",
                    style=None if outcome.exit_code == 0 else "yellow",
                )
        summary = (
            f"{len(vms) - len(failed) - len(nonzero)} exited 0, {len(nonzero)} exited non-zero, "
            f"{len(failed)} could not run it"
        )
        if table_on_stderr:
            conn.stderr.print(table)
            conn.stderr.print(summary, markup=False, highlight=False)
        else:
            Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)
            click.echo(summary)
    if failed:
        return EXIT_FAILED
    return 1 if nonzero else 0
