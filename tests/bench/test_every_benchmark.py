"""`nox -s bench` runs every benchmark: each one runs here at tiny counts against the inventory the
full run gives it, and each inventory holds what the full run needs."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # benchmarks/ is a folder of the checkout, not part of the installed package (nox runs the
    # `pytest` script, which does not put the checkout on sys.path as `python -m pytest` does).
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.mark.slow
def test_every_benchmark_runs_at_tiny_counts_and_gives_its_figures(
    every_benchmark: tuple[dict[str, Any], str],
) -> None:
    results, _ = every_benchmark
    main = importlib.import_module("benchmarks.__main__")
    assert results["errors"] == {}, "no benchmark may fail to run"
    keys = {"mock": "mock_throughput", "stall": "mock_stall"}
    missing = [s for s in main.SECTIONS if keys.get(s, s) not in results]
    assert missing == [], f"benchmarks that gave no figures: {missing}"


class _Stop(Exception):
    pass


def test_the_full_per_call_benchmark_is_served_an_inventory_that_keeps_every_process_it_reads_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The full run creates FULL["calls"] processes on one VM, then gets each one: the mock must keep
    them all (it kept 1,024 by default and the first `get` answered 404)."""
    monkeypatch.syspath_prepend(str(ROOT))
    main = importlib.import_module("benchmarks.__main__")
    from vcenter_guest.mock import load_inventory

    served: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, inventory: dict[str, Any]) -> None:
            served.append(inventory)

        def __enter__(self) -> None:
            raise _Stop

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(main, "MockServer", Recording)
    args = main._parser().parse_args(["--no-sdk"])
    for key, value in main.FULL.items():
        setattr(args, key, value)
    plan = main._Plan(args, False, lambda _: None)
    with pytest.raises(_Stop):
        plan.percall()
    (inventory,) = served
    assert load_inventory(inventory).max_processes >= main.FULL["calls"]


def test_the_import_ratio_script_times_both_imports_and_fails_above_its_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    script = importlib.import_module("benchmarks.import_ratio")
    assert script.main(["--reps", "1"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("import vcenter_guest: ")
    assert "import httpx, attrs: " in line
    assert "ratio" in line
    assert script.main(["--reps", "1", "--max", "0.01"]) == 1, "no import is 100 times faster than its floor"
