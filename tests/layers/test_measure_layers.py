"""`python -m tools.measure_layers`: the overlay has no import cycle (type-only imports counted) and
no module over 600 lines; and the tool sees a cycle, a long module and a long function when there is one."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import vcenter_guest

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = Path(vcenter_guest.__file__).resolve().parents[1]


def _tool() -> ModuleType:
    """The tool, imported from the checkout (tools/ is not part of the package)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tools.measure_layers")


def test_the_overlay_has_no_import_cycle_and_no_module_over_600_lines() -> None:
    figures = _tool().measure("vcenter_guest", OVERLAY)
    assert figures.cycles == []
    assert figures.long_modules == []


def test_the_command_prints_the_figures_and_exits_1_only_for_a_cycle_or_a_long_module() -> None:
    figures = _tool().measure("vcenter_guest", OVERLAY)
    done = subprocess.run(
        [sys.executable, "-m", "tools.measure_layers", "vcenter_guest", "--root", str(OVERLAY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "import cycles (type-only imports counted): " in done.stdout
    assert "modules over 600 lines: 0" in done.stdout
    assert "functions over 60 lines: " in done.stdout
    assert "import cycles (type-only imports counted): 0" in done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert not figures.failing


def _package(tmp_path: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in files.items():
        path = tmp_path / "toyhouse" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_cycle_made_only_of_a_type_only_import_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from toyhouse import b\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toyhouse import a\n",
            "c.py": "from toyhouse import a\n",
        },
        monkeypatch,
    )
    tool = _tool()
    figures = tool.measure("toyhouse", root)
    assert figures.cycles == [["toyhouse.a", "toyhouse.b"]]
    assert figures.failing
    assert tool.main(["toyhouse", "--root", str(root)]) == 1


def test_a_module_over_600_lines_fails_and_a_function_over_60_is_reported_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_function = "def f():\n" + "    x = 1\n" * 60 + "\n\nclass K:\n    def g(self):\n" + "        y = 2\n" * 59
    root = _package(tmp_path, {"__init__.py": "", "long.py": "x = 1\n" * 601, "fn.py": long_function}, monkeypatch)
    tool = _tool()
    figures = tool.measure("toyhouse", root)
    assert figures.long_modules == [("toyhouse/long.py", 601)]
    assert figures.long_functions == [("toyhouse/fn.py:f", 61)]
    (root / "toyhouse" / "long.py").write_text("x = 1\n" * 600, encoding="utf-8")
    assert tool.main(["toyhouse", "--root", str(root)]) == 0


def test_tarjan_finds_each_strongly_connected_component_once() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}, "g": set()}
    assert _tool().cycles(graph) == [["a", "b", "c"], ["d", "e"]]
