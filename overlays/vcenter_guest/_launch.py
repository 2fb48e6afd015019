"""The `vcenter-guest` command's entry point: it needs no extra, so that without the cli extra the
command says in one line what to install instead of failing with a traceback."""

from __future__ import annotations

import sys

from .extras import MissingExtra, needs

__all__ = ["main"]


def main() -> None:
    """Runs the command line, or says which extra it needs (exit status 1)."""
    try:
        with needs("cli", "the vcenter-guest command"):
            import rich  # noqa: F401, PLC0415 - every command prints with it; the commands import it late

            from vcenter_guest.cli import main as cli_main  # noqa: PLC0415 - only once checked
    except MissingExtra as exc:
        sys.stderr.write(f"vcenter-guest: {exc}\n")
        sys.exit(1)
    cli_main()
