"""`python -m benchmarks [--quick] [--only percall,fanout,...]`: run the benchmarks, print one table, write JSON.

`nox -s bench` runs this in an environment that also holds the official SDK; arguments after
`--` are passed through (`nox -s bench -- --quick`).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ._inventory import build_inventory, vm_ids
from ._report import evaluate_targets, print_table, write_json
from ._server import ROOT, MockServer

__all__ = ["main"]

SECTIONS = ("interop", "percall", "fanout", "transport", "capture", "waiting", "imports", "regen", "mock", "stall")

# Full run (the figures) and --quick (a smoke run of every part with tiny counts).
FULL: dict[str, Any] = {
    "calls": 2000,
    "reps": 5,
    "fanout_vms": 1000,
    "concurrency": 50,
    "fanout_reps": 3,
    "waiting_durations": "0.2,2,10",
    "waiting_reps": 7,
    "import_reps": 40,
    "regen_reps": 3,
    "nox_reps": 2,
    "capture_runs": 200,
    "transfer_rounds": 2,
    "transport_calls": 1000,
    "transport_reps": 3,
    "transport_vms": "1000,10000",
    "transport_concurrency": "50,200",
    "transport_fanout_reps": 2,
}
QUICK: dict[str, Any] = {
    "calls": 30,
    "reps": 2,
    "fanout_vms": 40,
    "concurrency": 8,
    "fanout_reps": 1,
    "waiting_durations": "0.2",
    "waiting_reps": 1,
    "import_reps": 2,
    "regen_reps": 1,
    "nox_reps": 0,
    "capture_runs": 10,
    "transfer_rounds": 1,
    "transport_calls": 20,
    "transport_reps": 1,
    "transport_vms": "20",
    "transport_concurrency": "4",
    "transport_fanout_reps": 1,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run of every benchmark")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument("--calls", type=int, help="per-call: create and get calls per client per repetition")
    parser.add_argument("--reps", type=int, help="per-call: repetitions")
    parser.add_argument("--fanout-vms", type=int, help="fan-out: number of VMs")
    parser.add_argument("--concurrency", type=int, help="fan-out: concurrent VMs")
    parser.add_argument("--fanout-reps", type=int, help="fan-out: repetitions")
    parser.add_argument("--fanout-program", default="/bin/true", help="fan-out: program (with arguments) to run")
    parser.add_argument("--waiting-durations", help="waiting: comma-separated program durations in seconds")
    parser.add_argument("--waiting-reps", type=int, help="waiting: repetitions of each (duration, poller)")
    parser.add_argument("--import-reps", type=int, help="imports: repetitions of each interpreter start")
    parser.add_argument("--regen-reps", type=int, help="regeneration: repetitions of the generator step")
    parser.add_argument("--nox-reps", type=int, help="regeneration: repetitions of `nox -s generate` (0 skips)")
    parser.add_argument("--capture-runs", type=int, help="capture: instant runs, captured and not, for the wall time")
    parser.add_argument("--transfer-rounds", type=int, help="capture: 100 MB uploads and downloads per client")
    parser.add_argument("--transport-calls", type=int, help="transport: async create+get per client per repetition")
    parser.add_argument("--transport-reps", type=int, help="transport: per-call repetitions")
    parser.add_argument("--transport-vms", help="transport: comma-separated fan-out sizes (VMs)")
    parser.add_argument("--transport-concurrency", help="transport: comma-separated fan-out concurrencies")
    parser.add_argument("--transport-fanout-reps", type=int, help="transport: repetitions of each fan-out")
    parser.add_argument("--no-sdk", action="store_true", help="leave the official SDK out")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="folder for the JSON results")
    parser.add_argument(
        "--nox-envdir",
        type=Path,
        default=ROOT / "bench-results" / ".nox-generate",
        help="nox env folder for the end-to-end `nox -s generate` runs (kept between runs)",
    )
    return parser


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def _versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for dist in (
        "vcenter-guest",
        "httpx",
        "attrs",
        "uvicorn",
        "starlette",
        "vmware-vcenter",
        "vmware-vapi-runtime",
        "requests",
        "openapi-python-client",
    ):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _run_mock_throughput(quick: bool, out: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Runs the mock engineer's `benchmarks/mock_throughput.py` (its own servers and load generator)."""
    script = ROOT / "benchmarks" / "mock_throughput.py"
    if not script.exists():
        raise FileNotFoundError("benchmarks/mock_throughput.py does not exist yet")
    json_path = out / "mock-throughput.json"
    command = [sys.executable, str(script), "--json", str(json_path)] + (["--quick"] if quick else [])
    log("mock throughput: python " + " ".join(command[1:]))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mock_throughput.py failed:\n{(done.stdout + done.stderr)[-2000:]}")
    figures: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    figures["output"] = done.stdout
    return figures


