"""The mock's worst request: the longest time another client waited while one hostile request ran.

    python benchmarks/mock_stall.py [--quick] [--cap 60] [--only NAME,...] [--json out.json]

The mock runs in its own process (the demo inventory, one uvicorn worker, the mock's own uvicorn
settings) on 127.0.0.1. For each attack of issue 25 (M5) the set-up is done first (files uploaded,
directories made), then the attack request is sent on one connection while another client sends a
cheap call (`processes.get` of a finished process) on its own keep-alive connection every 50 ms.
A first row, `baseline`, sends nothing for 3 s: the other client's longest wait then is the machine's
own noise. Reported per attack: what the attack got (status, and the exit code for a create), how long it took,
and the other client's longest wait (from sending a get to its answer). An attack still running
after `--cap` seconds is abandoned (reported as `> cap`) and the server restarted for the next one.

Timing figures only: the machine is shared, so compare the rows of one run. Loopback only, bounded
in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
VM = "vm-42"
CREDS = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
API_USER, API_PASSWORD = "administrator@vsphere.local", "Admin!23"
PING_EVERY = 0.05
TMP = "/tmp"  # noqa: S108 - the mock guest's directory, not this machine's
FS = f"/api/vcenter/vm/{VM}/guest/filesystem"
PROCESSES = f"/api/vcenter/vm/{VM}/guest/processes"


def _serve() -> None:
    import uvicorn
    from vcenter_guest.mock import DEMO_INVENTORY, create_app, load_inventory, uvicorn_config

    app = create_app(load_inventory(DEMO_INVENTORY))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(128)
    sys.stdout.write(json.dumps({"port": sock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    config = uvicorn_config(app, "error", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class _Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the mock did not start")
        self.url = f"http://{HOST}:{json.loads(line)['port']}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


class _Api:
    def __init__(self, url: str, timeout: float) -> None:
        self.client = httpx.Client(base_url=url, timeout=timeout)
        response = self.client.post("/api/session", auth=(API_USER, API_PASSWORD))
        response.raise_for_status()
        self.client.headers["vmware-api-session-id"] = response.json()

    def close(self) -> None:
        self.client.close()

    def create(self, path: str, arguments: str = "") -> httpx.Response:
        spec = {"path": path, "arguments": arguments} if arguments else {"path": path}
        return self.client.post(f"{PROCESSES}?action=create", json={"credentials": CREDS, "spec": spec})

    def exit_code(self, pid: int) -> Any:
        info = self.client.post(f"{PROCESSES}/{pid}?action=get", json={"credentials": CREDS}).json()
        return info.get("exit_code", "running")

    def fs(self, route: str, **body: Any) -> httpx.Response:
        return self.client.post(FS + route, json={"credentials": CREDS, **body})

    def upload(self, path: str, data: bytes) -> None:
        spec = {"path": path, "attributes": {"size": len(data), "overwrite": True}}
        url = self.fs("?action=create", spec=spec).json()
        response = self.client.put("/guestFile?" + url.partition("/guestFile?")[2], content=data)
        response.raise_for_status()


# -- the attacks: (set-up, attack) ----------------------------------------------------------------


def _self_running_script(api: _Api, size: int) -> Callable[[], str]:
    script = b"sh $0;sh $0;sh $0\n"  # with its path, 42 bytes of request run it 3**depth times
    api.upload(f"{TMP}/s", script)
    return lambda: _create(api, "/bin/sh", f"{TMP}/s")


def _slow_regex(api: _Api, size: int) -> Callable[[], str]:
    api.fs("/directories?action=create", path=f"{TMP}/many")
    for n in range(size):
        api.fs("/directories?action=create", path=f"{TMP}/many/{'a' * 24}!{n}")

    def attack() -> str:
        response = api.fs("/files?action=list", path=f"{TMP}/many", filter={"match_pattern": "^(a|aa)+$"})
        return f"HTTP {response.status_code}"

    return attack


def _big_script(api: _Api, size: int) -> Callable[[], str]:
    api.upload(f"{TMP}/big.sh", b"true\n" * (size // 5))
    return lambda: _create(api, "/bin/sh", f"{TMP}/big.sh")


def _deep_mkdir(api: _Api, size: int) -> Callable[[], str]:
    def attack() -> str:
        response = api.fs("/directories?action=create", path=f"{TMP}/deep" + "/a" * size, create_parents=True)
        return f"HTTP {response.status_code}"

    return attack


def _printf_width(api: _Api, size: int) -> Callable[[], str]:
    return lambda: _create(api, "/bin/printf", f"%{size}s x")


def _base64_big(api: _Api, size: int) -> Callable[[], str]:
    api.upload(f"{TMP}/big.bin", bytes(size))
    return lambda: _create(api, "/bin/base64", f"{TMP}/big.bin")


def _create(api: _Api, path: str, arguments: str) -> str:
    response = api.create(path, arguments)
    if response.status_code != 201:
        return f"HTTP {response.status_code}"
    return f"HTTP 201, exit {api.exit_code(response.json())}"


def _nothing(api: _Api, size: int) -> Callable[[], str]:
    def attack() -> str:
        time.sleep(3)
        return "(3 s without a request)"

    return attack


ATTACKS: dict[str, tuple[str, Callable[[_Api, int], Callable[[], str]], int, int]] = {
    # name: (what, set-up returning the attack, size, quick size)
    "baseline": ("no attack: the machine's own noise", _nothing, 0, 0),
    "self-running script": ("`sh $0` three times, 42 bytes", _self_running_script, 0, 0),
    "slow regex": ("files list, ^(a|aa)+$ over N names", _slow_regex, 3000, 300),
    "2 MB script": ("a script of N bytes", _big_script, 2_000_000, 200_000),
    "mkdir -p deep": ("Directories.create, N levels", _deep_mkdir, 1500, 300),
    "printf width": ("printf %Ns", _printf_width, 900_000_000, 50_000_000),
    "base64 big file": ("base64 of an N-byte file", _base64_big, 200 << 20, 20 << 20),
}


def _measure(server: _Server, attack: Callable[[], str], cap: float) -> dict[str, Any]:
    """Runs `attack` while a pinger sends a get every PING_EVERY seconds; the pinger's longest wait.

    An attack not finished within `cap` seconds is abandoned: the server is stopped (the caller starts
    a new one), and the pinger's wait still open then counts up to that moment."""
    pinger = _Api(server.url, timeout=cap + 5)
    pid = pinger.create("/bin/true").json()
    waits: list[float] = []
    sent: list[float] = []  # when the pinger's request now in flight was sent
    stop = threading.Event()

    def ping() -> None:
        while not stop.is_set():
            sent[:] = [time.monotonic()]
            try:
                pinger.client.post(f"{PROCESSES}/{pid}?action=get", json={"credentials": CREDS})
            except httpx.HTTPError:
                return
            finally:
                waits.append(time.monotonic() - sent.pop())
            stop.wait(PING_EVERY)

    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(attack())
        except httpx.HTTPError as error:
            outcome.append(type(error).__name__)

    pinging = threading.Thread(target=ping, daemon=True)
    runner = threading.Thread(target=run, daemon=True)
    pinging.start()
    time.sleep(0.2)
    start = time.monotonic()
    runner.start()
    runner.join(cap)
    took = time.monotonic() - start
    finished = not runner.is_alive()
    stop.set()
    if not finished:
        open_wait = [time.monotonic() - s for s in list(sent)]
        waits.extend(open_wait)
        server.stop()
    pinging.join(cap + 5)
    runner.join(5)
    pinger.close()
    return {
        "answer": outcome[0] if finished and outcome else "(none within the cap)",
        "seconds": round(took, 3) if finished else None,
        "finished": finished,
        "worst_wait_ms": round(max(waits) * 1000, 1) if waits else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller attacks: a smoke run")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds an attack may run before it is abandoned")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ATTACKS)}")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve()
        return 0
    chosen = [name for name in ATTACKS if not args.only or name in args.only.split(",")]
    rows: dict[str, Any] = {}
    server = _Server()
    try:
        for name in chosen:
            what, setup, size, quick_size = ATTACKS[name]
            n = quick_size if args.quick else size
            api = _Api(server.url, timeout=args.cap + 5)
            attack = setup(api, n)
            row = _measure(server, attack, args.cap)
            api.close()
            row["what"] = what.replace("N", str(n)) if n else what
            rows[name] = row
            took = f"{row['seconds']:.2f} s" if row["finished"] else f"> {args.cap:g} s (abandoned)"
            print(f"{name:22} {row['what']:40} {row['answer']:22} took {took:24} worst wait {row['worst_wait_ms']} ms")
            sys.stdout.flush()
            if not row["finished"]:
                server = _Server()  # _measure stopped the stalled one
    finally:
        if server.proc.poll() is None:
            server.stop()
    worst = max((r["worst_wait_ms"] or 0.0 for r in rows.values()), default=0.0)
    print(f"the mock's worst request: another client waited {worst} ms")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"attacks": rows, "worst_wait_ms": worst}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
