"""The zoo's table: for every broken server, what caught it and after how many requests or cases.

    PYTHONPATH=overlays:generated python -m tests.property.zoo_table [NAME ...]

Scenario servers (`ZOO`) run the scenarios alone, as the zoo test does: the count is the requests the
scenarios sent up to and including the first that caught the server (scenarios are deterministic and
run first, so any budget gives the same count). Check servers (`CHECK_ZOO`) run at the default budget
with the fixed seed, stopped at the first failure of the random phases: the count is the cases those
phases sent by then (the scenarios' requests come before them, and any scenario that caught the same
server is named too).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from vcenter_guest.fuzz import SCENARIOS, FuzzOptions, mock_target, run
from vcenter_guest.mock import create_app

from tests.property.proxy import Proxy
from tests.property.test_fuzz_zoo import CHECK_ZOO, ZOO, run_at_the_default_budget


def _scenario_row(name: str) -> str:
    simulator_cls, hooks, _ = ZOO[name]
    proxy = Proxy(create_app(simulator_cls=simulator_cls), **hooks())
    with tempfile.TemporaryDirectory() as folder:
        result = run(mock_target(proxy), FuzzOptions(scenarios_only=True, seed=1, report_dir=Path(folder)))
    sent, caught = 0, []
    for outcome in result.scenarios:
        if not caught:
            sent += outcome.cases
        if outcome.failure is not None:
            caught.append(outcome.name)
    return f"| {name} | {', '.join(caught) or 'NOT CAUGHT'} | {sent} requests of the scenarios |"


def _check_row(check: str) -> str:
    simulator_cls, hooks = CHECK_ZOO[check]
    proxy = Proxy(create_app(simulator_cls=simulator_cls), **hooks())
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        result = run_at_the_default_budget(proxy, Path(folder))
    seconds = time.monotonic() - started
    scenarios = {o.name for o in result.scenarios if o.failure is not None}
    checks = sorted(result.failed_checks - scenarios)
    verdict = check if check in checks else f"NOT CAUGHT by {check}"
    also = [c for c in checks if c != check] + sorted(scenarios)
    extra = f" (also: {', '.join(also)})" if also else ""
    return f"| breaks {check} | {verdict}{extra} | {result.total_cases} cases of the random phases, {seconds:.1f} s |"


def main(names: list[str]) -> None:
    print("| broken server | caught by | after |")
    print("|---|---|---|")
    for name in names or list(ZOO):
        if name in ZOO:
            print(_scenario_row(name), flush=True)
    for check in names or sorted(CHECK_ZOO):
        if check in CHECK_ZOO:
            print(_check_row(check), flush=True)
    missing = set(SCENARIOS) - {s for *_, e in ZOO.values() for s in ([e] if isinstance(e, str) else e)}
    if missing:
        print(f"scenarios without a broken server: {sorted(missing)}")


if __name__ == "__main__":
    main(sys.argv[1:])
