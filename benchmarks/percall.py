"""Per-call cost, sequential: N `create` then N `get` calls through each client against one server.

Wall time and the client process's CPU time (`time.process_time`, all threads) per call. The
server runs in another process, so its CPU is measured apart (`psutil`) and never counted as the
client's. Each (client, repetition) uses its own VM, so no client pays for processes another one
left in the server's tables.

The machine is shared and its load drifts within seconds, so the clients do not run one after the
other: each repetition is cut into blocks of `BLOCK` calls, and the clients take turns block by
block (in an order that rotates), so every client's figure is spread over the same stretch of
time. Ratios to the floor are taken within each repetition, then their median is reported.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

from ._clients import SequentialClient, make_client
from ._server import BenchError, MockServer
from ._stats import summarize

__all__ = ["BLOCK", "processes_per_vm", "run_percall", "vms_needed"]

WARMUP_CALLS = 20
BLOCK = 100
KINDS = ("wall", "cpu", "server_cpu")


def processes_per_vm(calls: int, clients: int) -> int:
    """The processes one VM must keep: a repetition's VM holds its client's `calls` creates until the
    gets read them back; the warm-up VM holds every client's WARMUP_CALLS.

    >>> processes_per_vm(2000, 4), processes_per_vm(5, 3)
    (2000, 60)
    """
    return max(calls, WARMUP_CALLS * clients)


def vms_needed(clients: int, reps: int) -> int:
    """The VMs `run_percall` uses: one per (client, repetition), and the warm-up's."""
    return 1 + clients * reps


def _timed(server: MockServer, calls: range, step: Callable[[int], None]) -> tuple[float, float, float]:
    """Runs `step(i)` for each i in calls; returns (wall, client CPU, server CPU) seconds in total."""
    gc.collect()
    server_cpu0 = server.cpu_seconds()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for i in calls:
        step(i)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    server_cpu = server.cpu_seconds() - server_cpu0
    return wall, cpu, server_cpu


def _step(op: str, client: SequentialClient, vm: str, pids: list[int]) -> Callable[[int], None]:
    if op == "create":

        def create(_: int) -> None:
            pids.append(client.create(vm, "/bin/true"))

        return create

    def get(i: int) -> None:
        client.get(vm, pids[i])

    return get


def _one_repetition(
    server: MockServer, clients: Sequence[SequentialClient], vms: Sequence[str], calls: int, rotation: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Per client, per operation, per kind: seconds per call over `calls` calls, taken in blocks."""
    totals = {c.name: {op: dict.fromkeys(KINDS, 0.0) for op in ("create", "get")} for c in clients}
    pids: dict[str, list[int]] = {c.name: [] for c in clients}
    blocks = [range(start, min(start + BLOCK, calls)) for start in range(0, calls, BLOCK)]
    pairs = list(zip(clients, vms, strict=True))
    for op in ("create", "get"):
        for number, block in enumerate(blocks):
            shift = (rotation + number) % len(pairs)
            for client, vm in pairs[shift:] + pairs[:shift]:
                step = _step(op, client, vm, pids[client.name])
                for kind, seconds in zip(KINDS, _timed(server, block, step), strict=True):
                    totals[client.name][op][kind] += seconds
    for client in clients:
        if len(set(pids[client.name])) != calls:
            raise BenchError(f"{client.name}: {calls} creates gave {len(set(pids[client.name]))} distinct pids")
    return {
        name: {op: {kind: seconds / calls for kind, seconds in kinds.items()} for op, kinds in ops.items()}
        for name, ops in totals.items()
    }


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

    Uses VMs `vm-<first_vm>` onwards, one per (client, repetition), plus one for the warm-up.
    """
    clients = [make_client(name, server.base_url) for name in client_names]
    repetitions: list[dict[str, dict[str, dict[str, float]]]] = []
    try:
        for client in clients:
            warm_pids = [client.create(f"vm-{first_vm}", "/bin/true") for _ in range(WARMUP_CALLS)]
            for pid in warm_pids:
                client.get(f"vm-{first_vm}", pid)
        vm = first_vm + 1
        for rep in range(reps):
            vms = [f"vm-{vm + i}" for i in range(len(clients))]
            vm += len(clients)
            figures = _one_repetition(server, clients, vms, calls, rep)
            repetitions.append(figures)
            log(
                f"per-call rep {rep + 1}/{reps}: "
                + ", ".join(
                    f"{name} {(f['create']['cpu'] + f['get']['cpu']) * 1e6:.0f} us CPU/(create+get)"
                    for name, f in figures.items()
                )
            )
    finally:
        for client in clients:
            client.close()
    return _summarize(repetitions, client_names, calls=calls, reps=reps)


def _summarize(
    repetitions: list[dict[str, dict[str, dict[str, float]]]], client_names: Sequence[str], *, calls: int, reps: int
) -> dict[str, Any]:
    floor = client_names[0]
    for figures in repetitions:
        for ops in figures.values():
            # A create and a get together: the cost of one create-then-check round.
            ops["both"] = {kind: ops["create"][kind] + ops["get"][kind] for kind in KINDS}
    results: dict[str, Any] = {"calls": calls, "reps": reps, "block": BLOCK, "floor": floor, "clients": {}}
    for name in client_names:
        results["clients"][name] = {}
        for op in ("create", "get", "both"):
            entry: dict[str, Any] = {kind: summarize([r[name][op][kind] for r in repetitions]) for kind in KINDS}
            for kind in ("wall", "cpu"):
                # Within a repetition both figures come from the same minutes of the machine's life.
                entry[f"{kind}_ratio"] = summarize([r[name][op][kind] / r[floor][op][kind] for r in repetitions])[
                    "median"
                ]
            results["clients"][name][op] = entry
    return results
