"""The benchmark harness runs end to end and judges targets correctly (no timing is asserted).

The figures themselves belong to `nox -s bench`; these tests only keep the harness working as the
client and the mock change, with tiny counts and without the official SDK (a bench-only dependency).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # benchmarks/ is a folder of the checkout, not part of the installed package.
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks._report")


@pytest.mark.slow
def test_a_quick_run_measures_every_client_against_a_served_mock_and_writes_the_raw_figures(
    every_benchmark: tuple[dict[str, Any], str],
) -> None:
    results, table = every_benchmark
    assert set(results["percall"]["clients"]) == {"raw httpx", "generated", "overlay"}
    for entry in results["percall"]["clients"].values():
        assert entry["both"]["cpu"]["n"] == 2, "each figure must come from every repetition"
    assert {"raw httpx", "overlay"} <= set(results["fanout"]["clients"])
    assert results["fanout"]["clients"]["overlay"]["calls_per_vm"]["median"] >= 2, (
        "a fan-out creates, then polls at least once; the server counts both"
    )
    assert "overlay client CPU per call / raw httpx" in {t["target"] for t in results["targets"]}
    # The flows replayed against the same mock, counted by the server, polls apart.
    assert results["capture"]["exchanges"] == {
        "ours, OS unknown (Identity asked), stdout only": 5,
        "ours, OS known, stdout only": 4,
        "ours, OS known, stdout and stderr": 6,
        "ours, capture=False": 1,
        "govc guest.run": 9,
        "SDK sample guest_ops.py": 12,
    }
    assert results["fanout"]["clients"]["overlay, captured"]["calls_per_vm"]["median"] >= 6
    assert "per call" in table, "the table is printed"


def _percall(overlay_cpu: float, sdk_cpu: float) -> dict[str, Any]:
    def client(cpu: float) -> dict[str, Any]:
        return {"both": {"cpu": {"median": cpu, "values": [cpu]}, "cpu_ratio": cpu / 100.0}}

    return {"clients": {"raw httpx": client(100.0), "overlay": client(overlay_cpu), "official SDK": client(sdk_cpu)}}


@pytest.mark.parametrize(
    ("overlay_cpu", "sdk_cpu", "met"),
    [(110.0, 200.0, True), (120.0, 170.0, False)],
)
def test_cpu_targets_are_met_only_within_their_limits(
    report: ModuleType, overlay_cpu: float, sdk_cpu: float, met: bool
) -> None:
    verdicts = {t["target"]: t["met"] for t in report.evaluate_targets({"percall": _percall(overlay_cpu, sdk_cpu)})}
    assert verdicts["overlay client CPU per call / raw httpx"] is met, "the limit is 1.15x raw httpx"
    assert verdicts["official SDK CPU per call / overlay"] is met, "the SDK must spend at least 1.5x the overlay's CPU"


def test_a_benchmark_that_did_not_run_gets_no_verdict(report: ModuleType) -> None:
    assert report.evaluate_targets({"meta": {}}) == []


@pytest.mark.slow
def test_the_transport_section_measures_before_httpx_and_aiohttp_and_judges_the_fan_out(
    every_benchmark: tuple[dict[str, Any], str],
) -> None:
    results, _ = every_benchmark
    transport = results["transport"]
    clients = {"raw httpx", "overlay, before", "overlay, httpx"}
    if transport["aiohttp_installed"]:
        clients |= {"raw httpx, aiohttp transport", "overlay, aiohttp"}
    assert set(transport["percall"]) == clients
    (cell,) = transport["fanout"]["grid"]
    assert cell["vms"] == 6
    assert set(cell["clients"]) == (clients - {"raw httpx", "raw httpx, aiohttp transport"}) | {
        "raw httpx, a client per worker"
    }
    assert [t["target"] for t in results["targets"] if t["target"].startswith("async fan-out")] == [
        "async fan-out 6 VMs at 4: "
        + ("overlay, aiohttp" if transport["aiohttp_installed"] else "overlay, httpx")
        + " / raw httpx per worker"
    ]


def test_the_before_figures_run_with_sniffio_failing_to_import_and_restore_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "overlay, before" is the client where sniffio is not installed: inside, `import sniffio` fails
    (as httpcore's does then); outside, it works again and the backend switch is back as it was."""
    monkeypatch.syspath_prepend(str(ROOT))
    transport = importlib.import_module("benchmarks.transport")
    monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "kept")
    with transport._configured("overlay, before"):
        with pytest.raises(ModuleNotFoundError):
            import sniffio
        assert os.environ["VCENTER_GUEST_AIOHTTP"] == "0"
    import sniffio

    assert sniffio.current_async_library
    assert os.environ["VCENTER_GUEST_AIOHTTP"] == "kept"
    with transport._configured("overlay, aiohttp"):
        assert os.environ["VCENTER_GUEST_AIOHTTP"] == "1"
