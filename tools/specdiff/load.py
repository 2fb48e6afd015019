"""Reading spec files: JSON or YAML, Swagger 2.0 or OpenAPI 3.x, one file or one per service."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .model import Operation, Spec, SpecError
from .normalise import operations_of

try:  # the C loader reads an 8 MB spec several times faster than the pure-Python one
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def read_file(path: Path) -> Any:
    """Parses JSON or YAML; a SpecError (one line) when the file is missing or not either."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    try:
        if text.lstrip().startswith("{"):
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader (C or Python)
    except (ValueError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise SpecError(f"{path}: neither JSON nor YAML ({reason})") from None


def form_of(doc: Any, path: Path) -> str:
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{path}: not a Swagger 2.0 or OpenAPI 3 document (no `paths` object)")
    if str(doc.get("swagger", "")).startswith("2"):
        return "swagger-2.0"
    if str(doc.get("openapi", "")).startswith("3"):
        return "openapi-3"
    raise SpecError(f"{path}: neither `swagger: 2.0` nor `openapi: 3.x`")


def load(paths: list[Path], detailed: Callable[[str], bool] | None = None) -> Spec:
    """Reads one file or one per service into one Spec (each file's $refs resolve in that file)."""
    forms: set[str] = set()
    operations: dict[str, Operation] = {}
    for path in paths:
        doc = read_file(path)
        form = form_of(doc, path)
        forms.add(form)
        try:
            operations.update(operations_of(doc, form, detailed))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise SpecError(f"{path}: malformed spec ({exc.__class__.__name__}: {exc})") from None
    if len(forms) > 1:
        raise SpecError("the files mix Swagger 2.0 and OpenAPI 3: give the files of one spec")
    return Spec(form=forms.pop(), operations=operations)
