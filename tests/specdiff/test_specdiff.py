"""The spec diff reports each change VMware makes, in both of VMware's forms, and honours departures."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, as_openapi3, as_swagger, document

FORMS = {"swagger-2.0": as_swagger, "openapi-3": as_openapi3}
CREATE = "/api/vcenter/vm/{vm}/guest/processes?action=create"
Write = Callable[..., Path]


def main(argv: list[str]) -> int:
    """The command's main, imported from the checkout (tools/ is not part of the package)."""
    module = importlib.import_module("tools.specdiff.__main__")
    code: int = module.main(argv)
    return code


def _defs(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["definitions"] if "definitions" in spec else spec["components"]["schemas"]


def _name(spec: dict[str, Any], dotted: str) -> str:
    return dotted.replace(".", "") if "definitions" in spec else dotted


def _path(spec: dict[str, Any], path: str) -> str:
    return path if "swagger" in spec else path.removeprefix("/api")


def _run(
    write: Write, vmware: dict[str, Any], departures: Any = None, capsys: Any = None, ours: Any = None
) -> tuple[int, dict[str, Any]]:
    doc = write("document.yaml", ours or document(), as_yaml=True)
    deps = write("departures.yaml", {"departures": departures or []}, as_yaml=True)
    spec = write("vmware.json", vmware)
    code = main([str(spec), "--json", "--document", str(doc), "--departures", str(deps)])
    return code, json.loads(capsys.readouterr().out)


def _reported(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["aspect"], d["kind"], d["pointer"]) for d in report["differences"] if d["departure"] is None]


def _two_errors_at_400() -> dict[str, Any]:
    ours = document()
    both = [{"$ref": f"#/components/schemas/Vapi.Std.Errors.{n}"} for n in ("InvalidArgument", "Unsupported")]
    ours["paths"][CREATE]["post"]["responses"]["400"]["content"]["application/json"]["schema"]["anyOf"] = both
    return ours


@pytest.fixture(params=sorted(FORMS))
def vmware(request: pytest.FixtureRequest) -> dict[str, Any]:
    return FORMS[request.param](document())


def test_vmware_spec_of_the_same_operations_in_either_form_differs_in_nothing(
    write: Write, vmware: Any, capsys: Any
) -> None:
    code, report = _run(write, vmware, capsys=capsys)
    assert report["differences"] == []
    assert report["operations"] == {"document": 3, "vmware_in_families": 3, "matched": 3}
    assert code == 0


def test_a_body_field_vmware_adds_is_reported_where_the_document_would_write_it(
    write: Write, vmware: Any, capsys: Any
) -> None:
    _defs(vmware)[_name(vmware, "Vcenter.Vm.Guest.Processes.CreateSpec")]["properties"]["priority"] = {
        "type": "integer"
    }
    code, report = _run(write, vmware, capsys=capsys)
    pointer = "/components/schemas/Vcenter.Vm.Guest.Processes.CreateSpec/properties/priority"
    assert _reported(report) == [("body", "only-vmware", pointer)]
    assert "spec.priority" in report["differences"][0]["detail"]
    assert code == 1


def test_an_enum_value_vmware_adds_is_reported_once_on_the_enum_naming_each_operation(
    write: Write, vmware: Any, capsys: Any
) -> None:
    _defs(vmware)[_name(vmware, "Vcenter.Vm.Guest.Credentials.Type")]["enum"].append("SSPI")
    code, report = _run(write, vmware, capsys=capsys)
    assert _reported(report) == [("body", "changed", "/components/schemas/Vcenter.Vm.Guest.Credentials.Type/enum")]
    assert "['SSPI']" in report["differences"][0]["detail"]
    assert report["differences"][0]["operation"] == "processes.create, processes.list"
    assert code == 1


def test_a_field_vmware_makes_required_is_reported(write: Write, vmware: Any, capsys: Any) -> None:
    _defs(vmware)[_name(vmware, "Vcenter.Vm.Guest.Processes.CreateSpec")]["required"].append("arguments")
    code, report = _run(write, vmware, capsys=capsys)
    pointer = "/components/schemas/Vcenter.Vm.Guest.Processes.CreateSpec/properties/arguments"
    assert _reported(report) == [("body", "changed", pointer)]
    assert "optional in the document, required in VMware's" in report["differences"][0]["detail"]
    assert code == 1


