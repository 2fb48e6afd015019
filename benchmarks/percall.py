"""Per-call cost, sequential: N `create` then N `get` calls through each client against one server.

Wall time and the client process's CPU time (`time.process_time`, all threads) per call, each a
median over repetitions. The server runs in another process, so its CPU is measured apart
(`psutil`) and never counted as the client's. Each (client, repetition) uses its own VM, so no
client pays for processes another one left in the server's tables, and the order of the clients
rotates between repetitions so slow drift of a shared machine is spread over all of them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

from ._clients import SequentialClient, make_client
from ._server import BenchError, MockServer
from ._stats import ratio, summarize

__all__ = ["run_percall"]

WARMUP_CALLS = 20


def _timed(server: MockServer, calls: int, step: Callable[[int], None]) -> tuple[float, float, float]:
    """Runs `step(i)` for i < calls; returns (wall, client CPU, server CPU) seconds per call."""
    gc.collect()
    server_cpu0 = server.cpu_seconds()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for i in range(calls):
        step(i)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    server_cpu = server.cpu_seconds() - server_cpu0
    return wall / calls, cpu / calls, server_cpu / calls


def _one_run(server: MockServer, client: SequentialClient, vm: str, calls: int) -> dict[str, tuple[float, ...]]:
    pids: list[int] = []

    def create(_: int) -> None:
        pids.append(client.create(vm, "/bin/true"))

    def get(i: int) -> None:
        client.get(vm, pids[i])

    created = _timed(server, calls, create)
    if len(set(pids)) != calls:
        raise BenchError(f"{client.name}: {calls} creates gave {len(set(pids))} distinct pids")
    fetched = _timed(server, calls, get)
    return {"create": created, "get": fetched}


def run_percall(
    server: MockServer,
    client_names: Sequence[str],
    *,
    calls: int,
    reps: int,
    first_vm: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Measures every client in `client_names`; the first one is the floor the ratios divide by.

    Uses VMs `vm-<first_vm>` onwards, one per (client, repetition).
    """
    clients = [make_client(name, server.base_url) for name in client_names]
    try:
        for client in clients:
            warm_pids = [client.create(f"vm-{first_vm}", "/bin/true") for _ in range(WARMUP_CALLS)]
            for pid in warm_pids:
                client.get(f"vm-{first_vm}", pid)
        raw: dict[str, dict[str, dict[str, list[float]]]] = {
            c.name: {op: {"wall": [], "cpu": [], "server_cpu": []} for op in ("create", "get")} for c in clients
        }
        vm = first_vm + 1
        for rep in range(reps):
            order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
            for client in order:
                figures = _one_run(server, client, f"vm-{vm}", calls)
                vm += 1
                for op, (wall, cpu, server_cpu) in figures.items():
                    raw[client.name][op]["wall"].append(wall)
                    raw[client.name][op]["cpu"].append(cpu)
                    raw[client.name][op]["server_cpu"].append(server_cpu)
                log(
                    f"per-call rep {rep + 1}/{reps} {client.name}: "
                    f"create {figures['create'][1] * 1e6:.0f} us CPU, get {figures['get'][1] * 1e6:.0f} us CPU"
                )
    finally:
        for client in clients:
            client.close()

    return _summarize(raw, client_names, calls=calls, reps=reps)


def _summarize(
    raw: dict[str, dict[str, dict[str, list[float]]]], client_names: Sequence[str], *, calls: int, reps: int
) -> dict[str, Any]:
    floor = client_names[0]
    results: dict[str, Any] = {"calls": calls, "reps": reps, "floor": floor, "clients": {}}
    for name in client_names:
        figures = raw[name]
        # A create and a get together: the cost of one create-then-check round.
        both = {
            kind: [a + b for a, b in zip(figures["create"][kind], figures["get"][kind], strict=True)]
            for kind in ("wall", "cpu", "server_cpu")
        }
        results["clients"][name] = {
            op: {kind: summarize(values) for kind, values in series.items()}
            for op, series in (("create", figures["create"]), ("get", figures["get"]), ("both", both))
        }
    for name in client_names:
        for op in ("create", "get", "both"):
            entry, base = results["clients"][name][op], results["clients"][floor][op]
            entry["wall_ratio"] = ratio(entry["wall"], base["wall"])
            entry["cpu_ratio"] = ratio(entry["cpu"], base["cpu"])
    return results
