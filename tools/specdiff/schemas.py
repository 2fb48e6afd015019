"""Schemas: following $refs, and flattening a schema into its fields (`spec.path`, `files[].size`)."""

from __future__ import annotations

import re
from typing import Any

from .model import Field, escape

MAX_DEPTH = 12
# 9.1 inlines an enum-typed property as `type: string` and names its enum only in prose.
_SEE = re.compile(r"For more information see: \*([A-Za-z0-9_.]+)\*")


class Resolver:
    """Follows the local $refs of one document (`#/definitions/X`, `#/components/schemas/X`)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        schemas = doc.get("components", {}).get("schemas") or doc.get("definitions") or {}
        self._schemas: dict[str, Any] = schemas if isinstance(schemas, dict) else {}
        self._schemas_pointer = "/definitions" if "definitions" in doc else "/components/schemas"

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are read, not {ref!r}")
        node: Any = self.doc
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"unresolvable $ref {ref!r}")
            node = node[part]
        return node

    def resolve(self, schema: Any, pointer: str, chain: tuple[str, ...] = ()) -> tuple[Any, str, tuple[str, ...]]:
        """Follows $ref and one-member allOf; returns the schema, its pointer and the refs followed."""
        for _ in range(MAX_DEPTH):
            if not isinstance(schema, dict):
                return schema, pointer, chain
            if "$ref" in schema:
                ref = str(schema["$ref"])
                if ref in chain:
                    return {"type": "(recursive)"}, pointer, chain
                chain = (*chain, ref)
                schema, pointer = self.lookup(ref), ref[1:]
            elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1 and "properties" not in schema:
                schema, pointer = schema["allOf"][0], f"{pointer}/allOf/0"
            else:
                return schema, pointer, chain
        return schema, pointer, chain

    def enum_in_prose(self, schema: dict[str, Any]) -> tuple[str, ...]:
        match = _SEE.search(str(schema.get("description", "")))
        if not match:
            return ()
        named = self._schemas.get(match.group(1))
        if isinstance(named, dict) and isinstance(named.get("enum"), list):
            return tuple(sorted(str(v) for v in named["enum"]))
        return ()


def _listed(schema: dict[str, Any]) -> list[str]:
    """`required` as a list of names (a Swagger parameter's `required: true` is not one)."""
    value = schema.get("required")
    return [str(v) for v in value] if isinstance(value, list) else []


def _merged(resolver: Resolver, schema: dict[str, Any], chain: tuple[str, ...]) -> dict[str, Any]:
    """An allOf of several members as one object schema (properties and required united)."""
    props: dict[str, Any] = dict(schema.get("properties") or {})
    required: list[str] = [*_listed(schema)]
    for member in schema["allOf"]:
        part, _, _ = resolver.resolve(member, "", chain)
        if isinstance(part, dict):
            props.update(part.get("properties") or {})
            required += _listed(part)
    return {**schema, "type": "object", "properties": props, "required": required}


def _field_of(resolver: Resolver, schema: dict[str, Any], required: bool, pointers: tuple[str, str]) -> Field:
    typ = str(schema.get("type") or ("object" if "properties" in schema else ""))
    enum = schema.get("enum")
    values = tuple(sorted(str(v) for v in enum)) if isinstance(enum, list) else ()
    if not values and typ == "string":
        values = resolver.enum_in_prose(schema)
    return Field(typ, str(schema.get("format", "")), values, required, pointers[0], pointers[1])


def flatten(resolver: Resolver, schema: Any, pointer: str, required: bool = False) -> dict[str, Field]:
    """Every field of `schema` by its dotted name ("" is the schema itself)."""
    walker = _Walker(resolver)
    walker.walk(schema, (pointer, ""), required, ())
    return walker.out


class _Walker:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.out: dict[str, Field] = {}

    def walk(self, schema: Any, at: tuple[str, str], required: bool, chain: tuple[str, ...]) -> None:
        """Records the field at `at` (its declaration pointer, its dotted name), then its children."""
        decl, name = at
        schema, where, chain = self.resolver.resolve(schema, decl, chain)
        if not isinstance(schema, dict) or len(chain) > MAX_DEPTH:
            self.out[name] = Field("(unreadable)", required=required, pointer=decl, type_pointer=where)
            return
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:  # several members, or one plus properties
            schema = _merged(self.resolver, schema, chain)
        self.out[name] = _field_of(self.resolver, schema, required, (decl, where))
        needed = set(_listed(schema))
        for prop, sub in (schema.get("properties") or {}).items():
            child = f"{name}.{prop}" if name else str(prop)
            self.walk(sub, (f"{where}/properties/{escape(str(prop))}", child), prop in needed, chain)
        if isinstance(schema.get("items"), dict):
            self.walk(schema["items"], (f"{where}/items", f"{name}[]"), False, chain)
        if isinstance(schema.get("additionalProperties"), dict):
            self.walk(schema["additionalProperties"], (f"{where}/additionalProperties", f"{name}{{}}"), False, chain)
