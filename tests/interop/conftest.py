"""The official SDK's default client against the mock: `create_vsphere_client`, unmodified, over TLS.

The SDK (`vmware-vcenter`, `vmware-vapi-runtime`, pinned in noxfile.py) is installed by `nox -s
interop`, which `nox -s tests` runs after the suite. Where it is not installed the folder is skipped,
unless VCENTER_GUEST_INTEROP=required (what `nox -s interop` sets): there its absence is a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from collections.abc import Iterator
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


class _Switch:
    """One TLS listener for the folder, serving the app the current test made."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


class SdkMock:
    """The mock as an SDK user meets it: `server` (`host:port`) and a `requests` session trusting its CA."""

    def __init__(self, server: str, ca_pem: Path, switch: _Switch) -> None:
        self.server = server
        self.ca_pem = ca_pem
        self._switch = switch

    def use(self, app: Any) -> Any:
        self._switch.target = app
        return app

    def http(self) -> Any:
        import requests

        session = requests.Session()
        session.verify = str(self.ca_pem)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `verify` when it reads the
        # environment; the mock's private CA must win (no proxy is wanted on loopback either).
        session.trust_env = False
        return session


@contextlib.contextmanager
def _serve_tls(tmp: Path) -> Iterator[SdkMock]:
    import trustme
    import uvicorn
    from vcenter_guest.mock import bind, uvicorn_config

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_pem), append=True)
    cert.private_key_pem.write_to_path(str(key_pem))
    switch = _Switch()
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    config = uvicorn_config(switch, "critical", log_config=None, ssl_certfile=str(cert_pem), ssl_keyfile=str(key_pem))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sdk-interop-mock", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the TLS mock did not start")
            time.sleep(0.005)
        yield SdkMock(f"{host}:{port}", ca_pem, switch)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="session")
def _sdk_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkMock]:
    with _serve_tls(tmp_path_factory.mktemp("sdk-tls")) as mock:
        yield mock


@pytest.fixture
def sdk_mock(_sdk_listener: SdkMock) -> SdkMock:
    """A fresh demo mock behind the folder's TLS listener."""
    from vcenter_guest.mock import create_app

    _sdk_listener.use(create_app())
    return _sdk_listener


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK warns of its own deprecated enums on import: its noise, not this project's."""
    for item in items:
        item.add_marker(pytest.mark.filterwarnings(r"ignore::DeprecationWarning:(com\.vmware|vmware\.vapi)"))
