"""Fixtures for the tests of the OpenAPI document itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "vcenter-guest.yaml"


@pytest.fixture(scope="session")
def doc() -> dict[str, Any]:
    """The committed document, parsed."""
    with DOCUMENT.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="session")
def validate(doc: dict[str, Any]) -> Callable[[Any, dict[str, Any]], None]:
    """validate(instance, schema): raises jsonschema.ValidationError unless instance conforms.

    `schema` may hold `#/components/...` references: they resolve against the document.
    """

    def _validate(instance: Any, schema: dict[str, Any]) -> None:
        rooted = {**schema, "components": doc["components"]}
        OAS30Validator(rooted, format_checker=oas30_format_checker).validate(instance)

    return _validate
