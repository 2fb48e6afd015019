"""A program's `CreateSpec`: which program to start in the guest, and how.

It wraps its generated model (`vcenter_guest_client.models.CreateSpec`) as `Credentials` does (see
there); `to_generated()` converts, and tests/overlay/test_values.py fails, naming the field, when the
document adds a field to the generated model that this class neither exposes nor withholds.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from vcenter_guest.errors import UsageError
from vcenter_guest.redaction import REDACTED

from .cached import CachedGenerated

if TYPE_CHECKING:
    from vcenter_guest_client.models.create_spec import CreateSpec as GeneratedCreateSpec

__all__ = ["CreateSpec"]


def _environment(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UsageError("environment_variables must be a mapping of names to values")
    copy = dict(value)
    for name, text in copy.items():
        if not isinstance(name, str) or not name or not isinstance(text, str):
            raise UsageError("environment_variables must map non-empty string names to string values")
        if "=" in name:
            raise UsageError(f"an environment variable's name cannot hold '=', got {name!r}")
        if "\0" in name or "\0" in text:
            raise UsageError("an environment variable's name or value cannot hold a NUL character")
    return types.MappingProxyType(copy)


@attrs.frozen(repr=False)
class CreateSpec(CachedGenerated):
    """Which program to start in the guest, and how (the SDK's `Processes.CreateSpec`).

        >>> CreateSpec("/bin/ls", arguments="-l /tmp", environment_variables={"TOKEN": "abc"})
        CreateSpec(path='/bin/ls', arguments='-l /tmp', environment_variables={'TOKEN': <redacted>})

    `path` is absolute. Linux guests run it through `/bin/bash`, so `arguments` is shell syntax
    (redirection works). Windows guests use no shell: run `c:\\windows\\system32\\cmd.exe` with
    `/c ...` for redirection. `environment_variables` is the program's complete environment; its
    values are kept out of `repr` (they often hold tokens). `arguments` is visible to anyone who
    lists the guest's processes: never put a secret there.
    """

    path: str
    arguments: str | None = None
    working_directory: str | None = None
    environment_variables: Mapping[str, str] | None = attrs.field(default=None, converter=_environment)
    start_minimized: bool | None = None
    """Windows only: start the program's window minimized. Unset (None) on other guests."""
    _generated: Any = attrs.field(default=None, init=False, eq=False, hash=False, repr=False)
    WITHHELD: ClassVar[dict[str, str]] = {}

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise UsageError("the program path must be a non-empty string")
        for name in ("arguments", "working_directory"):
            if not isinstance(getattr(self, name), str | None):
                raise UsageError(f"{name} must be a string or None")
        for name in ("path", "arguments", "working_directory"):
            if "\0" in (getattr(self, name) or ""):
                raise UsageError(f"the {name} cannot hold a NUL character: no program, path or argument can")
        if not isinstance(self.start_minimized, bool | None):
            raise UsageError("start_minimized must be True, False or None")

    def __repr__(self) -> str:
        parts = [f"path={self.path!r}"]
        if self.arguments is not None:
            parts.append(f"arguments={self.arguments!r}")
        if self.working_directory is not None:
            parts.append(f"working_directory={self.working_directory!r}")
        if self.environment_variables is not None:
            env = ", ".join(f"{name!r}: {REDACTED}" for name in self.environment_variables)
            parts.append(f"environment_variables={{{env}}}")
        if self.start_minimized is not None:
            parts.append(f"start_minimized={self.start_minimized!r}")
        return f"CreateSpec({', '.join(parts)})"

    def to_generated(self) -> GeneratedCreateSpec:
        """The generated `vcenter_guest_client` model with the same content; unset fields stay unset.

        >>> CreateSpec("/bin/true").to_generated().to_dict()
        {'path': '/bin/true'}
        """
        from vcenter_guest_client.models.create_spec import CreateSpec as Generated  # noqa: PLC0415
        from vcenter_guest_client.models.create_spec_environment_variables import (  # noqa: PLC0415
            CreateSpecEnvironmentVariables,
        )
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        env = self.environment_variables
        return Generated(
            path=self.path,
            arguments=UNSET if self.arguments is None else self.arguments,
            working_directory=UNSET if self.working_directory is None else self.working_directory,
            environment_variables=UNSET if env is None else CreateSpecEnvironmentVariables.from_dict(dict(env)),
            # The generated default is False, which would always send the field; unset means unset.
            start_minimized=UNSET if self.start_minimized is None else self.start_minimized,
        )
