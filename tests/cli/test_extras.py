"""Without an extra, the part that needs it says in one line what to install: never a traceback.

Each case runs in a fresh interpreter in which one third-party module cannot be imported
(`sys.modules[name] = None` makes `import name` fail as if it were not installed).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest
import vcenter_guest


def _without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    script = f"import sys\nsys.modules[{module!r}] = None\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("missing", ["click", "rich"])
def test_the_command_without_the_cli_extra_names_it_in_one_line(missing: str) -> None:
    done = _without(missing, "sys.argv = ['vcenter-guest', '--help']\nfrom vcenter_guest._launch import main\nmain()")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "vcenter-guest: the vcenter-guest command needs the cli extra: pip install 'vcenter-guest[cli]' "
        f"(the module {missing} is not installed)"
    ]


def test_importing_the_mock_without_its_extra_names_the_extra() -> None:
    done = _without(
        "jsonschema",
        "try:\n    import vcenter_guest.mock\nexcept ModuleNotFoundError as exc:\n"
        "    print(type(exc).__name__, exc.extra, exc.name, '|', exc)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingExtra mock jsonschema | vcenter_guest.mock needs the mock extra")
    assert "pip install 'vcenter-guest[mock]'" in done.stdout


def test_the_fuzz_command_without_its_extra_says_so_in_one_line() -> None:
    done = _without(
        "schemathesis",
        "sys.argv = ['vcenter-guest', 'fuzz', '--mock', '--max-examples', '1']\n"
        "from vcenter_guest._launch import main\nmain()",
    )
    assert done.returncode == 2  # the fuzz command's "cannot run here"
    assert "Traceback" not in done.stderr
    assert "needs the fuzz extra: pip install 'vcenter-guest[fuzz]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_the_version_is_written_once_and_is_the_installed_ones() -> None:
    assert vcenter_guest.__version__ == importlib.metadata.version("vcenter-guest")
    done = subprocess.run(
        [sys.executable, "-c", "from vcenter_guest.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == f"vcenter-guest, version {vcenter_guest.__version__}"
