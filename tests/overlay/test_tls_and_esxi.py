"""The clients against a real TLS server (a private CA made by trustme), and the AsyncClient's ESXi
transfers through both of its transports (aiohttp and httpx's own; the sync twins: test_files.py).

Every other test talks plain HTTP; here the mock is served by uvicorn over TLS on 127.0.0.1, so the
certificate checks, the private-CA hint and `esxi_hosts`' TLS name (SNI and the name the certificate
is checked for) meet a real handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from vcenter_guest import AsyncClient, Client, Credentials, RetryPolicy, errors
from vcenter_guest._clients.pool import backend
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM, create_app, serve
from vcenter_guest.mock._server import bind, listen_as_esxi_host, uvicorn_config

trustme = pytest.importorskip("trustme", reason="trustme is not installed (nox -s tests installs it)")

# Retries that do not slow the tests down, but would still show up as extra handshakes.
FAST_RETRY = RetryPolicy(attempts=3, timeout=10, initial=0.001, maximum=0.005, jitter=0.0)


class TLSServer:
    """The mock served over TLS: its URL, its CA's PEM file, and the handshakes clients began with it."""

    def __init__(self, url: str, ca_pem: Path) -> None:
        self.url = url
        self.ca_pem = ca_pem
        self.esxi_port: int | None = None
        """The port of the ESXi host's listener (serve_tls(esxi_host=True)), else None."""
        self.handshakes = 0
        self._lock = threading.Lock()

    def saw_hello(self, *_: object) -> None:
        # The context's SNI callback: called on every ClientHello, with or without a server name.
        with self._lock:
            self.handshakes += 1


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@contextlib.contextmanager
def serve_tls(ca: Any, tmp_path: Path, *names: str, app: Any = None, esxi_host: bool = False) -> Iterator[TLSServer]:
    """The mock (demo inventory unless `app`) on 127.0.0.1 over TLS, with a certificate the CA `ca`
    issued for `names` (default: 127.0.0.1 and localhost). `esxi_host=True`: a second TLS listener
    stands for the ESXi host, as with `serve(esxi_host=True)`."""
    cert = ca.issue_cert(*(names or ("127.0.0.1", "localhost")))
    ca_pem, cert_pem, key_pem = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_pem), append=True)
    cert.private_key_pem.write_to_path(str(key_pem))
    app = app if app is not None else create_app()
    sockets = [bind("127.0.0.1", 0)]
    host, port = sockets[0].getsockname()[:2]
    server = TLSServer(f"https://{host}:{port}", ca_pem)
    if esxi_host:
        sockets.append(bind("127.0.0.1", 0))
        listen_as_esxi_host(app, sockets[1])
        server.esxi_port = sockets[1].getsockname()[1]
        app.state.simulator.host_url = f"https://{host}:{server.esxi_port}"

    def context(_: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        made = default()
        made.sni_callback = server.saw_hello
        return made

    config = uvicorn_config(
        app,
        "critical",  # the handshakes refused on purpose would log errors
        log_config=None,
        ssl_certfile=str(cert_pem),
        ssl_keyfile=str(key_pem),
        ssl_context_factory=context,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": sockets}, name="vcenter-guest-tls-mock", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not uv.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the TLS mock did not start")
            time.sleep(0.005)
        yield server
    finally:
        uv.should_exit = True
        thread.join(30)
        for each in sockets:
            each.close()


@pytest.fixture
def tls_server(ca: Any, tmp_path: Path) -> Iterator[TLSServer]:
    with serve_tls(ca, tmp_path) as server:
        yield server


def _verify_message(port: int | None, name: str, ca_pem: Path | None = None) -> str:
    """What Python's ssl says of the certificate at 127.0.0.1:`port`, checked for `name`."""
    assert port is not None
    context = ssl.create_default_context(cafile=None if ca_pem is None else str(ca_pem))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        try:
            context.wrap_socket(sock, server_hostname=name).close()
        except ssl.SSLCertVerificationError as exc:
            return str(exc.verify_message)
    raise AssertionError(f"the certificate at 127.0.0.1:{port} passed for {name}")


def _run(client_class: type[Any], url: str, guest: Credentials, **options: Any) -> Any:
    """`processes.run(DEMO_VM, guest, "/bin/echo", "hi")` through a fresh client of `client_class`."""
    options = {"user": DEMO_API_USER, "password": DEMO_API_PASSWORD, "retry": FAST_RETRY, **options}
    if client_class is Client:
        with Client(url, **options) as vc:
            return vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi")

    async def main() -> Any:
        async with AsyncClient(url, **options) as vc:
            return await vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi")

    return asyncio.run(main())


# --- real TLS, each client and transport ----------------------------------------------------------------


def test_a_private_ca_s_bundle_lets_the_client_run_a_program(
    tls_server: TLSServer, client_class: type[Any], guest: Credentials
) -> None:
    result = _run(client_class, tls_server.url, guest, ca_bundle=tls_server.ca_pem)
    assert (result.exit_code, result.stdout) == (0, b"hi\n")


def test_a_certificate_from_an_unknown_ca_is_refused_once_with_the_ca_bundle_hint(
    tls_server: TLSServer, client_class: type[Any], guest: Credentials
) -> None:
    with pytest.raises(errors.RequestNotSent) as caught:
        _run(client_class, tls_server.url, guest)
    message = str(caught.value)
    assert f"TLS with {tls_server.url} failed" in message
    assert "the request was not sent" in message
    assert "ca_bundle" in message
    assert DEMO_API_PASSWORD not in message
    assert DEMO_API_PASSWORD not in repr(caught.value)
    # One handshake: the login is not sent again to a server whose certificate was refused.
    assert tls_server.handshakes == 1
    # The reason is OpenSSL's, whichever the client or transport (not a library's wrapper of it).
    port = int(tls_server.url.rsplit(":", 1)[1])
    assert f"failed ({_verify_message(port, '127.0.0.1')})" in message


def test_through_aiohttp_the_certificate_error_is_the_cause_of_the_cause(
    tls_server: TLSServer, guest: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aio.translated()'s promise: the aiohttp exception is the httpx one's `__cause__` (so that a
    traceback shows what aiohttp said), and the ssl module's error is behind it."""
    aiohttp = pytest.importorskip("aiohttp", reason="the aiohttp extra is not installed")
    monkeypatch.delenv("VCENTER_GUEST_AIOHTTP", raising=False)
    with pytest.raises(errors.RequestNotSent) as caught:
        _run(AsyncClient, tls_server.url, guest)
    mapped = caught.value.__cause__
    assert isinstance(mapped, httpx.ConnectError)
    assert isinstance(mapped.__cause__, aiohttp.ClientConnectorCertificateError)
    assert isinstance(mapped.__cause__.__cause__, ssl.SSLCertVerificationError)


def test_verify_false_runs_a_program_without_checking_the_certificate(
    tls_server: TLSServer, client_class: type[Any], guest: Credentials
) -> None:
    result = _run(client_class, tls_server.url, guest, verify=False)
    assert (result.exit_code, result.stdout) == (0, b"hi\n")


# --- ESXi transfers through each transport of the AsyncClient ----------------------------------------------


@pytest.fixture(params=["aiohttp", "httpx"])
def async_transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The AsyncClient's transport a test runs through: aiohttp (the extra's default) or httpx's own."""
    if request.param == "aiohttp":
        pytest.importorskip("vcenter_guest._clients.aio", reason="the aiohttp extra is not installed")
        monkeypatch.delenv("VCENTER_GUEST_AIOHTTP", raising=False)
    else:
        monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "0")
    return str(request.param)


