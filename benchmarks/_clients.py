"""The sequential clients under test, behind one small interface: `create`, `get`, `close`.

Each checks every answer it gets, so a broken client fails the benchmark instead of timing errors.
Credentials objects are built once per client and specs once per call, as a user's code would.
"""

from __future__ import annotations

import datetime
from typing import Any, Protocol

import httpx

from ._inventory import API_PASSWORD, API_USER, GUEST_PASSWORD, GUEST_USER
from ._server import BenchError

__all__ = [
    "GeneratedClient",
    "OverlayClient",
    "RawHttpx",
    "SequentialClient",
    "login",
    "make_client",
]

CLIENT_NAMES = ("raw httpx", "generated", "overlay", "official SDK")

SESSION_HEADER = "vmware-api-session-id"


class SequentialClient(Protocol):
    """What the per-call benchmark drives; `get` returns the end marker (None while running)."""

    name: str

    def create(self, vm: str, path: str, arguments: str | None = None) -> int: ...

    def get(self, vm: str, pid: int) -> object | None: ...

    def close(self) -> None: ...


def login(base_url: str) -> str:
    """A session id from `POST /api/session` with HTTP basic auth.

    >>> login("http://127.0.0.1:8080")  # doctest: +SKIP
    """
    response = httpx.post(base_url + "/api/session", auth=(API_USER, API_PASSWORD), timeout=30)
    if response.status_code != 201 or not isinstance(response.json(), str):
        raise BenchError(f"login failed with status {response.status_code}")
    session_id: str = response.json()
    return session_id


class RawHttpx:
    """The floor: `httpx.Client` with hand-built JSON and no models.

    >>> RawHttpx("http://127.0.0.1:8080").create("vm-1", "/bin/true")  # doctest: +SKIP
    """

    name = "raw httpx"

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, headers={SESSION_HEADER: login(base_url)}, timeout=60)
        self._credentials = {
            "interactive_session": False,
            "type": "USERNAME_PASSWORD",
            "user_name": GUEST_USER,
            "password": GUEST_PASSWORD,
        }

    def create(self, vm: str, path: str, arguments: str | None = None) -> int:
        """Starts a program; returns its pid."""
        spec: dict[str, Any] = {"path": path}
        if arguments is not None:
            spec["arguments"] = arguments
        response = self._http.post(
            f"/api/vcenter/vm/{vm}/guest/processes?action=create",
            json={"credentials": self._credentials, "spec": spec},
        )
        pid = response.json()
        if response.status_code != 201 or type(pid) is not int:
            raise BenchError(f"raw create answered {response.status_code}: {response.text[:200]}")
        return pid

    def get(self, vm: str, pid: int) -> object | None:
        """The process's `finished` string, or None while it runs."""
        response = self._http.post(
            f"/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get",
            json={"credentials": self._credentials},
        )
        info = response.json()
        if response.status_code != 200 or not isinstance(info, dict) or "started" not in info:
            raise BenchError(f"raw get answered {response.status_code}: {response.text[:200]}")
        finished: object | None = info.get("finished")
        return finished

    def close(self) -> None:
        """Closes the connections."""
        self._http.close()


class GeneratedClient:
    """The generated `vcenter_guest_client` with an `AuthenticatedClient` carrying the session header.

    >>> GeneratedClient("http://127.0.0.1:8080").create("vm-1", "/bin/true")  # doctest: +SKIP
    """

    name = "generated"

    def __init__(self, base_url: str) -> None:
        from vcenter_guest_client import AuthenticatedClient
        from vcenter_guest_client.api.vmguestprocesses import processes_create as create
        from vcenter_guest_client.api.vmguestprocesses import processes_get as get
        from vcenter_guest_client.models import (
            CreateSpec,
            Credentials,
            CredentialsType,
            ProcessesCreateBody,
            ProcessesCredentialsBody,
            ProcessInfo,
        )

        self._create, self._get = create, get
        self._create_spec, self._create_body, self._info = CreateSpec, ProcessesCreateBody, ProcessInfo
        self._client = AuthenticatedClient(
            base_url=base_url,
            token=login(base_url),
            prefix="",
            auth_header_name=SESSION_HEADER,
            timeout=httpx.Timeout(60),
        )
        self._credentials = Credentials(
            interactive_session=False,
            type_=CredentialsType.USERNAME_PASSWORD,
            user_name=GUEST_USER,
            password=GUEST_PASSWORD,
        )
        self._credentials_body = ProcessesCredentialsBody(credentials=self._credentials)

    def create(self, vm: str, path: str, arguments: str | None = None) -> int:
        """Starts a program; returns its pid."""
        spec = self._create_spec(path=path) if arguments is None else self._create_spec(path=path, arguments=arguments)
        pid = self._create.sync(
            vm, client=self._client, body=self._create_body(credentials=self._credentials, spec=spec)
        )
        if type(pid) is not int:
            raise BenchError(f"generated create returned {pid!r}")
        return pid

    def get(self, vm: str, pid: int) -> object | None:
        """The process's end time, or None while it runs."""
        info = self._get.sync(vm, pid, client=self._client, body=self._credentials_body)
        if not isinstance(info, self._info):
            raise BenchError(f"generated get returned {info!r}")
        finished: datetime.datetime | None = info.finished if isinstance(info.finished, datetime.datetime) else None
        return finished

    def close(self) -> None:
        """Closes the connections."""
        self._client.get_httpx_client().close()


class OverlayClient:
    """The overlay: `vcenter_guest.Client` (logs in itself, typed errors, retries, redaction).

    >>> OverlayClient("http://127.0.0.1:8080").create("vm-1", "/bin/true")  # doctest: +SKIP
    """

    name = "overlay"

    def __init__(self, base_url: str) -> None:
        import vcenter_guest

        self._vg = vcenter_guest
        self._client = vcenter_guest.Client(base_url, user=API_USER, password=API_PASSWORD)
        self._client.__enter__()
        self._credentials = vcenter_guest.Credentials.password(GUEST_USER, GUEST_PASSWORD)

    def create(self, vm: str, path: str, arguments: str | None = None) -> int:
        """Starts a program; returns its pid."""
        spec = (
            self._vg.CreateSpec(path=path) if arguments is None else self._vg.CreateSpec(path=path, arguments=arguments)
        )
        pid = self._client.processes.create(vm, self._credentials, spec)
        if type(pid) is not int:
            raise BenchError(f"overlay create returned {pid!r}")
        return pid

    def get(self, vm: str, pid: int) -> object | None:
        """The process's end time, or None while it runs."""
        info = self._client.processes.get(vm, self._credentials, pid)
        if not isinstance(info.started, datetime.datetime):
            raise BenchError(f"overlay get returned {info!r}")
        finished: object | None = info.finished
        return finished

    def close(self) -> None:
        """Logs out and closes the connections."""
        self._client.__exit__(None, None, None)


def make_client(name: str, base_url: str, *, pool_size: int = 8) -> SequentialClient:
    """Builds the client called `name` (one of `CLIENT_NAMES`) against a served mock."""
    if name == RawHttpx.name:
        return RawHttpx(base_url)
    if name == GeneratedClient.name:
        return GeneratedClient(base_url)
    if name == OverlayClient.name:
        return OverlayClient(base_url)
    if name == "official SDK":
        from ._sdk import SdkProcesses

        return SdkProcesses(base_url, API_USER, API_PASSWORD, GUEST_USER, GUEST_PASSWORD, pool_size=pool_size)
    raise BenchError(f"unknown client {name!r}; choose from {', '.join(CLIENT_NAMES)}")
