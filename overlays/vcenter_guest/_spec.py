"""The OpenAPI document the client was generated from, as shipped inside `vcenter_guest_client`.

The mock server validates requests against it and the fuzz harness derives its tests from it, so
both always agree with the generated client.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, cast

__all__ = ["load_spec", "spec_path"]


def spec_path() -> Path:
    """Path of the shipped document (`vcenter_guest_client/openapi.yaml`)."""
    return Path(str(resources.files("vcenter_guest_client") / "openapi.yaml"))


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed document. Cached: treat the result as read-only."""
    import yaml  # noqa: PLC0415 - only the mock server and the fuzz command need PyYAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open(encoding="utf-8") as fh:
        return cast("dict[str, Any]", yaml.load(fh, Loader=loader))  # noqa: S506 - a safe loader
