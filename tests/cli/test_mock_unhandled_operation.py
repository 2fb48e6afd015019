"""An operation of the document that the mock does not simulate: every command serving the mock says so
in one line naming it, and exits 2 (issue 26), instead of a traceback or "internal error"."""

from __future__ import annotations

import pytest
import vcenter_guest.mock._handlers as registry
from click.testing import CliRunner
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_VM

COMMANDS = {
    "mock": ["mock", "--port", "0"],
    "--mock ps": ["--mock", "ps", "--vm", DEMO_VM],
    "--mock run": ["--mock", "run", "--vm", DEMO_VM, "/bin/true"],
    "--mock fuzz": ["--mock", "fuzz", "--max-examples", "1"],
}


@pytest.fixture
def unhandled(monkeypatch: pytest.MonkeyPatch) -> str:
    """The mock as it is when the document gains an operation no mock module handles."""
    monkeypatch.delitem(registry.HANDLERS, "processes.get")
    return "processes.get"


@pytest.mark.parametrize("command", COMMANDS.values(), ids=list(COMMANDS))
def test_an_operation_the_mock_does_not_handle_is_named_in_one_line_and_exits_2(
    unhandled: str, command: list[str]
) -> None:
    result = CliRunner().invoke(main, command, catch_exceptions=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert unhandled in lines[0]
    assert "internal error" not in lines[0]
    assert "Traceback" not in result.output
