"""The data plane of the files service: Transfers.create, and the one GET or PUT of its URL (see `files`)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, quote_plus, urlencode

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import CAUGHT, Call, Engine, Move, Moved, Plan
from vcenter_guest._failures import scrub_error, tls_failure
from vcenter_guest._values import Credentials
from vcenter_guest.operations import operations

from .answers import reader
from .base import ServiceClient

__all__ = ["TransferPlans"]


def _text(raw: object) -> str:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return wire.text(raw)


_parse_url = reader("a transfer URL (a JSON string)", _text)


class TransferPlans:
    """Transfer URLs and their GET or PUT, as plans (a base of `FilesService`)."""

    _engine: Engine
    _owner: ServiceClient  # the Client or AsyncClient

    def _call(self, op_id: str, build: Callable[[], Any], parse: Any, vm: str, credentials: Credentials) -> Call[Any]:
        return Call(operations()[op_id], build, parse, vm=vm, credentials=credentials)

    def transfer_call(self, vm: str, credentials: Credentials, path: str, attributes: Any = None) -> Call[str]:
        """Transfers.create: a download URL, or an upload URL when `attributes` (FileCreationAttributes) are given."""
        from vcenter_guest_client import api, models  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        spec = models.TransferCreateSpec(path=path, attributes=UNSET if attributes is None else attributes)
        body = models.TransfersCreateBody(credentials=credentials._cached_generated(), spec=spec)
        build = functools.partial(api.transfers_create.request_kwargs, vm, body=body)
        return cast("Call[str]", self._call("transfers.create", build, _parse_url, vm, credentials))

    # --- the data plane -----------------------------------------------------------------------------------

    def data_url(self, url: str, method: str) -> tuple[str, str | None]:
        """The URL to send a transfer's GET or PUT to, and the host it stands for when the client's
        `esxi_hosts` reach that host at another address (else None): `*` becomes the server's host and
        port; the path and parameters are the generated operation's (guest_file.download / upload)."""
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index and models, loaded on first use
        from vcenter_guest_client.types import File  # noqa: PLC0415

        try:
            parsed = httpx.URL(url)
            params = parsed.params
            ids, tokens = params.get_list("id"), params.get_list("token")
            if parsed.scheme not in {"http", "https"} or not parsed.host or len(ids) != 1 or len(tokens) != 1:
                raise ValueError
        except (ValueError, httpx.InvalidURL):
            raise errors.UnexpectedResponse(
                "transfers.create: the server answered a URL that is not one of /guestFile?id=...&token=...",
                reason="not a transfer URL",
                operation="transfers.create",
            ) from None
        server = httpx.URL(self._engine.server)
        if parsed.host == "*":
            parsed = parsed.copy_with(host=server.host, port=server.port)
        if server.scheme == "https" and parsed.scheme != "https":
            # The file's bytes and the URL's token would cross the network in the clear, from a
            # client that was asked to use TLS (the mock over plain HTTP hands out http:// URLs to
            # plain HTTP clients only: they are used).
            where = parsed.netloc.decode("ascii", "replace")
            raise errors.UnexpectedResponse(
                f"transfers.create: the server answered an {parsed.scheme}:// transfer URL (host {where}) to a "
                f"client that talks https:// to {self._engine.server}: a downgrade to plain HTTP, refused "
                "before anything was sent (the file and the URL's credential would cross the network "
                "unencrypted)",
                reason="a transfer URL that downgrades https to http",
                operation="transfers.create",
            )
        named: str | None = None
        address = self._owner.esxi_hosts.get(parsed.host.lower())
        if address is not None:
            named = parsed.netloc.decode("ascii")
            mapped = httpx.URL(f"//{address}")
            parsed = parsed.copy_with(host=mapped.host, port=mapped.port if mapped.port is not None else parsed.port)
        if method == "GET":
            kwargs = api.guest_file_download.request_kwargs(id=ids[0], token=tokens[0])
        else:
            kwargs = api.guest_file_upload.request_kwargs(id=ids[0], token=tokens[0], body=File(payload=io.BytesIO()))
        origin = str(parsed.copy_with(path="/", query=None, fragment=None)).rstrip("/")
        return f"{origin}{kwargs['url']}?{urlencode(kwargs['params'])}", named

    def transfer(self, vm: str, path: str, move: Move, until: float | None = None) -> Plan[Moved]:
        """Performs one GET or PUT of a transfer URL; the package's error if it fails (never retried).
        `until` (the engine's clock) is when the caller's deadline ends, whose remainder is the Move's
        `limit` (say so in the message when it is what cut the transfer off)."""
        what = "download of" if move.method == "GET" else "upload to"
        url = httpx.URL(move.url)
        host = url.netloc.decode("ascii", "replace")
        if move.host is not None:
            host = f"{move.host} (reached at {host}, from esxi_hosts)"
        try:
            moved: Moved = yield move
        except CAUGHT as exc:
            if isinstance(exc, errors.VcenterGuestError):
                raise
            detail = type(exc).__name__
            tls = tls_failure(exc) if isinstance(exc, httpx.ConnectError) else None
            if tls is not None:
                # The host was reached; its certificate was refused (wrong name, or an unknown CA).
                reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or type(tls).__name__
                raise errors.RequestNotSent(
                    f"{vm}: the {what} {path} was not sent: TLS with the ESXi host {host} failed ({reason}); "
                    "its certificate must name the host as the transfer URL does, and be signed by a CA this "
                    "client trusts (ca_bundle=..., --ca-bundle)",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise errors.RequestNotSent(
                    f"{vm}: the {what} {path} could not reach the ESXi host {host} ({detail}): file transfers "
                    "go to the host that runs the VM, so its port (443) must be reachable from this machine",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            if isinstance(exc, httpx.DecodingError):
                raise self._scrubbed(
                    errors.UnexpectedResponse(
                        f"{vm}: the {what} {path} through the ESXi host {host} came back unreadable: {exc}",
                        reason=str(exc),
                        operation="transfers.create",
                    ),
                    url,
                ) from exc
            if isinstance(exc, httpx.TimeoutException):
                # PoolTimeout: the time was up before the request went out (the aiohttp transport's).
                late = errors.RequestNotSent if isinstance(exc, httpx.PoolTimeout) else errors.ResponseNotReceived
                raise late(
                    f"{vm}: the {what} {path} through the ESXi host {host} timed out: {self._time_rule(until)}; "
                    "the transfer URL may be used up, so it was not tried again",
                    operation="transfers.create",
                    vm=vm,
                ) from exc
            raise errors.ResponseNotReceived(
                f"{vm}: the {what} {path} through the ESXi host {host} failed ({detail}); "
                "the transfer URL may be used up, so it was not tried again",
                operation="transfers.create",
                vm=vm,
            ) from exc
        if 200 <= moved.status < 300:
            return moved
        raise self._scrubbed(_data_plane_error(vm, path, what, moved), url)

    def _time_rule(self, until: float | None) -> str:
        """Which bound cut a transfer off, in words."""
        if until is not None and self._engine.clock() >= until - 0.05:
            return "it did not end by the caller's deadline (run's timeout, plus the client's timeout for its output)"
        timeout = self._engine.exchange_timeout
        if timeout is None:
            return "it waited longer than the client's timeout allows"
        return f"it did not move 64 KiB within {timeout:g} s (the client's timeout), as a transfer must each time"

    def _scrubbed(self, error: errors.VcenterGuestError, url: httpx.URL) -> errors.VcenterGuestError:
        """`error` without the transfer's token: a data plane may quote it bare in its answer."""
        token = url.params.get("token") or ""
        redactor = self._engine.redactor.with_secrets([token, quote(token, safe=""), quote_plus(token)])
        scrub_error(error, redactor.scrub)
        return error

    def output_until(self, timeout: float | None) -> float | None:
        """The deadline (this engine's clock) of a run's output fetch, for a program started now with
        `timeout`: the timeout, plus a grace of one client `timeout` for fetching the output (the
        transfers and the calls that make them); None when either is None. The removal of the run
        directory after that is one more call, within the client's timeout and retry policy."""
        grace = self._engine.exchange_timeout
        return None if timeout is None or grace is None else self._engine.clock() + timeout + grace

    def fetch(  # noqa: PLR0917 - download's checked arguments, and the caller's deadline
        self,
        vm: str,
        credentials: Credentials,
        path: str,
        sink: Callable[[bytes], object],
        most: int | None,
        until: float | None = None,
    ) -> Plan[Moved]:
        """Downloads the guest file `path` into `sink` (at most `most` bytes): Transfers.create and one
        GET, both ended by `until` (the engine's clock; see `output_until`) if given."""
        url = yield from self._engine.call(self.transfer_call(vm, credentials, path), until)
        target, named = self.data_url(url, "GET")
        limit = None if until is None else until - self._engine.clock()
        if limit is not None and limit <= 0:
            raise errors.RequestNotSent(
                f"{vm}: the download of {path} was not sent: {self._time_rule(until)}",
                operation="transfers.create",
                vm=vm,
            )
        move = Move("GET", target, sink=sink, most=most, host=named, limit=limit)
        return (yield from self.transfer(vm, path, move, until))


def _data_plane_error(vm: str, path: str, what: str, moved: Moved) -> errors.VcenterGuestError:
    """The package's error for a data-plane answer that is not a success (plain text, no vAPI body)."""
    text = moved.text
    head = text.split(":", 1)[0].strip()
    fields: dict[str, Any] = {"status_code": moved.status, "operation": "transfers.create", "vm": vm}
    if moved.status == 404:
        return errors.NotFound(
            f"{vm}: the {what} {path} failed: the transfer URL is no longer valid (used, expired after 10 "
            f"minutes, or ended by a power change of the VM): {text}",
            **fields,
        )
    if moved.status == 507:
        return errors.UnableToAllocateResource(f"{vm}: the {what} {path} failed: no space left: {text}", **fields)
    if moved.status == 409 and head.isupper() and head.replace("_", "").isalpha():
        return errors.error_class(head)(f"{vm}: the {what} {path} failed: {text}", error_type=head, **fields)
    return errors.UnexpectedResponse(
        f"{vm}: the {what} {path} failed with HTTP {moved.status}: {text}",
        status_code=moved.status,
        body=text,
        reason="the data plane refused the transfer",
        operation="transfers.create",
    )
