"""The async path, before and after issue 14: per-call client CPU and fan-out, by transport.

"Before" is the AsyncClient on httpx's own transport with sniffio missing: httpcore 1.0 then runs a
failed `import sniffio` about four times a request. It is emulated in this process while that
client runs: sniffio is taken out of `sys.modules` and a finder makes its import search `sys.path`
for a module that is not there and fail, which is what the import system does when sniffio is not
installed. "httpx" is the same client with sniffio importable; "aiohttp" is the client on its
default transport with the aiohttp extra (vcenter_guest/_clients/aio.py).

- Per call: sequential `create` then `get` through `httpx.AsyncClient` by hand (the floor), the
  same over httpx-aiohttp's transport (what the transport alone gives), and the overlay before,
  with httpx and with aiohttp. The clients take turns block by block, as in percall.
- Fan-out: `run_many` over N VMs at concurrency C, for each N and C, against the raw per-worker
  httpx floor (one `httpx.AsyncClient` of one connection per worker: the fastest raw httpx
  here). VMs per second, their ratio to the floor (paired by repetition), the client's CPU per VM
  and its peak memory growth per VM (resident set, sampled).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from ._clients import SESSION_HEADER, login
from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER
from ._server import BenchError, MockServer
from ._stats import paired_ratio, summarize

__all__ = ["FANOUT_CLIENTS", "PERCALL_CLIENTS", "run_transport"]

BLOCK = 100
WARMUP = 20
PERCALL_CLIENTS = ("raw httpx", "raw httpx, aiohttp transport", "overlay, before", "overlay, httpx", "overlay, aiohttp")
FANOUT_CLIENTS = ("raw httpx, a client per worker", "overlay, before", "overlay, httpx", "overlay, aiohttp")


class _NoSniffio(importlib.abc.MetaPathFinder):
    """Makes `import sniffio` fail as it does when sniffio is not installed: after a search of sys.path."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name != "sniffio":
            return None
        importlib.machinery.PathFinder.find_spec("sniffio_is_not_installed", path)
        raise ModuleNotFoundError("No module named 'sniffio'", name="sniffio")


@contextlib.contextmanager
def _configured(client: str) -> Iterator[None]:
    """The process as `client` runs in it: the backend switch, and sniffio missing for "before"."""
    saved = os.environ.get("VCENTER_GUEST_AIOHTTP")
    os.environ["VCENTER_GUEST_AIOHTTP"] = "1" if client.endswith("aiohttp") else "0"
    blocker, module = None, None
    if client.endswith("before"):
        module = sys.modules.pop("sniffio", None)
        blocker = _NoSniffio()
        sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        if blocker is not None:
            sys.meta_path.remove(blocker)
        if module is not None:
            sys.modules["sniffio"] = module
        if saved is None:
            del os.environ["VCENTER_GUEST_AIOHTTP"]
        else:
            os.environ["VCENTER_GUEST_AIOHTTP"] = saved


def _aiohttp_installed() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


# -- per call --------------------------------------------------------------------------------------


class _Caller:
    """One client of the per-call benchmark: `step()` is one create then one get, awaited."""

    def __init__(self, name: str, base_url: str, vm: str) -> None:
        self.name, self.vm, self._url = name, vm, base_url
        self.step: Callable[[], Any]
        self._close: Callable[[], Any]

    async def open(self) -> None:
        if self.name.startswith("raw"):
            transport = None
            if self.name.endswith("aiohttp transport"):
                from httpx_aiohttp import AiohttpTransport

                transport = AiohttpTransport()
            http = httpx.AsyncClient(
                base_url=self._url, headers={SESSION_HEADER: login(self._url)}, timeout=60, transport=transport
            )
            creds = {
                "interactive_session": False,
                "type": "USERNAME_PASSWORD",
                "user_name": GUEST_USER,
                "password": GUEST_PASSWORD,
            }
            base = f"/api/vcenter/vm/{self.vm}/guest/processes"

            async def raw_step() -> None:
                response = await http.post(
                    f"{base}?action=create", json={"credentials": creds, "spec": {"path": "/bin/true"}}
                )
                pid = response.json()
                if response.status_code != 201 or type(pid) is not int:
                    raise BenchError(f"{self.name}: create answered {response.status_code}")
                response = await http.post(f"{base}/{pid}?action=get", json={"credentials": creds})
                if response.status_code != 200 or "started" not in response.json():
                    raise BenchError(f"{self.name}: get answered {response.status_code}")

            self.step, self._close = raw_step, http.aclose
            return
        import vcenter_guest

        vc = vcenter_guest.AsyncClient(self._url, user=API_USER, password=API_PASSWORD)
        await vc.__aenter__()
        credentials = vcenter_guest.Credentials.password(GUEST_USER, GUEST_PASSWORD)

        async def overlay_step() -> None:
            pid = await vc.processes.create(self.vm, credentials, vcenter_guest.CreateSpec(path="/bin/true"))
            info = await vc.processes.get(self.vm, credentials, pid)
            if info.started is None:
                raise BenchError(f"{self.name}: get returned {info!r}")

        self.step, self._close = overlay_step, vc.close

    async def close(self) -> None:
        await self._close()


