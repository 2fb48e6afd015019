"""Checking what users pass to the clients' constructors, once, with messages that say what to do.

Every check raises `errors.UsageError` (also a ValueError) before anything is sent.
"""

from __future__ import annotations

import logging
import math
import os
import re
import ssl
from collections.abc import Mapping

import attrs
import httpx

from vcenter_guest._engine.retry import RetryPolicy
from vcenter_guest.errors import UsageError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ExchangeTimeout",
    "api_login",
    "retry_policy",
    "server_url",
    "tls_verify",
]

log = logging.getLogger("vcenter_guest")

DEFAULT_TIMEOUT = 30.0
"""Seconds one whole HTTP exchange may take (not a program: that is `run(timeout=...)`)."""


def server_url(server: object) -> str:
    """The base URL of a vCenter: "vc.example.com" -> "https://vc.example.com".

    >>> server_url("vc.example.com:8443/")
    'https://vc.example.com:8443'
    """
    if not isinstance(server, str) or not server.strip():
        raise UsageError("server must be a URL or host name, e.g. https://vcenter.example.com")
    text = server.strip()
    if "@" in text:
        # user:password@host. Refused before any other check, whose message would quote the URL: no
        # message may carry the credentials, whatever else is wrong with it (a host never holds '@').
        raise UsageError("do not put credentials (user:password@) in the server URL; pass user= and password=")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UsageError(f"server is not a valid URL: {server!r}") from None
    if url.scheme not in {"http", "https"} or not url.host or not re.fullmatch(_HOST, url.host):
        raise UsageError(
            f"server must be an http:// or https:// URL or a host[:port], e.g. vcenter.example.com, got {server!r}"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise UsageError(f"server: port {url.port} is not a TCP port (1-65535): {server!r}")
    if url.path.rstrip("/").endswith("/api"):
        # A path is a prefix (a reverse proxy's); /api is what the client adds to it.
        raise UsageError(f"give the server without /api (the client adds /api to each call): {server!r}")
    return str(url.copy_with(query=None, fragment=None)).rstrip("/")


_HOST = r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+"
"""A host name (underscores are common in lab names), an IPv4 address, or an IPv6 one (httpx strips its brackets).
A pattern string, as `_ADDRESS`: `re` compiles it on first use and keeps it, so `import vcenter_guest` does not."""


def tls_verify(verify: object, ca_bundle: object, url: str) -> bool | ssl.SSLContext:
    """What to give httpx as `verify`; warns when verification is turned off."""
    if ca_bundle is not None:
        if verify is False:
            raise UsageError("ca_bundle= and verify=False contradict each other: pass one of them")
        if not isinstance(ca_bundle, str | os.PathLike):
            raise UsageError("ca_bundle must be the path of a PEM file of CA certificates")
        try:
            return ssl.create_default_context(cafile=os.fspath(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc.__class__.__name__
            raise UsageError(f"cannot use the CA bundle {os.fspath(ca_bundle)!r}: {reason}") from None
    if verify is True:
        return True
    if verify is False:
        if url.startswith("https://"):
            log.warning(
                "TLS certificate verification is OFF for %s: anyone on the network path can impersonate "
                "the server and read the credentials sent to it",
                url,
            )
        return False
    if isinstance(verify, ssl.SSLContext):
        return verify
    raise UsageError("verify must be True, False or an ssl.SSLContext (for a CA file, pass ca_bundle=)")


_ADDRESS = r"[A-Za-z0-9._-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?"


def esxi_addresses(hosts: object) -> dict[str, str]:
    """`esxi_hosts`: ESXi host name (as transfer URLs give it, lower case) -> host[:port] to connect to."""
    if hosts is None:
        return {}
    if not isinstance(hosts, Mapping):
        raise UsageError("esxi_hosts must map host names to addresses, e.g. {'esxi-1.lab': '10.0.0.5'}")
    addresses: dict[str, str] = {}
    for name, address in hosts.items():
        if not isinstance(name, str) or not isinstance(address, str) or not re.fullmatch(_ADDRESS, address or "-:"):
            raise UsageError(f"esxi_hosts: {name!r} -> {address!r} is not a host name -> host[:port]")
        if not re.fullmatch(_ADDRESS, name):
            raise UsageError(f"esxi_hosts: {name!r} is not a host name")
        addresses[name.lower()] = address
    return addresses


@attrs.frozen(eq=False)
class ExchangeTimeout:
    """The client's `timeout`, checked once and carried as one value: httpx's phases (`phases`, what
    each request's `timeout` extension holds) and the bound of one whole exchange (`bound`, what the
    engine and the socket deadlines use). Nothing is read back out of httpx.

    >>> t = ExchangeTimeout.of(httpx.Timeout(5.0, read=60.0))
    >>> t.bound, t.phases["connect"], t.within(10.0)["read"]
    (60.0, 5.0, 10.0)
    """

    phases: dict[str, float | None]
    """connect, read, write and pool seconds, as `httpx.Timeout.as_dict()` gives them."""
    bound: float | None
    """Seconds one whole exchange may take: the largest of the connect, write and read time-outs (None
    if one of them is None: that phase may take forever)."""

    @classmethod
    def of(cls, timeout: object) -> ExchangeTimeout:
        """Seconds for one HTTP exchange (or an httpx.Timeout); None waits forever."""
        if isinstance(timeout, httpx.Timeout):
            phases = timeout.as_dict()
        elif timeout is None:
            phases = httpx.Timeout(None).as_dict()
        elif (
            isinstance(timeout, int | float)
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and timeout > 0
        ):
            phases = httpx.Timeout(float(timeout)).as_dict()
        else:
            raise UsageError("timeout must be a positive number of seconds, an httpx.Timeout or None")
        bounded = [phases[phase] for phase in ("connect", "write", "read")]
        bound = None if None in bounded else max(b for b in bounded if b is not None)
        return cls(phases, bound)

    def httpx(self) -> httpx.Timeout:
        """The same phases as the `httpx.Timeout` the httpx client is opened with."""
        return httpx.Timeout(**self.phases)

    def within(self, limit: float | None) -> dict[str, float | None]:
        """The request extension's phases with at most `limit` seconds each (a retry with less time left:
        no phase, the wait for a pooled connection included, may take longer); `phases` itself when
        `limit` is None or the whole bound."""
        if limit is None or limit == self.bound:
            return self.phases
        return {k: limit if v is None else min(v, limit) for k, v in self.phases.items()}


def retry_policy(retry: object) -> RetryPolicy:
    """The policy to use: the default one for None."""
    if retry is None:
        return RetryPolicy()
    if not isinstance(retry, RetryPolicy):
        raise UsageError("retry must be a RetryPolicy (RetryPolicy.never() to turn retries off)")
    return retry


def api_login(user: object, password: object, session_id: object) -> tuple[str | None, str | None, str | None]:
    """The API user, password and session id, checked: a session id, or a user and password, or both."""
    if session_id is not None and (
        not isinstance(session_id, str) or not session_id or not (session_id.isascii() and session_id.isprintable())
    ):
        raise UsageError("session_id must be a non-empty string of printable ASCII (it is sent as a header)")
    if (user is None) != (password is None):
        raise UsageError("pass both user= and password= (or neither, with session_id=)")
    if user is None and session_id is None:
        raise UsageError("pass user= and password= (or an existing session_id=) to log in to vCenter")
    if user is not None and (not isinstance(user, str) or not user):
        raise UsageError("user must be a non-empty string, e.g. administrator@vsphere.local")
    if password is not None and not isinstance(password, str):
        raise UsageError("password must be a string")
    return user, password, session_id
