"""The suite is hermetic: no test sees the user's profile, kept sessions or `VCENTER_*` settings.

The README recommends a default profile in `~/.config/vcenter-guest/config.toml` and an exported
`VCENTER_USER`; a test that read them would talk to the user's vCenter or fail. The root conftest's
autouse fixture gives every test (and every process a test starts) a home of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

_WHERE = """\
import json, os, platformdirs
from pathlib import Path
app = "vcenter-guest"
paths = {
    "home": str(Path.home()),
    "config": platformdirs.user_config_dir(app),
    "cache": platformdirs.user_cache_dir(app),
    "data": platformdirs.user_data_dir(app),
    "state": platformdirs.user_state_dir(app),
}
print(json.dumps({"paths": paths, "settings": sorted(k for k in os.environ if k.startswith("VCENTER_"))}))
"""
"""Where a process looks for the user's files, and which VCENTER_* variables it sees (as JSON)."""


def _inside(path: str, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_no_vcenter_setting_of_the_user_reaches_a_test() -> None:
    leaked = sorted(name for name in os.environ if name.startswith("VCENTER_") and name != "VCENTER_GUEST_FUZZ_SCALE")
    assert leaked == [], f"the user's settings reach the tests: {leaked}"


def test_config_and_cache_directories_are_the_tests_own(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.getbasetemp()
    app = "vcenter-guest"
    paths = {
        "home": str(Path.home()),
        "config": platformdirs.user_config_dir(app),
        "cache": platformdirs.user_cache_dir(app),
        "data": platformdirs.user_data_dir(app),
        "state": platformdirs.user_state_dir(app),
    }
    outside = {what: where for what, where in paths.items() if not _inside(where, root)}
    assert outside == {}, f"outside the tests' temporary directory {root}"


def test_a_process_a_test_starts_sees_neither_the_users_settings_nor_their_directories(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    done = subprocess.run([sys.executable, "-c", _WHERE], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    root = tmp_path_factory.getbasetemp()
    outside = {what: where for what, where in seen["paths"].items() if not _inside(where, root)}
    assert outside == {}, f"outside the tests' temporary directory {root}"
    assert [name for name in seen["settings"] if name != "VCENTER_GUEST_FUZZ_SCALE"] == []
