"""Reading an answer's body with a cap on its decoded size, so that no server can exhaust the client's memory.

httpx reads and decompresses whole bodies (a 100 MB body took the client to 847 MB; a 1 MB gzip body
that expands to 1 GiB, to 4.5 GB). The drivers instead stream the raw bytes and decode them here with
`zlib`'s `max_length`, so that a decompression bomb stops at the cap too: no more than the cap plus
one network chunk is ever held. Past the cap the connection is dropped and the call fails with
`errors.UnexpectedResponse` naming the cap.

A transfer's body (a file, of any size) is not collected but streamed to its destination: `Codings`
undoes its content codings there, stacked ones included (`gzip, gzip`), piece by piece, so that a
bomb of any depth costs a few pieces of memory, and the transfer's own cap (`max_bytes`,
`max_output_bytes`) applies to the decoded bytes (httpx's decoders expand each network chunk whole:
a 13 KB `gzip, gzip` answer took the client to 4 GB and MemoryError).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Body", "BodyTooLarge", "Codings", "unbind"]

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The default cap on one API answer's decoded body: far above any JSON this API sends."""

# Content-Encoding -> zlib wbits; the clients ask for these only (HEADERS' Accept-Encoding).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


PIECE = 64 * 1024
"""The most bytes one step of `Codings` decodes at a time (per layer)."""
MAX_CODINGS = 4
"""The most content codings one transfer's body may stack (each holds zlib's window, 32 KiB)."""


