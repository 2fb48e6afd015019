"""`vcenter-guest upload`, `download`, `ls`, `rm`, `mkdir` and `script` against a served mock vCenter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM, serve


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    with serve() as url:
        yield {
            "VCENTER_URL": url,
            "VCENTER_USER": DEMO_API_USER,
            "VCENTER_PASSWORD": DEMO_API_PASSWORD,
            "VCENTER_GUEST_USER": DEMO_GUEST_USER,
            "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
        }


def _cli(env: dict[str, str], *args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_a_file_goes_up_and_comes_back_unchanged(env: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "data.bin"
    local.write_bytes(bytes(range(256)) * 1000)
    assert _cli(env, "upload", "--vm", DEMO_VM, "--mode", "640", str(local), "/tmp/cli-data.bin").exit_code == 0
    again = _cli(env, "upload", "--vm", DEMO_VM, str(local), "/tmp/cli-data.bin")
    assert again.exit_code == 125
    assert "AlreadyExists" in again.stderr
    target = tmp_path / "back.bin"
    assert _cli(env, "download", "--vm", DEMO_VM, "/tmp/cli-data.bin", str(target)).exit_code == 0
    assert target.read_bytes() == local.read_bytes()
    into_dir = tmp_path / "dir"
    into_dir.mkdir()
    assert _cli(env, "download", "--vm", DEMO_VM, "/tmp/cli-data.bin", str(into_dir)).exit_code == 0
    assert (into_dir / "cli-data.bin").read_bytes() == local.read_bytes()


def test_stdin_and_stdout_stand_for_the_local_file(env: dict[str, str]) -> None:
    assert _cli(env, "upload", "--vm", DEMO_VM, "-", "/tmp/cli-piped.txt", input=b"from stdin\n").exit_code == 0
    result = _cli(env, "download", "--vm", DEMO_VM, "/tmp/cli-piped.txt", "-")
    assert result.stdout_bytes == b"from stdin\n"


def test_a_failed_download_leaves_no_local_file(env: dict[str, str], tmp_path: Path) -> None:
    result = _cli(env, "download", "--vm", DEMO_VM, "/tmp/none-such", str(tmp_path / "x"))
    assert result.exit_code == 125
    assert list(tmp_path.iterdir()) == []


def test_mkdir_ls_and_rm(env: dict[str, str]) -> None:
    assert _cli(env, "mkdir", "--vm", DEMO_VM, "-p", "/tmp/cli-tree/a/b").exit_code == 0
    assert _cli(env, "upload", "--vm", DEMO_VM, "-", "/tmp/cli-tree/f.txt", input=b"abc").exit_code == 0
    listing = _cli(env, "ls", "--vm", DEMO_VM, "/tmp/cli-tree")
    assert listing.stdout.splitlines() == ["d 4096 a/", "-    3 f.txt"]
    (listing,) = json.loads(_cli(env, "ls", "--vm", DEMO_VM, "--json", "--pattern", "^f", "/tmp/cli-tree").stdout)
    assert (listing["server"], listing["vm"], listing["path"]) == (env["VCENTER_URL"], DEMO_VM, "/tmp/cli-tree")
    data = listing["entries"]
    assert data == [{"name": "f.txt", "type": "FILE", "size": 3}]
    refused = _cli(env, "rm", "--vm", DEMO_VM, "/tmp/cli-tree")
    assert refused.exit_code == 2
    assert "pass -r" in refused.stderr
    assert _cli(env, "rm", "--vm", DEMO_VM, "/tmp/cli-tree/f.txt").exit_code == 0
    assert _cli(env, "rm", "--vm", DEMO_VM, "-r", "/tmp/cli-tree").exit_code == 0
    assert _cli(env, "ls", "--vm", DEMO_VM, "/tmp/cli-tree").exit_code == 125


def test_script_runs_a_local_script_and_exits_with_its_code(env: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "job.sh"
    local.write_text('echo "job $1"\necho warn >&2\nexit 3\n', encoding="utf-8")
    result = _cli(env, "script", "--vm", DEMO_VM, str(local), "one two")
    assert result.exit_code == 3
    assert result.stdout_bytes == b"job one two\n"
    assert result.stderr_bytes.endswith(b"warn\n")
    piped = _cli(env, "script", "--vm", "demo-linux", "--json", "-", input=b"echo from stdin\n")
    assert json.loads(piped.stdout)[0]["stdout"] == "from stdin\n"
