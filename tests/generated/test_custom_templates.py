"""The generated code is right where upstream's templates get it wrong (templates/), on its own.

Each test runs in a fresh interpreter that never imports `vcenter_guest`: the generated package must
be correct by itself, with no overlay patching it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
from importlib import metadata, resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
_DERIVED = re.compile(
    r"Derived from openapi-python-client (?P<version>\S+), templates/(?P<path>\S+)\s+\(sha256 (?P<sha>[0-9a-f]{64})"
)


def _run_alone(program: str) -> str:
    """Runs `program` in a fresh interpreter; fails if it imported the overlay."""
    guarded = textwrap.dedent(program) + "\nimport sys\nassert 'vcenter_guest' not in sys.modules, 'the overlay was imported'\n"
    done = subprocess.run([sys.executable, "-c", guarded], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_of_the_document_parses_with_the_generated_models_alone() -> None:
    """Every error example (messages with params included) reads with the generated model its status names."""
    program = """
    import json, importlib.resources as r
    from vcenter_guest_client.models import Error, LocalizableMessage
    doc = json.loads((r.files("vcenter_guest_client") / "openapi.json").read_text())
    seen = 0
    for item in doc["paths"].values():
        for key, op in item.items():
            if key in ("servers", "parameters"):
                continue
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    for example in media.get("examples", {}).values():
                        value = example["value"]
                        if isinstance(value, dict) and "messages" in value:
                            error = Error.from_dict(value)
                            assert error.to_dict()["messages"] == value["messages"], (status, value)
                            seen += 1
    message = LocalizableMessage.from_dict(
        {"id": "m", "default_message": "x", "args": [], "params": {"p": {"d": 1.5, "s": "y"}}}
    )
    assert message.params["p"].d == 1.5 and message.params["p"].s == "y"
    print(seen)
    """
    assert int(_run_alone(program)) > 20


def test_localization_param_reads_every_field_including_d() -> None:
    """VMware's LocalizationParam has a field `d`; upstream's from_dict shadowed its dict with it."""
    program = """
    import datetime
    from vcenter_guest_client.models import LocalizationParam, LocalizationParamDateTimeFormat
    raw = {"s": "vm-42", "dt": "2026-11-27T10:15:30Z", "i": 7, "d": 0.5,
           "l": {"id": "nested", "params": {"x": {"s": "y"}}}, "format": "SHORT_DATE", "precision": 2, "unknown": [1]}
    param = LocalizationParam.from_dict(raw)
    assert param.dt == datetime.datetime(2026, 11, 27, 10, 15, 30, tzinfo=datetime.timezone.utc)
    assert (param.s, param.i, param.d, param.precision) == ("vm-42", 7, 0.5, 2)
    assert param.format_ is LocalizationParamDateTimeFormat.SHORT_DATE
    assert param.additional_properties == {"unknown": [1]}
    assert LocalizationParam.from_dict(param.to_dict()) == param
    """
    _run_alone(program)


def test_generated_reprs_hide_passwords_tokens_and_environment_values() -> None:
    program = """
    from vcenter_guest_client.models import CreateSpec, CreateSpecEnvironmentVariables, Credentials, CredentialsType
    creds = Credentials(interactive_session=False, type_=CredentialsType.USERNAME_PASSWORD, user_name="root",
                        password="CANARY-PW", saml_token="CANARY-TOKEN")
    env = CreateSpecEnvironmentVariables.from_dict({"TOKEN": "CANARY-ENV"})
    spec = CreateSpec(path="/bin/true", environment_variables=env)
    text = repr(creds) + str(creds) + repr(env) + repr(spec)
    assert "CANARY" not in text, text
    assert "root" in text
    assert creds.to_dict()["password"] == "CANARY-PW"
    """
    _run_alone(program)


def test_every_password_field_of_the_document_is_out_of_the_generated_repr() -> None:
    """Each `format: password` property of a component schema is a `repr=False` field of its generated model."""
    doc = json.loads((resources.files("vcenter_guest_client") / "openapi.json").read_text(encoding="utf-8"))
    secret_fields = [
        (name, prop)
        for name, schema in doc["components"]["schemas"].items()
        for prop, spec in schema.get("properties", {}).items()
        if spec.get("format") == "password"
    ]
    assert secret_fields, "the document has password fields (credentials)"
    program = f"""
    import attrs, vcenter_guest_client.models as models
    names = {dict((n, []) for n, _ in secret_fields)!r}
    for schema, prop in {secret_fields!r}:
        cls = next(c for c in vars(models).values() if isinstance(c, type) and attrs.has(c)
                   and getattr(c, "__doc__", "") and prop in {{f.name for f in attrs.fields(c)}}
                   and schema.rsplit(".", 1)[-1] in c.__name__)
        field = attrs.fields_dict(cls)[prop]
        assert field.repr is False, (cls, prop)
    """
    _run_alone(program)


def test_date_times_are_read_with_fromisoformat() -> None:
    program = """
    import datetime
    from unittest import mock
    from vcenter_guest_client.models import ProcessInfo
    import vcenter_guest_client.types as types
    with mock.patch.object(types, "isoparse", side_effect=AssertionError("isoparse on the fast path")):
        info = ProcessInfo.from_dict({"name": "n", "owner": "o", "command": "c",
                                      "started": "2026-11-27T10:15:30.123+00:00"})
    assert info.started == datetime.datetime(2026, 11, 27, 10, 15, 30, 123000, tzinfo=datetime.timezone.utc)
    # What fromisoformat cannot read on every Python still reads, through isoparse.
    assert types.parse_datetime("2026-11-27T10:15:30Z").tzinfo is not None
    """
    _run_alone(program)


def _upstream_templates() -> Path:
    import openapi_python_client  # the pinned generator, installed with the test requirements

    return Path(openapi_python_client.__file__).parent / "templates"


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.jinja")))
def test_each_custom_template_names_the_upstream_template_it_derives_from(template: str) -> None:
    """Golden record of the overrides: a generator bump that changes an upstream template fails here, by name,
    so that the override is derived again from the new upstream file rather than silently going stale."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    match = _DERIVED.search(text)
    assert match is not None, f"templates/{template} must say which upstream template and version it derives from"
    assert match["path"] == template
    installed = metadata.version("openapi-python-client")
    assert match["version"] == installed, f"templates/{template} derives from {match['version']}, the pin is {installed}"
    upstream = (_upstream_templates() / template).read_bytes()
    assert hashlib.sha256(upstream).hexdigest() == match["sha"], (
        f"upstream templates/{template} changed in openapi-python-client {installed}: derive templates/{template} "
        "from the new file again, then update its sha256"
    )
    assert "why" in text.lower(), f"templates/{template} must say why it overrides upstream"
