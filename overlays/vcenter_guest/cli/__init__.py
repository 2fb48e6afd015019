"""The `vcenter-guest` command line.

Subcommands live in their own modules and are imported only when invoked, so that
`vcenter-guest --help` and `import vcenter_guest` stay fast (the mock server pulls in starlette and
uvicorn, the fuzz command pulls in schemathesis).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from vcenter_guest import __version__
from vcenter_guest.extras import MissingExtra

from ._common import group_options

__all__ = ["main"]

# name -> (module, attribute, one-line help shown by --help without importing the module)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "mock": ("._mock", "mock", "Serve a mock vCenter (demo inventory or --inventory FILE)."),
    "fuzz": ("._fuzz", "fuzz", "Fuzz-test a server of this API with schemathesis (default: the embedded mock)."),
    "run": ("._run", "run", "Run a program in one or many VMs: its output, and its exit code as ours."),
    "script": ("._files", "script", "Run a local script in a VM (uploaded, run, removed): its output and exit code."),
    "upload": ("._files", "upload", "Copy a local file (or stdin) into a VM's guest."),
    "download": ("._files", "download", "Copy a file of a VM's guest to a local file (or stdout)."),
    "ls": ("._files", "ls", "List a directory of a VM's guest."),
    "rm": ("._files", "rm", "Delete a file (or, with -r, a directory tree) in a VM's guest."),
    "mkdir": ("._files", "mkdir", "Make a directory in a VM's guest."),
    "ps": ("._ps", "ps", "List the processes in a VM's guest."),
    "kill": ("._ps", "kill", "Terminate a process in a VM's guest (or say it had finished, or is unknown)."),
    "wait": ("._ps", "wait", "Wait for a process in a VM's guest to end; its exit code as ours."),
    "logout": ("._logout", "logout", "End the kept API session of a server and user, and forget it."),
    "start": ("._start", "start", "Start a program in one or many VMs and print its pid, without waiting."),
    "mv": ("._changes", "mv", "Move (rename) a file or directory in a VM's guest."),
    "mktemp": ("._changes", "mktemp", "Make a private temporary file (or directory) in a VM's guest; print its path."),
    "chmod": ("._changes", "chmod", "Change the permissions of a file in a VM's guest."),
    "chown": ("._changes", "chown", "Change the owner and group of a file in a VM's guest."),
    "touch": ("._changes", "touch", "Set a file's time in a VM's guest, making it if it is not there."),
    "getenv": ("._guest", "getenv", "Print environment variables of VMs' guests (NAME=value)."),
    "df": ("._guest", "df", "Print the local file systems of VMs' guests: size, used, available."),
    "info": ("._guest", "info", "Print VMs' power and Tools state, guest OS, host name and IP addresses."),
    "power": ("._guest", "power", "Power VMs on, off, suspend, reset; shut down or reboot their guests."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attribute, _ = _COMMANDS[cmd_name]
            module = importlib.import_module(module_name, __name__)
            command: click.Command = getattr(module, attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # A subcommand whose extra is missing (mock, fuzz) says so in one line, not a traceback.
        try:
            return super().invoke(ctx)
        except MissingExtra as exc:
            raise click.ClickException(str(exc)) from None
        except (KeyboardInterrupt, click.Abort):
            # Ctrl-C at a prompt or before anything started: 130, as shells report SIGINT.
            click.echo("\ninterrupted", err=True)
            raise click.exceptions.Exit(130) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in sorted(_COMMANDS)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


_EXIT_CODES = """Exit codes: the program's own (one VM; many VMs: 0 if every program exited 0, 1 if some exited
otherwise); 124 it timed out; 125 vcenter-guest could not run it (connection, API error); 130 interrupted;
2 a bad command line or local input (a local file that cannot be read, a directory that cannot be made),
refused before anything is sent."""


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EXIT_CODES)
@click.version_option(version=__version__, prog_name="vcenter-guest")
@group_options
def main(**_: Any) -> None:
    """Start and manage programs inside vSphere VMs (vSphere Automation REST API).

    Connection options (--server, --mock, --user, --profile, --json, --debug, ...) go before or
    after the command. There is no default server: set VCENTER_URL or a profile, or pass --mock for
    the embedded mock vCenter (demo inventory; its state lasts one invocation).

    Every command that takes --vm takes it repeated (run's conventions: each VM's output, a summary
    table on stderr, exit 0 / 1 / 125), or refuses a second one with exit 2 saying why.
    """
