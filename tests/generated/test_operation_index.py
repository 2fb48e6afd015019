"""The generated operation index (`vcenter_guest_client.api`, from templates/api_init.py.jinja): every
operation of the document, by its id, names its endpoint module, which is imported only when asked for."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run_alone(program: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(program)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_operation_of_the_document_is_in_the_index_with_its_request_builder() -> None:
    program = """
    import json, importlib.resources as r
    from vcenter_guest_client import api
    doc = json.loads((r.files("vcenter_guest_client") / "openapi.json").read_text())
    ids = sorted(op["operationId"] for item in doc["paths"].values() for key, op in item.items()
                 if key not in ("servers", "parameters"))
    assert sorted(api.OPERATIONS) == ids, (sorted(api.OPERATIONS), ids)
    for op_id, name in api.OPERATIONS.items():
        module = getattr(api, name)
        assert callable(module.request_kwargs), op_id
        assert module.__name__.endswith("." + name), (op_id, module.__name__)
    print(len(ids))
    """
    assert int(_run_alone(program)) >= 20


def test_importing_the_index_imports_no_endpoint_module_nor_model() -> None:
    program = """
    import json, sys
    from vcenter_guest_client import api
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("vcenter_guest_client.api.")
                            or m.startswith("vcenter_guest_client.models"))))
    """
    assert json.loads(_run_alone(program)) == []


def test_an_unknown_name_of_the_index_is_an_attribute_error() -> None:
    program = """
    from vcenter_guest_client import api
    try:
        api.no_such_operation
    except AttributeError as exc:
        print("no_such_operation" in str(exc))
    """
    assert _run_alone(program).strip() == "True"
