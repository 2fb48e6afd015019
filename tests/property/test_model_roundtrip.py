"""Every generated model round-trips through `from_dict`/`to_dict` for data drawn from its schema.

The data comes from schemathesis's generator (the one the fuzz tests use), applied to the document's
own component schemas: each schema becomes the request body of a synthetic operation, so no
hand-written JSON Schema generator is involved.
"""

from __future__ import annotations

import copy
import datetime
import enum
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from dateutil.parser import isoparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from schemathesis import GenerationMode

# Importing the overlay applies its generator workarounds (vcenter_guest._patch): the round trip is
# of the models as users get them.
from vcenter_guest.operations import load_document
from vcenter_guest_client import models

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS: dict[str, Any] = load_document()["components"]["schemas"]


def _class_key(*parts: str) -> str:
    """The name openapi-python-client derives before class_overrides apply ("Vapi.Std.Foo" -> "VapiStdFoo")."""
    words = [w for part in parts for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return "".join(w[0].upper() + w[1:] for w in words)


def _overrides() -> dict[str, str]:
    config = yaml.safe_load((ROOT / "generator-config.yaml").read_text(encoding="utf-8"))
    return {key: value["class_name"] for key, value in config.get("class_overrides", {}).items()}


def _model_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    """(class name, schema) for every component schema, every inline object/enum inside one (named
    after its parent's class, as the generator names it once class_overrides renamed the parent), and
    every inline object an operation answers (`<OperationId>Response<status>`, e.g. a map of names)."""
    names = _overrides()
    for schema_name, schema in SCHEMAS.items():
        key = _class_key(schema_name)
        parent = names.get(key, key)
        yield parent, schema
        for prop, sub in schema.get("properties", {}).items():
            inline_object = sub.get("type") == "object" and "$ref" not in sub
            inline_enum = "enum" in sub and "$ref" not in sub
            if inline_object or inline_enum:
                sub_key = _class_key(schema_name, prop)
                yield names.get(sub_key, _class_key(parent, prop)), sub
    for item in load_document()["paths"].values():
        for method, op in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            for status, response in op.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("type") == "object" and "$ref" not in schema:
                    yield f"{_class_key(op['operationId'])}Response{status}", schema


MODEL_SCHEMAS = dict(_model_schemas())


def _synthetic_document() -> dict[str, Any]:
    """One operation per model whose request body is the model's schema."""
    paths = {
        f"/{name}": {
            "post": {
                "operationId": name,
                "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "unused"}},
            }
        }
        for name, schema in MODEL_SCHEMAS.items()
        if schema.get("type") == "object"
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "model round-trip", "version": "1"},
        "paths": paths,
        "components": {"schemas": copy.deepcopy(SCHEMAS)},
    }


SYNTHETIC = schemathesis.openapi.from_dict(_synthetic_document())
OBJECT_MODELS = sorted(name for name, schema in MODEL_SCHEMAS.items() if schema.get("type") == "object")
ENUM_MODELS = sorted(name for name, schema in MODEL_SCHEMAS.items() if "enum" in schema)


def _validator(schema: dict[str, Any]) -> Callable[[Any], None]:
    rooted = {**schema, "components": {"schemas": SCHEMAS}}
    return OAS30Validator(rooted, format_checker=oas30_format_checker).validate


_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)


def _instants(value: Any) -> Any:
    """`value` with every RFC 3339 date-time string replaced by the instant it names.

    The models keep date-times as `datetime` and write them back in Python's isoformat, so "...Z" comes
    back as "...+00:00": the same instant, another spelling.
    """
    if isinstance(value, dict):
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    if isinstance(value, str) and _DATE_TIME.match(value):
        return isoparse(value)
    return value


def test_every_generated_model_is_covered_by_a_round_trip_test() -> None:
    exported = set(models.__all__)
    covered = set(OBJECT_MODELS) | set(ENUM_MODELS)
    assert exported <= covered, f"models without a schema to draw data from: {sorted(exported - covered)}"


@pytest.mark.parametrize("name", OBJECT_MODELS)
def test_model_round_trips_through_to_dict_and_from_dict(name: str, budget: Callable[[int], int], seed: int) -> None:
    cls = getattr(models, name)
    validate = _validator(MODEL_SCHEMAS[name])
    strategy = SYNTHETIC[f"/{name}"]["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE)

    @given(case=strategy)
    @settings(
        max_examples=budget(15),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def round_trip(case: Any) -> None:
        data = case.body
        model = cls.from_dict(data)
        written = model.to_dict()
        validate(written)
        assert cls.from_dict(written) == model, "from_dict(to_dict(m)) must give back an equal model"
        assert _instants(written) == _instants(data), "to_dict must write back the data from_dict read"

    round_trip()


@pytest.mark.parametrize("name", ENUM_MODELS)
def test_enum_model_round_trips_every_value(name: str) -> None:
    cls = getattr(models, name)
    assert issubclass(cls, enum.Enum)
    values = MODEL_SCHEMAS[name]["enum"]
    assert sorted(member.value for member in cls) == sorted(values)
    for value in values:
        assert cls(value).value == value


@given(
    moment=st.datetimes(
        min_value=datetime.datetime(1, 1, 2),
        max_value=datetime.datetime(9999, 12, 30),
        # RFC 3339 offsets are whole minutes (historical zones with second offsets are not on the wire).
        timezones=st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
            lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
        ),
    )
)
@settings(derandomize=True, database=None, deadline=None)
def test_process_info_keeps_the_instant_of_any_timezone(moment: datetime.datetime) -> None:
    data = {"name": "ls", "owner": "root", "command": "/bin/ls", "started": moment.isoformat()}
    info = models.ProcessInfo.from_dict(data)
    assert info.started == moment
    assert isoparse(info.to_dict()["started"]) == moment
