"""The official SDK (`vmware-vcenter`, `vmware-vapi-runtime`) configured for the `/api` JSON format.

The generated stubs are built for the older `/rest` format: every stub passes
`is_vapi_rest=True` to `ApiInterfaceStub`, which makes the REST provider unwrap `{"value": ...}`
from success bodies and read errors as `{"type", "value"}`, and serializes maps as lists of
`{"key", "value"}`. `/api` sends plain JSON. The switch (vmware-vapi-runtime 9.1.1.0) is:

1. `get_requests_connector(session=..., msg_protocol="rest", url=BASE + "/api")`: the stubs'
   URL templates start at `/vcenter/...` and `/session`.
2. On each service object, after construction, `set_rest_format(False)` on the connector's
   `RestClientProvider` (it is what `RestSerializer` reads as `is_vapi_rest`), and set the stub's
   `_rest_converter_mode` to `RestConverter.SWAGGER_REST` (maps as JSON objects, `/api` dates).
3. The session id goes in the `requests.Session` headers: in the non-vAPI format the runtime
   refuses a session security context (`_visit_session_security_context` raises
   `CoreException` unless `is_vapi_rest`), while a user/password context (HTTP basic) still works
   for `POST /api/session`.

Without step 2, `Processes.create` fails with `AttributeError: 'IntegerValue' object has no
attribute 'get_field'` (the runtime looks for the `value` wrapper).

This module imports the SDK, so it is imported only by the benchmarks that use it.
"""

from __future__ import annotations

import datetime
from typing import Any

import requests
from com.vmware.cis_client import Session
from com.vmware.vcenter.vm.guest_client import Credentials, Processes
from vmware.vapi.bindings.converter import RestConverter
from vmware.vapi.bindings.stub import StubConfiguration
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.user_password import create_user_password_security_context

from ._server import BenchError

__all__ = ["SdkProcesses", "sdk_session", "use_api_format"]


def use_api_format(service: Any) -> Any:
    """Switches one SDK service object from the `/rest` to the `/api` JSON format."""
    stub = service._api_interface
    stub._is_vapi_rest = False
    stub._rest_converter_mode = RestConverter.SWAGGER_REST
    provider = stub._api_provider
    # A filter chain wraps the REST provider; the format lives on the last provider.
    while hasattr(provider, "get_api_provider"):
        provider = provider.get_api_provider()
    provider.set_rest_format(False)
    return service


def sdk_session(base_url: str, user: str, password: str) -> tuple[requests.Session, str]:
    """A `requests` session carrying a session id the SDK's own `Session.create` got (the `/api` way)."""
    http = requests.Session()
    login = get_requests_connector(session=http, msg_protocol="rest", url=base_url + "/api")
    login.set_security_context(create_user_password_security_context(user, password))
    session_id = use_api_format(Session(StubConfiguration(login))).create()
    if not isinstance(session_id, str) or not session_id:
        raise BenchError(f"the official SDK's Session.create returned {type(session_id).__name__}")
    http.headers["vmware-api-session-id"] = session_id
    return http, session_id


class SdkProcesses:
    """`com.vmware.vcenter.vm.guest_client.Processes` over the requests connector, `/api` format.

    Logs in with the SDK's own `Session.create`, and checks every answer (a pid is a positive int,
    an info parses into `Processes.Info` with a `started` datetime), so a misconfigured SDK fails
    the benchmark instead of timing errors.

    >>> sdk = SdkProcesses("http://127.0.0.1:8080", "user", "pw", "root", "vmware")  # doctest: +SKIP
    >>> sdk.get("vm-1", sdk.create("vm-1", "/bin/true"))  # doctest: +SKIP
    """

    name = "official SDK"

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        guest_user: str,
        guest_password: str,
        *,
        pool_size: int = 8,
    ) -> None:
        self._http, _ = sdk_session(base_url, user, password)
        connector = get_requests_connector(
            session=self._http, msg_protocol="rest", url=base_url + "/api", pool_size=pool_size
        )
        self._processes = use_api_format(Processes(StubConfiguration(connector)))
        self._credentials = Credentials(
            interactive_session=False,
            type=Credentials.Type.USERNAME_PASSWORD,
            user_name=guest_user,
            password=guest_password,
        )

    def create(self, vm: str, path: str, arguments: str | None = None) -> int:
        """Starts `path` in `vm`; returns the pid after checking it is one."""
        pid = self._processes.create(vm, self._credentials, Processes.CreateSpec(path=path, arguments=arguments))
        if type(pid) is not int or pid <= 0:
            raise BenchError(f"the official SDK's create returned {pid!r}, not a pid")
        return pid

    def get(self, vm: str, pid: int) -> datetime.datetime | None:
        """The process's end time (None while it runs), after checking the info parsed."""
        info = self._processes.get(vm, self._credentials, pid)
        if not isinstance(info, Processes.Info) or not isinstance(info.started, datetime.datetime):
            raise BenchError(f"the official SDK's get returned {type(info).__name__}, not Processes.Info")
        finished: datetime.datetime | None = info.finished
        return finished

    def close(self) -> None:
        """Closes the HTTP connections (the session is left to expire, as the SDK's samples do)."""
        self._http.close()
