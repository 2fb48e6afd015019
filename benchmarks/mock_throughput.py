"""Requests per second of the mock vCenter against a bare Starlette endpoint, same uvicorn, same run.

    python benchmarks/mock_throughput.py [--seconds 3] [--quick] [--json out.json]

For each operation (create, get) and each concurrency (1 and 64 keep-alive connections) it drives,
alternately, the mock and a bare Starlette endpoint that returns the constant integer 42 (it is sent
the very same request bytes, and does not read them). Both servers run in their own process with
the same uvicorn settings, one worker, on 127.0.0.1; the load generator runs in this process, using
h11 on raw asyncio streams so that it costs far less CPU per request than either server (the servers,
not the client, must be the bottleneck for the ratio to mean anything). Every response is checked
(status 201 for create, 200 with a body for get); a wrong answer fails the run.

The machine is shared: compare the ratios of one run, not absolute numbers across runs. The target
is a ratio of at least 0.5 for every row. Loopback only, bounded in time.

A "create, redirecting output" row drives creates whose arguments redirect the output into a guest
file (`--run N > /tmp/bench.out 2>&1`): the command line goes through the mock's shell and file
system; the target is that such a create costs at most 2x a plain one (the ratio of the two rows'
throughputs).

Then transfers: a 100 MB PUT and GET of /guestFile, one at a time, against the mock (a fresh
transfer URL each, from Transfers.create) and against a bare Starlette endpoint that reads the body
in chunks and discards it, or streams 100 MB from memory, same uvicorn settings. Target: the mock
moves at least 0.5x the bare endpoint's bytes per second, and its peak memory (VmHWM) grows by no
more than the file's size over the upload and the download.

Then the stall row: the latency of a get (one keep-alive connection, one request at a time) alone,
and while 20 other connections send creates with 1 MB of arguments to `/bin/sleep` (the case that
once stalled every request for seconds: the shell's word splitting in the event loop). The target
is a median under 100 ms with the load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11

HOST = "127.0.0.1"
CREDS = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
CONCURRENCIES = (1, 64)
ROUNDS = 4
TARGET = 0.5
STALL_LOADERS = 20
STALL_TARGET_MS = 100.0
TRANSFER_BYTES = int(os.environ.get("VCENTER_GUEST_BENCH_TRANSFER_BYTES", str(100 * 1000 * 1000)))
TRANSFER_TARGET = 0.5
REDIRECT_TARGET = 2.0
REDIRECTING = "create, redirecting output"


# -- the two servers (child processes) ---------------------------------------------------------


def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def constant(request: Any) -> Response:
        return Response(b"42", 200, media_type="application/json")

    async def upload(request: Any) -> Response:
        async for _ in request.stream():  # read and drop: the floor of receiving the bytes
            pass
        return Response(status_code=200)

    payload = memoryview(bytes(TRANSFER_BYTES))

    async def download(request: Any) -> Response:
        async def chunks() -> Any:
            for start in range(0, len(payload), 1 << 20):
                yield bytes(payload[start : start + (1 << 20)])

        return StreamingResponse(
            chunks(), 200, {"Content-Length": str(len(payload))}, media_type="application/octet-stream"
        )

    return Starlette(
        routes=[
            Route("/guestFile", download, methods=["GET"]),
            Route("/guestFile", upload, methods=["PUT"]),
            Route("/{path:path}", constant, methods=["GET", "POST", "DELETE"]),
        ]
    )


def _serve(kind: str) -> None:
    import uvicorn
    from vcenter_guest.mock import create_app, load_inventory
    from vcenter_guest.mock._demo import DEMO_INVENTORY

    # Room for every process the runs create (each create row makes thousands).
    inventory = load_inventory({**DEMO_INVENTORY, "max_processes": 100_000, "max_running_processes": 100_000})
    app = create_app(inventory) if kind == "mock" else _bare_app()
    # IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted sockets (else ~40 ms per response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(1024)
    from vcenter_guest.mock import uvicorn_config

    # The mock's own uvicorn settings for both servers (its protocol with time-outs included).
    config = uvicorn_config(app, "warning", access_log=False)
    server = uvicorn.Server(config)
    started = {"port": sock.getsockname()[1], "http": _name(config.http), "loop": config.loop}
    sys.stdout.write(json.dumps(started) + "\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


def _name(setting: object) -> str:
    # uvicorn's `http` is a name, or (the mock's) a protocol class: h11's, with time-outs.
    return setting if isinstance(setting, str) else f"h11 ({getattr(setting, '__qualname__', setting)})"


class _Server:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {kind} server did not start")
        info = json.loads(line)
        self.port: int = info["port"]
        self.settings = {"http": info["http"], "loop": info["loop"]}

    def peak_memory(self) -> int:
        """The server process's peak resident memory so far (VmHWM), in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu(self) -> float:
        """CPU seconds the server process has used so far (user + system), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


# -- the load generator --------------------------------------------------------------------------


def _request(method: str, target: str, body: bytes | None, headers: dict[str, str]) -> list[Any]:
    hdrs = [("Host", HOST), *headers.items()]
    if body is not None:
        hdrs += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    events: list[Any] = [h11.Request(method=method, target=target, headers=hdrs)]
    if body is not None:
        events.append(h11.Data(data=body))
    events.append(h11.EndOfMessage())
    return events


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer, h11.Connection(h11.CLIENT)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection, events: list[Any]
) -> tuple[int, int]:
    """Sends one request on a kept-alive connection and reads its response: (status, body bytes)."""
    writer.write(b"".join(conn.send(e) or b"" for e in events))
    status, size = 0, 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            if not data:
                raise RuntimeError("the server closed the connection")
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            size += len(event.data)
        elif isinstance(event, h11.EndOfMessage):
            conn.start_next_cycle()
            return status, size


async def _connection(
    port: int, requests: Callable[[int], list[Any]], expect: int, stop_at: float, counts: list[int]
) -> None:
    reader, writer, conn = await _open(port)
    done = 0
    try:
        while time.perf_counter() < stop_at:
            status, size = await _exchange(reader, writer, conn, requests(done))
            if status != expect or size == 0:
                raise RuntimeError(f"wrong answer: status {status}, {size} body bytes (expected {expect})")
            done += 1
    finally:
        counts.append(done)
        writer.close()


async def _load(
    server: _Server, requests: Callable[[int], list[Any]], expect: int, clients: int, seconds: float
) -> list[float]:
    """[requests, wall seconds, server CPU seconds] of `clients` connections sending for `seconds`."""
    warmup: list[int] = []
    stop = time.perf_counter() + min(0.3, seconds / 4)
    await asyncio.gather(*(_connection(server.port, requests, expect, stop, warmup) for _ in range(clients)))
    counts: list[int] = []
    cpu0, start = server.cpu(), time.perf_counter()
    await asyncio.gather(*(_connection(server.port, requests, expect, start + seconds, counts) for _ in range(clients)))
    return [sum(counts), time.perf_counter() - start, server.cpu() - cpu0]


async def _latencies(port: int, events: list[Any], expect: int, stop_at: float) -> list[float]:
    """Seconds each request took, one at a time on one keep-alive connection, until `stop_at`."""
    reader, writer, conn = await _open(port)
    took: list[float] = []
    try:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            status, _ = await _exchange(reader, writer, conn, events)
            took.append(time.perf_counter() - start)
            if status != expect:
                raise RuntimeError(f"wrong answer: status {status} (expected {expect})")
            await asyncio.sleep(0.01)  # a poller, not a load
    finally:
        writer.close()
    return took


async def _stall(server: _Server, get: list[Any], big_create: Callable[[int], list[Any]], seconds: float) -> Any:
    """Get latencies (ms) alone, then while STALL_LOADERS connections send big creates; creates done."""
    import statistics

    quiet = await _latencies(server.port, get, 200, time.perf_counter() + seconds / 2)
    counts: list[int] = []
    stop = time.perf_counter() + seconds
    loaders = [_connection(server.port, big_create, 201, stop, counts) for _ in range(STALL_LOADERS)]
    _, loaded = await asyncio.gather(asyncio.gather(*loaders), _latencies(server.port, get, 200, stop))

    def summary(took: list[float]) -> dict[str, float]:
        ms = sorted(1000 * t for t in took)
        return {"median_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))], "gets": len(ms)}

    return {"alone": summary(quiet), "loaded": summary(loaded), "big_creates": sum(counts)}


def _http(port: int, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    import httpx

    response = httpx.request(method, f"http://{HOST}:{port}{target}", json=body, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()


def _prepare(mock_port: int) -> tuple[dict[str, tuple[Callable[[int], list[Any]], int]], dict[str, str]]:
    """How to build the n-th request of each operation, on a logged-in session; the expected status.

    Every create differs (its arguments count up), as the creates of a real workload do, so the
    mock cannot answer them from its cache of valid bodies; every get is the same, as a client
    polling a process sends it.
    """
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

    basic = base64.b64encode(f"{DEMO_API_USER}:{DEMO_API_PASSWORD}".encode()).decode()
    session = _http(mock_port, "POST", "/api/session", headers={"Authorization": f"Basic {basic}"})
    headers = {"vmware-api-session-id": session}
    create = "/api/vcenter/vm/vm-42/guest/processes?action=create"
    # A process that outlives the run, so every get answers the same 200.
    spec = {"path": "/bin/sleep", "arguments": "86400"}
    pid = _http(mock_port, "POST", create, {"credentials": CREDS, "spec": spec}, headers)
    get = _request(
        "POST",
        f"/api/vcenter/vm/vm-42/guest/processes/{pid}?action=get",
        json.dumps({"credentials": CREDS}).encode(),
        headers,
    )
    serial = itertools.count()

    def create_request(_: int) -> list[Any]:
        body = {"credentials": CREDS, "spec": {"path": "/bin/true", "arguments": f"--run {next(serial)}"}}
        return _request("POST", create, json.dumps(body).encode(), headers)

    def redirect_request(_: int) -> list[Any]:
        arguments = f"--run {next(serial)} > /tmp/bench.out 2>&1"
        body = {"credentials": CREDS, "spec": {"path": "/bin/true", "arguments": arguments}}
        return _request("POST", create, json.dumps(body).encode(), headers)

    big = {"credentials": CREDS, "spec": {"path": "/bin/sleep", "arguments": "0 " + "x" * 1_000_000}}
    big_create = _request("POST", create, json.dumps(big).encode(), headers)
    return {
        "create": (create_request, 201),
        "create, redirecting output": (redirect_request, 201),
        "get": (lambda _: get, 200),
        "big create": (lambda _: big_create, 201),
    }, headers


def _transfer_url(port: int, headers: dict[str, str], upload: bool) -> str:
    """A fresh transfer URL of the mock (its path and query: `*` is the server called)."""
    spec: dict[str, Any] = {"path": "/tmp/bench.bin"}  # noqa: S108 - a path in the mock's guest
    if upload:
        spec["attributes"] = {"size": TRANSFER_BYTES, "overwrite": True}
    url: str = _http(
        port,
        "POST",
        "/api/vcenter/vm/vm-42/guest/filesystem?action=create",
        {"credentials": CREDS, "spec": spec},
        headers,
    )
    return "/guestFile?" + url.partition("/guestFile?")[2]


async def _move(port: int, method: str, target: str, data: memoryview | None) -> tuple[float, int]:
    """(seconds, bytes) of one PUT of `data` or one GET, on a fresh connection."""
    reader, writer, conn = await _open(port)
    start = time.perf_counter()
    headers = [("Host", HOST)]
    if data is not None:
        headers += [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))]
    writer.write(conn.send(h11.Request(method=method, target=target, headers=headers)) or b"")
    if data is not None:
        for offset in range(0, len(data), 1 << 20):
            writer.write(conn.send(h11.Data(data=bytes(data[offset : offset + (1 << 20)]))) or b"")
            await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()
    status, size = 0, 0
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await reader.read(1 << 20)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                conn.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                size += len(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
    finally:
        writer.close()
    if status != 200:
        raise RuntimeError(f"{method} /guestFile answered {status}")
    return time.perf_counter() - start, size if data is None else len(data)


def _transfers(mock: _Server, bare: _Server, headers: dict[str, str], rounds: int) -> dict[str, Any]:
    """MB/s of PUT and GET of TRANSFER_BYTES, mock vs bare, alternating; the mock's peak memory growth."""
    import httpx

    data = memoryview(bytes(range(256)) * (TRANSFER_BYTES // 256) + bytes(TRANSFER_BYTES % 256))
    before = mock.peak_memory()
    seconds: dict[str, dict[str, float]] = {k: {"PUT": 0.0, "GET": 0.0} for k in ("mock", "bare")}
    moved = {"PUT": 0, "GET": 0}
    for _ in range(rounds):
        for method in ("PUT", "GET"):
            body = data if method == "PUT" else None
            took, size = asyncio.run(_move(mock.port, method, _transfer_url(mock.port, headers, method == "PUT"), body))
            if size != TRANSFER_BYTES:
                raise RuntimeError(f"the mock's {method} moved {size} bytes, not {TRANSFER_BYTES}")
            seconds["mock"][method] += took
            took, _ = asyncio.run(_move(bare.port, method, "/guestFile?id=0&token=x", body))
            seconds["bare"][method] += took
            moved[method] += TRANSFER_BYTES
        # The next round uploads a new file, not a replacement held beside the old one until it is complete.
        delete = "/api/vcenter/vm/vm-42/guest/filesystem/files/%2Ftmp%2Fbench.bin?action=delete"
        httpx.post(f"http://{HOST}:{mock.port}{delete}", json={"credentials": CREDS}, headers=headers, timeout=30)
    growth = mock.peak_memory() - before
    rows = {
        method: {
            "mock_mb_s": moved[method] / seconds["mock"][method] / 1e6,
            "bare_mb_s": moved[method] / seconds["bare"][method] / 1e6,
            "ratio": seconds["bare"][method] / seconds["mock"][method],
        }
        for method in ("PUT", "GET")
    }
    return {"bytes": TRANSFER_BYTES, "rows": rows, "peak_memory_growth": growth}


def _print_files_rows(rows: dict[str, dict[str, float]], transfers: dict[str, Any]) -> float:
    """Prints the redirecting create's cost and the transfers' figures; returns the cost."""
    plain, redirecting = rows["create, 1 client"], rows[f"{REDIRECTING}, 1 client"]
    redirect_cost = plain["mock_rps"] / redirecting["mock_rps"]
    verdict = "ok" if redirect_cost <= REDIRECT_TARGET else "MISSED"
    print(f"a create redirecting its output costs {redirect_cost:.2f}x a plain one (target <= 2) {verdict}")
    for method, row in transfers["rows"].items():
        verdict = "ok" if row["ratio"] >= TRANSFER_TARGET else "MISSED"
        print(
            f"{method} of {transfers['bytes'] / 1e6:.0f} MB: mock {row['mock_mb_s']:.0f} MB/s, "
            f"bare {row['bare_mb_s']:.0f} MB/s, ratio {row['ratio']:.2f} (target >= 0.5) {verdict}"
        )
    growth = transfers["peak_memory_growth"]
    verdict = "ok" if growth <= transfers["bytes"] else "MISSED"
    limit = transfers["bytes"] / 1e6
    print(f"the mock's peak memory grew {growth / 1e6:.0f} MB over them (target <= {limit:.0f} MB) {verdict}")
    return redirect_cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per row and server")
    parser.add_argument("--quick", action="store_true", help="0.8 s per row and server: a smoke run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--serve", choices=["mock", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return 0
    seconds = 0.8 if args.quick else args.seconds
    mock, bare = _Server("mock"), _Server("bare")
    try:
        requests, session_headers = _prepare(mock.port)
        big_create, _ = requests.pop("big create")
        rows: dict[str, dict[str, float]] = {}
        for operation, (events, expect) in requests.items():
            for clients in CONCURRENCIES:
                label = f"{operation}, {clients} client{'s' if clients > 1 else ''}"
                totals = {"mock": [0.0, 0.0, 0.0], "bare": [0.0, 0.0, 0.0]}
                # Alternate the servers in short rounds so that noise from other work on the shared
                # machine hits both alike.
                for _ in range(ROUNDS):
                    for server, status in ((mock, expect), (bare, 200)):
                        figures = asyncio.run(_load(server, events, status, clients, seconds / ROUNDS))
                        totals[server.kind] = [a + b for a, b in zip(totals[server.kind], figures, strict=True)]
                (mn, mw, mc), (bn, bw, bc) = totals["mock"], totals["bare"]
                rows[label] = {
                    "mock_rps": mn / mw,
                    "bare_rps": bn / bw,
                    "ratio": (mn / mw) / (bn / bw),
                    "mock_cpu_us": 1e6 * mc / mn,
                    "bare_cpu_us": 1e6 * bc / bn,
                    "cpu_ratio": (bc / bn) / (mc / mn),
                }
        stall = asyncio.run(_stall(mock, requests["get"][0](0), big_create, max(2.0, 2 * seconds)))
        transfers = _transfers(mock, bare, session_headers, rounds=1 if args.quick else 2)
    finally:
        mock.stop()
        bare.stop()
    width = max(len(k) for k in rows)
    print(
        f"mock vCenter vs bare Starlette, uvicorn http={mock.settings['http']} loop={mock.settings['loop']}, 1 worker"
    )
    print("ratio = mock req/s / bare req/s (target >= 0.5); CPU ratio = bare CPU per request / mock CPU per request")
    header = "mock req/s  bare req/s  ratio  mock us/req  bare us/req  CPU ratio"
    print(f"{'':{width}}  {header}")
    for label, row in rows.items():
        verdict = "ok" if row["ratio"] >= TARGET else "MISSED"
        if label.startswith(REDIRECTING):
            verdict = "(judged against a plain create, below)"
        print(
            f"{label:{width}}  {row['mock_rps']:10.0f}  {row['bare_rps']:10.0f}  {row['ratio']:5.2f}  "
            f"{row['mock_cpu_us']:11.0f}  {row['bare_cpu_us']:11.0f}  {row['cpu_ratio']:9.2f}  {verdict}"
        )
    redirect_cost = _print_files_rows(rows, transfers)
    alone, loaded = stall["alone"], stall["loaded"]
    verdict = "ok" if loaded["median_ms"] < STALL_TARGET_MS else "MISSED"
    print(
        f"get latency alone: median {alone['median_ms']:.1f} ms, p95 {alone['p95_ms']:.1f} ms; while "
        f"{STALL_LOADERS} clients sent {stall['big_creates']} creates of 1 MB: median {loaded['median_ms']:.1f} ms, "
        f"p95 {loaded['p95_ms']:.1f} ms ({loaded['median_ms'] / alone['median_ms']:.1f}x; target median "
        f"< {STALL_TARGET_MS:.0f} ms) {verdict}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report: dict[str, object] = {
            "seconds_per_row": seconds,
            "server": mock.settings,
            "rows": rows,
            "ratios": {
                label: round(row["ratio"], 3) for label, row in rows.items() if not label.startswith(REDIRECTING)
            },
            "cpu_ratios": {label: round(row["cpu_ratio"], 3) for label, row in rows.items()},
            "target": TARGET,
            "stall": stall,
            "stall_target_ms": STALL_TARGET_MS,
            "redirect_cost": round(redirect_cost, 3),
            "redirect_target": REDIRECT_TARGET,
            "transfers": transfers,
            "transfer_target": TRANSFER_TARGET,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
