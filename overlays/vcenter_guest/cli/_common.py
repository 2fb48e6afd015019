"""What the commands share: connection settings, secrets, the embedded mock, output (how a command
ends, its errors and exit codes, is `_outcome`).

Connection settings come from options (before or after the subcommand), the environment, a profile
or defaults (see `_settings`). There is no default server: without `--server` / `VCENTER_URL` / a
profile's server, a command that talks to a vCenter refuses, and `--mock` names the embedded mock
vCenter (the demo inventory, in this process) explicitly.

Secrets never come from options (other users of the host can read a command line): the API and
guest passwords come from `VCENTER_PASSWORD` / `VCENTER_GUEST_PASSWORD` (or a SAML token from
`VCENTER_GUEST_SAML_TOKEN`), else from a prompt when there is a terminal.

`--json` prints a list with one object per VM, each naming the server and the VM; `--json-lines`
prints the same objects one per line, as each VM finishes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vcenter_guest import Credentials, errors

from ._sessions import SessionStore, UnsafeCache
from ._settings import SETTINGS, load_profile

if TYPE_CHECKING:
    import filelock
    from rich.console import Console

    from vcenter_guest import AsyncClient
    from vcenter_guest.redaction import Redactor

__all__ = [
    "VM_HELP",
    "Connection",
    "connection_options",
    "group_options",
    "resolve_vms",
]

T = TypeVar("T")

_MAX_TURNS = 5
"""Times an invocation looks for a kept session, checks it and finds it ended before it logs in
without the cache (other invocations keeping sessions the server ends at once)."""
CLOSE_SECONDS = 10.0
"""How long closing a client (logging out) may take after Ctrl-C."""
VM_HELP = "VM id (vm-42) or name (looked up; a name several VMs share is refused, listing them)."
_VM_ID = re.compile(r"vm-\d+")
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
    """The resolved connection settings of one command (see `_settings`), the client and guest
    credentials they give, and how results are printed."""

    def __init__(self, values: Mapping[str, Any], profile: str | None = None) -> None:
        self.server: str | None = values["server"]
        self.mock: bool = values["mock"]
        self.user: str | None = values["user"]
        self.guest_user: str | None = values["guest_user"]
        self.insecure: bool = values["insecure"]
        self.ca_bundle: Path | None = values["ca_bundle"]
        self.session_cache: bool = values["session_cache"]
        self.http_timeout: float = values["http_timeout"]
        self.attempts: int = values["attempts"]
        self.debug: bool = values["debug"]
        self.json_lines: bool = values["json_lines"]
        self.as_json: bool = values["as_json"] or self.json_lines
        self.profile = profile
        self.redactor: Redactor | None = None
        self.server_name = "embedded-mock" if self.mock else ""  # the checked URL, once require_server ran
        self._stderr: Console | None = None
        self._records: list[dict[str, Any]] = []
        self._finished = False
        self.vm: str | None = None
        """The VM a one-VM command is about (an error's JSON result names it)."""
        self.kept_without_password = False
        """Whether the command runs on a kept session with no password to log in again with."""
        if self.mock and self.server:
            raise click.UsageError("--mock and --server (or VCENTER_URL, or a profile's server) exclude each other")
        if self.insecure and self.ca_bundle is not None:
            raise click.UsageError("--insecure and --ca-bundle contradict each other: pass one of them")

    @property
    def stderr(self) -> Console:
        """A rich console on stderr (progress, notices, log lines, errors), so stdout holds only results."""
        if self._stderr is None:
            from rich.console import Console  # noqa: PLC0415 - rich loads only for commands that print

            self._stderr = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._stderr

    def require_server(self) -> str:
        if not self.server:
            raise click.UsageError(
                "no vCenter to talk to: pass --server URL or set VCENTER_URL (or a profile with a server), "
                "or pass --mock to use the embedded mock vCenter"
            )
        from vcenter_guest.urls import server_url  # noqa: PLC0415

        if "@" in self.server:  # user:password@host; never quoted back (nor is the rest of the URL)
            raise click.UsageError(
                "the server URL holds credentials (user:password@): give the server alone, the user with --user "
                "or VCENTER_USER and the password in VCENTER_PASSWORD (or at the prompt)"
            )
        try:
            self.server_name = server_url(self.server)
        except errors.UsageError as exc:
            raise click.UsageError(f"--server: {exc}") from None
        return self.server_name

    def _client(self, **login: Any) -> AsyncClient:
        from vcenter_guest import AsyncClient, RetryPolicy  # noqa: PLC0415 - keeps `--help` fast

        retry = RetryPolicy(attempts=self.attempts)
        if self.mock:
            import httpx  # noqa: PLC0415

            from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER  # noqa: PLC0415 - starlette

            from ._mock import embedded_app  # noqa: PLC0415

            return AsyncClient(
                EMBEDDED_URL,
                user=DEMO_API_USER,
                password=DEMO_API_PASSWORD,
                transport=httpx.ASGITransport(embedded_app()),
                retry=retry,
            )
        return AsyncClient(
            self.server_name,
            verify=not self.insecure,
            ca_bundle=self.ca_bundle,
            timeout=self.http_timeout,
            retry=retry,
            **login,
        )

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncClient]:
        """A logged-in AsyncClient for the server (or the embedded mock with --mock), closed at the end.

        With the session cache on, a kept session that the server still accepts is used without the
        password; otherwise the client logs in and its session is kept for the next invocation.
        Concurrent invocations take turns at this under the cache's lock, so they log in once. A kept
        session the server ends mid-command is renewed by the client (with VCENTER_PASSWORD), and the
        new session is kept in its place."""
        import anyio  # noqa: PLC0415

        store: SessionStore | None = None
        if self.mock:
            vc = self._client()
        else:
            self.require_server()
            if not self.user:
                raise click.UsageError("pass --user or set VCENTER_USER (the vCenter SSO user to log in as)")
            vc, store = await self._logged_in(self.session_store())
        self.redactor = vc.redactor
        started_with = vc.session_id
        try:
            await vc.login()
            yield vc
        finally:
            with anyio.move_on_after(CLOSE_SECONDS, shield=True):  # Ctrl-C: still log out, briefly
                if store is not None and vc.session_id not in (None, started_with):
                    await self._keep_renewed(store, vc, started_with)
                await vc.close()

    def session_store(self) -> SessionStore | None:
        """The session cache, or None when it is off (or on the embedded mock)."""
        return SessionStore() if self.session_cache and not self.mock else None

    def warn(self, text: str) -> None:
        """One warning line on stderr."""
        self.stderr.print(f"warning: {text}", markup=False, highlight=False)

    async def _locked(self, store: SessionStore) -> filelock.BaseFileLock | None:
        """The cache's lock for this server and user, acquired; None when another invocation holds it
        longer than an HTTP exchange may take (this one then goes on without the cache, and ends its
        own session at the end). UnsafeCache when the lock cannot be made or taken."""
        import anyio  # noqa: PLC0415
        import filelock  # noqa: PLC0415 - with the session cache only

        assert self.user is not None
        lock = store.lock(self.server_name, self.user)
        ends = anyio.current_time() + self.http_timeout
        while True:
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                if anyio.current_time() >= ends:
                    self.warn("the session cache is busy (another vcenter-guest holds its lock): going on without it")
                    return None
                await anyio.sleep(0.02)
            except OSError as exc:
                raise UnsafeCache(f"cannot lock it: {exc.strerror or exc}") from None
            else:
                return lock

    async def _logged_in(self, store: SessionStore | None) -> tuple[AsyncClient, SessionStore | None]:
        """A logged-in client, on the kept session if the server still accepts it, else on a new one,
        kept; and the cache, or None if this invocation does not use it (off, unsafe: said in one
        line, or busy)."""
        if store is not None:
            try:
                return await self._from_cache(store)
            except UnsafeCache as exc:
                self.warn(f"not using the session cache: {exc}")
        return await self._fresh(), None

    async def _from_cache(self, store: SessionStore) -> tuple[AsyncClient, SessionStore | None]:
        """Only logging in and keeping the new session happen under the cache's lock: an invocation
        that finds that the lock's holder kept a session meanwhile releases the lock and uses that one
        (so concurrent invocations on an empty cache log in once); checks happen outside the lock."""
        dead: set[str] = set()  # kept sessions this invocation found ended: never checked twice
        for _ in range(_MAX_TURNS):
            vc = await self._reused(store, dead)
            if vc is not None:
                return vc, store
            lock = await self._locked(store)
            if lock is None:
                break
            try:
                kept = self._load(store)
                if kept is not None and kept not in dead:
                    continue  # kept by another invocation meanwhile: check it (the lock is released)
                vc = await self._fresh()
                return vc, (store if await self._keep(store, vc) else None)
            finally:
                lock.release()
        return await self._fresh(), None  # busy, or sessions kept and ended over and over: not kept

    async def _fresh(self) -> AsyncClient:
        """A client logged in with the user and password (VCENTER_PASSWORD, else a prompt)."""
        assert self.user is not None
        password = _secret("VCENTER_PASSWORD", f"vCenter password for {self.user}")
        vc = self._client(user=self.user, password=password)
        try:
            await vc.login()
        except BaseException:
            await vc.close()
            raise
        return vc

    def _load(self, store: SessionStore) -> str | None:
        assert self.user is not None
        return store.load(self.server_name, self.user)

    async def _keep(self, store: SessionStore, vc: AsyncClient) -> bool:
        """Keeps the client's session for the next invocations (then `close` leaves it alive); whether
        it was kept (if not, `close` ends it)."""
        assert self.user is not None
        session = vc.session_id
        try:
            kept = session is not None and store.save(self.server_name, self.user, session)
        except UnsafeCache as exc:
            self.warn(f"not keeping the session: {exc}")
            return False
        if kept:
            await vc.keep_session()
        return kept

    async def _keep_renewed(self, store: SessionStore, vc: AsyncClient, ended: str | None) -> None:
        """After the client renewed the kept session `ended` mid-command: keeps the new session in its
        place, unless another invocation kept one meanwhile (then `close` ends this one)."""
        try:
            lock = await self._locked(store)
            if lock is None:
                return
            try:
                if self._load(store) in (ended, None):
                    await self._keep(store, vc)
            finally:
                lock.release()
        except UnsafeCache:
            return

    @contextlib.asynccontextmanager
    async def client_for(self, **login: Any) -> AsyncIterator[AsyncClient]:
        """A client of the server with these login arguments, not logged in, closed at the end."""
        vc = self._client(**login)
        self.redactor = vc.redactor
        try:
            yield vc
        finally:
            await vc.close()

    async def _reused(self, store: SessionStore, dead: set[str]) -> AsyncClient | None:
        """A client on the kept session of (server, user) if the server still accepts it, else None
        (a session found ended is added to `dead`; the login that follows replaces it in the cache).
        With VCENTER_PASSWORD the client can log in again should the session end mid-command;
        without it, it cannot (`fail` says what to set)."""
        assert self.user is not None
        kept = self._load(store)
        if kept is None or kept in dead:
            return None
        password = os.environ.get("VCENTER_PASSWORD")
        login: dict[str, Any] = {"session_id": kept}
        if password is not None:
            login |= {"user": self.user, "password": password}
        vc = self._client(**login)
        try:
            alive = await vc.check_session()
        except errors.VcenterGuestError:
            alive = False  # unreachable and the like: the fresh login says why
        if alive:
            self.kept_without_password = password is None
            return vc
        await vc.close()
        dead.add(kept)
        return None

    def credentials(self) -> Credentials:
        """The guest credentials: the demo guest user on the embedded mock unless --guest-user says otherwise."""
        token = os.environ.get("VCENTER_GUEST_SAML_TOKEN")
        has_password = "VCENTER_GUEST_PASSWORD" in os.environ
        if self.mock and not self.guest_user and not has_password and not token:
            from vcenter_guest.mock import DEMO_GUEST_PASSWORD, DEMO_GUEST_USER  # noqa: PLC0415

            return Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)
        if token and not has_password:
            credentials = Credentials.saml(token, user=self.guest_user or None)
        else:
            if not self.guest_user:
                set_ = " (VCENTER_GUEST_PASSWORD is set, but for whom?)" if has_password else ""
                raise click.UsageError(f"pass --guest-user or set VCENTER_GUEST_USER (who the program runs as){set_}")
            password = _secret("VCENTER_GUEST_PASSWORD", f"Password of guest user {self.guest_user}")
            credentials = Credentials.password(self.guest_user, password)
        if self.redactor is not None:
            self.redactor.add(credentials.secret)
        return credentials

    # --- results --------------------------------------------------------------------------------

    def record(self, vm: str, **fields: Any) -> dict[str, Any]:
        """One VM's result as JSON: the server and the VM first, then `fields`."""
        return {"server": self.server_name, "vm": vm, **fields}

    def emit(self, record: dict[str, Any]) -> None:
        """A result for --json (printed with the others by `finish`) or --json-lines (printed now)."""
        if self.json_lines:
            click.echo(json.dumps(record, default=str))
        else:
            self._records.append(record)

    def finish(self) -> None:
        """Prints the results --json gathered: always a list, one object per VM."""
        if self.as_json and not self.json_lines and not self._finished:
            click.echo(json.dumps(self._records, indent=2, default=str))
        self._finished = True

    def print_json(self, value: Any) -> None:
        """Writes one JSON document to stdout."""
        click.echo(json.dumps(value, indent=2, default=str))


