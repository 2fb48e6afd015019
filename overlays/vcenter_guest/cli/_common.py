"""What `run`, `ps` and `kill` share: connection options, secrets, the embedded mock, errors, output.

Secrets never come from options (other users of the host can read a command line): the API and
guest passwords come from `VCENTER_PASSWORD` / `VCENTER_GUEST_PASSWORD` (or a SAML token from
`VCENTER_GUEST_SAML_TOKEN`), else from a prompt when there is a terminal.

Without `--server` or `VCENTER_URL` the commands talk to the embedded mock vCenter (the demo
inventory, in this process) as its demo users, and say so in one line on stderr.

Exit codes: the program's own (one VM), 124 when it timed out, 125 when vcenter-guest could not
run it (connection, API error), 2 for a bad command line.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from vcenter_guest import Credentials, errors

if TYPE_CHECKING:
    from rich.console import Console

    from vcenter_guest import AsyncClient
    from vcenter_guest.redaction import Redactor

__all__ = [
    "EXIT_FAILED",
    "EXIT_TIMEOUT",
    "VM_HELP",
    "Connection",
    "connection_options",
    "describe",
    "fail",
    "resolve_vms",
    "run_async",
]

T = TypeVar("T")

EXIT_TIMEOUT = 124
VM_HELP = "VM id (vm-42) or name (looked up; a name several VMs share is refused, listing them)."
_VM_ID = re.compile(r"vm-\d+")
EXIT_FAILED = 125
EMBEDDED_URL = "http://embedded-mock.invalid"


def _interactive() -> bool:
    return sys.stdin.isatty()


def _secret(variable: str, prompt: str) -> str:
    value = os.environ.get(variable)
    if value is not None:
        return value
    if _interactive():
        entered: str = click.prompt(prompt, hide_input=True, err=True)
        return entered
    raise click.UsageError(
        f"set {variable} (secrets are read from the environment or a prompt, never from the command line)"
    )


class Connection:
    """The parsed connection options of one command, and the client and guest credentials they give."""

    def __init__(
        self,
        *,
        server: str | None,
        user: str | None,
        guest_user: str | None,
        insecure: bool,
        ca_bundle: Path | None,
        http_timeout: float,
        attempts: int,
        debug: bool,
        as_json: bool,
    ) -> None:
        self.server = server
        self.user = user
        self.guest_user = guest_user
        self.insecure = insecure
        self.ca_bundle = ca_bundle
        self.http_timeout = http_timeout
        self.attempts = attempts
        self.debug = debug
        self.as_json = as_json
        self.embedded = not server
        self.redactor: Redactor | None = None
        self._stderr: Console | None = None

    @property
    def stderr(self) -> Console:
        """A rich console on stderr (progress, notices, errors), so stdout holds only results."""
        if self._stderr is None:
            from rich.console import Console  # noqa: PLC0415 - rich loads only for commands that print

            self._stderr = Console(stderr=True, highlight=False)
        return self._stderr

    def client(self) -> AsyncClient:
        """An AsyncClient for `--server`, or for the embedded mock vCenter."""
        from vcenter_guest import AsyncClient, RetryPolicy  # noqa: PLC0415 - keeps `--help` fast

        retry = RetryPolicy(attempts=self.attempts)

        if self.embedded:
            import httpx  # noqa: PLC0415

            from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, create_app  # noqa: PLC0415 - starlette

            click.echo(
                "No --server or VCENTER_URL: using the embedded mock vCenter (demo inventory, in this process) "
                f"as {DEMO_API_USER}.",
                err=True,
            )
            client = AsyncClient(
                EMBEDDED_URL,
                user=DEMO_API_USER,
                password=DEMO_API_PASSWORD,
                transport=httpx.ASGITransport(create_app()),
                retry=retry,
            )
        else:
            assert self.server is not None
            if not self.user:
                raise click.UsageError("pass --user or set VCENTER_USER (the vCenter SSO user to log in as)")
            password = _secret("VCENTER_PASSWORD", f"vCenter password for {self.user}")
            client = AsyncClient(
                self.server,
                user=self.user,
                password=password,
                verify=not self.insecure,
                ca_bundle=self.ca_bundle,
                timeout=self.http_timeout,
                retry=retry,
            )
        self.redactor = client.redactor
        return client

    def credentials(self) -> Credentials:
        """The guest credentials: the demo guest user on the embedded mock unless --guest-user says otherwise."""
        if self.embedded and not self.guest_user:
            from vcenter_guest.mock import DEMO_GUEST_PASSWORD, DEMO_GUEST_USER  # noqa: PLC0415

            return Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)
        token = os.environ.get("VCENTER_GUEST_SAML_TOKEN")
        if token and "VCENTER_GUEST_PASSWORD" not in os.environ:
            credentials = Credentials.saml(token, user=self.guest_user or None)
        else:
            if not self.guest_user:
                raise click.UsageError("pass --guest-user or set VCENTER_GUEST_USER (who the program runs as)")
            password = _secret("VCENTER_GUEST_PASSWORD", f"Password of guest user {self.guest_user}")
            credentials = Credentials.password(self.guest_user, password)
        if self.redactor is not None:
            self.redactor.add(credentials.secret)
        return credentials

    def print_json(self, value: Any) -> None:
        """Writes one JSON document to stdout."""
        click.echo(json.dumps(value, indent=2, default=str))


def describe(exc: BaseException) -> str:
    """One line for an error: its type, where it happened, and the server's message."""
    name = type(exc).__name__
    if isinstance(exc, errors.VapiError):
        where = " ".join(part for part in (exc.operation, "on" if exc.vm else "", exc.vm or "") if part)
        return f"{name} ({where}): {exc}" if where else f"{name}: {exc}"
    return f"{name}: {exc}"