def test_an_error_status_vmware_adds_is_reported(write: Write, vmware: Any, capsys: Any) -> None:
    responses = vmware["paths"][_path(vmware, CREATE)]["post"]["responses"]
    responses["503"] = {"description": "", "schema": {"$ref": "#/definitions/VapiStdErrorsServiceUnavailable"}}
    if "swagger" not in vmware:
        ref = {"$ref": "#/components/schemas/Vapi.Std.Errors.ServiceUnavailable"}
        responses["503"] = {"description": "if", "content": {"application/json": {"schema": ref}}}
    code, report = _run(write, vmware, capsys=capsys)
    assert _reported(report) == [
        ("errors", "only-vmware", "/paths/~1api~1vcenter~1vm~1{vm}~1guest~1processes?action=create/post/responses/503")
    ]
    assert "SERVICE_UNAVAILABLE" in report["differences"][0]["detail"]
    assert code == 1


def test_an_operation_vmware_removes_is_reported_as_only_the_documents(write: Write, vmware: Any, capsys: Any) -> None:
    del vmware["paths"][_path(vmware, "/api/vcenter/vm/{vm}/guest/processes?action=list")]
    code, report = _run(write, vmware, capsys=capsys)
    assert _reported(report) == [
        ("operation", "only-ours", "/paths/~1api~1vcenter~1vm~1{vm}~1guest~1processes?action=list/post")
    ]
    assert code == 1


def test_a_schema_vmware_renames_is_not_a_change_of_fields(write: Write, vmware: Any, capsys: Any) -> None:
    old, new = (
        _name(vmware, "Vcenter.Vm.Guest.Processes.CreateSpec"),
        _name(vmware, "Vcenter.Vm.Guest.Processes.StartSpec"),
    )
    _defs(vmware)[new] = _defs(vmware).pop(old)
    text = json.dumps(vmware).replace(f'/{old}"', f'/{new}"')
    code, report = _run(write, json.loads(text), capsys=capsys)
    assert new in text
    assert report["differences"] == []
    assert code == 0


def test_a_changed_error_in_vmware_91_prose_is_read_from_the_description(write: Write, capsys: Any) -> None:
    ours = _two_errors_at_400()
    vmware = as_openapi3(ours)
    response = vmware["paths"]["/vcenter/vm/{vm}/guest/processes?action=create"]["post"]["responses"]["400"]
    assert _run(write, vmware, capsys=capsys, ours=ours)[0] == 0
    response["description"] = response["description"].replace("InvalidArgument", "NotFound")
    code, report = _run(write, vmware, capsys=capsys, ours=ours)
    kinds = sorted((d["kind"], d["detail"].split(":")[0]) for d in report["differences"])
    assert kinds == [("only-ours", "400 INVALID_ARGUMENT"), ("only-vmware", "400 NOT_FOUND")]
    assert code == 1


def test_a_recorded_departure_explains_its_difference_and_a_stale_one_is_reported(write: Write, capsys: Any) -> None:
    vmware = as_swagger(document())
    vmware["definitions"]["VcenterVmGuestProcessesCreateSpec"]["properties"]["priority"] = {"type": "integer"}
    recorded = {"id": "no-priority", "pointer": "/components/schemas/*.CreateSpec/properties/priority",
                "kind": "only-vmware", "reason": "not needed", "source": "scope"}  # fmt: skip
    code, report = _run(write, vmware, [recorded], capsys=capsys)
    assert [d["departure"] for d in report["differences"]] == ["no-priority"]
    assert (code, report["unexplained"], report["stale_departures"]) == (0, 0, [])

    stale = {
        **recorded,
        "id": "gone",
        "pointer": "/components/schemas/Vcenter.Vm.Guest.Processes.CreateSpec/properties/nice",
    }
    code, report = _run(write, vmware, [recorded, stale], capsys=capsys)
    assert report["stale_departures"] == [{"id": "gone", "pointer": stale["pointer"]}]
    assert code == 1


def test_a_departure_of_one_kind_does_not_hide_a_difference_of_another(write: Write, capsys: Any) -> None:
    ours = _two_errors_at_400()
    vmware = as_swagger(ours)  # shows only the first error of 400, as VMware's 7.0.3 does
    responses = vmware["paths"][CREATE]["post"]["responses"]
    responses["503"] = {"description": "", "schema": {"$ref": "#/definitions/VapiStdErrorsServiceUnavailable"}}
    more = {
        "id": "more-errors",
        "pointer": "/paths/*/*/responses",
        "kind": "only-ours",
        "reason": "r",
        "source": "bindings",
    }
    code, report = _run(write, vmware, [more], capsys=capsys, ours=ours)
    assert [(d["kind"], d["departure"]) for d in report["differences"]] == [
        ("only-ours", "more-errors"),
        ("only-vmware", None),
    ]
    assert code == 1


