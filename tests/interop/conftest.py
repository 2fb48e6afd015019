"""The official SDK's default client against the mock: `create_vsphere_client`, unmodified, over TLS.

The SDK (`vmware-vcenter`, `vmware-vapi-runtime`, pinned in noxfile.py) is installed by `nox -s
interop`, which `nox -s tests` runs after the suite. Where it is not installed the folder is skipped,
unless VCENTER_GUEST_INTEROP=required (what `nox -s interop` sets): there its absence is a failure.

The mock runs in a process of its own (`_tls_mock.py`), one TLS listener for the folder, a fresh demo
mock behind it for each test: the SDK's clients log out from their finalizers, and one finalized on a
thread serving the mock in this process stalled it for good (issue 30).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _sdk_installed() -> bool:
    try:
        return importlib.util.find_spec("com.vmware.vcenter_client") is not None
    except ImportError:  # no `com` package at all
        return False


if not _sdk_installed():
    if os.environ.get("VCENTER_GUEST_INTEROP") == "required":
        raise RuntimeError(
            "the official SDK is not installed: nox -s interop installs it (noxfile.py SDK_REQUIREMENTS)"
        )
    collect_ignore_glob = ["test_*.py"]
else:
    collect_ignore_glob = []


class SdkMock:
    """The mock as an SDK user meets it: `server` (`host:port`) and a `requests` session trusting its CA.

    It runs in a process of its own (`_tls_mock.py` says why: an SDK client's finalizer must never
    run on the thread that serves the mock); `reset()` gives the next test a fresh demo mock.
    """

    def __init__(self, server: str, ca_pem: Path, process: _MockProcess) -> None:
        self.server = server
        self.ca_pem = ca_pem
        self._process = process

    def reset(self) -> None:
        """A fresh demo mock behind the listener (new state, same address and certificate)."""
        self._process.command("reset")

    def collect_garbage_where_it_serves(self) -> None:
        """The thread serving the mock collects garbage before it answers the next request."""
        self._process.command("collect")

    def http(self) -> Any:
        import requests

        session = requests.Session()
        session.verify = str(self.ca_pem)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `verify` when it reads the
        # environment; the mock's private CA must win (no proxy is wanted on loopback either).
        session.trust_env = False
        return session


class _MockProcess:
    """`_tls_mock.py` in a child process: one command line in, one answer line out, each awaited in time."""

    def __init__(self, cert_pem: Path, key_pem: Path, log: Path) -> None:
        self._log_path = log
        self._log = log.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_tls_mock.py")), str(cert_pem), str(key_pem)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="sdk-interop-mock-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # its stdout ended: it exited

    def answer(self) -> str:
        """The child's next line, within WAIT seconds; else its stacks and log, as a failure."""
        try:
            line = self._lines.get(timeout=WAIT)
        except queue.Empty:
            if hasattr(signal, "SIGUSR1") and self._process.poll() is None:
                self._process.send_signal(signal.SIGUSR1)  # it writes every thread's stack to its log
                time.sleep(1)
            raise RuntimeError(f"the TLS mock did not answer within {WAIT} s; its log:\n{self.log()}") from None
        if not line:
            raise RuntimeError(f"the TLS mock exited ({self._process.wait()}); its log:\n{self.log()}")
        return line

    def command(self, command: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        answer = self.answer()
        if answer != "ok":
            raise RuntimeError(f"the TLS mock answered {answer!r} to {command!r}")

    def log(self) -> str:
        self._log.flush()
        return self._log_path.read_text(encoding="utf-8", errors="replace")[-20_000:]

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # its end of stdin: it stops serving and exits
        try:
            self._process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(WAIT)  # its stdout ended with it
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


WAIT = 30
"""Seconds the TLS mock may take to start or to act on a command."""


@contextlib.contextmanager
def _serve_tls(tmp: Path) -> Iterator[SdkMock]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_pem), append=True)
    cert.private_key_pem.write_to_path(str(key_pem))
    process = _MockProcess(cert_pem, key_pem, tmp / "mock.log")
    try:
        words = process.answer().split()
        if len(words) != 3 or words[0] != "listening":
            raise RuntimeError(f"the TLS mock did not start: {' '.join(words)!r}; its log:\n{process.log()}")
        yield SdkMock(f"{words[1]}:{words[2]}", ca_pem, process)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def _sdk_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkMock]:
    with _serve_tls(tmp_path_factory.mktemp("sdk-tls")) as mock:
        yield mock


@pytest.fixture
def sdk_mock(_sdk_listener: SdkMock) -> SdkMock:
    """A fresh demo mock behind the folder's TLS listener."""
    _sdk_listener.reset()
    return _sdk_listener


@pytest.fixture
def failed_login(sdk_mock: SdkMock) -> Callable[[str, str], Exception]:
    """`create_vsphere_client` with credentials the mock refuses: the exception it raises (no traceback).

    WHY not a plain `pytest.raises`: a login that fails inside `VsphereClient.__init__` leaves a
    half-built client (no `_stub_factory`) in the traceback, whose `__del__` recurses through
    `ApiClient.__getattr__` up to the recursion limit. Finalized by the garbage collector deep in a
    later test's stack, or while that RecursionError is being made, the recursion is fatal to the
    interpreter: "Cannot recover from stack overflow" aborted a whole run (seed 104 of pytest-randomly,
    SIGABRT after 23 tests). Here the half-built client gets the attribute its finalizer looks up,
    and is finalized at once, in this shallow frame.
    """
    from vmware.vapi.vsphere.client import VsphereClient, create_vsphere_client

    def login(user: str, password: str) -> Exception:
        try:
            create_vsphere_client(sdk_mock.server, user, password, session=sdk_mock.http())
        except Exception as error:  # the caller checks its class
            for frame, _ in traceback.walk_tb(error.__traceback__):
                client = frame.f_locals.get("self")
                if isinstance(client, VsphereClient) and "_stub_factory" not in vars(client):
                    client._stub_factory = None  # its finalizer's lookups now fail at once (AttributeError)
            traceback.clear_frames(error.__traceback__)  # the half-built client is finalized here
            return error.with_traceback(None)
        raise AssertionError(f"the mock accepted {user} with that password")

    return login


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK warns of its own deprecated enums on import: its noise, not this project's."""
    for item in items:
        item.add_marker(pytest.mark.filterwarnings(r"ignore::DeprecationWarning:(com\.vmware|vmware\.vapi)"))