def error_json(exc: BaseException) -> dict[str, Any]:
    """An error as JSON, for --json output."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, errors.VapiError):
        out["error_type"] = exc.error_type
    return out


def fail(conn: Connection, exc: BaseException, code: int = EXIT_FAILED) -> NoReturn:
    """Prints `exc` as one line (plus a redacted traceback with --debug) and exits with `code`."""
    scrub = conn.redactor.scrub if conn.redactor is not None else (lambda text: text)
    if conn.debug:
        click.echo(scrub("".join(traceback.format_exception(exc))), err=True)
    click.echo(scrub(f"error: {describe(exc)}"), err=True)
    sys.exit(code)


def run_async(conn: Connection, work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` in an event loop and turns every error into one line and an exit code."""
    import anyio  # noqa: PLC0415

    _configure_logging(conn.debug)
    try:
        return anyio.run(work)
    except errors.UsageError as exc:
        fail(conn, exc, 2)
    except errors.ProcessTimeout as exc:
        fail(conn, exc, EXIT_TIMEOUT)
    except errors.VcenterGuestError as exc:
        fail(conn, exc)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as exc:
        fail(conn, RuntimeError(f"internal error ({type(exc).__name__}: {exc}); --debug shows the traceback"))


class _StderrHandler(logging.Handler):
    """Writes records to whatever sys.stderr is now (a handler holding the stream would keep a stale one)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _configure_logging(debug: bool) -> None:
    # Retries and TLS warnings always show; --debug adds logins and every HTTP request (no secrets:
    # tests/overlay/test_redaction.py checks these loggers at DEBUG).
    for name, level in (("vcenter_guest", logging.DEBUG if debug else logging.WARNING), ("httpx", logging.INFO)):
        logger = logging.getLogger(name)
        if name == "httpx" and not debug:
            continue
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
            logger.addHandler(handler)
        logger.setLevel(level)


def connection_options(command: Callable[..., T]) -> Callable[..., T]:
    """Adds --server, --user, --guest-user, --insecure, --ca-bundle, --http-timeout, --attempts, --json, --debug."""
    options = [
        click.option(
            "--server",
            envvar="VCENTER_URL",
            metavar="URL",
            help="vCenter URL or host name [env VCENTER_URL]. Default: the embedded mock vCenter.",
        ),
        click.option("--user", envvar="VCENTER_USER", metavar="USER", help="vCenter SSO user [env VCENTER_USER]."),
        click.option(
            "--guest-user",
            envvar="VCENTER_GUEST_USER",
            metavar="USER",
            help="Guest OS user the program runs as [env VCENTER_GUEST_USER].",
        ),
        click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate (warns)."),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="PEM file of the CA that signed the server's certificate.",
        ),
        click.option(
            "--http-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="Seconds to wait for each HTTP response.",
        ),
        click.option(
            "--attempts",
            type=click.IntRange(min=1),
            metavar="N",
            default=5,
            show_default=True,
            help="Tries per request on transient faults (tools not running, VM busy, connection refused); "
            "a create that may have reached the server is never sent again.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print results as JSON on stdout."),
        click.option("--debug", is_flag=True, help="Log requests and print a (redacted) traceback on errors."),
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> T:
        conn = Connection(
            server=kwargs.pop("server"),
            user=kwargs.pop("user"),
            guest_user=kwargs.pop("guest_user"),
            insecure=kwargs.pop("insecure"),
            ca_bundle=kwargs.pop("ca_bundle"),
            http_timeout=kwargs.pop("http_timeout"),
            attempts=kwargs.pop("attempts"),
            debug=kwargs.pop("debug"),
            as_json=kwargs.pop("as_json"),
        )
        return command(conn=conn, **kwargs)

    decorated: Callable[..., T] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


async def resolve_vms(vc: Any, targets: list[str]) -> list[str]:
    """The VM ids of `targets`: ids as they are, names looked up in one VM.list (UsageError when several
    VMs have a name, NotFound when none has it)."""
    names = sorted({t for t in targets if not _VM_ID.fullmatch(t)})
    if not names:
        return targets
    found: dict[str, list[str]] = {name: [] for name in names}
    for summary in await vc.vms.list(names=names):
        found.setdefault(summary.name, []).append(summary.vm)
    for name in names:
        if not found[name]:
            found[name] = [await vc.vms.find(name)]  # an id of another form, or NotFound naming it
        if len(found[name]) > 1:
            raise errors.UsageError(f"{len(found[name])} VMs are named {name!r}: {', '.join(found[name])}; use the id")
    return [t if _VM_ID.fullmatch(t) else found[t][0] for t in targets]
