"""Child process: serves the mock vCenter with uvicorn on a free loopback port.

Run by `_server.MockServer` as `python -m benchmarks._serve --inventory FILE`; prints one JSON line
`{"port": N}` once the socket is bound, then serves until terminated. A separate process, so the
benchmark's client CPU time excludes the server's.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["COUNTS_PATH", "CountRequests", "main"]

COUNTS_PATH = "/__bench__/counts"


class CountRequests:
    """ASGI middleware counting requests per (VM, service, action), read back at `GET /__bench__/counts`.

    Counting at the server is the same for every client (raw httpx, the overlay, the official
    SDK), so the poll counts of the waiting and fan-out benchmarks need no hook in any client.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._counts: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == COUNTS_PATH:
                body = json.dumps(self._counts).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            parts = path.split("/")
            vm = parts[4] if len(parts) > 4 and parts[3] == "vm" else "-"
            _, _, action = scope["query_string"].partition(b"action=")
            # "<vm> <action>" for processes (the polls are "<vm> get"), "<vm> <service>:<action>" else.
            service = parts[6] if len(parts) > 6 and parts[5] == "guest" and parts[6] != "processes" else ""
            if path == "/guestFile":  # the data plane names no VM: its own key
                vm, service = "-", "guestFile"
            self._counts[f"{vm} {service + ':' if service else ''}{action.decode('latin-1') or '-'}"] += 1
        await self._app(scope, receive, send)


def main(argv: list[str] | None = None) -> None:
    """Serves the inventory in `--inventory` (JSON) until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._serve")
    parser.add_argument("--inventory", type=Path, required=True)
    args = parser.parse_args(argv)

    import uvicorn
    from vcenter_guest.mock import create_app

    app = CountRequests(create_app(json.loads(args.inventory.read_text(encoding="utf-8"))))
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and an
    # accepted socket inherits proto 0 from a listener made without it. Nagle plus delayed ACKs then
    # adds 40 ms to every response that uvicorn writes in two parts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Access logging is off: the benchmark measures the API, not log formatting.
    config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=2048)
    server = uvicorn.Server(config)
    sys.stdout.write(json.dumps({"port": sock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
