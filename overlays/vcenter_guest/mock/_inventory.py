"""The inventory of the mock vCenter: API users, VMs, guest users, programs, faults.

An inventory is YAML (or JSON, or a Python mapping); `load_inventory` checks it against
`INVENTORY_SCHEMA` with jsonschema, then against the rules a schema cannot say (unique ids, known
users), and returns frozen `Inventory` objects. Secrets are kept out of every `repr`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import attrs
import jsonschema

from ._argv import ARGV
from ._cmd import CMD
from ._document import default_privileges, document, power_states
from ._records import (
    DEFAULT_DISK_BYTES,
    MAX_PROCESSES,
    MAX_RUNNING_PROCESSES,
    ApiUser,
    FaultRule,
    Faults,
    GuestDisk,
    GuestFile,
    GuestNic,
    GuestProcess,
    GuestRoute,
    GuestUser,
    Inventory,
    Program,
    VmSpec,
)
from ._shell import UTILITIES

# What it reads into is Inventory; the records in it (Program, GuestUser, ...) are _records' to export.
__all__ = ["INVENTORY_SCHEMA", "Inventory", "InventoryError", "load_inventory"]


_MODE: dict[str, Any] = {"type": "string", "pattern": "^[0-7]{1,4}$"}
_FILE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "content": {"type": "string"},
        "size": {"type": "integer", "minimum": 0, "maximum": 1 << 32},
        "owner": {"type": "string", "minLength": 1},
        "mode": _MODE,
        "hidden": {"type": "boolean"},
        "read_only": {"type": "boolean"},
    },
    "not": {"required": ["content", "size"]},
}
_NAMES: dict[str, Any] = {"type": "string", "minLength": 1}

_BYTES: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_GUEST_SERVICES: dict[str, Any] = {
    "template": {"type": "boolean"},
    "guest_os": _NAMES,
    "host_name": _NAMES,
    "domain_name": _NAMES,
    "dns_servers": {"type": "array", "items": _NAMES},
    "environment": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": {"type": "string"}},
    "filesystems": {
        "type": "object",
        "propertyNames": {"minLength": 1},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "required": ["capacity"],
            "properties": {
                "capacity": _BYTES,
                "free_space": _BYTES,
                "filesystem": _NAMES,
                "disks": {"type": "array", "items": _NAMES},
            },
        },
    },
    "nics": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mac_address": _NAMES,
                "addresses": {"type": "array", "items": {"type": "string", "pattern": "^[0-9A-Fa-f.:]+/[0-9]{1,3}$"}},
                "dhcp": {"type": "boolean"},
                "nic": _NAMES,
            },
        },
    },
    "routes": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["network", "prefix_length"],
            "properties": {
                "network": _NAMES,
                "prefix_length": {"type": "integer", "minimum": 0, "maximum": 128},
                "gateway_address": _NAMES,
                "interface_index": {"type": "integer", "minimum": 0},
            },
        },
    },
    "boot_seconds": {"type": "number", "minimum": 0, "maximum": 3600},
    "shutdown_seconds": {"type": "number", "minimum": 0, "maximum": 3600},
}

_PROGRAM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "exit_code": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
        "duration": {"type": "number", "minimum": 0},
        "duration_from_args": {"type": "boolean"},
        "exit_code_from_args": {"type": "boolean"},
        "ignores_term": {"type": "boolean"},
        "unkillable": {"type": "boolean"},
        "fails_to_start": {"type": "boolean"},
        "allowed_users": {"type": "array", "items": {"type": "string"}},
        "utility": {"enum": sorted(UTILITIES | {CMD, ARGV})},
        "stdout": {"type": "string"},
        "stderr": {"type": "string"},
        "output_bytes": {"type": "integer", "minimum": 0, "maximum": 1 << 30},
    },
}


def _list_of(required: list[str], properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A JSON Schema array of objects with exactly `properties`, `required` of them (`more`: further
    keywords of each object, such as `anyOf`)."""
    item = {"type": "object", "additionalProperties": False, "required": required, **more, "properties": properties}
    return {"type": "array", "items": item}


_POWER_STATES: list[str] = []
"""Filled from the document when the schema is first used (`_validator`)."""

