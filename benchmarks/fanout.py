"""Fan-out: start a short program on many VMs and wait for each, at a fixed concurrency.

Three ways of doing the same work: `AsyncClient.processes.run_many` (the overlay), raw
`httpx.AsyncClient` doing create-then-poll in `concurrency` workers (the floor), and the official
SDK in a thread pool of the same size. A fourth, informational: raw httpx with one AsyncClient per
worker instead of one shared pool. Reported: total wall time, VMs per second (the
throughput the targets compare), HTTP calls per second (counted at the server, so every client is
counted the same way), and the CPU each side used, in cores, to say which side saturates.

The hand-written pollers (raw and SDK) poll at once after create, then every `POLL_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ._clients import SESSION_HEADER, login
from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER
from ._server import BenchError, MockServer
from ._stats import paired_ratio, summarize

__all__ = ["FANOUT_CLIENTS", "run_fanout"]

FANOUT_CLIENTS = ("raw httpx", "overlay", "official SDK", "raw httpx, a client per worker")
POLL_INTERVAL = 0.05


async def _raw(
    base_url: str, vms: Sequence[str], concurrency: int, path: str, arguments: str | None, *, shared: bool = True
) -> float:
    """Create-then-poll with httpx.AsyncClient: one client shared by all (the floor), or one per worker."""
    credentials = {
        "interactive_session": False,
        "type": "USERNAME_PASSWORD",
        "user_name": GUEST_USER,
        "password": GUEST_PASSWORD,
    }
    spec: dict[str, Any] = {"path": path}
    if arguments is not None:
        spec["arguments"] = arguments
    session_id = login(base_url)
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            headers={SESSION_HEADER: session_id},
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=120,
        )
        for size in ([concurrency] if shared else [1] * concurrency)
    ]

    async def one(http: httpx.AsyncClient, vm: str) -> None:
        response = await http.post(
            f"/api/vcenter/vm/{vm}/guest/processes?action=create",
            json={"credentials": credentials, "spec": spec},
        )
        pid = response.json()
        if response.status_code != 201 or type(pid) is not int:
            raise BenchError(f"raw create on {vm} answered {response.status_code}")
        while True:
            response = await http.post(
                f"/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get",
                json={"credentials": credentials},
            )
            info = response.json()
            if response.status_code != 200 or not isinstance(info, dict):
                raise BenchError(f"raw get on {vm} answered {response.status_code}")
            if "exit_code" in info:
                if info["exit_code"] != 0:
                    raise BenchError(f"raw: {path} on {vm} exited {info['exit_code']}")
                return
            await asyncio.sleep(POLL_INTERVAL)

    pending = iter(vms)

    async def worker(http: httpx.AsyncClient) -> None:
        # Workers share one iterator: at most `concurrency` VMs in flight, as with a semaphore.
        for vm in pending:
            await one(http, vm)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(min(concurrency, len(vms)))))
        return time.perf_counter() - start
    finally:
        for http in clients:
            await http.aclose()


async def _overlay(  # noqa: PLR0917 - the fan-out's settings
    base_url: str,
    vms: Sequence[str],
    concurrency: int,
    path: str,
    arguments: str | None,
    capture: bool = False,
    max_connections: int | None = None,
) -> float:
    import vcenter_guest

    credentials = vcenter_guest.Credentials.password(GUEST_USER, GUEST_PASSWORD)
    args = () if arguments is None else (arguments,)
    client = vcenter_guest.AsyncClient(base_url, user=API_USER, password=API_PASSWORD, max_connections=max_connections)
    async with client as vc:
        start = time.perf_counter()
        results = await vc.processes.run_many(
            list(vms), credentials, path, *args, concurrency=concurrency, capture=capture
        )
        elapsed = time.perf_counter() - start
    if len(results) != len(vms):
        raise BenchError(f"overlay run_many returned {len(results)} results for {len(vms)} VMs")
    for vm, result in zip(vms, results, strict=True):
        if isinstance(result, BaseException):
            raise BenchError(f"overlay run_many failed on {vm}: {result!r}")
        if result.exit_code != 0:
            raise BenchError(f"overlay: {path} on {vm} exited {result.exit_code}")
    return elapsed


def _sdk(base_url: str, vms: Sequence[str], concurrency: int, path: str, arguments: str | None) -> float:
    from ._sdk import SdkProcesses

    sdk = SdkProcesses(base_url, API_USER, API_PASSWORD, GUEST_USER, GUEST_PASSWORD, pool_size=concurrency)

    def one(vm: str) -> None:
        pid = sdk.create(vm, path, arguments)
        while sdk.get(vm, pid) is None:
            time.sleep(POLL_INTERVAL)

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, vms))
        return time.perf_counter() - start
    finally:
        sdk.close()


def _total_calls(server: MockServer, vms: Sequence[str]) -> int:
    wanted = set(vms)
    # The VMs' calls, and the data plane's (a captured run downloads its output there).
    counts = server.request_counts().items()
    return sum(n for key, n in counts if key.split(" ")[0] in wanted or key.startswith("- guestFile:"))


def run_fanout(
    server: MockServer,
    client_names: Sequence[str],
    *,
    vms: Sequence[str],
    concurrency: int,
    reps: int,
    path: str,
    arguments: str | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Runs each client's fan-out `reps` times over `vms`; the first client is the floor."""
    runners: dict[str, Callable[[], float]] = {
        "raw httpx": lambda: asyncio.run(_raw(server.base_url, vms, concurrency, path, arguments)),
        "overlay": lambda: asyncio.run(_overlay(server.base_url, vms, concurrency, path, arguments)),
        # run_many with its output captured: 5 exchanges a VM where the others make 1, plus the polls.
        "overlay, captured": lambda: asyncio.run(
            _overlay(server.base_url, vms, concurrency, path, arguments, capture=True)
        ),
        # A concurrency above 100 with max_connections=100 set: what an unset one's grown pools avoid.
        "overlay, 100 connections": lambda: asyncio.run(
            _overlay(server.base_url, vms, concurrency, path, arguments, max_connections=100)
        ),
        "official SDK": lambda: _sdk(server.base_url, vms, concurrency, path, arguments),
        # Not a target: shows what httpx reaches when no connection pool holds many connections
        # (httpcore's pool bookkeeping grows with the connections it holds).
        "raw httpx, a client per worker": lambda: asyncio.run(
            _raw(server.base_url, vms, concurrency, path, arguments, shared=False)
        ),
    }
    raw: dict[str, dict[str, list[float]]] = {
        name: {
            "wall": [],
            "vms_per_s": [],
            "calls_per_s": [],
            "calls_per_vm": [],
            "client_cores": [],
            "server_cores": [],
            "client_cpu_per_call": [],
        }
        for name in client_names
    }
    for rep in range(reps):
        order = list(client_names[rep % len(client_names) :]) + list(client_names[: rep % len(client_names)])
        for name in order:
            if name not in runners:
                raise BenchError(f"no fan-out for client {name!r}")
            gc.collect()
            calls0 = _total_calls(server, vms)
            server_cpu0, cpu0, wall0 = server.cpu_seconds(), time.process_time(), time.perf_counter()
            elapsed = runners[name]()
            # CPU over the whole call (login and teardown included) against the whole wall time,
            # so the utilisation figures are of the same interval.
            outer_wall = time.perf_counter() - wall0
            client_cpu, server_cpu = time.process_time() - cpu0, server.cpu_seconds() - server_cpu0
            calls = _total_calls(server, vms) - calls0
            figures = raw[name]
            figures["wall"].append(elapsed)
            figures["vms_per_s"].append(len(vms) / elapsed)
            figures["calls_per_s"].append(calls / elapsed)
            figures["calls_per_vm"].append(calls / len(vms))
            figures["client_cores"].append(client_cpu / outer_wall)
            figures["server_cores"].append(server_cpu / outer_wall)
            # Independent of how much of a busy machine the scheduler gave the client: a process
            # with 50 runnable threads gets a larger share than a single-threaded event loop.
            figures["client_cpu_per_call"].append(client_cpu / calls)
            log(
                f"fan-out rep {rep + 1}/{reps} {name}: {elapsed:.2f} s, {len(vms) / elapsed:.0f} VMs/s, "
                f"{calls / elapsed:.0f} calls/s, client {client_cpu / outer_wall:.2f} cores, "
                f"server {server_cpu / outer_wall:.2f} cores"
            )
    floor = client_names[0]
    results: dict[str, Any] = {
        "vms": len(vms),
        "concurrency": concurrency,
        "reps": reps,
        "program": path if arguments is None else f"{path} {arguments}",
        "poll_interval_of_hand_written_pollers": POLL_INTERVAL,
        "floor": floor,
        "clients": {name: {kind: summarize(values) for kind, values in raw[name].items()} for name in client_names},
    }
    for name in client_names:
        entry = results["clients"][name]
        # Repetition i of every client ran in the same minutes: compare within repetitions.
        entry["throughput_ratio"] = paired_ratio(entry["vms_per_s"], results["clients"][floor]["vms_per_s"])
        # One uvicorn worker is one thread: near 1.0 core it is the bottleneck, whatever is left.
        server_cores, client_cores = entry["server_cores"]["median"], entry["client_cores"]["median"]
        entry["saturates"] = "server" if server_cores >= client_cores else "client"
    return results
