"""Import time as whole processes: `python -c "import vcenter_guest"` against its alternatives.

A whole process is what a user waits for (a CLI call, a script), so each figure is the wall time of
a fresh interpreter, median over repetitions taken in rotation, after one untimed warm-up run of
each (so every one reads compiled bytecode). The bare interpreter is measured too, to show how much
of each figure is Python itself.

The interpreters run without PYTHONDONTWRITEBYTECODE (this machine sets it): pip compiled httpx
and attrs when it installed them, but the project is installed editable, so with that variable
set every run would compile the overlay's sources again and the comparison would time the
compiler, not what a user of the installed package waits for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ._server import BenchError
from ._stats import Summary, ratio, summarize

__all__ = ["IMPORTS", "heavy_modules_loaded", "run_imports"]

# label -> statement; the first one after the interpreter is the floor of the target.
IMPORTS: dict[str, str] = {
    "python (no import)": "pass",
    "import httpx, attrs": "import httpx, attrs",
    "import vcenter_guest": "import vcenter_guest",
    "import vcenter_guest_client": "import vcenter_guest_client",
    "official SDK guest_client": "from com.vmware.vcenter.vm import guest_client",
}
FLOOR = "import httpx, attrs"

# Modules `import vcenter_guest` must not pull in: the CLI, the mock server and the fuzz harness
# are imported only when used.
HEAVY = ("click", "rich", "starlette", "uvicorn", "schemathesis", "hypothesis", "jsonschema", "yaml")


_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _time_once(statement: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True, check=False, env=_ENV)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"`python -c {statement!r}` failed: {done.stderr.strip()[-500:]}")
    return elapsed


def heavy_modules_loaded() -> list[str]:
    """The heavy modules (CLI, server, fuzz) that `import vcenter_guest` adds to `import httpx, attrs`.

    Empty is right. Not simply "loaded": httpx imports its own command line (click, rich) at import
    when those are installed, which costs the floor as much as the overlay.
    """
    probe = (
        "import sys, json, httpx, attrs; before = set(sys.modules); import vcenter_guest; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules and m not in before]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def run_imports(*, reps: int, include_sdk: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Times each import `reps` times in rotation; returns summaries and ratios to `import httpx, attrs`."""
    labels = [label for label in IMPORTS if include_sdk or label != "official SDK guest_client"]
    for label in labels:
        _time_once(IMPORTS[label])
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for rep in range(reps):
        for label in labels[rep % len(labels) :] + labels[: rep % len(labels)]:
            samples[label].append(_time_once(IMPORTS[label]))
    summaries: dict[str, Summary] = {label: summarize(values) for label, values in samples.items()}
    log("imports: " + ", ".join(f"{k} {v['median'] * 1e3:.0f} ms" for k, v in summaries.items()))
    return {
        "reps": reps,
        "floor": FLOOR,
        "python": sys.version.split()[0],
        "imports": {
            label: {"seconds": summary, "ratio": ratio(summary, summaries[FLOOR])}
            for label, summary in summaries.items()
        },
        "heavy_modules_added_by_import_vcenter_guest": heavy_modules_loaded(),
    }