INVENTORY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["users", "vms"],
    "properties": {
        "users": _list_of(
            ["name", "password"],
            {
                "name": {"type": "string", "minLength": 1},
                "password": {"type": "string"},
                "privileges": {"type": "array", "items": {"type": "string"}},
            },
        ),
        "vms": _list_of(
            ["id"],
            {
                "id": {"type": "string", "minLength": 1},
                "name": {"type": "string"},
                "power_state": {"enum": _POWER_STATES},
                "tools": {"enum": ["RUNNING", "NOT_RUNNING", "UNSUPPORTED", "DISABLED"]},
                "guest_os_family": {"enum": ["LINUX", "WINDOWS", "SOLARIS", "OTHER"]},
                "busy": {"type": "boolean"},
                "guest_users": _list_of(
                    ["name"],
                    {
                        "name": {"type": "string", "minLength": 1},
                        "password": {"type": "string"},
                        "saml_token": {"type": "string", "minLength": 1},
                        "home": {"type": "string"},
                        "admin": {"type": "boolean"},
                        "uid": {"type": "integer", "minimum": 0, "maximum": 2**32 - 2},
                    },
                    anyOf=[{"required": ["password"]}, {"required": ["saml_token"]}],
                ),
                "directories": {"type": "array", "items": {"type": "string"}},
                "files": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": _FILE},
                "symlinks": {
                    "type": "object",
                    "propertyNames": {"minLength": 1},
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
                "disk_bytes": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                "ready_after": {"type": "number", "minimum": 0},
                "interactive_ready": {"type": "boolean"},
                "folder": _NAMES,
                "datacenter": _NAMES,
                "host": _NAMES,
                "cluster": _NAMES,
                "resource_pool": _NAMES,
                "cpu_count": {"type": "integer", "minimum": 1, "maximum": 4096},
                "memory_size_MiB": {"type": "integer", "minimum": 1, "maximum": 2**40},
                "programs": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": _PROGRAM},
                "processes": _list_of(
                    ["pid", "name", "owner"],
                    {
                        "pid": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                        "name": {"type": "string"},
                        "owner": {"type": "string"},
                        "command": {"type": "string"},
                    },
                ),
                "first_pid": {"type": "integer", "minimum": 1, "maximum": 2**62},
                **_GUEST_SERVICES,
            },
        ),
        "session_idle_timeout": {"type": "number", "exclusiveMinimum": 0},
        "process_retention": {"type": "number", "minimum": 0},
        "max_body_bytes": {"type": "integer", "minimum": 1024},
        "max_processes": {"type": "integer", "minimum": 1},
        "max_running_processes": {"type": "integer", "minimum": 1},
        "transfer_base_url": {"type": "string", "pattern": "^https?://[^/?#]+$"},
        "faults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "seed": {"type": "integer"},
                "latency_ms": {"type": "number", "minimum": 0, "maximum": 60000},
                "rules": _list_of(
                    ["operation", "error_type"],
                    {
                        "operation": {"type": "string", "minLength": 1},
                        "error_type": {"type": "string"},
                        "rate": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                ),
            },
        },
    },
}


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    """The inventory's validator, its power states the document's (the default one first)."""
    default = attrs.fields(VmSpec).power_state.default
    _POWER_STATES[:] = sorted(power_states(), key=lambda state: state != default)
    return jsonschema.Draft202012Validator(INVENTORY_SCHEMA)


class InventoryError(ValueError):
    """An inventory file or mapping the mock cannot serve; the message says where and why.

    >>> try:
    ...     load_inventory({"users": [], "vms": [{"id": "vm-1", "busy": "no"}]})
    ... except InventoryError as exc:
    ...     print(exc)
    inventory: vms[0].busy: must be of type boolean
    """


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:  # noqa: PLR0911 - one wording per keyword
    # Built from the schema, never from the offending value: an inventory holds passwords, and a
    # message like "12345 is not of type 'string'" would print one.
    kind = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if kind == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return f"missing required key {', '.join(missing) or expected}"
    if kind == "enum":
        return "must be one of " + ", ".join(str(v) for v in expected)
    if kind == "type":
        return f"must be of type {expected}"
    if kind == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})), key=str)
        return "unknown key " + ", ".join(repr(k) for k in extra)
    if kind == "anyOf":
        return "needs a password or a saml_token"
    if kind == "not":
        return "give content or size, not both"
    if kind == "pattern":
        return f"must match {expected}"
    if kind in {"minimum", "maximum", "exclusiveMinimum", "minLength"}:
        return f"must satisfy {kind} {expected}"
    return f"is not valid ({kind})"


def _fail(message: str, source: str) -> InventoryError:
    return InventoryError(f"{source}: {message}")


def _home(name: str, windows: bool) -> str:
    if windows:
        return f"C:\\Users\\{name}"
    return "/root" if name == "root" else f"/home/{name}"


