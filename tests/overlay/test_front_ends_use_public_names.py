"""The command line, the mock and the fuzz command use the core's public names only (no `_private`
module or name of `vcenter_guest` outside their own package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import vcenter_guest

CORE = Path(vcenter_guest.__file__).parent
FRONT_ENDS = ("cli", "mock", "fuzz")


def _private_imports(package: str) -> list[str]:
    found = []
    for path in sorted((CORE / package).rglob("*.py")):
        where = path.relative_to(CORE.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: within the front end's own package, or up into the core
                    if node.level == 1:
                        continue
                    module = ".".join(["vcenter_guest", *filter(None, [node.module])])
                else:
                    module = node.module or ""
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                module, names = "", [alias.name for alias in node.names]
            else:
                continue
            for full in [f"{module}.{name}" if module else name for name in names]:
                parts = full.split(".")
                if parts[0] != "vcenter_guest" or (len(parts) > 1 and parts[1] == package):
                    continue
                if any(part.startswith("_") and part != "__version__" for part in parts[1:]):
                    found.append(f"{where}:{node.lineno}: {full}")
    return found


@pytest.mark.parametrize("package", FRONT_ENDS)
def test_a_front_end_imports_no_private_name_of_the_core(package: str) -> None:
    assert _private_imports(package) == []
