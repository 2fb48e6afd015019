"""`import vcenter_guest` loads no module beyond `import httpx, attrs` that only a first call needs:
what the first request, the first create or the first document read needs loads then (the import
ratio, `python -m benchmarks.import_ratio`, is the measure; this test keeps the modules from creeping back)."""

from __future__ import annotations

import json
import subprocess
import sys

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
