"""Retries: bounded, backed off, and never a second create once the first may have reached the server."""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import h11
import httpx
import pytest
from vcenter_guest import Client, CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM

PATIENT = RetryPolicy(attempts=5, timeout=10, initial=0.001, maximum=0.002, jitter=0.0)
GUEST = Credentials.password("root", "vmware")


def _started(simulator: Any, vm: str = DEMO_VM) -> list[Any]:
    return [p for p in simulator.find_vm(vm).processes.values() if p.from_create]


class DroppingProxy(socketserver.ThreadingTCPServer):
    """A loopback HTTP server in front of the mock: relays every request, but for those `drop`
    picks it relays the request (so the mock acts on it) and then closes the client's connection
    without a response. It counts requests per action."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: str, drop: Callable[[str, int], bool]) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.target = httpx.Client(base_url=target, timeout=30)
        self.drop = drop
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _RelayHandler(socketserver.BaseRequestHandler):
    server: DroppingProxy

    def _receive(self, conn: h11.Connection) -> Any:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(self.request.recv(65536))
                continue
            return event

    def handle(self) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            request = self._receive(conn)
            if not isinstance(request, h11.Request):
                return
            body = b""
            while not isinstance(event := self._receive(conn), h11.EndOfMessage):
                body += event.data
            target = request.target.decode()
            action = target.rsplit("action=", 1)[-1] if "action=" in target else request.method.decode()
            with self.server.lock:
                count = self.server.counts[action] = self.server.counts.get(action, 0) + 1
            headers = [(k, v) for k, v in request.headers if k.lower() not in {b"host", b"content-length"}]
            response = self.server.target.request(request.method.decode(), target, headers=headers, content=body)
            if self.server.drop(action, count):
                self.request.shutdown(socket.SHUT_RDWR)  # the server acted; the client never hears of it
                return
            out = [
                (k, v) for k, v in response.headers.raw if k.lower() not in {b"content-length", b"transfer-encoding"}
            ]
            out.append((b"content-length", str(len(response.content)).encode()))
            self.request.sendall(conn.send(h11.Response(status_code=response.status_code, headers=out)))
            self.request.sendall(conn.send(h11.Data(data=response.content)) + conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()


@pytest.fixture
def proxy_to_mock(
    make_loopback_server: Callable[..., Any],
) -> Iterator[Callable[[Callable[[str, int], bool]], tuple[DroppingProxy, Any]]]:
    proxies: list[DroppingProxy] = []
    server = make_loopback_server()
    app, url = server.app, server.url

    def make(drop: Callable[[str, int], bool]) -> tuple[DroppingProxy, Any]:
        proxy = DroppingProxy(url, drop)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxies.append(proxy)
        return proxy, app.state.simulator

    yield make
    for proxy in proxies:
        proxy.shutdown()
        proxy.server_close()
        proxy.target.close()


def test_a_create_whose_connection_dropped_after_the_server_read_it_is_never_sent_again(
    proxy_to_mock: Any,
) -> None:
    proxy, simulator = proxy_to_mock(lambda action, n: action == "create")
    with (
        Client(proxy.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=PATIENT) as vc,
        pytest.raises(errors.ResponseNotReceived) as caught,
    ):
        vc.processes.create(DEMO_VM, GUEST, CreateSpec("/bin/sleep", arguments="60"))
    assert caught.value.may_have_reached_server is True
    assert proxy.counts["create"] == 1, "create must not be sent again after it may have reached the server"
    assert len(_started(simulator)) == 1, "the program was started once, and only once"


def test_run_never_starts_its_program_twice_when_the_create_answer_is_lost(proxy_to_mock: Any) -> None:
    proxy, simulator = proxy_to_mock(lambda action, n: action == "create")
    with (
        Client(proxy.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=PATIENT) as vc,
        pytest.raises(errors.ResponseNotReceived),
    ):
        vc.processes.run(DEMO_VM, GUEST, "/bin/true")
    assert proxy.counts["create"] == 1
    assert len(_started(simulator)) == 1


def test_get_and_list_are_sent_again_after_a_dropped_connection(proxy_to_mock: Any) -> None:
    proxy, simulator = proxy_to_mock(lambda action, n: action in {"get", "list"} and n == 1)
    with Client(proxy.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=PATIENT) as vc:
        result = vc.processes.run(DEMO_VM, GUEST, "/bin/true")
        assert vc.processes.list(DEMO_VM, GUEST)
    assert result.exit_code == 0
    assert proxy.counts["get"] >= 2
    assert proxy.counts["list"] == 2
    assert len(_started(simulator)) == 1


class _ActsThenFails(httpx.BaseTransport):
    """In process: hands the request to the mock (which acts on it), then fails as the network would."""

    def __init__(self, inner: httpx.BaseTransport, fail: Callable[[httpx.Request], BaseException | None]) -> None:
        self.inner, self.fail, self.creates = inner, fail, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.creates += request.url.query == b"action=create"
        response = self.inner.handle_request(request)
        failure = self.fail(request)
        if failure is not None:
            raise failure
        return response


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("Server disconnected"), httpx.ReadError("reset")],
    ids=["read timeout", "disconnected", "reset"],
)
def test_create_is_not_resent_after_any_failure_once_sent_in_process(
    in_process_server: Any, failure: BaseException
) -> None:
    server = in_process_server
    transport = _ActsThenFails(server.sync_transport(), lambda r: failure if r.url.query == b"action=create" else None)
    with (
        Client(server.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=PATIENT, transport=transport) as vc,
        pytest.raises(errors.ResponseNotReceived),
    ):
        vc.processes.create(DEMO_VM, GUEST, "/bin/true")
    assert transport.creates == 1
    assert len(_started(server.simulator)) == 1


def _sequence(*steps: httpx.Response | BaseException, **options: Any) -> tuple[Client, list[httpx.Request]]:
    """A client whose guest calls get the given answers (or raise the given errors) in order."""
    seen: list[httpx.Request] = []
    remaining = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            return httpx.Response(201, json="session-1") if request.method == "POST" else httpx.Response(204)
        seen.append(request)
        step = remaining.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    options.setdefault("retry", PATIENT)
    client = Client("http://vc.test", user="u", password="secret-pw", transport=httpx.MockTransport(handler), **options)
    return client, seen


def _error(error_type: str, status: int, **extra: Any) -> httpx.Response:
    body = {"error_type": error_type, "messages": [{"id": "x", "default_message": error_type, "args": []}], **extra}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("error_type", "status"), [("RESOURCE_BUSY", 500), ("SERVICE_UNAVAILABLE", 503), ("TIMED_OUT", 500)]
)
def test_create_is_retried_when_the_server_answered_that_it_did_not_act(error_type: str, status: int) -> None:
    vc, seen = _sequence(_error(error_type, status), httpx.Response(201, json=77))
    assert vc.processes.create("vm-1", GUEST, "/bin/true") == 77
    assert len(seen) == 2


def test_create_is_retried_when_the_connection_could_not_be_made() -> None:
    vc, seen = _sequence(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(201, json=5))
    assert vc.processes.create("vm-1", GUEST, "/bin/true") == 5
    assert len(seen) == 3


def test_a_connection_refused_everywhere_raises_request_not_sent_after_the_attempts() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    vc = Client(f"http://127.0.0.1:{port}", user="u", password="secret-pw", retry=PATIENT)
    with pytest.raises(errors.RequestNotSent) as caught:
        vc.processes.create("vm-1", GUEST, "/bin/true")
    assert caught.value.may_have_reached_server is False
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_get_is_retried_after_a_read_timeout() -> None:
    info = {"name": "a", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z"}
    vc, seen = _sequence(httpx.ReadTimeout("slow"), httpx.Response(200, json=info))
    assert vc.processes.get("vm-1", GUEST, 3).name == "a"
    assert len(seen) == 2


def test_delete_treats_not_found_after_a_lost_answer_as_done() -> None:
    vc, seen = _sequence(httpx.RemoteProtocolError("gone"), _error("NOT_FOUND", 404, data={"pid": 3}))
    assert vc.processes.delete("vm-1", GUEST, 3) is None
    assert len(seen) == 2


def test_delete_of_an_unknown_pid_on_the_first_attempt_is_not_found() -> None:
    vc, _ = _sequence(_error("NOT_FOUND", 404, data={"pid": 3}))
    with pytest.raises(errors.NotFound):
        vc.processes.delete("vm-1", GUEST, 3)


def test_retries_stop_after_the_configured_number_of_attempts() -> None:
    vc, seen = _sequence(
        *[_error("SERVICE_UNAVAILABLE", 503)] * 10,
        retry=RetryPolicy(attempts=4, initial=0.001, maximum=0.001, jitter=0),
    )
    with pytest.raises(errors.ServiceUnavailable):
        vc.processes.list("vm-1", GUEST)
    assert len(seen) == 4


def test_retries_stop_when_the_next_wait_would_pass_the_total_time() -> None:
    vc, seen = _sequence(
        *[_error("RESOURCE_BUSY", 500)] * 50,
        retry=RetryPolicy(attempts=50, timeout=0.1, initial=0.04, maximum=0.04, jitter=0),
    )
    with pytest.raises(errors.ResourceBusy):
        vc.processes.list("vm-1", GUEST)
    assert 2 <= len(seen) <= 4, "a 0.1 s budget with 0.04 s waits allows about three attempts"


def test_waits_grow_exponentially_with_jitter_up_to_the_maximum() -> None:
    waits: list[float] = []
    vc, _ = _sequence(
        *[_error("RESOURCE_BUSY", 500)] * 6,
        retry=RetryPolicy(attempts=6, timeout=1000, initial=0.1, maximum=0.35, jitter=0.05),
        sleep=waits.append,
    )
    with pytest.raises(errors.ResourceBusy):
        vc.processes.list("vm-1", GUEST)
    bases = [0.1, 0.2, 0.35, 0.35, 0.35]
    assert len(waits) == 5
    assert all(base <= wait <= base + 0.05 for base, wait in zip(bases, waits, strict=True)), waits


def test_each_retry_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    vc, _ = _sequence(_error("SERVICE_UNAVAILABLE", 503), httpx.Response(200, json=[]))
    with caplog.at_level(logging.WARNING, logger="vcenter_guest"):
        vc.processes.list("vm-1", GUEST)
    assert any("retrying" in r.getMessage() and "ServiceUnavailable" in r.getMessage() for r in caplog.records)


def test_a_certificate_that_fails_verification_is_not_retried_and_says_what_to_do() -> None:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
    failure = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")
    failure.__cause__ = cause
    vc, seen = _sequence(failure, httpx.Response(200, json=[]))
    with pytest.raises(errors.RequestNotSent, match="CA bundle"):
        vc.processes.list("vm-1", GUEST)
    assert len(seen) == 1


def test_retry_policy_never_makes_one_attempt() -> None:
    vc, seen = _sequence(_error("RESOURCE_BUSY", 500), httpx.Response(200, json=[]), retry=RetryPolicy.never())
    with pytest.raises(errors.ResourceBusy):
        vc.processes.list("vm-1", GUEST)
    assert len(seen) == 1
