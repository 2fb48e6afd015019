"""The report: JSON, a rich table on a terminal, plain text otherwise."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

from .compare import Comparison
from .departures import Departure

COLUMNS = ("operation", "aspect", "kind", "detail", "pointer")


def as_dict(result: Comparison, stale: list[Departure], notes: list[dict[str, str]], form: str) -> dict[str, Any]:
    unexplained = [d for d in result.differences if d.departure is None]
    by_departure: dict[str, int] = {}
    for diff in result.differences:
        if diff.departure:
            by_departure[diff.departure] = by_departure.get(diff.departure, 0) + 1
    return {
        "form": form,
        "operations": result.counts,
        "unexplained": len(unexplained),
        "explained": len(result.differences) - len(unexplained),
        "explained_by_departure": by_departure,
        "stale_departures": [{"id": d.id, "pointer": d.pointer} for d in stale],
        "differences": [asdict(d) for d in result.differences],
        "uncovered_guest_operations": result.uncovered_guest,
        "not_compared": notes,
    }


def write_json(report: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(report, indent=1) + "\n")


def _rows(report: dict[str, Any], show_all: bool) -> list[tuple[str, ...]]:
    chosen = [d for d in report["differences"] if show_all or d["departure"] is None]
    return [(*(str(d[c]) for c in COLUMNS), d["departure"] or "UNEXPLAINED") for d in chosen]


def _summary(report: dict[str, Any]) -> list[str]:
    ops = report["operations"]
    lines = [
        f"VMware's spec ({report['form']}): {ops['vmware_in_families']} operations in the document's families; "
        f"the document: {ops['document']}; both: {ops['matched']}.",
        f"Differences: {report['unexplained']} unexplained, {report['explained']} explained by recorded departures"
        + "".join(f"\n  {k}: {v}" for k, v in sorted(report["explained_by_departure"].items())),
    ]
    if report["stale_departures"]:
        lines.append("Recorded departures that no longer apply (they matched nothing):")
        lines += [f"  {s['id']} ({s['pointer']})" for s in report["stale_departures"]]
    uncovered = report["uncovered_guest_operations"]
    lines.append(f"VMware's guest operations the document does not cover: {len(uncovered)}")
    lines += [f"  {line}" for line in uncovered]
    return lines


def write_plain(report: dict[str, Any], out: TextIO, show_all: bool) -> None:
    rows = _rows(report, show_all)
    if rows:
        header = (*COLUMNS, "departure")
        widths = [min(60, max(len(r[i]) for r in [header, *rows])) for i in range(len(header))]
        for row in [header, *rows]:
            out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
        out.write("\n")
    out.write("\n".join(_summary(report)) + "\n")


def write_rich(report: dict[str, Any], out: TextIO, show_all: bool) -> None:
    from rich.console import Console  # noqa: PLC0415 - rich only on a terminal
    from rich.table import Table  # noqa: PLC0415

    console = Console(file=out)
    rows = _rows(report, show_all)
    if rows:
        table = Table(title="Document vs VMware's spec")
        for column in (*COLUMNS, "departure"):
            table.add_column(column, overflow="fold")  # a pointer is read whole, never cut short
        for row in rows:
            style = "red" if row[-1] == "UNEXPLAINED" else "dim"
            table.add_row(*row, style=style)
        console.print(table)
    console.print("\n".join(_summary(report)), highlight=False, markup=False)
