"""Output capture and file transfer, measured against the mock vCenter on loopback (`nox -s bench`).

* Exchanges per captured run, counted by the server (`_serve.CountRequests`), polls apart: ours for a
  program that prints to stdout only with the guest's OS unknown (the client's first run on the VM:
  the Identity service is asked for it, then the command line makes the run directory) and known
  (the command line makes it at once), and for one that
  prints to both streams, beside the flows of govc `guest.run` and of VMware's SDK sample
  `guest_ops.py`, replayed with raw httpx against the same mock (their steps, from their sources,
  are listed in `GOVC` and `SDK_SAMPLE`).
* Wall time of a captured run of an instant program (the OS known) against an uncaptured one, and
  against govc's flow replayed with raw httpx (sync client; the three alternate).
* A 100 MB upload and download through `vc.files` against raw `httpx` streaming the same transfer
  URL, and the client's peak memory growth over them.

    python -m benchmarks --only capture
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil

from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER
from ._server import BenchError, MockServer

__all__ = ["GOVC", "SDK_SAMPLE", "run_capture"]

TRANSFER_BYTES = 100_000_000
GOVC = (
    "Files.createTemporary (stdout)",
    "Files.createTemporary (stderr)",
    "Processes.create (`cmd args 1>> out 2>> err`)",
    "Transfers.create (stdout)",
    "GET stdout",
    "Transfers.create (stderr)",
    "GET stderr",
    "Files.delete (stdout)",
    "Files.delete (stderr)",
)
SDK_SAMPLE = (
    "Operations.get (ready?)",
    "Directories.createTemporary",
    "Files.createTemporary (script)",
    "Files.createTemporary (stdout)",
    "Files.createTemporary (stderr)",
    "Transfers.create (script upload)",
    "PUT script",
    "Files.get (size check)",
    "Processes.create",
    "Transfers.create (stdout)",
    "GET stdout",
    "Directories.delete",
)


def _creds() -> dict[str, Any]:
    return {
        "type": "USERNAME_PASSWORD",
        "interactive_session": False,
        "user_name": GUEST_USER,
        "password": GUEST_PASSWORD,
    }


def _exchanges(server: MockServer, vm: str, work: Callable[[], object]) -> int:
    """Requests the server answered for `vm` (and the data plane) during `work`, polls (Processes.get) apart."""

    def counted() -> dict[str, int]:
        counts = server.request_counts()
        return {k: n for k, n in counts.items() if k.startswith((vm + " ", "- guestFile:"))}

    before = counted()
    work()
    after = counted()
    polls = after.get(f"{vm} get", 0) - before.get(f"{vm} get", 0)
    return sum(after.values()) - sum(before.values()) - polls


class _Raw:
    """The govc and SDK-sample flows, as raw httpx calls of the documented operations."""

    def __init__(self, server: MockServer, vm: str) -> None:
        self.base, self.vm = server.base_url, vm
        self.http = httpx.Client(base_url=self.base, timeout=60)
        session = self.http.post("/api/session", auth=(API_USER, API_PASSWORD)).json()
        self.http.headers["vmware-api-session-id"] = session

    def _post(self, where: str, **body: Any) -> Any:
        response = self.http.post(f"/api/vcenter/vm/{self.vm}/guest/{where}", json={"credentials": _creds(), **body})
        if response.status_code >= 300:
            raise BenchError(f"{where}: {response.status_code} {response.text[:200]}")
        return response.json() if response.content else None

    def _url(self, transfer: str) -> str:
        return transfer.replace("://*", "://" + self.base.split("://", 1)[1], 1)

    def _wait(self, pid: int) -> None:
        while "exit_code" not in self._post(f"processes/{pid}?action=get"):
            time.sleep(0.5)  # govc polls every 0.5 s, the sample every 1 s; the count leaves polls out

    def govc(self, program: str = "/bin/echo") -> bytes:
        out = self._post("filesystem/files?action=createTemporary", prefix="govc", suffix=".out")
        err = self._post("filesystem/files?action=createTemporary", prefix="govc", suffix=".err")
        pid = self._post("processes?action=create", spec={"path": program, "arguments": f"hi 1>> {out} 2>> {err}"})
        self._wait(pid)
        data = b""
        for path in (out, err):
            url = self._post("filesystem?action=create", spec={"path": path})
            data += self.http.get(self._url(url)).content
        for path in (out, err):
            self._post(f"filesystem/files/{path}?action=delete")
        return data

    def sdk_sample(self) -> bytes:
        if not self.http.get(f"/api/vcenter/vm/{self.vm}/guest/operations").json().get("guest_operations_ready"):
            raise BenchError("the guest is not ready")
        directory = self._post("filesystem/directories?action=createTemporary", prefix="sdk", suffix="")
        script = self._post("filesystem/files?action=createTemporary", prefix="s", suffix=".sh", parent_path=directory)
        out = self._post("filesystem/files?action=createTemporary", prefix="o", suffix="", parent_path=directory)
        self._post("filesystem/files?action=createTemporary", prefix="e", suffix="", parent_path=directory)
        body = b"echo hi\n"
        attributes = {"size": len(body), "overwrite": True}
        url = self._post("filesystem?action=create", spec={"path": script, "attributes": attributes})
        self.http.put(self._url(url), content=body)
        if self._post(f"filesystem/files/{script}?action=get")["size"] != len(body):
            raise BenchError("the uploaded script has the wrong size")
        pid = self._post("processes?action=create", spec={"path": "/bin/sh", "arguments": f"{script} > {out}"})
        self._wait(pid)
        url = self._post("filesystem?action=create", spec={"path": out})
        data = self.http.get(self._url(url)).content
        self._post("filesystem/directories?action=delete", path=directory, recursive=True)
        return data

    def close(self) -> None:
        self.http.close()


class _RssPeak:
    """The largest resident set of this process while the block runs, sampled every 5 ms (the
    process's lifetime peak, getrusage's, would hide growth under an earlier benchmark's peak)."""

    def __enter__(self) -> _RssPeak:
        self._process = psutil.Process()
        self.before: int = self._process.memory_info().rss
        self.peak: int = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, int(self._process.memory_info().rss))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