class _Layer:
    """One content coding undone, at most PIECE bytes a step."""

    __slots__ = ("_inflate", "_name", "_started")

    def __init__(self, name: str) -> None:
        self._name = name
        self._inflate = zlib.decompressobj(_WBITS[name])
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data` (the next bytes of this coding's input)."""
        try:
            yield from self._feed(data)
        except zlib.error as exc:
            raise httpx.DecodingError(f"the answer's {self._name} body cannot be decoded ({exc})") from None

    def _feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate.eof and data:
            self._another_member()
        out = self._decompress(data)
        while True:
            if out:
                yield out
            inflate = self._inflate
            if inflate.eof and inflate.unused_data:
                rest = inflate.unused_data
                self._another_member()
                out = self._inflate.decompress(rest, PIECE)
            elif inflate.unconsumed_tail or len(out) == PIECE:
                # Cut at PIECE: the rest of the input waits in unconsumed_tail, or zlib holds output back.
                out = inflate.decompress(inflate.unconsumed_tail, PIECE)
            else:
                return  # all of `data` is in, and zlib holds nothing back

    def _decompress(self, data: bytes) -> bytes:
        started = self._started
        self._started = started or bool(data)
        try:
            return self._inflate.decompress(data, PIECE)
        except zlib.error:
            if self._name != "deflate" or started:
                raise
            # "deflate" as some servers send it: raw, without zlib's header (httpx accepts it too).
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflate.decompress(data, PIECE)

    def _another_member(self) -> None:
        # gzip may hold several members one after the other (RFC 1952); deflate ends at its end.
        if self._name == "deflate":
            raise zlib.error("data after the end of the compressed body")
        self._inflate = zlib.decompressobj(_WBITS[self._name])

    def finish(self) -> None:
        """All input is in: the coding must have reached its end."""
        if not self._inflate.eof:
            raise httpx.DecodingError(f"the answer's {self._name} body ends before its end (truncated or corrupt)")


class Codings:
    """Undoes a transfer body's content codings (its Content-Encoding headers, in the order they
    were applied: `gzip, deflate` is undone deflate first), piece by piece: `decode(raw)` for each
    raw network chunk, then `end()`. Each step of each layer decodes at most PIECE bytes, and the
    pieces are handed on as they come, so a consumer that stops taking them (at its cap) stops the
    decoding too; memory is a few pieces per layer, whatever the body expands to.

    gzip, x-gzip and deflate are undone (at most MAX_CODINGS of them); any other coding is refused
    (`httpx.DecodingError`, naming it): transfers ask for `identity`, and bytes the client cannot
    decode must not pass for the file.

    >>> import gzip
    >>> codings = Codings(httpx.Headers({"Content-Encoding": "gzip, gzip"}))
    >>> b"".join(codings.decode(gzip.compress(gzip.compress(b"hello")))), codings.end()
    (b'hello', None)
    """

    __slots__ = ("_layers", "names")

    def __init__(self, headers: httpx.Headers) -> None:
        names = [name.strip().lower() for value in headers.get_list("content-encoding") for name in value.split(",")]
        self.names = [name for name in names if name not in {"", "identity"}]
        unknown = [name for name in self.names if name not in _WBITS]
        if unknown:
            raise httpx.DecodingError(
                f"the answer is encoded as {', '.join(self.names)!r}, and {', '.join(unknown)!r} is a coding the "
                "client does not undo (it asked for identity; it undoes gzip and deflate)"
            )
        if len(self.names) > MAX_CODINGS:
            raise httpx.DecodingError(
                f"the answer is encoded {len(self.names)} times over ({', '.join(self.names)}); at most "
                f"{MAX_CODINGS} codings are undone"
            )
        self._layers = [_Layer(name) for name in reversed(self.names)]

    def decode(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw chunk of the body (at most PIECE bytes each, but an
        unencoded body's chunks as they are)."""
        if not self._layers:
            if raw:
                yield raw
            return
        yield from self._through(0, raw)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)

    def end(self) -> None:
        """The body is all in: each coding must have reached its end (else `httpx.DecodingError`)."""
        for layer in self._layers:
            layer.finish()


class BodyTooLarge(httpx.DecodingError):
    """The decoded body passed the cap (an httpx error, so the engine reports it as an unreadable answer)."""


class Body:
    """Collects one streamed response's decoded body, up to `limit` bytes (`consume` or `aconsume` its raw chunks)."""

    __slots__ = ("_chunks", "_decoder", "_limit", "_size", "_streamed", "plain")

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._streamed = response
        self._limit = limit
        self._size = 0
        self._chunks: list[bytes] = []
        headers = response.headers
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise BodyTooLarge(f"the answer's body is larger than {limit} bytes (max_response_bytes)")
        encoding = headers.get("content-encoding", "identity").strip().lower()
        self.plain = length.isdigit() and encoding in {"", "identity"}
        """Whether httpx may read it as usual: not encoded, and a Content-Length within the cap (httpcore
        reads no more than that). The common case, and the fast one: no second Response is built."""
        if encoding in _WBITS:
            self._decoder: zlib._Decompress | None = zlib.decompressobj(_WBITS[encoding])
        elif encoding in {"", "identity"}:
            self._decoder = None
        else:
            raise httpx.DecodingError(f"the answer is encoded as {encoding!r}, which was not asked for")

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise BodyTooLarge(f"the answer's body is larger than {self._limit} bytes (max_response_bytes)")
        self._chunks.append(data)

    def feed(self, raw: bytes) -> None:
        """One raw chunk from the network."""
        decoder = self._decoder
        if decoder is None:
            self._keep(raw)
            return
        try:
            data = decoder.decompress(raw, self._limit - self._size + 1)
            self._keep(data)
            while decoder.unconsumed_tail:
                self._keep(decoder.decompress(decoder.unconsumed_tail, self._limit - self._size + 1))
        except zlib.error as exc:
            raise httpx.DecodingError(f"the answer's body cannot be decoded ({exc})") from None

    def consume(self, chunks: Iterator[bytes]) -> httpx.Response:
        """Feeds every raw chunk; returns the response with its body read (for a body that is not `plain`)."""
        if self._streamed.is_stream_consumed:
            return self._in_memory()
        for raw in chunks:
            self.feed(raw)
        return self.response()

    async def aconsume(self, chunks: AsyncIterator[bytes]) -> httpx.Response:
        """`consume` for an async stream."""
        if self._streamed.is_stream_consumed:
            return self._in_memory()
        async for raw in chunks:
            self.feed(raw)
        return self.response()

    def _in_memory(self) -> httpx.Response:
        # An in-memory transport (httpx.MockTransport, a test double) handed over a body already read.
        if len(self._streamed.content) > self._limit:
            raise BodyTooLarge(f"the answer's body is larger than {self._limit} bytes (max_response_bytes)")
        return self._streamed

    def response(self) -> httpx.Response:
        """A response with the decoded body read (and no Content-Encoding left to decode)."""
        if self._decoder is not None:
            try:
                # What zlib still holds once all input is in (nothing, when max_length never cut an
                # output short: then the input left over would be in unconsumed_tail, already drained).
                self._keep(self._decoder.flush(self._limit - self._size + 1))
            except zlib.error as exc:
                raise httpx.DecodingError(f"the answer's body cannot be decoded ({exc})") from None
            if not self._decoder.eof:
                raise httpx.DecodingError("the answer's compressed body ends before its end (truncated or corrupt)")
        streamed = self._streamed
        headers = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=b"".join(self._chunks),
            request=streamed.request,
            extensions=streamed.extensions,
        )


def unbind(response: httpx.Response) -> None:
    """Drops the link between a read and closed streamed `response` and the stream httpx bound to it.

    WHY: httpx wraps a streamed answer's body in a Bound(Async)Stream that refers back to the
    Response, so every answer, with its headers, request, URL and the transport's objects hanging
    off it, lived on after its last use until the cyclic garbage collector found it: 45 objects per
    VM in `run_many`, and the collections that cost grew with the answers in flight (a fifth of the
    wall time of 1,000 VMs at concurrency 200; measured with `gc.callbacks`). With the stream
    replaced by the body read (what httpx gives a Response built from bytes), they are freed as
    soon as the caller lets go. tests/overlay/test_garbage.py checks that an answer leaves no cycle.
    """
    try:
        content = response.content
    except httpx.ResponseNotRead:  # streamed raw into a Body, which answers with a Response of its own
        content = b""
    response.stream = httpx.ByteStream(content)
