"""One printed table (rich) and one JSON file with every raw figure."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ._stats import paired_ratio

__all__ = ["evaluate_targets", "print_table", "write_json"]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}"


def _x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def _row(table: Table, bench: str, subject: str, cells: tuple[dict[str, Any], Any], ratio: str = "") -> None:
    summary, fmt = cells
    table.add_row(bench, subject, fmt(summary["median"]), f"{fmt(summary['min'])} - {fmt(summary['max'])}", ratio)


class _Targets:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, measured: float, limit: float, *, at_most: bool) -> None:
        passed = measured <= limit if at_most else measured >= limit
        bound = "<=" if at_most else ">="
        self.rows.append({"target": name, "measured": measured, "limit": f"{bound} {limit:g}", "met": passed})


def _percall_targets(targets: _Targets, clients: dict[str, Any]) -> None:
    # The overlay's bound is the architecture issue's (1.10x), tighter than the first release's 1.15x.
    for name, limit in (("overlay", 1.10), ("generated", 1.05)):
        if name in clients:
            targets.add(
                f"{name} client CPU per call / raw httpx", clients[name]["both"]["cpu_ratio"], limit, at_most=True
            )
    if "overlay" in clients and "official SDK" in clients:
        sdk_over_overlay = paired_ratio(clients["official SDK"]["both"]["cpu"], clients["overlay"]["both"]["cpu"])
        targets.add("official SDK CPU per call / overlay", sdk_over_overlay, 1.5, at_most=False)


def _fanout_targets(targets: _Targets, clients: dict[str, Any]) -> None:
    if "overlay" not in clients:
        return
    targets.add("fan-out throughput overlay / raw httpx", clients["overlay"]["throughput_ratio"], 0.85, at_most=False)
    if "overlay, 100 connections" in clients:
        grown = paired_ratio(clients["overlay"]["vms_per_s"], clients["overlay, 100 connections"]["vms_per_s"])
        targets.add("fan-out above 100 concurrent: grown pools / max_connections=100", grown, 1.0, at_most=False)
    if "overlay, captured" in clients:
        captured = paired_ratio(clients["overlay, captured"]["calls_per_s"], clients["overlay"]["calls_per_s"])
        targets.add("fan-out HTTP calls/s, captured / uncaptured overlay", captured, 0.85, at_most=False)
    if "official SDK" in clients:
        overlay_over_sdk = paired_ratio(clients["overlay"]["vms_per_s"], clients["official SDK"]["vms_per_s"])
        targets.add("fan-out throughput overlay / official SDK", overlay_over_sdk, 1.0, at_most=False)


def _waiting_targets(targets: _Targets, programs: dict[str, Any]) -> None:
    for label, pollers in programs.items():
        overlay = pollers["overlay run"]
        if float(label) < 5:
            name = f"waiting {label} s program: overlay end-to-exit detection (s)"
            targets.add(name, overlay["delay"]["median"], 0.150, at_most=True)
        else:
            name = f"waiting {label} s program: overlay polls minus fixed 0.5 s poller's"
            targets.add(name, overlay["polls"]["median"] - pollers["fixed 0.5 s"]["polls"]["median"], 0, at_most=True)


def _stall_target(targets: _Targets, stall: dict[str, Any]) -> None:
    if isinstance(stall.get("worst_wait_ms"), (int, float)):
        name = "mock: another client's longest wait during one hostile request (ms)"
        targets.add(name, stall["worst_wait_ms"], 500, at_most=True)


def _capture_targets(targets: _Targets, capture: dict[str, Any]) -> None:
    """The capture benchmark's targets: exchanges per captured run, its wall time, the transfers."""
    if not capture:
        return
    exchanges = capture["exchanges"]
    for label, key, goal in (
        ("stdout only, OS unknown (Identity asked)", "ours, OS unknown (Identity asked), stdout only", 5),
        ("stdout only, OS known", "ours, OS known, stdout only", 4),
        ("both streams, OS known", "ours, OS known, stdout and stderr", 6),
    ):
        targets.add(f"captured run exchanges besides polls, {label}", exchanges[key], goal, at_most=True)
    ratio = capture["captured_wall_ratio"]
    targets.add("captured (OS known) / uncaptured run of an instant program (wall)", ratio, 2.2, at_most=True)
    ratio = capture["captured_govc_wall_ratio"]
    targets.add("captured run (OS known) / govc guest.run's flow, instant program (wall)", ratio, 0.6, at_most=True)
    for method, row in capture["transfers"].items():
        targets.add(f"vc.files {method} of 100 MB / raw httpx streaming", row["ratio"], 0.8, at_most=False)
    growth_mb = capture["client_peak_memory_growth"] / 1e6
    targets.add("client peak memory growth over the 100 MB transfers (MB)", growth_mb, 32, at_most=True)


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against the measured figures; a target whose benchmark did not run is absent."""
    targets = _Targets()
    if results.get("percall"):
        _percall_targets(targets, results["percall"]["clients"])
    if results.get("fanout"):
        _fanout_targets(targets, results["fanout"]["clients"])
    if results.get("transport"):
        _transport_targets(targets, results["transport"])
    if results.get("waiting"):
        _waiting_targets(targets, results["waiting"]["programs"])
    if results.get("imports"):
        ratio = results["imports"]["imports"]["import vcenter_guest"]["ratio"]
        targets.add("import vcenter_guest / import httpx, attrs", ratio, 1.2, at_most=True)
    _capture_targets(targets, results.get("capture") or {})
    _stall_target(targets, results.get("mock_stall") or {})
    mock = results.get("mock_throughput") or {}
    for label, value in (mock.get("ratios") or {}).items():
        if isinstance(value, (int, float)):
            targets.add(f"mock throughput / bare Starlette: {label}", float(value), 0.5, at_most=False)
    if isinstance(mock.get("redirect_cost"), (int, float)):
        targets.add(
            "mock: a create redirecting output / a plain create (cost)", float(mock["redirect_cost"]), 2.0, at_most=True
        )
    for method, row in ((mock.get("transfers") or {}).get("rows") or {}).items():
        targets.add(
            f"mock {method} of a 100 MB file / bare Starlette streaming", float(row["ratio"]), 0.5, at_most=False
        )
    transfers = mock.get("transfers") or {}
    if "peak_memory_growth" in transfers:
        growth = transfers["peak_memory_growth"] / transfers["bytes"]
        targets.add("mock peak memory growth over a PUT and a GET / the file's size", growth, 1.0, at_most=True)
    return targets.rows


def _percall_rows(table: Table, percall: dict[str, Any]) -> None:
    title = f"per call ({percall['calls']} calls x {percall['reps']})"
    clients = percall["clients"]
    for op in ("create", "get"):
        for name, entry in clients.items():
            _row(table, f"{title}: {op} client CPU", name, (entry[op]["cpu"], _us), _x(entry[op]["cpu_ratio"]))
        for name, entry in clients.items():
            _row(table, f"{title}: {op} wall", name, (entry[op]["wall"], _us), _x(entry[op]["wall_ratio"]))
    for name, entry in clients.items():
        _row(table, f"{title}: create+get server CPU", name, (entry["both"]["server_cpu"], _us))


def _fanout_rows(table: Table, fanout: dict[str, Any]) -> None:
    title = f"fan-out ({fanout['vms']} VMs, concurrency {fanout['concurrency']}, {fanout['program']})"
    clients = fanout["clients"]
    for name, entry in clients.items():
        _row(table, f"{title}: wall", name, (entry["wall"], _s))
    for name, entry in clients.items():
        _row(table, f"{title}: VMs/s", name, (entry["vms_per_s"], _num), _x(entry["throughput_ratio"]))
    for name, entry in clients.items():
        _row(table, f"{title}: HTTP calls/s", name, (entry["calls_per_s"], _num))
    for name, entry in clients.items():
        _row(table, f"{title}: client CPU per HTTP call", name, (entry["client_cpu_per_call"], _us))
    for name, entry in clients.items():
        _row(table, f"{title}: client CPU (cores)", name, (entry["client_cores"], _num))
        bound = f"{entry['saturates']} bound"
        _row(table, f"{title}: server CPU (cores)", name, (entry["server_cores"], _num), bound)


def _transport_rows(table: Table, transport: dict[str, Any]) -> None:
    for name, entry in transport["percall"].items():
        _row(table, "async create+get client CPU", name, (entry["cpu_per_call"], _us), _x(entry["cpu_ratio_to_raw"]))
    for cell in transport["fanout"]["grid"]:
        title = f"async fan-out, {cell['vms']} VMs, concurrency {cell['concurrency']}"
        for name, entry in cell["clients"].items():
            _row(table, f"{title}: VMs/s", name, (entry["vms_per_s"], _num), _x(entry["ratio_to_floor"]))
        for name, entry in cell["clients"].items():
            _row(table, f"{title}: client CPU per VM", name, (entry["cpu_per_vm"], _us))
        for name, entry in cell["clients"].items():
            _row(table, f"{title}: client memory growth per VM (bytes)", name, (entry["memory_per_vm"], _num))
        for name, entry in cell["clients"].items():
            if "server_cores" in entry:
                _row(table, f"{title}: server CPU (cores)", name, (entry["server_cores"], _num))
                _row(table, f"{title}: HTTP calls per VM", name, (entry["calls_per_vm"], _num))


def _transport_targets(targets: _Targets, transport: dict[str, Any]) -> None:
    best = "overlay, aiohttp" if transport["aiohttp_installed"] else "overlay, httpx"
    for cell in transport["fanout"]["grid"]:
        ratio = cell["clients"][best]["ratio_to_floor"]
        name = f"async fan-out {cell['vms']} VMs at {cell['concurrency']}: {best} / raw httpx per worker"
        targets.add(name, ratio, 1.5, at_most=False)


def _waiting_rows(table: Table, waiting: dict[str, Any]) -> None:
    for label, pollers in waiting["programs"].items():
        for poller, entry in pollers.items():
            _row(table, f"waiting, {label} s program: end to return", poller, (entry["delay"], _ms))
        for poller, entry in pollers.items():
            _row(table, f"waiting, {label} s program: get polls", poller, (entry["polls"], _num))


def _imports_rows(table: Table, imports: dict[str, Any]) -> None:
    for label, entry in imports["imports"].items():
        _row(table, "import (whole process)", label, (entry["seconds"], _ms), _x(entry["ratio"]))
    heavy = imports.get("heavy_modules_added_by_import_vcenter_guest") or ["none"]
    table.add_row("import vcenter_guest", "CLI/server/fuzz modules it adds", ", ".join(heavy), "", "")


def _regen_rows(table: Table, regen: dict[str, Any]) -> None:
    _row(table, "regeneration", "generator step alone", (regen["generator_step"], _s))
    if "nox_generate" in regen:
        _row(table, "regeneration", "nox -s generate (env reused)", (regen["nox_generate"], _s))
    if "nox_generate_cold" in regen:
        cold = _s(regen["nox_generate_cold"])
        table.add_row("regeneration", "nox -s generate (first run, creates env)", cold, "", "")


def _mock_rows(table: Table, mock: dict[str, Any]) -> None:
    # mock_throughput.py reports one figure per row (the mean of two alternating halves), no range.
    for label, row in (mock.get("rows") or {}).items():
        table.add_row("mock server req/s (vs bare Starlette)", f"mock, {label}", _num(row["mock_rps"]), "", "")
        table.add_row("mock server req/s (vs bare Starlette)", f"bare, {label}", _num(row["bare_rps"]), "", "")
        table.add_row("mock server req/s (vs bare Starlette)", f"ratio, {label}", "", "", _x(row["ratio"]))


def _stall_rows(table: Table, stall: dict[str, Any]) -> None:
    for name, row in (stall.get("attacks") or {}).items():
        took = _s(row["seconds"]) if row.get("finished") else "abandoned"
        wait = f"{row['worst_wait_ms']:.0f} ms waited" if row.get("worst_wait_ms") is not None else ""
        table.add_row("mock: another client's wait", f"{name}: {row['answer']}", took, "", wait)


def _interop_rows(table: Table, interop: dict[str, Any]) -> None:
    if "skipped" in interop:
        table.add_row("SDK interop", "guest filesystem", "skipped", "", interop["skipped"])
        return
    table.add_row("SDK interop", "guest filesystem", "ok", "", " -> ".join(interop["steps"]))


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    """Prints every benchmark that ran, then the targets, as one table."""
    console = console or Console()
    table = Table(title=f"vcenter-guest benchmarks ({results['meta']['date']}, {results['meta']['machine']})")
    for column in ("benchmark", "subject", "median", "min - max", "vs floor"):
        table.add_column(column, justify="left" if column in ("benchmark", "subject") else "right")
    sections = (
        ("interop", _interop_rows),
        ("percall", _percall_rows),
        ("fanout", _fanout_rows),
        ("transport", _transport_rows),
        ("waiting", _waiting_rows),
        ("imports", _imports_rows),
        ("regen", _regen_rows),
        ("mock_throughput", _mock_rows),
        ("mock_stall", _stall_rows),
    )
    for key, rows in sections:
        if results.get(key):
            rows(table, results[key])
            table.add_section()
    for target in results.get("targets", []):
        verdict = "[green]met[/green]" if target["met"] else "[red]missed[/red]"
        table.add_row("target", target["target"], f"{target['measured']:.3g}", target["limit"], verdict)
    console.print(table)


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    """Writes `bench-<timestamp>.json` and `latest.json` in `out_dir`; returns the first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False, default=str)
    path = out_dir / f"bench-{results['meta']['timestamp']}.json"
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