def _guest_users(raw: Mapping[str, Any], where: str, source: str) -> list[GuestUser]:
    windows = raw.get("guest_os_family") == "WINDOWS"
    users: list[GuestUser] = []
    next_uid = 1000
    for j, u in enumerate(raw.get("guest_users", [])):
        if u["name"] in {x.name for x in users}:
            raise _fail(f"{where}.guest_users[{j}]: duplicate guest user {u['name']!r}", source)
        if "uid" in u:
            uid = u["uid"]
        elif u["name"] == "root":
            uid = 0
        else:
            uid, next_uid = next_uid, next_uid + 1
        if uid in {x.uid for x in users}:
            raise _fail(f"{where}.guest_users[{j}].uid: {uid} is taken by another guest user", source)
        users.append(
            GuestUser(
                name=u["name"],
                password=u.get("password"),
                saml_token=u.get("saml_token"),
                home=u.get("home") or _home(u["name"], windows),
                admin=u.get("admin", u["name"].lower() in {"root", "administrator"}),
                uid=uid,
            )
        )
    return users


def _programs(raw: Mapping[str, Any], where: str, source: str, users: set[str]) -> dict[str, Program]:
    programs: dict[str, Program] = {}
    for path, p in raw.get("programs", {}).items():
        allowed = p.get("allowed_users")
        for user in allowed or ():
            if user not in users:
                raise _fail(f"{where}.programs[{path!r}].allowed_users: unknown guest user {user!r}", source)
        programs[path] = Program(
            exit_code=p.get("exit_code", 0),
            duration=float(p.get("duration", 0)),
            duration_from_args=p.get("duration_from_args", False),
            exit_code_from_args=p.get("exit_code_from_args", False),
            ignores_term=p.get("ignores_term", False),
            unkillable=p.get("unkillable", False),
            fails_to_start=p.get("fails_to_start", False),
            allowed_users=frozenset(allowed) if allowed is not None else None,
            utility=p.get("utility"),
            stdout=p.get("stdout", ""),
            stderr=p.get("stderr", ""),
            output_bytes=p.get("output_bytes", 0),
        )
    return programs


def _processes(raw: Mapping[str, Any], where: str, source: str) -> tuple[tuple[GuestProcess, ...], int]:
    """The VM's running processes, and the pid the first one create starts gets."""
    processes = tuple(
        GuestProcess(pid=p["pid"], name=p["name"], owner=p["owner"], command=p.get("command", p["name"]))
        for p in raw.get("processes", [])
    )
    if len({p.pid for p in processes}) != len(processes):
        raise _fail(f"{where}.processes: duplicate pid", source)
    first_pid: int = raw.get("first_pid", max([999, *(p.pid for p in processes)]) + 1)
    if any(p.pid >= first_pid for p in processes):
        raise _fail(f"{where}.first_pid: must be above the pids of its processes", source)
    return processes, first_pid


def _files(raw: Mapping[str, Any], where: str, source: str, users: set[str]) -> dict[str, GuestFile]:
    files: dict[str, GuestFile] = {}
    for path, f in raw.get("files", {}).items():
        owner = f.get("owner")
        if owner is not None and owner not in users:
            raise _fail(f"{where}.files[{path!r}].owner: unknown guest user {owner!r}", source)
        files[path] = GuestFile(
            content=f.get("content", "").encode(),
            size=f.get("size"),
            owner=owner,
            mode=int(f["mode"], 8) if "mode" in f else None,
            hidden=f.get("hidden", False),
            read_only=f.get("read_only", False),
        )
    return files


def _build_vm(raw: Mapping[str, Any], where: str, source: str) -> VmSpec:
    users = _guest_users(raw, where, source)
    names = {user.name for user in users}
    programs = _programs(raw, where, source, names)
    processes, first_pid = _processes(raw, where, source)
    files = _files(raw, where, source, names)
    if raw.get("guest_os_family") == "WINDOWS" and raw.get("symlinks"):
        raise _fail(f"{where}.symlinks: the mock's Windows guests have no symbolic links", source)
    optional = {
        key: raw[key]
        for key in ("folder", "datacenter", "host", "cluster", "resource_pool", "cpu_count", "memory_size_MiB")
        if key in raw
    }
    return VmSpec(
        id=raw["id"],
        name=raw.get("name", ""),
        power_state=raw.get("power_state", "POWERED_ON"),
        tools=raw.get("tools", "RUNNING"),
        guest_os_family=raw.get("guest_os_family", "LINUX"),
        busy=raw.get("busy", False),
        guest_users=tuple(users),
        directories=frozenset(raw.get("directories", [])),
        programs=programs,
        processes=processes,
        first_pid=first_pid,
        files=files,
        symlinks=dict(raw.get("symlinks", {})),
        disk_bytes=raw.get("disk_bytes", DEFAULT_DISK_BYTES),
        ready_after=float(raw.get("ready_after", 0)),
        interactive_ready=raw.get("interactive_ready", False),
        **optional,
        **_guest_services(raw),
    )


