"""`vcenter-guest fuzz`: property-based fuzz testing of a server that implements the guest processes API.

Exit codes: 0 passed (nothing failed, every check and scenario exercised), 1 a check or scenario
failed, 2 usage or connection errors (click's usage errors are 2 as well), 3 nothing failed but a
check or scenario was never exercised (the run lists which).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from ._common import Connection, connection_options

if TYPE_CHECKING:
    from rich.console import Console

    from vcenter_guest.fuzz import FuzzOptions, FuzzResult, FuzzTarget

__all__ = ["EXIT_FAILED", "EXIT_NOT_EXERCISED", "EXIT_OK", "EXIT_USAGE", "fuzz"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_EXERCISED = 0, 1, 2, 3


class _CannotRun(click.ClickException):
    """The run could not start (unreachable server, rejected login, missing extra): exit 2, no traceback."""

    exit_code = EXIT_USAGE


@contextlib.contextmanager
def _embedded_mock() -> Iterator[tuple[str, Any]]:
    from vcenter_guest.mock import serve  # noqa: PLC0415 - only with --mock

    from ._mock import embedded_app  # noqa: PLC0415

    app = embedded_app()
    with serve(app=app) as url:
        yield url, app


@attrs.frozen
class _Guest:
    """What the options say of a real server's guests: the programs the run may start, and where."""

    programs: tuple[str, ...]
    any_program: bool
    ignores_termination: tuple[str, ...]
    sandbox: bool
    guest_dir: str | None