def _run_mock_stall(quick: bool, out: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Runs `benchmarks/mock_stall.py`: the mock's worst request, as the longest wait of another client."""
    json_path = out / "mock-stall.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "mock_stall.py"), "--json", str(json_path)]
    command += ["--quick"] if quick else []
    log("mock stall: python " + " ".join(command[1:]))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mock_stall.py failed:\n{(done.stdout + done.stderr)[-2000:]}")
    figures: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    return figures


class _Plan:
    """The resolved settings of one run, and one method per benchmark."""

    def __init__(self, args: argparse.Namespace, sdk: bool, log: Callable[[str], None]) -> None:
        self.args, self.log = args, log
        self.durations = [float(d) for d in args.waiting_durations.split(",") if d]
        self.program, _, program_args = args.fanout_program.partition(" ")
        self.program_args = program_args or None
        self.percall_clients = ["raw httpx", "generated", "overlay"] + (["official SDK"] if sdk else [])
        self.fanout_clients = ["raw httpx", "overlay", "overlay, captured"] + (["official SDK"] if sdk else [])
        if args.concurrency > 100:
            self.fanout_clients.append("overlay, 100 connections")
        self.fanout_clients.append("raw httpx, a client per worker")
        self.sdk = sdk

    def interop(self) -> dict[str, Any]:
        """The official SDK against the mock's guest filesystem (a failure fails the session)."""
        if not self.sdk:
            return {"skipped": "the official SDK is not installed"}
        from .interop import run as run_interop

        with MockServer(build_inventory(1)) as server:
            return run_interop(server)

    def percall_inventory(self) -> dict[str, Any]:
        """The inventory `percall` runs against: what it starts on one VM, it reads back."""
        from .percall import processes_per_vm, vms_needed

        clients, args = len(self.percall_clients), self.args
        return build_inventory(vms_needed(clients, args.reps), processes_per_vm=processes_per_vm(args.calls, clients))

    def percall(self) -> dict[str, Any]:
        from .percall import run_percall

        args = self.args
        with MockServer(self.percall_inventory()) as server:
            return run_percall(server, self.percall_clients, calls=args.calls, reps=args.reps, first_vm=1, log=self.log)

    def fanout(self) -> dict[str, Any]:
        from .fanout import run_fanout

        args = self.args
        with MockServer(build_inventory(args.fanout_vms)) as server:
            return run_fanout(
                server,
                self.fanout_clients,
                vms=vm_ids(args.fanout_vms),
                concurrency=args.concurrency,
                reps=args.fanout_reps,
                path=self.program,
                arguments=self.program_args,
                log=self.log,
            )

    def transport(self) -> dict[str, Any]:
        from .transport import PERCALL_CLIENTS, run_transport

        args = self.args
        sizes = [int(n) for n in args.transport_vms.split(",") if n]
        concurrencies = [int(n) for n in args.transport_concurrency.split(",") if n]
        count = max(sizes) + len(PERCALL_CLIENTS) * args.transport_reps
        with MockServer(build_inventory(count)) as server:
            return run_transport(
                server,
                calls=args.transport_calls,
                reps=args.transport_reps,
                sizes=sizes,
                concurrencies=concurrencies,
                fanout_reps=args.transport_fanout_reps,
                log=self.log,
            )

    def capture(self) -> dict[str, Any]:
        from .capture import run_capture

        with MockServer(build_inventory(1)) as server:
            return run_capture(
                server, runs=self.args.capture_runs, transfer_rounds=self.args.transfer_rounds, log=self.log
            )

    def waiting(self) -> dict[str, Any]:
        from .waiting import POLLERS, run_waiting

        count = len(self.durations) * len(POLLERS) * self.args.waiting_reps
        with MockServer(build_inventory(count)) as server:
            return run_waiting(
                server, durations=self.durations, reps=self.args.waiting_reps, vms=vm_ids(count), log=self.log
            )

    def imports(self) -> dict[str, Any]:
        from .startup import run_imports

        return run_imports(reps=self.args.import_reps, include_sdk=self.sdk, log=self.log)

    def regen(self) -> dict[str, Any]:
        from .regen import run_regen

        args = self.args
        return run_regen(reps=args.regen_reps, nox_reps=args.nox_reps, envdir=args.nox_envdir, log=self.log)

    def mock(self) -> dict[str, Any]:
        return _run_mock_throughput(self.args.quick, self.args.out, self.log)

    def stall(self) -> dict[str, Any]:
        return _run_mock_stall(self.args.quick, self.args.out, self.log)


def _meta(args: argparse.Namespace, argv: list[str] | None, sdk: bool) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "date": now.date().isoformat(),
        "timestamp": now.strftime("%Y%m%dT%H%M%SZ"),
        "machine": _machine(),
        "versions": _versions(),
        "command": " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]),
        "settings": {k: getattr(args, k) for k in [*FULL, "fanout_program"]},
        "official_sdk": sdk,
        "load_average_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    """Runs the chosen benchmarks; returns 1 if any failed to run (a missed target is reported, not failed)."""
    args = _parser().parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    chosen = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
    skipped = {s for s in args.skip.split(",") if s}
    unknown = [s for s in [*chosen, *skipped] if s not in SECTIONS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    sdk = not args.no_sdk and importlib.util.find_spec("com.vmware.vcenter") is not None
    console = Console(stderr=True)
    log: Callable[[str], None] = console.log
    plan = _Plan(args, sdk, log)
    results: dict[str, Any] = {"meta": _meta(args, argv, sdk), "errors": {}}
    if not sdk:
        log("the official SDK is not installed (or --no-sdk): its figures are left out")
    keys = {"mock": "mock_throughput", "stall": "mock_stall"}
    for section in (s for s in chosen if s not in skipped):
        log(f"[bold]{section}[/bold]")
        start = time.perf_counter()
        try:
            results[keys.get(section, section)] = getattr(plan, section)()
        except Exception as error:
            # One broken benchmark must not hide the other figures; the run still exits non-zero.
            results["errors"][section] = "".join(traceback.format_exception_only(type(error), error)).strip()
            log(f"[red]{section} failed:[/red] {results['errors'][section]}")
        log(f"{section} took {time.perf_counter() - start:.0f} s")
    results["meta"]["load_average_end"] = os.getloadavg()
    results["targets"] = evaluate_targets(results)
    out = Console()
    # Piped (nox, CI logs), rich would wrap the table at 80 columns.
    print_table(results, out if out.is_terminal else Console(width=160))
    print(f"raw figures: {write_json(results, args.out)}")
    for section, message in results["errors"].items():
        print(f"{section} failed: {message}", file=sys.stderr)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
