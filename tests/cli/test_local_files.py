"""The local files the command line reads and writes (issue 25): `--output-dir` never writes through a
link planted in it and never loses a VM's output to a name too long for the filesystem (L9); a local
file `upload` cannot read is a bad command line, exit 2, as it is for `script` (L13)."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from vcenter_guest.cli import main
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    DEMO_VM,
    serve,
)

LONG_NAME = "very-long-vm-name-" + "x" * 282  # 300 characters: with ".stdout", past the 255 of most filesystems
SLASHED_NAME = "a/" * 90  # 180 characters, each '/' percent-encoded to 3: 450 in a file name
SIBLING_NAME = LONG_NAME[:-1] + "y"  # the same first 299 characters: a shortened name must still differ


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    (demo,) = [vm for vm in inventory["vms"] if vm["id"] == DEMO_VM]
    for number, name in enumerate((LONG_NAME, SLASHED_NAME, SIBLING_NAME), start=901):
        inventory["vms"].append(copy.deepcopy(demo) | {"id": f"vm-{number}", "name": name})
    with serve(inventory) as url:
        yield {
            "VCENTER_URL": url,
            "VCENTER_USER": DEMO_API_USER,
            "VCENTER_PASSWORD": DEMO_API_PASSWORD,
            "VCENTER_GUEST_USER": DEMO_GUEST_USER,
            "VCENTER_GUEST_PASSWORD": DEMO_GUEST_PASSWORD,
        }


def _cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _echo(env: dict[str, str], out: Path, *vms: str) -> Result:
    return _cli(env, "run", *[a for vm in vms for a in ("--vm", vm)], "--output-dir", str(out), "/bin/echo", "hi")


# --- L9: --output-dir ---------------------------------------------------------------------------


def test_output_dir_replaces_a_planted_link_and_never_writes_through_it(env: dict[str, str], tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir()
    victim.write_text("someone else's file\n")
    (out / f"{DEMO_VM}.stdout").symlink_to(victim)
    (out / "vm-50.stderr").symlink_to(tmp_path / "planted-nowhere")  # a dangling link: nothing may be made there
    result = _echo(env, out, DEMO_VM, "vm-50")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "someone else's file\n", "the output went through the planted link"
    assert not (tmp_path / "planted-nowhere").exists(), "a dangling link's target was created"
    for name in (f"{DEMO_VM}.stdout", "vm-50.stderr"):
        assert not (out / name).is_symlink()
    assert (out / f"{DEMO_VM}.stdout").read_bytes() == b"hi\n"
    assert (out / "vm-50.stderr").read_bytes() == b""
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{vm}.{stream}" for vm in (DEMO_VM, "vm-50") for stream in ("stdout", "stderr")
    ), "no temporary file is left behind"


def test_output_dir_replaces_an_earlier_runs_file_and_keeps_the_umasks_mode(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{DEMO_VM}.stdout").write_text("an earlier run's output, longer than this one's\n")
    old = os.umask(0o027)
    try:
        assert _echo(env, out, DEMO_VM, "vm-50").exit_code == 0
    finally:
        os.umask(old)
    assert (out / f"{DEMO_VM}.stdout").read_bytes() == b"hi\n"
    assert (out / "vm-50.stdout").stat().st_mode & 0o777 == 0o640


def test_a_name_too_long_for_a_file_is_shortened_uniquely_and_said_on_stderr(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _echo(env, out, LONG_NAME, SLASHED_NAME, SIBLING_NAME, DEMO_VM)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 8, f"every VM's two streams have a file of their own: {files}"
    assert all(len(os.fsencode(name)) <= 255 for name in files)
    shortened = [name for name in files if not name.startswith(DEMO_VM)]
    assert len({name.rsplit(".", 1)[0] for name in shortened}) == 3, "two names that start alike still differ"
    assert all(name.startswith("very-long-vm-name-") or name.startswith("a%2F") for name in shortened)
    for name in shortened:
        if name.endswith(".stdout"):
            assert (out / name).read_bytes() == b"hi\n"
        assert name in result.stderr, "stderr says where the output of a VM with a long name went"
    assert LONG_NAME in result.stderr


# --- L13: upload of a file that cannot be read ------------------------------------------------------


def test_upload_of_a_missing_local_file_is_a_bad_command_line_exit_2_like_script(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-file")
    upload = _cli(env, "upload", "--vm", DEMO_VM, missing, "/tmp/x")
    script = _cli(env, "script", "--vm", DEMO_VM, missing)
    assert (upload.exit_code, script.exit_code) == (2, 2)
    assert "No such file or directory" in upload.stderr
    assert missing in upload.stderr
    assert "Traceback" not in upload.output


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a file this user cannot read")
def test_upload_of_an_unreadable_local_file_is_a_bad_command_line_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0)
    result = _cli(env, "upload", "--vm", DEMO_VM, str(secret), "/tmp/x")
    assert result.exit_code == 2
    assert "Permission denied" in result.stderr


def test_the_help_says_a_local_file_that_cannot_be_read_exits_2() -> None:
    upload = " ".join(CliRunner().invoke(main, ["upload", "--help"]).output.split())
    assert "A LOCAL that cannot be read exits 2" in upload
    group = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    assert "2 a bad command line or local input (a local file that cannot be read" in group
    for code in ("124", "125", "130"):
        assert code in group


def test_an_output_dir_that_cannot_be_made_is_a_bad_command_line_exit_2_before_anything_runs(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = _echo(env, tmp_path / "file" / "out", DEMO_VM, "vm-50")
    assert result.exit_code == 2, result.output
    assert "cannot make" in result.stderr
    assert "2 VMs" not in result.output, "nothing ran"
