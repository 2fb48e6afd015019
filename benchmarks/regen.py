"""Regeneration time: `nox -s generate` end to end, and the generator step alone.

Both run on a copy of the project in a temporary folder, so the work tree's `generated/` is never
replaced while the benchmark runs (other tools may be reading it). The generator step alone is
`noxfile.regenerate` (validate, openapi-python-client with its ruff hooks, stamp headers) with the
bench environment's tools. End to end is a real `nox -s generate` on the copy, in a nox env folder
kept between runs: the first run ever also creates that environment and is reported apart ("cold").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._server import ROOT, BenchError
from ._stats import summarize

__all__ = ["run_regen"]

PROJECT_FILES = ("openapi", "generator-config.yaml", "noxfile.py", "generated")


def _copy_project(dest: Path) -> Path:
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    return dest


def _generator_step(reps: int) -> tuple[list[float], list[str]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import noxfile

    times: list[float] = []
    problems: list[str] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="vcenter-guest-regen-") as tmp:
            start = time.perf_counter()
            fresh = noxfile.regenerate(ROOT, Path(tmp))
            times.append(time.perf_counter() - start)
            problems = noxfile.compare_trees(ROOT / noxfile.GENERATED, fresh)
    return times, problems


def _nox_generate(project: Path, envdir: Path) -> float:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "--no-color",
            "-f",
            str(project / "noxfile.py"),
            "-s",
            "generate",
            "--envdir",
            str(envdir),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"nox -s generate failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return elapsed


def run_regen(*, reps: int, nox_reps: int, envdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Times the generator step `reps` times and `nox -s generate` `nox_reps` times (0 skips it)."""
    step_times, problems = _generator_step(reps)
    log(f"regeneration: generator step {min(step_times):.1f}-{max(step_times):.1f} s")
    results: dict[str, Any] = {
        "generator_step": summarize(step_times),
        # The committed tree against a fresh one: empty when generated/ is current and regeneration
        # is deterministic.
        "committed_tree_differences": problems,
    }
    if nox_reps > 0:
        cold = not (envdir / "generate").exists()
        nox_times: list[float] = []
        with tempfile.TemporaryDirectory(prefix="vcenter-guest-nox-") as tmp:
            project = _copy_project(Path(tmp))
            if cold:
                results["nox_generate_cold"] = _nox_generate(project, envdir)
                log(f"regeneration: nox -s generate (cold, creates its env) {results['nox_generate_cold']:.1f} s")
            for _ in range(nox_reps):
                nox_times.append(_nox_generate(project, envdir))
        results["nox_generate"] = summarize(nox_times)
        log(f"regeneration: nox -s generate {min(nox_times):.1f}-{max(nox_times):.1f} s")
    return results
