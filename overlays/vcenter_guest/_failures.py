"""Failures as the package says them, below the engine: an httpx failure as the package's error
(whether the request may have reached the server), the TLS error behind one, and an error scrubbed
of the secrets a server may echo. Nothing here loads the generated client."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from typing import Any

import httpx

from vcenter_guest import errors

__all__ = ["scrub_error", "tls_failure", "transport_error"]

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)

# What OpenSSL says when the other end answered a TLS hello in plain HTTP (compiled on the first TLS
# failure, by `re`'s own cache: `import vcenter_guest` does not pay for it).
_PLAIN_HTTP = r"wrong.version.number|record.layer.failure|packet.length.too.long|http.request"

# What is known of a request whose answer did not come, by the httpx failure (the first that matches).
_NOT_RECEIVED = (
    (httpx.TimeoutException, "no response from {server} within the timeout ({detail})"),
    (httpx.TransportError, "the connection to {server} failed before a response arrived ({detail})"),
)


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a transport failure, if one is behind it: the innermost, which is the
    ssl module's own (with `verify_message`) even when a library wraps it in an exception that is an
    SSLError too (aiohttp's ClientConnectorCertificateError)."""
    found: ssl.SSLError | None = None
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:  # a cyclic chain ends the walk
        visited.add(id(seen))
        if isinstance(seen, ssl.SSLError):
            found = seen
        seen = seen.__cause__ or seen.__context__
    return found


def transport_error(
    exc: httpx.HTTPError, *, where: str, operation: str, vm: str | None, server: str
) -> errors.VcenterGuestError:
    """The package's exception for an httpx failure of the call `where` names (`processes.create on
    vm-42`); the httpx one is its `__cause__`."""
    error = _transport_error(exc, where, operation, vm, server)
    error.__cause__ = exc  # kept for debugging, and so that retries can see a TLS failure's cause
    return error


def _transport_error(
    exc: httpx.HTTPError, where: str, operation: str, vm: str | None, server: str
) -> errors.VcenterGuestError:
    detail = str(exc) or exc.__class__.__name__
    if isinstance(exc, _NOT_SENT):
        tls = tls_failure(exc)
        if tls is not None:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
            if re.search(_PLAIN_HTTP, str(reason), re.IGNORECASE):
                hint = (
                    f"it seems to speak plain HTTP: if so, give the server as {server.replace('https://', 'http://')}"
                )
            else:
                hint = (
                    "if a private CA signed the server's certificate, pass its CA bundle (ca_bundle=..., --ca-bundle)"
                )
            message = f"{where}: TLS with {server} failed ({reason}); the request was not sent; {hint}"
        else:
            message = f"{where}: cannot reach {server} ({detail}); the request was not sent"
        return errors.RequestNotSent(message, operation=operation, vm=vm)
    for kind, what in _NOT_RECEIVED:
        if isinstance(exc, kind):
            return errors.ResponseNotReceived(
                f"{where}: {what.format(server=server, detail=detail)}; the server may have acted on the request",
                operation=operation,
                vm=vm,
            )
    # DecodingError, TooManyRedirects...: an answer came, but not one this client can read.
    return errors.UnexpectedResponse(
        f"{where}: unreadable response from {server} ({detail})", reason=detail, operation=operation
    )


def _scrubbed_json(value: Any, scrub: Callable[[str], str], *, keys: bool) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {
            scrub(k) if keys and isinstance(k, str) else k: _scrubbed_json(v, scrub, keys=keys)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed_json(item, scrub, keys=keys) for item in value]
    return value


def _scrubbed_model(model: Any, scrub: Callable[[str], str]) -> Any:
    """A generated model with every string value in it scrubbed (through its wire form, so nested ones
    too); its field names stay, even where a secret is short enough to occur in one."""
    return type(model).from_dict(_scrubbed_json(model.to_dict(), scrub, keys=False))


def scrub_error(error: errors.VcenterGuestError, scrub: Callable[[str], str]) -> None:
    """Removes secrets from the attributes of an error as well as from its text: a server that echoes
    the request (the guest password, a token, the session id) must not leave them in `messages`,
    `data` or `challenge`, nor in what pickling carries."""
    error.args = tuple(scrub(a) if isinstance(a, str) else a for a in error.args)
    if isinstance(error, errors.UnexpectedResponse):
        error.body = scrub(error.body)
        error.reason = scrub(error.reason)
    if isinstance(error, errors.VapiError):
        error.messages = [_scrubbed_model(m, scrub) for m in error.messages]
        data = error.data
        if isinstance(data, dict):
            error.data = _scrubbed_json(data, scrub, keys=True)
        elif data is not None:
            error.data = _scrubbed_model(data, scrub)
    if isinstance(error, errors.Unauthenticated) and error.challenge is not None:
        error.challenge = scrub(error.challenge)
