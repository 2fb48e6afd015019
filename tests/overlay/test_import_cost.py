"""`import vcenter_guest` loads no module beyond `import httpx, attrs` that only a first call needs:
what the first request, the first create or the first document read needs loads then (the import
ratio, `python -m benchmarks.import_ratio`, is the measure; this test keeps the modules from creeping back)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

# Loaded by `import vcenter_guest` on purpose, each with the module that needs it at import.
NEEDED_AT_IMPORT = {
    "shlex": "_services.processes / capture / checks: quoting helpers bound at import",
    "secrets": "ownership, _services.capture: nonces",
    "hmac": "imported by secrets",
    "contextvars": "_clients.deadline: the caller's deadline is a context variable",
    "_contextvars": "imported by contextvars",
}


def _loaded(statement: str) -> set[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_import_loads_no_outside_module_that_only_a_first_call_needs() -> None:
    floor = _loaded("import httpx, attrs")
    extra = {m for m in _loaded("import vcenter_guest") - floor if m.split(".")[0] != "vcenter_guest"}
    assert sorted(extra - set(NEEDED_AT_IMPORT)) == []


def test_the_document_and_signal_handling_load_on_first_use() -> None:
    loaded = _loaded("import vcenter_guest")
    assert "importlib.resources" not in loaded
    assert "signal" not in loaded


def test_the_values_only_an_answer_needs_load_on_first_use() -> None:
    # `_values.ON_FIRST_USE`: the answers of the files, VMs and guest services; attrs builds each class
    # (compiling its methods) when its module loads, which was a fifth of what the package cost at import.
    from vcenter_guest import _values

    lazy = {f"vcenter_guest._values.{module}" for module in _values.ON_FIRST_USE}
    assert lazy
    assert sorted(lazy & _loaded("import vcenter_guest")) == []
    assert sorted(lazy & _loaded("from vcenter_guest import Client, Credentials, CreateSpec, errors")) == []
    assert sorted(lazy - _loaded("from vcenter_guest import GuestIdentity, FileInfo")) == []


def test_the_values_loaded_on_first_use_are_those_their_modules_export_and_type_checkers_see() -> None:
    # The one list of what loads late (`ON_FIRST_USE`) is held to the modules themselves, and to the
    # `if TYPE_CHECKING:` imports that give type checkers and IDEs the same names.
    import importlib

    from vcenter_guest import _values

    for module, names in _values.ON_FIRST_USE.items():
        defined = importlib.import_module(f"vcenter_guest._values.{module}")
        classes = {n for n, v in vars(defined).items() if isinstance(v, type) and v.__module__ == defined.__name__}
        assert sorted(names) == sorted(n for n in classes if not n.startswith("_"))
    tree = ast.parse(Path(_values.__file__).read_text(encoding="utf-8"))
    type_only = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    type_only[stmt.module] = sorted(alias.name for alias in stmt.names)
    assert type_only == {module: sorted(names) for module, names in _values.ON_FIRST_USE.items()}
    late = {name for names in _values.ON_FIRST_USE.values() for name in names}
    eager = {name for name in _values.__all__ if name in vars(_values)} - late
    assert sorted(eager | late) == sorted(_values.__all__)


def test_every_exported_name_resolves_to_its_defining_class_in_a_fresh_process() -> None:
    probe = (
        "import json, vcenter_guest, vcenter_guest._values as v; "
        "from vcenter_guest import *; "
        "names = vcenter_guest.__all__; "
        "missing = [n for n in names if n not in globals()]; "
        "wrong = [n for n in v.__all__ if getattr(vcenter_guest, n) is not getattr(v, n) "
        "or getattr(v, n).__name__ != n or n not in dir(vcenter_guest) or n not in dir(v)]; "
        "print(json.dumps([missing, wrong]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    missing, wrong = json.loads(done.stdout)
    assert (missing, wrong) == ([], [])


def test_import_compiles_no_regular_expression() -> None:
    # Patterns are strings that `re` compiles on first use (and caches), e.g. `redaction._TOKEN`:
    # compiling them at import cost the package more than a millisecond.
    probe = (
        "import json, re, sys, httpx, attrs\n"
        "compiled = []\n"
        "original = re._compile\n"
        "def recording(pattern, flags):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None and frame.f_globals.get('__name__', '').startswith('re'):\n"
        "        frame = frame.f_back\n"
        "    module = frame.f_globals.get('__name__', '') if frame is not None else ''\n"
        "    if module.split('.')[0] == 'vcenter_guest':\n"
        "        compiled.append(f'{module}: {pattern!r}')\n"
        "    return original(pattern, flags)\n"
        "re._compile = recording\n"
        "import vcenter_guest\n"
        "print(json.dumps(compiled))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
