"""The house's figures, measured: import cycles, long modules, long functions.

    PYTHONPATH=overlays:generated python -m tools.measure_layers [PACKAGE] [--root DIR]

- cycles: the strongly connected components (more than one module) of the package's import graph,
  built by grimp with the imports under `if TYPE_CHECKING:` counted (a type-only import still ties
  two modules together: neither can be read, moved or split without the other);
- modules over 600 lines (physical lines of the file);
- functions over 60 lines (from `def` to the last line of the body, decorators left out), by ast.

It prints each figure and what makes it up, and exits 1 when there is a cycle or a module over 600
lines (functions over 60 are reported only). The closing notes' figures come from this command;
tests/overlay/test_measure_layers.py runs it on the overlay.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

__all__ = ["MAX_FUNCTION_LINES", "MAX_MODULE_LINES", "Figures", "cycles", "main", "measure"]

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


@attrs.frozen
class Figures:
    """What `measure` found: each cycle (sorted module names), long modules and long functions."""

    cycles: list[list[str]]
    long_modules: list[tuple[str, int]]
    long_functions: list[tuple[str, int]]

    @property
    def failing(self) -> bool:
        return bool(self.cycles or self.long_modules)


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node of `graph` (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _import_graph(package: str) -> dict[str, set[str]]:
    import grimp  # noqa: PLC0415 - only the measuring needs it

    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def _functions(tree: ast.AST) -> Iterable[tuple[str, int]]:
    def walk(node: ast.AST, prefix: str) -> Iterable[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, (child.end_lineno or child.lineno) - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    return walk(tree, "")


def measure(package: str, root: Path) -> Figures:
    """The figures of `package`, whose sources are below `root` (and importable: grimp finds them)."""
    long_modules: list[tuple[str, int]] = []
    long_functions: list[tuple[str, int]] = []
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(root).as_posix()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            long_modules.append((where, lines))
        for name, length in _functions(ast.parse(source, filename=where)):
            if length > MAX_FUNCTION_LINES:
                long_functions.append((f"{where}:{name}", length))
    return Figures(cycles(_import_graph(package)), long_modules, long_functions)


def report(figures: Figures) -> str:
    out = [f"import cycles (type-only imports counted): {len(figures.cycles)}"]
    out += [f"  {', '.join(cycle)}" for cycle in figures.cycles]
    out.append(f"modules over {MAX_MODULE_LINES} lines: {len(figures.long_modules)}")
    out += [f"  {where} {lines}" for where, lines in figures.long_modules]
    out.append(f"functions over {MAX_FUNCTION_LINES} lines: {len(figures.long_functions)}")
    out += [f"  {where} {lines}" for where, lines in figures.long_functions]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.measure_layers", description=__doc__.split("\n\n")[0])
    parser.add_argument("package", nargs="?", default="vcenter_guest", help="the package (default: vcenter_guest)")
    parser.add_argument("--root", type=Path, default=Path("overlays"), help="the folder it is in (default: overlays)")
    args = parser.parse_args(argv)
    figures = measure(args.package, args.root)
    print(report(figures))
    return 1 if figures.failing else 0


if __name__ == "__main__":
    sys.exit(main())
