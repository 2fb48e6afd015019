"""One tiny run of every benchmark, shared by the folder's tests (the figures are not judged, the run is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

TINY = [
    "--quick",
    "--no-sdk",
    *("--calls", "5", "--fanout-vms", "12", "--capture-runs", "2", "--transfer-rounds", "1"),
    *("--transport-calls", "5", "--transport-vms", "6", "--import-reps", "1"),
]
"""Every benchmark at tiny counts, against the inventories the full run uses (`nox -s bench`)."""


def quick_run(args: list[str], out: Path) -> tuple[dict[str, Any], str]:
    """Runs `python -m benchmarks ARGS` into `out`; its raw figures and printed table (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"the quick bench run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    results: dict[str, Any] = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    return results, done.stdout


@pytest.fixture(scope="session")
def every_benchmark(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The raw figures and printed table of one tiny run of every benchmark."""
    return quick_run(TINY, tmp_path_factory.mktemp("bench"))
