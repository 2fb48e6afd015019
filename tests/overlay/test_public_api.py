"""The public surface: names users import, what `import vcenter_guest` loads, and bad input."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcenter_guest
from vcenter_guest import AsyncClient, Client, CreateSpec, Credentials, RetryPolicy, errors

PUBLIC = vcenter_guest.__all__
GUEST = Credentials.password("root", "vmware")


def test_the_package_exports_a_sorted_curated_surface() -> None:
    # As httpx's tests/test_exported_members.py: every public name the package holds is exported, sorted
    # (its submodules aside: `errors` is imported on purpose; others appear as their import side effect).
    # Values load on first use (`_values.ON_FIRST_USE`): read every exported name first, so the package
    # holds them all.
    for name in PUBLIC:
        assert getattr(vcenter_guest, name) is not None
    public = [
        name
        for name, value in vars(vcenter_guest).items()
        if not name.startswith("_") and (not isinstance(value, types.ModuleType) or name == "errors")
    ]
    assert vcenter_guest.__all__ == sorted(public)


def test_errors_exports_every_exception_class_it_defines() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__
    }
    assert defined <= set(errors.__all__)


def test_import_loads_neither_the_generated_models_nor_anything_heavy() -> None:
    probe = (
        "import sys, json, vcenter_guest; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'starlette', 'uvicorn', 'schemathesis', 'hypothesis', 'jsonschema', 'yaml', 'tenacity', 'dateutil'} "
        "or m == 'vcenter_guest_client.models' or m.startswith('vcenter_guest.mock') "
        "or m.startswith('vcenter_guest.cli'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_public_names_have_docstrings() -> None:
    for name in PUBLIC:
        value = getattr(vcenter_guest, name)
        if isinstance(value, type):
            assert value.__doc__, f"{name} has no docstring"
            for attr, member in vars(value).items():
                if callable(member) and not attr.startswith("_"):
                    assert member.__doc__, f"{name}.{attr} has no docstring"


def _offline_client(**options: Any) -> Client:
    return Client(
        "http://vc.test",
        user="u",
        password="pw",
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
        **options,
    )


_CREDS = Credentials.password("root", "guest-pw")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda vc: vc.processes.list("", GUEST), "vm must be"),
        (lambda vc: vc.processes.list(42, GUEST), "vm must be"),
        (lambda vc: vc.processes.get("vm-1", GUEST, -1), "pid must be"),
        (lambda vc: vc.processes.get("vm-1", GUEST, "7"), "pid must be"),
        (lambda vc: vc.processes.get("vm-1", GUEST, True), "pid must be"),
        (lambda vc: vc.processes.list("vm-1", {"user": "root"}), "credentials must be"),
        (lambda vc: vc.processes.create("vm-1", GUEST, 5), "spec must be"),
        (lambda vc: vc.processes.run("vm-1", GUEST, "/bin/ls", timeout=0), "timeout must be"),
        (lambda vc: vc.processes.run("vm-1", GUEST, "/bin/ls", timeout=float("nan")), "timeout must be"),
        (lambda vc: vc.processes.run("vm-1", GUEST, "/bin/ls", "-l", arguments="-a"), "not both"),
        (lambda vc: vc.processes.run("vm-1", GUEST, "/bin/ls", 3), "must be a string"),
        (lambda vc: vc.processes.run("vm-1", GUEST, CreateSpec("/bin/ls"), "-l"), "in the spec itself"),
        (lambda vc: vc.processes.run("vm-1", GUEST, ""), "program must be"),
    ],
)
def test_bad_arguments_raise_a_usage_error_before_anything_is_sent(call: Any, message: str) -> None:
    vc = _offline_client()
    with pytest.raises(errors.UsageError, match=message):
        call(vc)
    assert vc.session_id is None, "nothing may have been sent"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Client(""), "server must be"),
        (lambda: Client("ftp://vc.example.com", user="u", password="p"), "http:// or https://"),
        (lambda: Client("https://u:p@vc.example.com", user="u", password="p"), "do not put credentials"),
        (lambda: Client("vc.example.com"), "pass user= and password="),
        (lambda: Client("vc.example.com", user="u"), "pass both"),
        (lambda: Client("vc.example.com", user="", password="p"), "user must be"),
        (lambda: Client("vc.example.com", session_id=""), "session_id must be"),
        (lambda: Client("vc.example.com", user="u", password="p", verify="yes"), "verify must be"),  # type: ignore[arg-type]
        (lambda: Client("vc.example.com", user="u", password="p", ca_bundle="/no/such.pem"), "CA bundle"),
        (lambda: Client("vc.example.com", user="u", password="p", ca_bundle="/x", verify=False), "contradict"),
        (lambda: Client("vc.example.com", user="u", password="p", timeout=-1), "timeout must be"),
        (lambda: Client("vc.example.com", user="u", password="p", retry=3), "retry must be"),  # type: ignore[arg-type]
        (lambda: Client("vc.example.com", user="u", password="p", transport=object()), "transport must be"),  # type: ignore[arg-type]
        (lambda: AsyncClient("vc.example.com", user="u", password="p", max_connections=0), "max_connections"),
        (lambda: RetryPolicy(attempts=0), "attempts"),
        (lambda: RetryPolicy(timeout=float("inf")), "timeout"),
        (lambda: Credentials.password("", "pw"), "user name"),
        (lambda: Credentials.password("root", None), "need a password"),  # type: ignore[arg-type]
        (lambda: Credentials.saml(""), "non-empty SAML token"),
        (lambda: Credentials(type="SAML_BEARER_TOKEN", saml_token="t", interactive_session=True), "interactive"),
        (lambda: Credentials(type="KERBEROS"), "credentials type must be"),
        (lambda: CreateSpec(""), "program path"),
        (lambda: CreateSpec("/bin/ls", environment_variables={"A": 1}), "environment_variables"),  # type: ignore[dict-item]
        (lambda: CreateSpec("/bin/ls", start_minimized="yes"), "start_minimized"),  # type: ignore[arg-type]
    ],
)
def test_bad_construction_raises_a_usage_error_that_says_what_to_do(build: Any, message: str) -> None:
    with pytest.raises(errors.UsageError, match=message):
        build()


def test_server_urls_are_normalised() -> None:
    assert _offline_client().server == "http://vc.test"
    assert Client("vc.example.com/", user="u", password="p").server == "https://vc.example.com"


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("not a url", "URL or a host"),
        ("ex ample.com:443", "URL or a host"),
        ("http://vc.example.com/api", "without /api"),
        ("https://vc.example.com/api/", "without /api"),
        ("https://proxy.example.com/vc1/api", "without /api"),
        ("vc.example.com:99999", "not a TCP port"),
        ("ftp://vc.example.com", "http:// or https://"),
    ],
)
def test_a_server_that_is_not_a_url_or_host_is_refused_before_anything_is_sent(server: str, message: str) -> None:
    with pytest.raises(errors.UsageError, match=message):
        Client(server, user="u", password="p")


def test_the_server_may_be_a_lab_host_name_or_an_address() -> None:
    for server, url in [
        ("vc_1.lab", "https://vc_1.lab"),
        ("10.0.0.5:8443", "https://10.0.0.5:8443"),
        ("[::1]:8443", "https://[::1]:8443"),
    ]:
        vc = Client(server, user="u", password="p")  # nothing is sent before the first call
        assert vc.server == url
        vc.close()


def test_turning_tls_verification_off_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vcenter_guest"):
        Client("https://vc.example.com", user="u", password="p", verify=False).close()
    assert any("verification is OFF" in r.getMessage() for r in caplog.records)


def test_a_ca_bundle_is_used_to_verify_the_server(tmp_path: Path) -> None:
    import ssl

    bundle = Path(ssl.get_default_verify_paths().cafile or "")
    if not bundle.is_file():
        import certifi

        bundle = Path(certifi.where())
    vc = Client("https://vc.example.com", user="u", password="p", ca_bundle=bundle)
    vc.close()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(errors.UsageError, match="CA bundle"):
        Client("https://vc.example.com", user="u", password="p", ca_bundle=bad)


def test_credentials_and_specs_are_immutable_values() -> None:
    assert Credentials.password("root", "a") == Credentials.password("root", "a")
    assert Credentials.password("root", "a") != Credentials.password("root", "b")
    creds = Credentials.password("root", "a")
    with pytest.raises(AttributeError):
        creds.user_name = "x"  # type: ignore[misc]
    spec = CreateSpec("/bin/ls", environment_variables={"A": "1"})
    with pytest.raises(TypeError):
        spec.environment_variables["B"] = "2"  # type: ignore[index]
    assert creds.secret == "a"


_CREDS = Credentials.password("root", "guest-pw")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda vc: vc.processes.get("vm-42", _CREDS, 2**70), "int64"),
        (lambda vc: vc.processes.delete("vm-42", _CREDS, 99999999999999999999), "int64"),
        (lambda vc: vc.processes.run("vm-42", _CREDS, "/bin/sleep", "9", terminate_on_timeout=True), "needs a timeout"),
        (lambda vc: vc.processes.run("vm-42", _CREDS, "/bin/true", terminate_on_timeout=1), "True or False"),
    ],
)
def test_bad_call_arguments_are_a_usage_error_before_anything_is_sent(call: Any, message: str) -> None:
    sent: list[httpx.Request] = []
    vc = Client("http://vc.test", user="u", password="pw", transport=httpx.MockTransport(sent.append))  # type: ignore[arg-type]
    with pytest.raises(errors.UsageError, match=message):
        call(vc)
    assert sent == []
    vc.close()
