"""Comparing the document with VMware's spec, operation by operation.

Every difference carries the JSON pointer of the place in the document it concerns: where the
document writes the thing, or, for something only VMware has, where the document would write it
(`/paths/~1api~1vcenter~1vm/post` for an operation, `…/properties/new_field` for a field, the
status's `/responses/400` for an error type). That pointer is what a recorded departure matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Field, Operation, Spec, escape

ONLY_OURS, ONLY_VMWARE, CHANGED = "only-ours", "only-vmware", "changed"
_PARENT = re.compile(r"(\.[^.\[\]{}]+|\[\]|\{\})$")


@dataclass
class Difference:
    operation: str
    aspect: str  # operation, path, parameter, body, success, errors, error schema, security
    kind: str  # only-ours, only-vmware, changed
    pointer: str
    detail: str
    departure: str | None = None


@dataclass
class Comparison:
    differences: list[Difference]
    uncovered_guest: list[str]  # VMware's guest operations of families the document does not cover
    counts: dict[str, int]


def families(ours: Spec) -> set[str]:
    return {op.family for op in ours.operations.values()}


def compare(ours: Spec, theirs: Spec) -> Comparison:
    covered = families(ours)
    mine = ours.operations
    wanted = {k: op for k, op in theirs.operations.items() if op.family in covered}
    diffs: list[Difference] = []
    for key in sorted(mine.keys() | wanted.keys()):
        a, b = mine.get(key), wanted.get(key)
        if b is None and a is not None:
            diffs.append(Difference(a.name, "operation", ONLY_OURS, a.pointer, f"{key}: not in VMware's spec"))
        elif a is None and b is not None:
            where = f"/paths/{escape(b.path)}/{b.method}"
            diffs.append(Difference(key, "operation", ONLY_VMWARE, where, f"{key} ({b.name}): not in the document"))
        elif a is not None and b is not None:
            diffs += compare_operation(a, b)
    diffs += _error_schemas(list(mine.values()), list(wanted.values()))
    diffs = _once(diffs)
    uncovered = sorted(
        f"{op.key} ({op.name})"
        for op in theirs.operations.values()
        if op.family not in covered and op.key.split(" ", 1)[1].startswith("/vcenter/vm/{}/guest/")
    )
    counts = {"document": len(mine), "vmware_in_families": len(wanted), "matched": len(mine.keys() & wanted.keys())}
    return Comparison(diffs, uncovered, counts)


def _once(diffs: list[Difference]) -> list[Difference]:
    """One difference per place: a shared schema's change is reported once, naming every operation."""
    merged: dict[tuple[str, str, str, str], Difference] = {}
    for diff in diffs:
        key = (diff.pointer, diff.kind, diff.aspect, diff.detail)
        if key in merged:
            merged[key].operation += f", {diff.operation}"
        else:
            merged[key] = Difference(diff.operation, diff.aspect, diff.kind, diff.pointer, diff.detail)
    return list(merged.values())


def compare_operation(a: Operation, b: Operation) -> list[Difference]:
    """The differences of one operation both specs have (`a` the document's, `b` VMware's)."""
    diffs: list[Difference] = []
    bare_a, bare_b = (p[4:] if p.startswith("/api/") else p for p in (a.path, b.path))
    if bare_a != bare_b:
        diffs.append(Difference(a.name, "path", CHANGED, a.pointer, f"document {bare_a}, VMware {bare_b}"))
    diffs += _fields(a.name, "parameter", a.params, b.params, f"{a.pointer}/parameters")
    if a.body is not None or b.body is not None:
        where = a.body_pointer or f"{a.pointer}/requestBody"
        diffs += _fields(a.name, "body", a.body or {}, b.body or {}, where)
    for status in sorted(a.success.keys() | b.success.keys()):
        where = f"{a.pointer}/responses/{status}"
        if status not in b.success:
            diffs.append(Difference(a.name, "success", ONLY_OURS, where, f"status {status}: not in VMware's spec"))
        elif status not in a.success:
            diffs.append(Difference(a.name, "success", ONLY_VMWARE, where, f"status {status}: not in the document"))
        else:
            diffs += _fields(a.name, f"success {status}", a.success[status], b.success[status], where)
    diffs += _errors(a, b)
    if a.security != b.security:
        detail = f"document {' | '.join(a.security) or 'none'}; VMware {' | '.join(b.security) or 'none'}"
        diffs.append(Difference(a.name, "security", CHANGED, a.security_pointer, detail))
    return diffs