def _async_client(url: str, transport: str, **options: Any) -> AsyncClient:
    assert backend() == transport  # the test does go through the transport it names
    return AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=FAST_RETRY, **options)


def test_async_transfers_go_to_the_esxi_host_the_url_names(async_transport: str, guest: Credentials) -> None:
    async def main() -> None:
        async with _async_client(url, async_transport) as vc:
            await vc.files.upload(DEMO_VM, guest, b"via the host", "/tmp/host.txt")
            assert await vc.files.download(DEMO_VM, guest, "/tmp/host.txt") == b"via the host"

    with serve(esxi_host=True) as url:
        asyncio.run(main())


def test_an_unreachable_esxi_host_is_named_without_the_transfer_token_by_the_async_client(
    async_transport: str, guest: Credentials, demo_inventory: dict[str, Any]
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inventory = {**demo_inventory, "transfer_base_url": f"http://127.0.0.1:{port}"}

    async def main() -> None:
        async with _async_client(url, async_transport) as vc:
            with pytest.raises(errors.RequestNotSent) as caught:
                await vc.files.download(DEMO_VM, guest, "/etc/hostname")
        message = str(caught.value)
        assert f"ESXi host 127.0.0.1:{port}" in message
        assert "443" in message
        assert "token=" not in message
        assert "token=" not in repr(caught.value)

    with serve(inventory) as url:
        asyncio.run(main())


def test_the_async_client_s_esxi_hosts_reach_a_host_at_another_address_under_its_own_name(
    async_transport: str, guest: Credentials
) -> None:
    app = create_app()

    async def unmapped() -> None:
        async with _async_client(url, async_transport) as vc:
            with pytest.raises(errors.RequestNotSent):
                await vc.files.download(DEMO_VM, guest, "/etc/hostname")

    async def mapped() -> None:
        hosts = {"ESXi-1.invalid": f"127.0.0.1:{port}"}
        async with _async_client(url, async_transport, esxi_hosts=hosts) as vc:
            assert await vc.files.download(DEMO_VM, guest, "/etc/hostname") == b"demo-linux\n"
            await vc.files.upload(DEMO_VM, guest, b"mapped", "/tmp/mapped.txt")
            assert await vc.files.download(DEMO_VM, guest, "/tmp/mapped.txt") == b"mapped"

    with serve(app=app) as url:
        # Transfer URLs now name a host this machine cannot resolve, on the port the mock listens on.
        port = url.rsplit(":", 1)[1]
        app.state.simulator.host_url = f"http://esxi-1.invalid:{port}"
        asyncio.run(unmapped())
        asyncio.run(mapped())


# --- ESXi transfers over TLS: the host's certificate is checked for its own name ---------------------------


def _esxi_over_tls(client_class: type[Any], server: TLSServer, guest: Credentials, **options: Any) -> bytes:
    """Uploads then downloads a file through a client of `client_class` trusting the server's CA, after
    an API call (a vCenter connection is in the pool when the transfers begin)."""
    options = {"user": DEMO_API_USER, "password": DEMO_API_PASSWORD, "retry": FAST_RETRY, **options}
    if client_class is Client:
        with Client(server.url, ca_bundle=server.ca_pem, **options) as vc:
            assert vc.check_session()
            vc.files.upload(DEMO_VM, guest, b"over tls", "/tmp/tls.txt")
            data: bytes = vc.files.download(DEMO_VM, guest, "/tmp/tls.txt")
            return data

    async def main() -> bytes:
        async with AsyncClient(server.url, ca_bundle=server.ca_pem, **options) as vc:
            assert await vc.check_session()
            await vc.files.upload(DEMO_VM, guest, b"over tls", "/tmp/tls.txt")
            data: bytes = await vc.files.download(DEMO_VM, guest, "/tmp/tls.txt")
            return data

    return asyncio.run(main())


def test_transfers_go_over_tls_to_the_esxi_host(
    ca: Any, tmp_path: Path, client_class: type[Any], guest: Credentials
) -> None:
    with serve_tls(ca, tmp_path, esxi_host=True) as server:
        assert _esxi_over_tls(client_class, server, guest) == b"over tls"


def test_esxi_hosts_check_the_host_s_certificate_for_its_own_name(
    ca: Any, tmp_path: Path, client_class: type[Any], guest: Credentials
) -> None:
    app = create_app()
    with serve_tls(ca, tmp_path, "127.0.0.1", "esxi-1.invalid", app=app, esxi_host=True) as server:
        # The transfer URLs name the host, which this machine cannot resolve; esxi_hosts reaches it at
        # 127.0.0.1, and TLS checks the certificate for esxi-1.invalid (its SNI names it too).
        app.state.simulator.host_url = f"https://esxi-1.invalid:{server.esxi_port}"
        hosts = {"esxi-1.invalid": f"127.0.0.1:{server.esxi_port}"}
        assert _esxi_over_tls(client_class, server, guest, esxi_hosts=hosts) == b"over tls"


def test_esxi_hosts_refuse_a_host_whose_certificate_does_not_name_it(
    ca: Any, tmp_path: Path, client_class: type[Any], guest: Credentials
) -> None:
    app = create_app()
    with serve_tls(ca, tmp_path, "127.0.0.1", app=app, esxi_host=True) as server:
        # The certificate names 127.0.0.1 only: good enough for vCenter, not for the host it stands for.
        app.state.simulator.host_url = f"https://esxi-1.invalid:{server.esxi_port}"
        hosts = {"esxi-1.invalid": f"127.0.0.1:{server.esxi_port}"}
        with pytest.raises(errors.RequestNotSent) as caught:
            _esxi_over_tls(client_class, server, guest, esxi_hosts=hosts)
        message = str(caught.value)
        reason = _verify_message(server.esxi_port, "esxi-1.invalid", server.ca_pem)
        assert f"TLS with the ESXi host esxi-1.invalid:{server.esxi_port} " in message
        assert f"failed ({reason})" in message  # "Hostname mismatch, ...", not "could not reach"
        assert "could not reach" not in message
        assert "token=" not in message
        assert "token=" not in repr(caught.value)


@pytest.mark.parametrize("names", [("127.0.0.1", "localhost"), ("127.0.0.1", "localhost", "esxi-1.invalid")])
def test_esxi_hosts_check_the_certificate_even_at_vcenter_s_own_address(
    ca: Any, tmp_path: Path, client_class: type[Any], guest: Credentials, names: tuple[str, ...]
) -> None:
    """A host mapped to the address:port the client already has a connection to (vCenter's own here)
    still gets its own TLS handshake, checked for its name: a pooled vCenter connection, whose
    certificate names only 127.0.0.1, is not reused for esxi-1.invalid."""
    app = create_app()
    with serve_tls(ca, tmp_path, *names, app=app) as server:
        port = int(server.url.rsplit(":", 1)[1])
        app.state.simulator.host_url = f"https://esxi-1.invalid:{port}"  # the data plane: vCenter's port
        hosts = {"esxi-1.invalid": f"127.0.0.1:{port}"}
        if "esxi-1.invalid" in names:
            assert _esxi_over_tls(client_class, server, guest, esxi_hosts=hosts) == b"over tls"
            return
        with pytest.raises(errors.RequestNotSent) as caught:
            _esxi_over_tls(client_class, server, guest, esxi_hosts=hosts)
        message = str(caught.value)
        reason = _verify_message(port, "esxi-1.invalid", server.ca_pem)
        assert f"TLS with the ESXi host esxi-1.invalid:{port} " in message
        assert f"failed ({reason})" in message
        assert "Hostname mismatch" in message
