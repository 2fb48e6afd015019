"""The clients against a hostile data plane: every transfer (the GET or PUT of a transfer URL) is
bounded in bytes and in time, whatever the ESXi host's side answers (issue 25: H2, M3, L3, L4).

The mock vCenter answers the API over loopback; its transfer URLs name `DataPlane`, a raw socket
server on 127.0.0.1 that answers each GET or PUT as the test says: stacked or unknown content
encodings, decompression bombs, endless or trickling bodies, a Content-Length that lies, a token
echoed in an error. Where it needs the real bytes (a download's file, a run's output), it first
fetches them from the mock's own `/guestFile`. Each test runs for the sync `Client` and for the
`AsyncClient` through both of its transports (aiohttp and httpx's own: the `client_class` fixture).

Memory is measured (tracemalloc's peak), not guessed from time; time is asserted loosely: the
failures these tests guard against held a call 40 to 120 s, the bounds here end it in about one
client `timeout` (0.5 to 1 s), and the data plane gives up after HOLD seconds, so that a test of a
bound that does not hold fails on its time instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import inspect
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from vcenter_guest import AsyncClient, Client, Credentials, RetryPolicy, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM

HOLD = 15.0
"""The longest the data plane keeps one answer going (trickling, streaming, draining)."""
SLACK = 8.0
"""What a bounded call may take here at most: far below HOLD, far above the bounds (about 1 s)."""
CAP = 1 << 20
"""The caps the tests ask for (max_bytes, max_output_bytes): 1 MiB."""
ROOM = 16 << 20
"""The most memory (tracemalloc's peak) a capped transfer may hold: the caps, a few network
pieces, and what the client, the mock and the data plane allocate meanwhile in this process."""
BOMB = 128 << 20
"""Bytes a bomb decodes to: 128 MiB of zeros from a few hundred bytes."""
FAST_RETRY = RetryPolicy(attempts=2, timeout=5, initial=0.001, maximum=0.005, jitter=0.0)
WINDOW = 64 << 10
"""The bytes a transfer must move within each client `timeout` (see _clients/deadline.Pace)."""


# --- what the data plane sends -----------------------------------------------------------------------


def _compressed(layer: str, data: bytes) -> bytes:
    if layer == "gzip":
        return gzip.compress(data)
    if layer == "deflate":
        return zlib.compress(data)
    raise AssertionError(layer)


def encode(data: bytes, layers: tuple[str, ...]) -> bytes:
    """`data` with the content codings `layers` applied in order (as `Content-Encoding: a, b` lists them)."""
    for layer in layers:
        data = _compressed(layer, data)
    return data


@functools.cache
def bomb(layers: tuple[str, ...]) -> bytes:
    """BOMB zeros under `layers` of compression (built once: compressing takes about a second)."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits[layers[0]])
    zeros = bytes(1 << 20)
    data = b"".join(packer.compress(zeros) for _ in range(BOMB >> 20)) + packer.flush()
    return encode(data, layers[1:])


class Exchange:
    """One request the data plane got, and the helpers to answer it."""

    def __init__(self, plane: DataPlane, conn: socket.socket, method: str, target: str, head: bytes) -> None:
        self.plane, self.conn, self.method, self.target, self.head = plane, conn, method, target, head
        self.token = parse_qs(urlsplit(target).query).get("token", [""])[0]
        self.body = b""

    def real(self) -> bytes:
        """The real answer's body: the mock's own /guestFile serves the file (the URL is used up there)."""
        response = httpx.get(self.plane.upstream + self.target, timeout=10)
        assert response.status_code == 200, response.text
        return response.content

    def send(self, status: int, headers: list[str], body: bytes = b"") -> None:
        head = f"HTTP/1.1 {status} Status\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
        self.conn.sendall(head.encode("latin-1") + body)

    def stream(self, pieces: Iterator[bytes], interval: float) -> None:
        """A chunked body: each piece, `interval` seconds apart, until the pieces end, HOLD passes or
        the client hangs up."""
        self.send(200, ["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"])
        ends = time.monotonic() + HOLD
        for piece in pieces:
            if time.monotonic() > ends:
                break
            self.conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            if interval:
                time.sleep(interval)
        self.conn.sendall(b"0\r\n\r\n")


Answer = Callable[[Exchange], None]


def proxied(ex: Exchange) -> None:
    """The real answer, as the mock gives it (an upload goes on to the mock, and its answer comes back)."""
    if ex.method == "PUT":
        response = httpx.put(ex.plane.upstream + ex.target, content=ex.body, timeout=10)
        ex.send(response.status_code, [f"Content-Length: {len(response.content)}"], response.content)
        return
    body = ex.real()
    ex.send(200, [f"Content-Length: {len(body)}", "Content-Type: application/octet-stream"], body)


def encoded(*layers: str) -> Answer:
    """The real answer under the content codings `layers` (an unknown one is sent as it is)."""

    def answer(ex: Exchange) -> None:
        body = ex.real()
        known = all(layer in {"gzip", "deflate"} for layer in layers)
        body = encode(body, layers) if known else body
        headers = [f"Content-Length: {len(body)}", f"Content-Encoding: {', '.join(layers)}"]
        ex.send(200, headers, body)

    return answer


def bombed(*layers: str) -> Answer:
    """A decompression bomb: a few hundred bytes that decode to BOMB bytes."""

    def answer(ex: Exchange) -> None:
        body = bomb(layers)
        ex.send(200, [f"Content-Length: {len(body)}", f"Content-Encoding: {', '.join(layers)}"], body)

    return answer


def endless(ex: Exchange) -> None:
    """Zeros, 64 KiB a chunk, for as long as the client reads (or HOLD)."""
    ex.stream(iter(lambda: bytes(64 << 10), None), 0)


def trickle(interval: float) -> Answer:
    """The real answer, one byte every `interval` seconds."""

    def answer(ex: Exchange) -> None:
        body = ex.real() + bytes(1 << 20)  # what follows is never reached: HOLD ends it
        ex.stream((body[i : i + 1] for i in range(len(body))), interval)

    return answer


def paced(size: int, interval: float) -> Answer:
    """An endless body of `size`-byte chunks every `interval` seconds: fast enough for any rate rule
    (`size` past WINDOW within a `timeout`), so only a whole-run deadline ends it."""

    def answer(ex: Exchange) -> None:
        ex.stream(iter(lambda: b"x" * size, None), interval)

    return answer


def long_length(ex: Exchange) -> None:
    """A Content-Length 100 bytes past the body, then the connection closes."""
    body = ex.real()
    ex.send(200, [f"Content-Length: {len(body) + 100}", "Connection: close"], body)


def reply_trickled(interval: float) -> Answer:
    """Takes an upload whole, then answers it one byte every `interval` seconds."""

    def answer(ex: Exchange) -> None:
        reply = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * (1 << 20)
        ends = time.monotonic() + HOLD
        for i in range(len(reply)):
            if time.monotonic() > ends:
                break
            ex.conn.sendall(reply[i : i + 1])
            time.sleep(interval)
        ex.conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")

    return answer


def echoing_token(ex: Exchange) -> None:
    """A refusal that quotes the transfer's token bare (no `token=` before it)."""
    text = f"Access denied: {ex.token} is not a valid ticket for this file\n".encode()
    ex.send(403, [f"Content-Length: {len(text)}", "Content-Type: text/plain"], text)


class DataPlane:
    """A loopback ESXi data plane answering each request with `answer`; `upstream` (the mock's URL)
    serves the real bytes. Counts the connections it accepted and the requests it read."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.answer: Answer = proxied
        self.vcenter = ""
        """The mock vCenter's URL (the fixture sets it)."""
        self.connections = 0
        self.requests: list[str] = []
        self.tokens: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._done.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(HOLD)
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            head, _, rest = data.partition(b"\r\n\r\n")
            method, target = head.split(b" ", 2)[:2]
            exchange = Exchange(self, conn, method.decode(), target.decode(), head)
            self.requests.append(f"{exchange.method} {urlsplit(exchange.target).path}")
            self.tokens.append(exchange.token)
            if exchange.method == "PUT":
                exchange.body = self._body(conn, head, rest)
            self.answer(exchange)
            conn.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):  # let the client read to the end before the socket goes
                while conn.recv(65536):
                    pass

    @staticmethod
    def _body(conn: socket.socket, head: bytes, rest: bytes) -> bytes:
        lines = head.lower().split(b"\r\n")
        length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length")), 0)
        body = bytearray(rest)
        while len(body) < length:
            got = conn.recv(min(length - len(body), 65536))
            if not got:
                break
            body += got
        return bytes(body)