async def _percall(base_url: str, names: Sequence[str], calls: int, reps: int, first_vm: int) -> list[dict[str, float]]:
    """Per repetition, per client: client CPU seconds per create+get."""
    repetitions: list[dict[str, float]] = []
    vm = first_vm
    for rep in range(reps):
        callers = [_Caller(name, base_url, f"vm-{vm + i}") for i, name in enumerate(names)]
        vm += len(names)
        for caller in callers:
            with _configured(caller.name):
                await caller.open()
                for _ in range(WARMUP):
                    await caller.step()
        cpu = dict.fromkeys(names, 0.0)
        for number, start in enumerate(range(0, calls, BLOCK)):
            shift = (rep + number) % len(callers)
            for caller in callers[shift:] + callers[:shift]:
                with _configured(caller.name):
                    gc.collect()
                    cpu0 = time.process_time()
                    for _ in range(min(BLOCK, calls - start)):
                        await caller.step()
                    cpu[caller.name] += time.process_time() - cpu0
        for caller in callers:
            with _configured(caller.name):
                await caller.close()
        repetitions.append({name: seconds / calls for name, seconds in cpu.items()})
    return repetitions


# -- fan-out ---------------------------------------------------------------------------------------


def _calls(server: MockServer) -> int:
    return sum(server.request_counts().values())


def _fanout_once(name: str, base_url: str, vms: Sequence[str], concurrency: int) -> float:
    from . import fanout

    with _configured(name):
        if name.startswith("raw"):
            return asyncio.run(fanout._raw(base_url, vms, concurrency, "/bin/true", None, shared=False))
        return asyncio.run(fanout._overlay(base_url, vms, concurrency, "/bin/true", None))


def run_transport(
    server: MockServer,
    *,
    calls: int,
    reps: int,
    sizes: Sequence[int],
    concurrencies: Sequence[int],
    fanout_reps: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The section's figures (see the module); VMs vm-1 .. vm-max(sizes) must exist on `server`."""
    from .capture import _RssPeak

    aiohttp = _aiohttp_installed()
    percall_names = [n for n in PERCALL_CLIENTS if aiohttp or "aiohttp" not in n]
    fanout_names = [n for n in FANOUT_CLIENTS if aiohttp or "aiohttp" not in n]
    results: dict[str, Any] = {"aiohttp_installed": aiohttp, "calls": calls, "reps": reps}
    # The per-call clients use VMs past the fan-out's, whose process tables stay small.
    figures = asyncio.run(_percall(server.base_url, percall_names, calls, reps, first_vm=max(sizes) + 1))
    floor = percall_names[0]
    results["percall"] = {
        name: {
            "cpu_per_call": summarize([f[name] for f in figures]),
            "cpu_ratio_to_raw": summarize([f[name] / f[floor] for f in figures])["median"],
        }
        for name in percall_names
    }
    log(
        "async per-call CPU (create+get): "
        + ", ".join(f"{n} {v['cpu_per_call']['median'] * 1e6:.0f} us" for n, v in results["percall"].items())
    )
    grid: list[dict[str, Any]] = []
    for size in sizes:
        vms = [f"vm-{i}" for i in range(1, size + 1)]
        for concurrency in concurrencies:
            raw: dict[str, dict[str, list[float]]] = {
                n: {"vms_per_s": [], "cpu_per_vm": [], "memory_per_vm": [], "server_cores": [], "calls_per_vm": []}
                for n in fanout_names
            }
            for rep in range(fanout_reps):
                shift = rep % len(fanout_names)
                for name in fanout_names[shift:] + fanout_names[:shift]:
                    gc.collect()
                    cpu0, server0, calls0 = time.process_time(), server.cpu_seconds(), _calls(server)
                    wall0 = time.perf_counter()
                    with _RssPeak() as memory:
                        elapsed = _fanout_once(name, server.base_url, vms, concurrency)
                    # The single-worker server near 1.0 core is the bottleneck, whatever the client does.
                    raw[name]["server_cores"].append((server.cpu_seconds() - server0) / (time.perf_counter() - wall0))
                    raw[name]["calls_per_vm"].append((_calls(server) - calls0) / size)
                    raw[name]["vms_per_s"].append(size / elapsed)
                    raw[name]["cpu_per_vm"].append((time.process_time() - cpu0) / size)
                    raw[name]["memory_per_vm"].append(max(memory.growth, 0) / size)
                    log(f"fan-out {size} VMs, concurrency {concurrency}, {name}: {size / elapsed:.0f} VMs/s")
            entry: dict[str, Any] = {"vms": size, "concurrency": concurrency, "clients": {}}
            for name in fanout_names:
                clients = entry["clients"]
                clients[name] = {kind: summarize(values) for kind, values in raw[name].items()}
                clients[name]["ratio_to_floor"] = paired_ratio(
                    clients[name]["vms_per_s"], summarize(raw[fanout_names[0]]["vms_per_s"])
                )
            grid.append(entry)
    results["fanout"] = {"floor": fanout_names[0], "reps": fanout_reps, "grid": grid}
    return results