def _server_target(conn: Connection, vms: tuple[str, ...], guest: _Guest) -> tuple[FuzzTarget, str]:
    """The server the connection options name, as a target; and where it is (its URL)."""
    from vcenter_guest.fuzz import FuzzTarget  # noqa: PLC0415

    url = conn.require_server()
    user = conn.user
    if not user:
        raise click.UsageError("pass --user or set VCENTER_USER (the API user the run logs in as)")
    if not vms:
        raise click.UsageError("name at least one VM with --vm: requests only target the VMs named")
    if not guest.programs and not guest.any_program:
        raise click.UsageError("name at least one program with --program (or allow any with --any-program)")
    password = os.environ.get("VCENTER_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise click.UsageError("set VCENTER_PASSWORD (no terminal to prompt for the password)")
        password = click.prompt(f"Password for {user}", hide_input=True)
    try:
        target = FuzzTarget(
            url=url,
            user=user,
            password=password,
            vms=vms,
            programs=guest.programs,
            any_program=guest.any_program,
            guest_user=conn.guest_user,
            guest_password=os.environ.get("VCENTER_GUEST_PASSWORD"),
            ignores_termination=guest.ignores_termination,
            tls_verify=not conn.insecure,
            ca_bundle=None if conn.ca_bundle is None else str(conn.ca_bundle),
            sandbox=guest.sandbox,
            guest_dir=guest.guest_dir,
        )
    except ValueError as exc:  # what the target refuses (a program that is not a path, ...)
        raise click.UsageError(str(exc)) from None
    return target, target.base_url


def _print_summary(console: Console, result: FuzzResult) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Cases per operation", title_justify="left")
    for column, justify in (("operation", "left"), ("cases", "right"), ("statuses", "left"), ("failed", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for label, stats in sorted(result.operations.items()):
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(stats.statuses.items()))
        table.add_row(label, str(stats.cases), statuses, str(sum(stats.failures.values())))
    table.add_row("total", str(result.total_cases), "", str(sum(f.count for f in result.failures)))
    console.print(table)
    checks: dict[str, int] = {}
    for stats in result.operations.values():
        for check, n in stats.failures.items():
            checks[check] = checks.get(check, 0) + n
    if checks:
        console.print("Failed checks: " + ", ".join(f"{name} ({n})" for name, n in sorted(checks.items())))
    _print_exercised(console, result)
    if result.seconds:
        console.print("Time: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.seconds.items()))
    created = sum(result.positive_create_statuses.values())
    if created:
        console.print(
            f"Positive create cases: {created}, of which {result.positive_create_statuses[201]} started a "
            f"process (201): {result.positive_create_success_share:.0%}"
        )


def _print_exercised(console: Console, result: FuzzResult) -> None:
    """Per check and per scenario: the cases that exercised it and those that failed."""
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Checks and scenarios", title_justify="left")
    for column, justify in (("check or scenario", "left"), ("exercised", "right"), ("failed", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, tally in sorted(result.checks.items()):
        table.add_row(f"check {name}", str(tally.exercised), str(tally.failed))
    for outcome in result.scenarios:
        exercised = f"{outcome.cases} requests" if outcome.exercised else f"not run: {outcome.not_run}"
        table.add_row(f"scenario {outcome.name}", exercised, "1" if outcome.failure else "0")
    console.print(table)


def _print_failures(console: Console, result: FuzzResult) -> None:
    for number, failure in enumerate(result.failures, 1):
        console.print()
        console.rule(f"Failure {number}: {failure.check}", align="left")
        console.print(f"Operation: {failure.operation}    status: {failure.status}    seen {failure.count}x")
        console.print(failure.title)
        console.print(failure.message, markup=False)
        console.print("Reproduce with:", markup=False)
        console.print(f"    {failure.curl}", markup=False, soft_wrap=True)


def _absolute_guest_path(value: str | None) -> str | None:
    """--guest-dir: an absolute guest path (`/...` or `C:\\...`), or None."""
    if value is None:
        return None
    if "\0" in value or not (value.startswith("/") or re.match(r"[A-Za-z]:[\\/]", value)):
        raise click.BadParameter(f"must be an absolute path in the guest (/... or C:\\...), got {value!r}")
    return value


@click.command()
@click.option("--vm", "vms", multiple=True, help="A VM the run may target (repeatable; at least one with --server).")
@click.option("--program", "programs", multiple=True, help="A program create may start (repeatable).")
@click.option("--any-program", is_flag=True, help="Let create start generated program paths (never on real guests).")
@click.option(
    "--ignores-termination",
    multiple=True,
    help="A program that ignores SIGTERM/SIGKILL: get may show it running after delete (repeatable).",
)
@click.option(
    "--max-examples", type=click.IntRange(1), default=50, show_default=True, help="Cases per operation and phase."
)
@click.option("--seed", type=int, default=None, help="Seed of the generator (the same seed repeats a run).")
@click.option(
    "--max-failures",
    type=click.IntRange(1),
    default=None,
    help="Stop the random phases after this many distinct failures (default: run the whole budget).",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Concurrent requests.")
@click.option("--no-stateful", is_flag=True, help="Skip the stateful phase (create -> get -> delete -> get).")
@click.option(
    "--no-scenarios", is_flag=True, help="Skip the conformance scenarios (then the verdict cannot be PASSED)."
)
@click.option(
    "--scenarios-only", is_flag=True, help="Run the conformance scenarios only (quick; the checks stay unexercised)."
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the verdict as JUnit XML: one test case per check and per scenario (for CI systems).",
)
@click.option(
    "--report",
    "reports",
    type=click.Choice(["junit", "har", "ndjson", "json"]),
    multiple=True,
    help="Write a report (repeatable); secrets are filtered out.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("fuzz-reports"),
    show_default=True,
    help="Where reports go.",
)
@click.option(
    "--guest-dir",
    default=None,
    callback=lambda ctx, param, value: _absolute_guest_path(value),
    help="Guest directory under which the run makes the only directory its file operations touch "
    "(default: the guest's temporary directory). The run removes its directory at the end.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="The server is a disposable test double: requests may target any VM id and pid (never a real vCenter).",
)
@connection_options
def fuzz(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    programs: tuple[str, ...],
    any_program: bool,
    ignores_termination: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    max_failures: int | None,
    workers: int,
    no_stateful: bool,
    no_scenarios: bool,
    scenarios_only: bool,
    junit_xml: Path | None,
    reports: tuple[str, ...],
    report_dir: Path,
    sandbox: bool,
    guest_dir: str | None,
) -> None:
    """Fuzz-test a server of the guest operations API with schemathesis (stateless and stateful).

    --server (or VCENTER_URL, or a profile) names the server; --mock tests the embedded mock vCenter
    (demo inventory). Guest credentials come from --guest-user / VCENTER_GUEST_USER and
    VCENTER_GUEST_PASSWORD; nothing secret goes on the command line.

        VCENTER_PASSWORD=... VCENTER_GUEST_USER=root VCENTER_GUEST_PASSWORD=... \\
          vcenter-guest fuzz --server https://vc.example.com --user svc@vsphere.local \\
            --vm vm-42 --program /bin/true --report junit

    Conformance scenarios run first (the API's facts no schema sees: a transfer URL serves once, an
    error carries its documented data...), then the random phases. `--report json` writes verdict.json.

    Exit status: 0 passed (every check and scenario exercised), 1 a check or scenario failed,
    2 usage or connection error, 3 nothing failed but something was never exercised (listed).
    """
    from rich.console import Console  # noqa: PLC0415 - keep `vcenter-guest --help` fast

    _require_fuzz_extra()
    from vcenter_guest.fuzz import FuzzOptions  # noqa: PLC0415

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    options = FuzzOptions(
        max_examples=max_examples,
        seed=seed,
        max_failures=max_failures,
        workers=workers,
        stateful=not no_stateful,
        scenarios=not no_scenarios,
        scenarios_only=scenarios_only,
        junit_xml=junit_xml,
        reports=reports,
        report_dir=report_dir,
        request_timeout=conn.http_timeout,
    )
    guest = _Guest(programs, any_program, ignores_termination, sandbox, guest_dir)
    with contextlib.ExitStack() as stack:
        target, where = _mock_target(stack, vms) if conn.mock else _server_target(conn, vms, guest)
        result = _run_fuzz(console, target, where, options)
    _print_verdict(console, result)


def _require_fuzz_extra() -> None:
    """Imports the fuzz package, or says what it needs (the extra, on Python 3.11 or later)."""
    try:
        import vcenter_guest.fuzz  # noqa: F401, PLC0415
    except ImportError as exc:  # MissingExtra says which extra; schemathesis, in it, needs Python 3.11
        raise _CannotRun(f"{exc}; the fuzz extra needs Python 3.11 or later") from None


def _mock_target(stack: contextlib.ExitStack, vms: tuple[str, ...]) -> tuple[FuzzTarget, str]:
    """The embedded mock vCenter, served until `stack` closes, as a target; and where it is."""
    from vcenter_guest.fuzz import mock_target  # noqa: PLC0415

    mock_url, app = stack.enter_context(_embedded_mock())
    return mock_target(app, url=mock_url, vms=vms), f"the embedded mock vCenter at {mock_url} (demo inventory)"


def _run_fuzz(console: Console, target: FuzzTarget, where: str, options: FuzzOptions) -> FuzzResult:
    """Says what the run will do, then runs it, printing its progress."""
    from vcenter_guest.fuzz import LoginError, run, safety_rules  # noqa: PLC0415

    _print_target(console, target, where, safety_rules(target))
    try:
        return run(target, options, progress=lambda line: console.print(f"  {line}", markup=False))
    except LoginError as exc:
        raise _CannotRun(f"cannot start: {exc}") from None


def _print_target(console: Console, target: FuzzTarget, where: str, rules: list[str]) -> None:
    """What the run will do, before it starts: its safety rules, its target, VMs and programs."""
    console.print("Safety rules of this run:", markup=False)
    for rule in rules:
        console.print(f"  - {rule}", markup=False)
    console.print(f"Target: {where}", markup=False)
    if target.guest_credentials() is None:
        console.print("Note: no VCENTER_GUEST_USER/VCENTER_GUEST_PASSWORD: guest calls cannot succeed.")
    console.print(
        f"VMs: {', '.join(target.vms)}; programs: {'any' if target.any_program else ', '.join(target.programs)}",
        markup=False,
    )


def _print_verdict(console: Console, result: FuzzResult) -> None:
    """The run's summary, failures, errors and reports; exits 1 on a failure, 2 when it could not test everything."""
    _print_summary(console, result)
    _print_failures(console, result)
    for error in result.errors:
        console.print(f"Error: {error}", markup=False)
    for path in result.reports:
        console.print(f"Report: {path}", markup=False)
    if result.failures:
        console.print(f"FAILED: {len(result.failures)} distinct failure(s)", markup=False)
        sys.exit(EXIT_FAILED)
    if result.errors:
        console.print("ERRORS: the run could not test everything (see above)", markup=False)
        sys.exit(EXIT_USAGE)
    if result.unexercised:
        console.print("NOT EXERCISED (nothing failed, but these vouch for nothing):", markup=False)
        for name in result.unexercised:
            console.print(f"  - {name}", markup=False)
        sys.exit(EXIT_NOT_EXERCISED)
    console.print("PASSED: no check or scenario failed, and every one was exercised", markup=False)
