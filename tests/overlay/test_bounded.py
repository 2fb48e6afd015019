"""Reading answers with a cap on their decoded size (`_clients/bounded.Body`), chunk by chunk."""

from __future__ import annotations

import gzip
import itertools
import zlib

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest._clients.bounded import Body, BodyTooLarge

REQUEST = httpx.Request("POST", "http://vc.test/api")


def _streamed(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b""), request=REQUEST)


def _chunks(blob: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(blob) + 1) for c in cuts} | {0, len(blob)})
    return [blob[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 10_000), max_size=6))
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_a_body_within_the_cap_reads_back_exactly_however_it_is_chunked(
    encoding: str, data: bytes, cuts: list[int]
) -> None:
    blob = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[encoding](data)
    body = Body(_streamed({"content-encoding": encoding, "transfer-encoding": "chunked"}), limit=len(data) + 1)
    response = body.consume(iter(_chunks(blob, cuts)))
    assert response.content == data
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_one_byte_past_the_cap_is_too_large(encoding: str) -> None:
    data = b"x" * 1000
    blob = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[encoding](data)
    body = Body(_streamed({"content-encoding": encoding, "transfer-encoding": "chunked"}), limit=999)
    with pytest.raises(BodyTooLarge, match="max_response_bytes"):
        body.consume(iter([blob]))


def test_a_content_length_over_the_cap_fails_before_anything_is_read() -> None:
    with pytest.raises(BodyTooLarge):
        Body(_streamed({"content-length": "1001"}), limit=1000)
    assert Body(_streamed({"content-length": "1000"}), limit=1000).plain


def test_an_encoding_that_was_not_asked_for_is_an_undecodable_answer() -> None:
    with pytest.raises(httpx.DecodingError, match="br"):
        Body(_streamed({"content-encoding": "br"}), limit=1000)


def test_a_corrupt_gzip_body_is_an_undecodable_answer() -> None:
    body = Body(_streamed({"content-encoding": "gzip"}), limit=1000)
    with pytest.raises(httpx.DecodingError):
        body.consume(iter([b"\x1f\x8b\x08\x00garbage"]))
