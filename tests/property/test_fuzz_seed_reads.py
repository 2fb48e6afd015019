"""Every operation that reads guest files succeeds at least once in a run, whatever the seed and the budget.

The run's seeds (its seed file, made before fuzzing) exist for the whole run, and the first steered
case of a reading operation with the run's guest credentials reads the seed file. Which names the
other steered cases get depends on each case's content, so it changes with every change of the
document or the mock: before, `files.get` succeeded by luck (one case in ninety), and a merge that
changed nothing in the fuzz package made the conformance test fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vcenter_guest.fuzz import FuzzOptions, mock_target, run
from vcenter_guest.mock import create_app
from vcenter_guest.operations import Effect, operations

pytestmark = pytest.mark.slow

READS = {op.label for op in operations().values() if op.effect is Effect.READS_GUEST_FILES}


def test_the_document_has_operations_that_read_guest_files() -> None:
    assert READS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_operation_that_reads_guest_files_succeeds_at_least_once_whatever_the_seed(
    seed: int, tmp_path: Path
) -> None:
    result = run(mock_target(create_app()), FuzzOptions(max_examples=3, seed=seed, report_dir=tmp_path))
    assert result.ok
    for label in READS:
        statuses = result.operations[label].statuses
        assert any(200 <= code < 300 for code in statuses), f"{label} never succeeded: {dict(statuses)}"