@pytest.fixture
def plane(make_loopback_server: Callable[..., Any]) -> Iterator[DataPlane]:
    """The mock vCenter over loopback, its transfer URLs naming a hostile data plane (`plane.url`)."""
    server = make_loopback_server()
    app, url = server.app, server.url
    data_plane = DataPlane(url)
    app.state.simulator.host_url = data_plane.url
    data_plane.vcenter = url
    try:
        yield data_plane
    finally:
        data_plane.close()


@pytest.fixture
def guest() -> Credentials:
    from vcenter_guest.mock import DEMO_GUEST_PASSWORD, DEMO_GUEST_USER

    return Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


def perform(client_class: type[Any], url: str, work: Callable[[Any], Any], **options: Any) -> Any:
    """`work(vc)` with a fresh client of `client_class` (awaited for an AsyncClient)."""
    options = {"user": DEMO_API_USER, "password": DEMO_API_PASSWORD, "retry": FAST_RETRY, **options}
    if client_class is Client:
        with Client(url, **options) as vc:
            return work(vc)

    async def main() -> Any:
        async with AsyncClient(url, **options) as vc:
            outcome = work(vc)
            return await outcome if inspect.isawaitable(outcome) else outcome

    return asyncio.run(main())


def peak_while(run: Callable[[], Any]) -> tuple[Any, int]:
    """What `run` returned or raised (the exception itself), and tracemalloc's peak meanwhile."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        try:
            outcome = run()
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Counter:
    """A binary file object that only counts what is written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def download(client_class: type[Any], plane: DataPlane, guest: Credentials, *args: Any, **options: Any) -> Any:
    """`files.download(DEMO_VM, guest, /etc/hostname or args...)` through a client with `options`
    (those of the client: timeout=...; those of download: max_bytes=..., a destination)."""
    client_options = {k: options.pop(k) for k in ("timeout",) if k in options}
    path, *rest = args or ("/etc/hostname",)
    return perform(
        client_class,
        plane.vcenter,
        lambda vc: vc.files.download(DEMO_VM, guest, path, *rest, **options),
        **client_options,
    )


