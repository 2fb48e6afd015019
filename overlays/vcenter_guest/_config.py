"""Checking what users pass to the clients, once, with messages that say what to do.

Every check raises `errors.UsageError` (also a ValueError) before anything is sent.
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ._models import CreateSpec, Credentials
from ._retry import RetryPolicy
from .errors import UsageError

__all__ = [
    "DEFAULT_TIMEOUT",
    "api_login",
    "check_credentials",
    "check_pid",
    "check_run_timeout",
    "check_spec",
    "check_vm",
    "http_timeout",
    "program_spec",
    "retry_policy",
    "server_url",
    "tls_verify",
]

log = logging.getLogger("vcenter_guest")

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for one HTTP response (not for a program: that is `run(timeout=...)`)."""


def server_url(server: object) -> str:
    """The base URL of a vCenter: "vc.example.com" -> "https://vc.example.com".

    >>> server_url("vc.example.com:8443/")
    'https://vc.example.com:8443'
    """
    if not isinstance(server, str) or not server.strip():
        raise UsageError("server must be a URL or host name, e.g. https://vcenter.example.com")
    text = server.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UsageError(f"server is not a valid URL: {server!r}") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise UsageError(f"server must be an http:// or https:// URL with a host name, got {server!r}")
    if url.userinfo:
        raise UsageError("do not put credentials in the server URL; pass user= and password=")
    return str(url.copy_with(query=None, fragment=None)).rstrip("/")


def tls_verify(verify: object, ca_bundle: object, url: str) -> bool | ssl.SSLContext:
    """What to give httpx as `verify`; warns when verification is turned off."""
    if ca_bundle is not None:
        if verify is False:
            raise UsageError("ca_bundle= and verify=False contradict each other: pass one of them")
        if not isinstance(ca_bundle, str | os.PathLike):
            raise UsageError("ca_bundle must be the path of a PEM file of CA certificates")
        try:
            return ssl.create_default_context(cafile=os.fspath(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc.__class__.__name__
            raise UsageError(f"cannot use the CA bundle {os.fspath(ca_bundle)!r}: {reason}") from None
    if verify is True:
        return True
    if verify is False:
        if url.startswith("https://"):
            log.warning(
                "TLS certificate verification is OFF for %s: anyone on the network path can impersonate "
                "the server and read the credentials sent to it",
                url,
            )
        return False
    if isinstance(verify, ssl.SSLContext):
        return verify
    raise UsageError("verify must be True, False or an ssl.SSLContext (for a CA file, pass ca_bundle=)")


def http_timeout(timeout: object) -> httpx.Timeout:
    """Seconds for one HTTP exchange (or an httpx.Timeout); None waits forever."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and math.isfinite(timeout) and timeout > 0:
        return httpx.Timeout(float(timeout))
    raise UsageError("timeout must be a positive number of seconds, an httpx.Timeout or None")


def retry_policy(retry: object) -> RetryPolicy:
    """The policy to use: the default one for None."""
    if retry is None:
        return RetryPolicy()
    if not isinstance(retry, RetryPolicy):
        raise UsageError("retry must be a RetryPolicy (RetryPolicy.never() to turn retries off)")
    return retry


def api_login(user: object, password: object, session_id: object) -> tuple[str | None, str | None, str | None]:
    """The API user, password and session id, checked: a session id, or a user and password, or both."""
    if session_id is not None and (not isinstance(session_id, str) or not session_id):
        raise UsageError("session_id must be a non-empty string")
    if (user is None) != (password is None):
        raise UsageError("pass both user= and password= (or neither, with session_id=)")
    if user is None and session_id is None:
        raise UsageError("pass user= and password= (or an existing session_id=) to log in to vCenter")
    if user is not None and (not isinstance(user, str) or not user):
        raise UsageError("user must be a non-empty string, e.g. administrator@vsphere.local")
    if password is not None and not isinstance(password, str):
        raise UsageError("password must be a string")
    return user, password, session_id


def check_vm(vm: object) -> str:
    """A VM identifier such as "vm-42"."""
    if not isinstance(vm, str) or not vm:
        raise UsageError(f"vm must be a VM identifier such as 'vm-42', got {vm!r}")
    return vm


def check_pid(pid: object) -> int:
    """A process id: a non-negative int."""
    if type(pid) is not int or pid < 0:
        raise UsageError(f"pid must be a non-negative int, got {pid!r}")
    return pid


def check_credentials(credentials: object) -> Credentials:
    """Guest credentials built with Credentials.password() or Credentials.saml()."""
    if not isinstance(credentials, Credentials):
        raise UsageError(
            "credentials must be vcenter_guest.Credentials, e.g. Credentials.password('root', password), "
            f"not {type(credentials).__name__}"
        )
    return credentials


def check_spec(spec: object) -> CreateSpec:
    """A CreateSpec, or a program path as shorthand for CreateSpec(path)."""
    if isinstance(spec, CreateSpec):
        return spec
    if isinstance(spec, str):
        return CreateSpec(spec)
    raise UsageError(f"spec must be a vcenter_guest.CreateSpec or a program path, not {type(spec).__name__}")


def check_run_timeout(timeout: object) -> float | None:
    """Seconds `run` waits for the program (None: forever)."""
    if timeout is None:
        return None
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and math.isfinite(timeout) and timeout > 0:
        return float(timeout)
    raise UsageError(f"timeout must be a positive number of seconds or None, got {timeout!r}")


def program_spec(
    program: object,
    args: Sequence[object],
    *,
    arguments: str | None = None,
    working_directory: str | None = None,
    environment_variables: Mapping[str, str] | None = None,
) -> CreateSpec:
    """The CreateSpec for `run(vm, creds, program, *args, ...)`.

    Each of `args` is quoted for a POSIX shell (Linux and Solaris guests run programs through
    one), so every arg reaches the program as one argument, spaces and quotes included. For shell
    syntax (redirection, pipes) or Windows guests, pass `arguments=` as one string instead.

    >>> program_spec("/bin/echo", ["hello world", "it's"]).arguments
    '\\'hello world\\' \\'it\\'"\\'"\\'s\\''
    """
    if isinstance(program, CreateSpec):
        if args or arguments is not None or working_directory is not None or environment_variables is not None:
            raise UsageError("with a CreateSpec, put arguments, directory and environment in the spec itself")
        return program
    if not isinstance(program, str) or not program:
        raise UsageError("program must be an absolute path (a non-empty string) or a CreateSpec")
    if args and arguments is not None:
        raise UsageError("pass the arguments either as separate args or as arguments=, not both")
    for arg in args:
        if not isinstance(arg, str):
            raise UsageError(f"each argument must be a string, got {type(arg).__name__}")
    text: Any = shlex.join(args) if args else arguments  # type: ignore[arg-type]
    return CreateSpec(
        program,
        arguments=text,
        working_directory=working_directory,
        environment_variables=environment_variables,
    )