def _guest_services(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What the guest services report (Identity, Environment, LocalFilesystem, Networking) and how
    power changes take time; what the inventory leaves out, the simulator derives."""
    found: dict[str, Any] = {
        key: raw[key] for key in ("template", "guest_os", "host_name", "domain_name") if key in raw
    }
    found.update({key: float(raw[key]) for key in ("boot_seconds", "shutdown_seconds") if key in raw})
    if "dns_servers" in raw:
        found["dns_servers"] = tuple(raw["dns_servers"])
    if "environment" in raw:
        found["environment"] = dict(raw["environment"])
    if "filesystems" in raw:
        found["filesystems"] = {
            name: GuestDisk(d["capacity"], d.get("free_space"), d.get("filesystem"), tuple(d.get("disks", ())))
            for name, d in raw["filesystems"].items()
        }
    if "nics" in raw:
        found["nics"] = tuple(
            GuestNic(n.get("mac_address"), tuple(n.get("addresses", ())), n.get("dhcp", False), n.get("nic"))
            for n in raw["nics"]
        )
    if "routes" in raw:
        found["routes"] = tuple(
            GuestRoute(r["network"], r["prefix_length"], r.get("gateway_address"), r.get("interface_index"))
            for r in raw["routes"]
        )
    return found


def _build(raw: Mapping[str, Any], source: str) -> Inventory:
    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is not None:
        raise _fail(f"{_where(error.absolute_path)}: {_describe(error)}", source)
    users: dict[str, ApiUser] = {}
    for i, u in enumerate(raw["users"]):
        if u["name"] in users:
            raise _fail(f"users[{i}]: duplicate user {u['name']!r}", source)
        users[u["name"]] = ApiUser(u["name"], u["password"], frozenset(u.get("privileges", default_privileges())))
    vms: dict[str, VmSpec] = {}
    for i, v in enumerate(raw["vms"]):
        if v["id"] in vms:
            raise _fail(f"vms[{i}]: duplicate VM id {v['id']!r}", source)
        vms[v["id"]] = _build_vm(v, f"vms[{i}]", source)
    f = raw.get("faults", {})
    faults = Faults(
        seed=f.get("seed", 0),
        latency_ms=float(f.get("latency_ms", 0)),
        rules=tuple(FaultRule(r["operation"], r["error_type"], float(r.get("rate", 1.0))) for r in f.get("rules", [])),
    )
    table = document().table
    for i, rule in enumerate(faults.rules):
        operation = table.get(rule.operation)
        if operation is None:
            raise _fail(f"faults.rules[{i}].operation: must be one of {', '.join(table)}", source)
        if rule.error_type not in operation.error_statuses:
            allowed = ", ".join(sorted(operation.error_statuses))
            raise _fail(
                f"faults.rules[{i}].error_type: {rule.operation} cannot raise {rule.error_type} "
                f"(the document allows {allowed})",
                source,
            )
    retention = float(raw.get("process_retention", 300))
    timeout = float(raw.get("session_idle_timeout", 1800))
    if math.isnan(retention) or math.isnan(timeout):
        raise _fail("process_retention and session_idle_timeout must be numbers", source)
    max_processes = raw.get("max_processes", MAX_PROCESSES)
    max_running = raw.get("max_running_processes", MAX_RUNNING_PROCESSES)
    if max_running > max_processes:
        raise _fail(f"max_running_processes ({max_running}) exceeds max_processes ({max_processes})", source)
    return Inventory(
        users=users,
        vms=vms,
        session_idle_timeout=timeout,
        process_retention=retention,
        max_body_bytes=raw.get("max_body_bytes", 1 << 20),
        max_processes=max_processes,
        max_running_processes=max_running,
        faults=faults,
        transfer_base_url=raw.get("transfer_base_url"),
    )


def load_inventory(source: str | os.PathLike[str] | Mapping[str, Any] | Inventory) -> Inventory:
    """Reads and checks an inventory: a YAML/JSON file path, a mapping, or an `Inventory` (returned as is).

    Raises `InventoryError` with a one-line message naming the file and the offending key.

        >>> load_inventory({"users": [], "vms": [{"id": "vm-1"}, {"id": "vm-1"}]})
        Traceback (most recent call last):
        ...
        vcenter_guest.mock._inventory.InventoryError: inventory: vms[1]: duplicate VM id 'vm-1'
    """
    if isinstance(source, Inventory):
        return source
    if isinstance(source, Mapping):
        return _build(source, "inventory")
    import yaml  # noqa: PLC0415 - PyYAML is only needed for files

    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the inventory file ({exc.__class__.__name__})") from None
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InventoryError(f"{path}: not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise InventoryError(f"{path}: the inventory must be a mapping with the keys users and vms")
    return _build(cast("dict[str, Any]", raw), str(path))