def _options() -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """The connection options, for the group (before the subcommand) and for each command."""
    seconds = click.FloatRange(min=0, min_open=True)
    return [
        click.option("--server", metavar="URL", help="vCenter URL or host[:port] [env VCENTER_URL]."),
        click.option(
            "--mock",
            is_flag=True,
            default=None,
            help="Use the embedded mock vCenter (demo inventory), in this process: its state lasts one "
            "invocation (a file uploaded, a program started are gone at the next command; "
            "`vcenter-guest mock` serves one that lasts).",
        ),
        click.option("--user", metavar="USER", help="vCenter SSO user [env VCENTER_USER]."),
        click.option(
            "--guest-user", metavar="USER", help="Guest OS user the program runs as [env VCENTER_GUEST_USER]."
        ),
        click.option(
            "--insecure",
            is_flag=True,
            default=None,
            help="Do not verify the server's TLS certificate (warns) [env VCENTER_INSECURE=1].",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="PEM file of the CA that signed the server's certificate [env VCENTER_CA_BUNDLE].",
        ),
        click.option(
            "--profile", metavar="NAME", help="Settings from a profile of the config file [env VCENTER_PROFILE]."
        ),
        click.option(
            "--session-cache/--no-session-cache",
            default=None,
            help="Reuse the API session across invocations (kept in the user's cache directory, owner-only) "
            "[env VCENTER_SESSION_CACHE; default: on].",
        ),
        click.option(
            "--http-timeout", type=seconds, metavar="SECONDS", help="Seconds per HTTP exchange [default: 30]."
        ),
        click.option(
            "--attempts",
            type=click.IntRange(min=1),
            metavar="N",
            help="Tries per request on transient faults (tools not running, VM busy, connection refused); "
            "a create that may have reached the server is never sent again [default: 5].",
        ),
        click.option("--json", "as_json", is_flag=True, default=None, help="Print results as a JSON list, one per VM."),
        click.option(
            "--json-lines", is_flag=True, default=None, help="Print each VM's result as one JSON line as it finishes."
        ),
        click.option("--debug", is_flag=True, default=None, help="Log requests; a (redacted) traceback on errors."),
    ]