def _errors(a: Operation, b: Operation) -> list[Difference]:
    diffs = []
    for status in sorted(a.errors.keys() | b.errors.keys()):
        mine, theirs = a.errors.get(status, {}), b.errors.get(status, {})
        where = f"{a.pointer}/responses/{status}"
        if not mine or not theirs:  # a whole status only one side has
            kind, side = (ONLY_OURS, "VMware's spec") if mine else (ONLY_VMWARE, "the document")
            detail = f"status {status} ({', '.join(sorted(mine or theirs))}): not in {side}"
            diffs.append(Difference(a.name, "errors", kind, where, detail))
            continue
        for error in sorted(mine.keys() - theirs.keys()):
            detail = f"{status} {error}: not in VMware's spec"
            diffs.append(Difference(a.name, "errors", ONLY_OURS, mine[error], detail))
        for error in sorted(theirs.keys() - mine.keys()):
            detail = f"{status} {error}: not in the document"
            diffs.append(Difference(a.name, "errors", ONLY_VMWARE, where, detail))
    return diffs


def _error_schemas(mine: list[Operation], theirs: list[Operation]) -> list[Difference]:
    """Each error type's schema, once, where both specs use it."""
    ours_by_type = {t: f for op in mine for t, f in op.error_schemas.items()}
    theirs_by_type = {t: f for op in theirs for t, f in op.error_schemas.items()}
    diffs = []
    for error in sorted(ours_by_type.keys() & theirs_by_type.keys()):
        fields = ours_by_type[error]
        where = fields[""].type_pointer if "" in fields else ""
        diffs += _fields(error, "error schema", fields, theirs_by_type[error], where)
    return diffs


def _parent(name: str) -> str | None:
    if not name:
        return None
    match = _PARENT.search(name)
    return name[: match.start()] if match else ""


def _would_be(name: str, fields: dict[str, Field], fallback: str) -> str:
    """Where the document would write a field it lacks: under its nearest ancestor it has."""
    parent = _parent(name)
    if parent is None or parent not in fields:
        return fallback
    base = fields[parent].type_pointer or fields[parent].pointer
    tail = name[len(parent) :]
    if tail == "[]":
        return f"{base}/items"
    if tail == "{}":
        return f"{base}/additionalProperties"
    return f"{base}/properties/{escape(tail.lstrip('.'))}"


def _fields(op: str, aspect: str, mine: dict[str, Field], theirs: dict[str, Field], where: str) -> list[Difference]:
    diffs = []
    for name in sorted(mine.keys() | theirs.keys()):
        label = name or "(the body itself)"
        a, b = mine.get(name), theirs.get(name)
        if b is None and a is not None:
            if _parent(name) in mine and _parent(name) not in theirs:
                continue  # reported with its parent
            diffs.append(Difference(op, aspect, ONLY_OURS, a.pointer or where, f"{label}: {_show(a)}; not in VMware's"))
        elif a is None and b is not None:
            if _parent(name) in theirs and _parent(name) not in mine:
                continue
            pointer = _would_be(name, mine, where)
            diffs.append(
                Difference(op, aspect, ONLY_VMWARE, pointer, f"{label}: VMware's {_show(b)}; not in the document")
            )
        elif a is not None and b is not None:
            diffs += _field_changes(op, aspect, label, (a, b), where)
    return diffs


def _field_changes(op: str, aspect: str, label: str, pair: tuple[Field, Field], where: str) -> list[Difference]:
    a, b = pair
    diffs = []
    typed = a.type_pointer or a.pointer or where
    if (a.type, a.format) != (b.type, b.format):
        detail = f"{label}: document {_typ(a)}, VMware {_typ(b)}"
        diffs.append(Difference(op, aspect, CHANGED, typed, detail))
    if a.enum != b.enum:
        added, dropped = sorted(set(b.enum) - set(a.enum)), sorted(set(a.enum) - set(b.enum))
        detail = f"{label}: enum values only VMware has {added}, only the document has {dropped}"
        diffs.append(Difference(op, aspect, CHANGED, f"{typed}/enum", detail))
    if a.required != b.required:
        ours, theirs = ("required" if f.required else "optional" for f in (a, b))
        detail = f"{label}: {ours} in the document, {theirs} in VMware's"
        diffs.append(Difference(op, aspect, CHANGED, a.pointer or where, detail))
    return diffs


def _typ(f: Field) -> str:
    return f"{f.type or '(any)'}{'/' + f.format if f.format else ''}"


def _show(f: Field) -> str:
    enum = f" {list(f.enum)}" if f.enum else ""
    return f"{_typ(f)}{enum}{' required' if f.required else ''}"
