"""The package's exception for an httpx failure: whether the request may have reached the server."""

from __future__ import annotations

import re
from typing import Any

import httpx

from vcenter_guest import errors
from vcenter_guest._engine.calls import Call
from vcenter_guest._engine.retry import tls_failure

__all__ = ["transport_error"]

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)


_PLAIN_HTTP = re.compile(r"wrong.version.number|record.layer.failure|packet.length.too.long|http.request", re.I)
"""What OpenSSL says when the other end answered a TLS hello in plain HTTP."""


def transport_error(exc: httpx.HTTPError, call: Call[Any], server: str) -> errors.VcenterGuestError:
    """The package's exception for an httpx failure of `call`; the httpx one is its `__cause__`."""
    error = _transport_error(exc, call, server)
    error.__cause__ = exc  # kept for debugging, and so that retries can see a TLS failure's cause
    return error


def _transport_error(exc: httpx.HTTPError, call: Call[Any], server: str) -> errors.VcenterGuestError:
    where, operation, vm = call.where, call.operation.id, call.vm
    detail = str(exc) or exc.__class__.__name__
    if isinstance(exc, _NOT_SENT):
        tls = tls_failure(exc)
        if tls is not None:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
            if _PLAIN_HTTP.search(str(reason)):
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
    if isinstance(exc, httpx.TimeoutException):
        return errors.ResponseNotReceived(
            f"{where}: no response from {server} within the timeout ({detail}); "
            "the server may have acted on the request",
            operation=operation,
            vm=vm,
        )
    if isinstance(exc, httpx.TransportError):
        return errors.ResponseNotReceived(
            f"{where}: the connection to {server} failed before a response arrived ({detail}); "
            "the server may have acted on the request",
            operation=operation,
            vm=vm,
        )
    # DecodingError, TooManyRedirects...: an answer came, but not one this client can read.
    return errors.UnexpectedResponse(
        f"{where}: unreadable response from {server} ({detail})", reason=detail, operation=operation
    )