def upload(client_class: type[Any], plane: DataPlane, guest: Credentials, data: bytes, path: str, **client: Any) -> Any:
    return perform(client_class, plane.vcenter, lambda vc: vc.files.upload(DEMO_VM, guest, data, path), **client)


def run(client_class: type[Any], plane: DataPlane, guest: Credentials, *args: str, **options: Any) -> Any:
    """`processes.run(DEMO_VM, guest, *args, **options)`; `timeout_client=` is the client's timeout."""
    client = {"timeout": options.pop("client_timeout")} if "client_timeout" in options else {}
    return perform(client_class, plane.vcenter, lambda vc: vc.processes.run(DEMO_VM, guest, *args, **options), **client)


DATA = bytes(range(256)) * 400 + b"text compresses well " * 5000
"""A file to move: some bytes that compress, some that do not."""


# --- H2: every byte bounded, after every content coding is undone ---------------------------------------


@pytest.mark.parametrize(
    "layers", [("gzip",), ("deflate",), ("gzip", "gzip"), ("deflate", "gzip"), ("gzip", "deflate")]
)
def test_a_file_under_stacked_content_codings_downloads_unchanged(
    plane: DataPlane, client_class: type[Any], guest: Credentials, layers: tuple[str, ...]
) -> None:
    upload(client_class, plane, guest, DATA, "/tmp/data.bin")
    plane.answer = encoded(*layers)
    assert download(client_class, plane, guest, "/tmp/data.bin") == DATA


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "x-custom", "gzip, x-custom"])
def test_a_content_coding_the_client_cannot_undo_is_refused_by_name(
    plane: DataPlane, client_class: type[Any], guest: Credentials, coding: str
) -> None:
    """Transfers ask for `identity`; a coding the client cannot undo is refused, naming it, instead of
    handing back the encoded bytes as the file (httpx ignores a coding it does not know)."""
    plane.answer = encoded(*coding.split(", "))
    with pytest.raises(errors.UnexpectedResponse) as caught:
        download(client_class, plane, guest)
    assert coding.rsplit(", ", maxsplit=1)[-1] in str(caught.value)


@pytest.mark.parametrize("layers", [("gzip", "gzip"), ("deflate", "gzip"), ("gzip",)])
def test_a_decompression_bomb_stops_at_max_bytes_with_memory_bounded(
    plane: DataPlane, client_class: type[Any], guest: Credentials, layers: tuple[str, ...]
) -> None:
    """A few hundred bytes that decode to 128 MiB (`gzip, gzip`: 8 GiB took the client to MemoryError):
    the download stops at max_bytes, and the client never holds much more than that."""
    bomb(layers)
    plane.answer = bombed(*layers)
    outcome, peak = peak_while(lambda: download(client_class, plane, guest, max_bytes=CAP))
    assert isinstance(outcome, errors.UsageError), outcome
    assert "max_bytes" in str(outcome)
    assert peak < ROOM, f"{peak / 2**20:.0f} MiB held for a 1 MiB cap"