def group_options(group: Callable[..., T]) -> Callable[..., T]:
    """The connection options before the subcommand: kept for the subcommand to resolve."""

    @functools.wraps(group)
    def wrapper(**kwargs: Any) -> T:
        ctx = click.get_current_context()
        names = {s.name for s in SETTINGS}
        ctx.obj = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
        return group(**kwargs)

    decorated: Callable[..., T] = wrapper
    for option in reversed(_options()):
        decorated = option(decorated)
    return decorated


def resolve(given: Mapping[str, Any], before: Mapping[str, Any]) -> Connection:
    """The Connection of a command: each setting from the first of the option after the subcommand,
    the option before it, the environment, the profile, the default."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.profile_key is None and setting.name != "profile":
            value = given.get(setting.name)
            values[setting.name] = value if value is not None else before.get(setting.name) or setting.default
    profile_name = given.get("profile") or before.get("profile") or os.environ.get("VCENTER_PROFILE") or None
    chosen, profile = load_profile(profile_name)
    for setting in SETTINGS:
        if setting.profile_key is None:
            continue
        value = given.get(setting.name)
        if value is None:
            value = before.get(setting.name)
        if value is None and setting.env is not None and os.environ.get(setting.env):
            text = os.environ[setting.env]
            value = setting.parse(text, setting.env) if setting.parse is not None else text
        if value is None:
            value = profile.get(setting.profile_key)
        values[setting.name] = setting.default if value is None else value
    if values["json_lines"] and values["as_json"]:
        raise click.UsageError("--json and --json-lines exclude each other: pick one")
    if values["mock"] and values["server"] and given.get("server") is None and before.get("server") is None:
        values["server"] = None  # --mock wins over a VCENTER_URL or profile server (explicitly asked for)
    return Connection(values, chosen)


def connection_options(command: Callable[..., T]) -> Callable[..., T]:
    """Adds the connection options (see `_settings`); the command gets `conn`, a Connection."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> T:
        names = {s.name for s in SETTINGS}
        given = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
        ctx = click.get_current_context()
        before = (ctx.parent.obj if ctx.parent is not None else None) or {}
        conn = resolve(given, before)
        try:
            return command(conn=conn, **kwargs)
        finally:
            if conn.as_json:
                conn.finish()

    decorated: Callable[..., T] = wrapper
    for option in reversed(_options()):
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