def test_one_file_per_service_reads_as_one_spec(write: Write, tmp_path: Path, capsys: Any) -> None:
    whole = as_swagger(document())
    session = {**whole, "paths": {"/api/session": whole["paths"].pop("/api/session")}}
    files = [write("vcenter.json", whole), write("session.yaml", session, as_yaml=True)]
    doc = write("document.yaml", document(), as_yaml=True)
    deps = write("departures.yaml", {"departures": []}, as_yaml=True)
    code = main([*map(str, files), "--json", "--document", str(doc), "--departures", str(deps)])
    assert json.loads(capsys.readouterr().out)["differences"] == []
    assert code == 0


def test_vmware_guest_operations_the_document_does_not_cover_are_listed_not_counted(write: Write, capsys: Any) -> None:
    vmware = as_swagger(document())
    vmware["paths"]["/api/vcenter/vm/{vm}/guest/power?action=reboot"] = {
        "post": {"operationId": "reboot", "responses": {}}
    }
    code, report = _run(write, vmware, capsys=capsys)
    assert report["uncovered_guest_operations"] == ["POST /vcenter/vm/{}/guest/power?action=reboot (reboot)"]
    assert code == 0


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.specdiff", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_the_command_exits_0_1_and_2_and_says_in_one_line_why_it_cannot_read(write: Write) -> None:
    doc = write("document.yaml", document(), as_yaml=True)
    deps = write("departures.yaml", {"departures": []}, as_yaml=True)
    own = ["--document", str(doc), "--departures", str(deps)]
    same = write("same.json", as_swagger(document()))
    changed = as_swagger(document())
    changed["definitions"]["VcenterVmGuestCredentialsType"]["enum"].append("SSPI")
    garbage = write("garbage.yaml", "")
    garbage.write_text("paths: [unclosed\n", encoding="utf-8")
    assert _command(str(same), *own).returncode == 0
    done = _command(str(write("changed.json", changed)), *own)
    assert (done.returncode, "UNEXPLAINED" in done.stdout) == (1, True)
    for bad in (garbage, garbage.with_name("missing.json"), write("empty.json", {"swagger": "2.0"})):
        done = _command(str(bad), *own)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith(f"spec-diff: {bad}")


def _places(node: Any, segments: list[str]) -> int:
    """How many places of `node` a departure's pointer segments (with `*`) name."""
    if not segments:
        return 1
    head, rest = segments[0], segments[1:]
    pattern = re.compile(".*".join(map(re.escape, head.replace("~1", "/").replace("~0", "~").split("*"))) + r"\Z")
    if isinstance(node, dict):
        return sum(_places(value, rest) for key, value in node.items() if pattern.match(str(key)))
    if isinstance(node, list):
        return sum(_places(value, rest) for index, value in enumerate(node) if pattern.match(str(index)))
    return 0


def test_each_recorded_departure_of_the_document_names_a_place_the_document_has() -> None:
    document = yaml.safe_load((ROOT / "openapi" / "vcenter-guest.yaml").read_text(encoding="utf-8"))
    recorded = yaml.safe_load((ROOT / "openapi" / "departures.yaml").read_text(encoding="utf-8"))["departures"]
    for departure in recorded:
        segments = departure["pointer"].split("/")[1:]
        if departure.get("kind") == "only-vmware":  # where the document would write it: its parent exists
            segments = segments[:1]
        assert _places(document, segments), departure["id"]
        assert departure["reason"].strip(), departure["id"]
        assert departure["source"].strip(), departure["id"]


def test_an_unreadable_departures_file_exits_2_saying_why(write: Write, capsys: Any) -> None:
    doc = write("document.yaml", document(), as_yaml=True)
    spec = write("vmware.json", as_swagger(document()))
    for bad in ({"departures": [{"id": "x", "pointer": "/paths"}]}, {"nothing": 1}):
        deps = write("departures.yaml", bad, as_yaml=True)
        assert main([str(spec), "--document", str(doc), "--departures", str(deps)]) == 2
        assert capsys.readouterr().err.startswith("spec-diff: ")