class _Discard:
    """A binary sink that keeps nothing (the download's memory is the client's)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def run_capture(server: MockServer, *, runs: int, transfer_rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The figures of the module docstring."""
    import vcenter_guest

    vm = "vm-1"
    creds = vcenter_guest.Credentials.password(GUEST_USER, GUEST_PASSWORD)
    results: dict[str, Any] = {"runs": runs, "transfer_bytes": TRANSFER_BYTES}
    with vcenter_guest.Client(server.base_url, user=API_USER, password=API_PASSWORD, timeout=120) as vc:
        raw = _Raw(server, vm)
        try:
            counts = {
                # the client's first run on the VM: the OS is not known yet; it is asked of the Identity
                # service (one exchange, this run only), then the command line makes its directory
                "ours, OS unknown (Identity asked), stdout only": _exchanges(
                    server, vm, lambda: vc.processes.run(vm, creds, "/bin/echo", "hi")
                ),
                "ours, OS known, stdout only": _exchanges(
                    server, vm, lambda: vc.processes.run(vm, creds, "/bin/echo", "hi", guest_os="linux")
                ),
                "ours, OS known, stdout and stderr": _exchanges(
                    server, vm, lambda: vc.processes.run(vm, creds, "/bin/sh", "-c", "echo hi; echo oops >&2")
                ),
                "ours, capture=False": _exchanges(
                    server, vm, lambda: vc.processes.run(vm, creds, "/bin/echo", "hi", capture=False)
                ),
                "govc guest.run": _exchanges(server, vm, raw.govc),
                "SDK sample guest_ops.py": _exchanges(server, vm, raw.sdk_sample),
            }
        finally:
            raw.close()
        results["exchanges"] = counts
        log(f"exchanges besides polls: {counts}")

        results.update(_walls(vc, creds, server, vm=vm, runs=runs))
        log(
            f"captured run / uncaptured: {results['captured_wall_ratio']:.2f}x, / govc's flow: "
            f"{results['captured_govc_wall_ratio']:.2f}x ({results['wall_ms']})"
        )

        # 100 MB each way: vc.files against raw httpx streaming the same kind of transfer URL, both
        # reading one local file (in the page cache after the first read) and keeping no download.
        with tempfile.NamedTemporaryFile(prefix="vcenter-guest-bench-") as local:
            block = bytes(range(256)) * 4096
            for _ in range(TRANSFER_BYTES // len(block)):
                local.write(block)
            local.write(block[: TRANSFER_BYTES % len(block)])
            local.flush()
            gc.collect()
            with _RssPeak() as memory:
                seconds = _transfers(vc, creds, server, vm=vm, local=local.name, rounds=transfer_rounds)
        growth = memory.growth
        results["transfers"] = {
            method: {
                "overlay_mb_s": transfer_rounds * TRANSFER_BYTES / seconds["overlay"][method] / 1e6,
                "raw_mb_s": transfer_rounds * TRANSFER_BYTES / seconds["raw httpx"][method] / 1e6,
                "ratio": seconds["raw httpx"][method] / seconds["overlay"][method],
            }
            for method in ("PUT", "GET")
        }
        results["client_peak_memory_growth"] = growth
        log(f"transfers: {results['transfers']}, client peak memory growth {growth / 1e6:.1f} MB")
    return results


def _walls(vc: Any, creds: Any, server: MockServer, *, vm: str, runs: int) -> dict[str, Any]:
    """Wall times of an instant program: captured (the OS known), uncaptured, and govc's flow, in turns."""
    raw = _Raw(server, vm)
    kinds: dict[str, Callable[[], object]] = {
        "captured": lambda: vc.processes.run(vm, creds, "/bin/true", guest_os="linux"),
        "uncaptured": lambda: vc.processes.run(vm, creds, "/bin/true", capture=False),
        "govc guest.run": lambda: raw.govc("/bin/true"),
    }
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    try:
        for _ in range(runs):
            for kind, work in kinds.items():
                start = time.perf_counter()
                work()
                walls[kind].append(time.perf_counter() - start)
    finally:
        raw.close()
    median = {kind: statistics.median(values) for kind, values in walls.items()}
    return {
        "wall_ms": {kind: 1000 * value for kind, value in median.items()},
        "captured_wall_ratio": median["captured"] / median["uncaptured"],
        "captured_govc_wall_ratio": median["captured"] / median["govc guest.run"],
    }


def _overlay_round(vc: Any, creds: Any, vm: str, local: str, path: str) -> tuple[float, float]:
    start = time.perf_counter()
    vc.files.upload(vm, creds, local, path)
    put = time.perf_counter() - start
    sink = _Discard()
    start = time.perf_counter()
    vc.files.download(vm, creds, path, sink)
    get = time.perf_counter() - start
    if sink.size != TRANSFER_BYTES:
        raise BenchError(f"the download moved {sink.size} bytes")
    return put, get


def _raw_round(raw: _Raw, local: str, path: str) -> tuple[float, float]:
    # The same two exchanges by hand: Transfers.create, then the bare streaming request.
    start = time.perf_counter()
    url = raw._post("filesystem?action=create", spec={"path": path, "attributes": {"size": TRANSFER_BYTES}})
    with open(local, "rb") as source:
        response = raw.http.put(raw._url(url), content=source, headers={"Content-Length": str(TRANSFER_BYTES)})
    put = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchError(f"raw PUT: {response.status_code}")
    start = time.perf_counter()
    url = raw._post("filesystem?action=create", spec={"path": path})
    moved = 0
    with raw.http.stream("GET", raw._url(url)) as response:
        for chunk in response.iter_bytes():
            moved += len(chunk)
    get = time.perf_counter() - start
    if moved != TRANSFER_BYTES:
        raise BenchError(f"raw GET moved {moved} bytes")
    return put, get


def _transfers(
    vc: Any, creds: Any, server: MockServer, *, vm: str, local: str, rounds: int
) -> dict[str, dict[str, float]]:
    """Seconds of PUT and GET per client over `rounds`; an untimed round first (the mock's first
    100 MB takes fresh memory, later ones reuse what a delete freed), then the clients in turns."""
    seconds: dict[str, dict[str, float]] = {k: {"PUT": 0.0, "GET": 0.0} for k in ("overlay", "raw httpx")}
    path = "/tmp/bench.bin"  # noqa: S108 - a path in the mock's guest
    raw = _Raw(server, vm)
    try:
        _overlay_round(vc, creds, vm, local, path)
        vc.files.delete(vm, creds, path)
        for index in range(rounds):
            order = ("overlay", "raw httpx") if index % 2 == 0 else ("raw httpx", "overlay")
            for client in order:
                put, get = (
                    _overlay_round(vc, creds, vm, local, path) if client == "overlay" else _raw_round(raw, local, path)
                )
                seconds[client]["PUT"] += put
                seconds[client]["GET"] += get
                vc.files.delete(vm, creds, path)
    finally:
        raw.close()
    return seconds