def test_a_bomb_streamed_to_a_file_object_is_decoded_piece_by_piece(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    """With no cap, every decoded byte reaches the destination, and memory stays bounded anyway."""
    bomb(("gzip", "gzip"))
    plane.answer = bombed("gzip", "gzip")
    sink = Counter()
    outcome, peak = peak_while(lambda: download(client_class, plane, guest, "/etc/hostname", sink))
    assert outcome == BOMB == sink.size
    assert peak < ROOM, f"{peak / 2**20:.0f} MiB held"


def test_a_run_whose_output_is_a_bomb_keeps_max_output_bytes_with_memory_bounded(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    """`run` fetches its output through transfers: a bomb there is cut at max_output_bytes."""
    bomb(("gzip", "gzip"))
    plane.answer = bombed("gzip", "gzip")
    outcome, peak = peak_while(
        lambda: run(client_class, plane, guest, "/bin/echo", "hi", max_output_bytes=CAP, timeout=30)
    )
    assert not isinstance(outcome, Exception), outcome
    assert outcome.stdout_truncated
    assert len(outcome.stdout) == CAP
    assert outcome.exit_code == 0
    assert peak < ROOM, f"{peak / 2**20:.0f} MiB held for 1 MiB per stream"


def test_an_endless_body_stops_at_max_bytes(plane: DataPlane, client_class: type[Any], guest: Credentials) -> None:
    plane.answer = endless
    outcome, peak = peak_while(lambda: download(client_class, plane, guest, max_bytes=CAP))
    assert isinstance(outcome, errors.UsageError), outcome
    assert peak < ROOM


def test_a_body_shorter_than_its_content_length_fails_and_leaves_no_file(
    plane: DataPlane, client_class: type[Any], guest: Credentials, tmp_path: Any
) -> None:
    plane.answer = long_length
    with pytest.raises(errors.ResponseNotReceived):
        download(client_class, plane, guest, "/etc/hostname", tmp_path / "hostname")
    assert list(tmp_path.iterdir()) == []


# --- M3: every second bounded -------------------------------------------------------------------------


def test_a_trickling_download_ends_within_the_client_timeout(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    """A byte every 50 ms resets every per-read time-out; the transfer must still end, with the
    package's time-out error naming the rule."""
    plane.answer = trickle(0.05)
    started = time.monotonic()
    with pytest.raises(errors.ResponseNotReceived) as caught:
        download(client_class, plane, guest, timeout=0.5)
    assert time.monotonic() - started < SLACK
    assert "0.5 s" in str(caught.value)


def test_a_trickled_answer_to_an_upload_ends_within_the_client_timeout(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    plane.answer = reply_trickled(0.05)
    started = time.monotonic()
    with pytest.raises(errors.ResponseNotReceived):
        upload(client_class, plane, guest, DATA, "/tmp/up.bin", timeout=0.5)
    assert time.monotonic() - started < SLACK


def test_a_run_whose_output_trickles_ends_within_the_client_timeout(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    plane.answer = trickle(0.05)
    started = time.monotonic()
    with pytest.raises(errors.ResponseNotReceived):
        run(client_class, plane, guest, "/bin/echo", "hi", client_timeout=0.5)
    assert time.monotonic() - started < SLACK


def test_run_timeout_bounds_the_output_fetch_however_fast_the_output_keeps_coming(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    """Output that keeps arriving fast enough for any rate rule, into a file object (no cap): only
    run's own deadline ends it, `timeout` plus a grace of the client's timeout for the output."""
    plane.answer = paced(2 * WINDOW, 0.2)
    sink = Counter()
    started = time.monotonic()
    with pytest.raises(errors.ResponseNotReceived) as caught:
        run(client_class, plane, guest, "/bin/echo", "hi", timeout=1, stdout=sink, client_timeout=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < SLACK, elapsed
    assert sink.size > 0
    assert "timeout" in str(caught.value)


# --- L3: a token echoed in an error -----------------------------------------------------------------


def test_a_token_the_data_plane_echoes_bare_is_scrubbed_from_the_error(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    plane.answer = echoing_token
    with pytest.raises(errors.UnexpectedResponse) as caught:
        download(client_class, plane, guest)
    token = plane.tokens[-1]
    assert len(token) > 8
    error = caught.value
    assert "not a valid ticket" in str(error)  # the server's message is kept, its secret is not
    for text in (str(error), repr(error), error.body, repr(error.args), repr(vars(error))):
        assert token not in text


# --- L4: a downgrade to plain HTTP ----------------------------------------------------------------------


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport that records each request's URL and hands it on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        response: httpx.Response = self.inner.handle_request(request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        response: httpx.Response = await self.inner.handle_async_request(request)
        return response


@pytest.mark.parametrize("transfer_url", ["http://esxi-1.test", "http://*"])
def test_an_http_transfer_url_from_an_https_vcenter_is_refused_before_anything_is_sent(
    in_process_server: Any, client_class: type[Any], guest: Credentials, transfer_url: str
) -> None:
    in_process_server.simulator.host_url = transfer_url
    sync = client_class is Client
    recording = Recording(in_process_server.sync_transport() if sync else in_process_server.async_transport())
    with pytest.raises(errors.UnexpectedResponse) as caught:
        perform(
            client_class,
            "https://vc.test",
            lambda vc: vc.files.download(DEMO_VM, guest, "/etc/hostname"),
            transport=recording,
        )
    assert "http://" in str(caught.value)
    assert "https://vc.test" in str(caught.value)
    assert "downgrade" in str(caught.value)
    assert not [url for url in recording.urls if "/guestFile" in url]
    assert "token=" not in str(caught.value)


def test_an_http_transfer_url_from_a_plain_http_vcenter_is_used(
    plane: DataPlane, client_class: type[Any], guest: Credentials
) -> None:
    assert plane.url.startswith("http://")
    assert plane.vcenter.startswith("http://")
    assert download(client_class, plane, guest) == b"demo-linux\n"


# --- the command line -----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(plane: DataPlane, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> dict[str, str]:
    """The environment of a command line against the plane's mock: no setting of the machine's own,
    a config and cache of the test's own."""
    import os

    from vcenter_guest.mock import DEMO_GUEST_PASSWORD, DEMO_GUEST_USER

    for key in [k for k in os.environ if k.startswith("VCENTER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return {
        "VCENTER_URL": plane.vcenter,
        "VCENTER_USER": DEMO_API_USER,
        "VCENTER_PASSWORD": DEMO_API_PASSWORD,
        "VCENTER_GUEST_USER": DEMO_GUEST_USER,
        "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
    }


def cli(env: dict[str, str], *args: str) -> Any:
    import logging

    from click.testing import CliRunner
    from vcenter_guest.cli import main

    loggers = [logging.getLogger(name) for name in ("vcenter_guest", "httpx")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    try:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:  # the command line configures the package's loggers, as a program does
        for logger, (level, handlers) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.handlers[:] = handlers


def test_the_command_line_s_timeout_bounds_a_run_whose_output_keeps_coming(
    plane: DataPlane, cli_env: dict[str, str]
) -> None:
    """`--timeout 2 --http-timeout 3` took 121 s against a trickling data plane; the run's output is
    streamed to stdout (no cap), so only the run's deadline can end it."""
    plane.answer = paced(2 * WINDOW, 0.2)
    started = time.monotonic()
    result = cli(cli_env, "run", "--vm", DEMO_VM, "--timeout", "1", "--http-timeout", "0.5", "/bin/echo", "hi")
    assert time.monotonic() - started < SLACK
    assert result.exit_code not in {0, 2}, result.output
    assert "ResponseNotReceived" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_line_prints_no_bare_token_a_data_plane_echoes(plane: DataPlane, cli_env: dict[str, str]) -> None:
    plane.answer = echoing_token
    result = cli(cli_env, "download", "--vm", DEMO_VM, "/etc/hostname", "-")
    token = plane.tokens[-1]
    assert result.exit_code != 0
    assert "not a valid ticket" in result.stderr
    assert token not in result.output
    assert token not in result.stderr


def test_the_command_line_downloads_a_bomb_with_memory_bounded(plane: DataPlane, cli_env: dict[str, str]) -> None:
    """The CLI died of MemoryError on a 13 KB `gzip, gzip` answer; its download now streams the
    decoded bytes to the file, a few pieces at a time."""
    bomb(("gzip", "gzip"))
    plane.answer = bombed("gzip", "gzip")
    result, peak = peak_while(lambda: cli(cli_env, "download", "--vm", DEMO_VM, "/etc/hostname", "out.bin"))
    assert result.exit_code == 0, result.output
    assert peak < ROOM, f"{peak / 2**20:.0f} MiB held"
    import os

    assert os.path.getsize("out.bin") == BOMB
