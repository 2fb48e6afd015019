"""The mock the SDK interop tests talk to, over TLS, in a process of its own (started by conftest.py).

WHY a process of its own (issue 30: the `nox -s interop` run that hung). The SDK's `VsphereClient`
logs out in `__del__`, with a blocking HTTPS call that has no time-out. A client a test leaves behind
in a reference cycle (a caught exception's traceback holds the test's frame, for one) is finalized
by the cyclic garbage collector, in whichever thread's allocation triggers a collection. When the
mock was served by a thread of the test process, that thread was at times the mock's own event-loop
thread: it then waited, in the TLS handshake of the logout, for an answer only it could give, and
every later request (the next test's login) waited for it. Here the mock holds no SDK object, so no
SDK finalizer ever runs where the mock serves: a logout is a request like any other.

    python _tls_mock.py CERT_PEM KEY_PEM

Lines on stdin and stdout: once serving it prints `listening HOST PORT`; then, for each command it
reads, it acts and prints `ok`: `reset` puts a fresh demo mock behind the listener (each test gets
its own state), `collect` makes the serving thread collect garbage before it answers the next
request (what an allocation there may do at any time; a test makes it happen). The end of stdin
stops it. SIGUSR1 writes every thread's stack to stderr (where the parent keeps a log).
"""

from __future__ import annotations

import faulthandler
import gc
import signal
import sys
import threading
import time
from typing import Any


class _Switch:
    """The ASGI app behind the listener: the current test's mock."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.collect_first = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.collect_first and scope["type"] == "http":
            self.collect_first = False
            gc.collect()
        await self.target(scope, receive, send)


def main(cert_pem: str, key_pem: str) -> int:
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    import uvicorn
    from vcenter_guest.mock import bind, create_app, uvicorn_config

    switch = _Switch(create_app())
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    config = uvicorn_config(switch, "critical", log_config=None, ssl_certfile=cert_pem, ssl_keyfile=key_pem)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sdk-interop-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            print("the TLS mock did not start", file=sys.stderr)
            return 1
        time.sleep(0.005)
    print(f"listening {host} {port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "reset":
            switch.target = create_app()
        elif command == "collect":
            switch.collect_first = True
        else:
            print(f"unknown command {command!r}", flush=True)
            continue
        print("ok", flush=True)
    # No graceful shutdown: it would wait up to 30 s for each idle TLS connection's close_notify, which
    # the test process's pooled connections never send; the mock has nothing to save.
    server.should_exit = server.force_exit = True
    thread.join(30)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
