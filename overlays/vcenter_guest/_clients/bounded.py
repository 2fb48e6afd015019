"""Reading an answer's body with a cap on its decoded size, so that no server can exhaust the client's memory.

httpx reads and decompresses whole bodies (a 100 MB body took the client to 847 MB; a 1 MB gzip body
that expands to 1 GiB, to 4.5 GB). The drivers instead stream the raw bytes and decode them here with
`zlib`'s `max_length`, so that a decompression bomb stops at the cap too: no more than the cap plus
one network chunk is ever held. Past the cap the connection is dropped and the call fails with
`errors.UnexpectedResponse` naming the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Body", "BodyTooLarge", "unbind"]

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The default cap on one API answer's decoded body: far above any JSON this API sends."""

# Content-Encoding -> zlib wbits; the clients ask for these only (HEADERS' Accept-Encoding).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


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
