"""Waiting: how soon `run` notices a program's end, and how many `get` polls it spends doing so.

For programs of each duration (`/bin/sleep S`, which the mock runs for S seconds), the overlay's
`Client.processes.run` is compared with two fixed pollers written with raw httpx: every 0.5 s (what
govc does) and every 5 s (what Ansible's vmware_vm_shell does). Each poller sleeps its interval,
then asks. The delay is the wall clock when the call returned minus the `finished` time the server
reported (same machine, same clock). Polls are `get` requests counted at the server for that VM.

All runs of all durations go at once, each on its own VM, in threads: waiting is idle time, so
this keeps the benchmark's length near the longest program instead of the sum of all of them.
Every thread logs in first; then the programs start 20 ms apart, in an order that interleaves the
pollers, so no poller's figures absorb another's setup.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ._clients import SESSION_HEADER, login
from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER
from ._server import BenchError, MockServer
from ._stats import summarize

__all__ = ["POLLERS", "run_waiting"]

POLLERS = ("overlay run", "fixed 0.5 s", "fixed 5 s")
_INTERVALS = {"fixed 0.5 s": 0.5, "fixed 5 s": 5.0}
START_SPACING = 0.02


def _parse(stamp: str) -> float:
    # fromisoformat reads "Z" from Python 3.11; the package supports 3.10, so normalise it.
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _fixed(base_url: str, vm: str, seconds: float, interval: float, ready: Callable[[], None]) -> float:
    credentials = {
        "interactive_session": False,
        "type": "USERNAME_PASSWORD",
        "user_name": GUEST_USER,
        "password": GUEST_PASSWORD,
    }
    with httpx.Client(base_url=base_url, headers={SESSION_HEADER: login(base_url)}, timeout=60) as http:
        ready()
        response = http.post(
            f"/api/vcenter/vm/{vm}/guest/processes?action=create",
            json={"credentials": credentials, "spec": {"path": "/bin/sleep", "arguments": f"{seconds:g}"}},
        )
        pid = response.json()
        if response.status_code != 201 or type(pid) is not int:
            raise BenchError(f"fixed poller: create on {vm} answered {response.status_code}")
        deadline = time.monotonic() + seconds + 120
        while time.monotonic() < deadline:
            time.sleep(interval)
            response = http.post(
                f"/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get", json={"credentials": credentials}
            )
            info = response.json()
            if response.status_code != 200 or not isinstance(info, dict):
                raise BenchError(f"fixed poller: get on {vm} answered {response.status_code}")
            if "finished" in info:
                return time.time() - _parse(info["finished"])
    raise BenchError(f"fixed poller: {seconds} s program on {vm} never finished")


def _overlay(base_url: str, vm: str, seconds: float, ready: Callable[[], None]) -> float:
    import vcenter_guest

    credentials = vcenter_guest.Credentials.password(GUEST_USER, GUEST_PASSWORD)
    with vcenter_guest.Client(base_url, user=API_USER, password=API_PASSWORD) as vc:
        ready()
        result = vc.processes.run(vm, credentials, "/bin/sleep", f"{seconds:g}", timeout=seconds + 120, capture=False)
        returned = time.time()
    if result.exit_code != 0 or result.finished is None:
        raise BenchError(f"overlay run of a {seconds} s program on {vm} gave {result!r}")
    return returned - result.finished.timestamp()


def run_waiting(
    server: MockServer,
    *,
    durations: Sequence[float],
    reps: int,
    vms: Sequence[str],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Runs every (duration, poller, repetition) at once on its own VM from `vms`."""
    jobs = [(seconds, poller, rep) for rep in range(reps) for seconds in durations for poller in POLLERS]
    if len(jobs) > len(vms):
        raise BenchError(f"the waiting benchmark needs {len(jobs)} VMs, the inventory has {len(vms)}")

    assigned = list(zip(jobs, vms, strict=False))
    barrier = threading.Barrier(len(assigned))

    def run(index: int) -> float:
        (seconds, poller, _), vm = assigned[index]

        def ready() -> None:
            # Every client is built and logged in before any program starts, and the starts are
            # spread out: a burst of client setup (TLS contexts, logins) in one process would
            # otherwise stall other threads' polls and be counted as their delay.
            barrier.wait()
            time.sleep(index * START_SPACING)

        if poller == "overlay run":
            return _overlay(server.base_url, vm, seconds, ready)
        return _fixed(server.base_url, vm, seconds, _INTERVALS[poller], ready)

    before = server.request_counts()
    with ThreadPoolExecutor(len(jobs)) as pool:
        delays = list(pool.map(run, range(len(assigned))))
    after = server.request_counts()

    results: dict[str, Any] = {"reps": reps, "durations": list(durations), "programs": {}}
    for seconds in durations:
        per_poller: dict[str, Any] = {}
        for poller in POLLERS:
            picked = [
                (delay, vm)
                for ((s, p, _), vm), delay in zip(assigned, delays, strict=True)
                if s == seconds and p == poller
            ]
            polls = [float(after.get(f"{vm} get", 0) - before.get(f"{vm} get", 0)) for _, vm in picked]
            per_poller[poller] = {
                "delay": summarize([delay for delay, _ in picked]),
                "polls": summarize(polls),
            }
        results["programs"][f"{seconds:g}"] = per_poller
        log(
            f"waiting {seconds:g} s: "
            + ", ".join(
                f"{p} {v['delay']['median'] * 1e3:.0f} ms / {v['polls']['median']:.0f} polls"
                for p, v in per_poller.items()
            )
        )
    return results
