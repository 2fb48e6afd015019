"""What an optional part of the package says when the extra it needs is not installed: one line naming it
(public: the command line, the mock and the fuzz command import their extras through `needs`).

`pip install vcenter-guest` installs the client only; the mock server, the command line and the fuzz
harness need the `mock`, `cli` and `fuzz` extras (pyproject.toml). Their modules import under
`needs(...)`, which turns a missing third-party module into `MissingExtra`, a ModuleNotFoundError
whose message says what to install; the command line prints it as one line, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["MissingExtra", "needs"]

_OWN = ("vcenter_guest", "vcenter_guest_client")


class MissingExtra(ModuleNotFoundError):
    """A module of an extra is not installed; `extra` names the extra to install."""

    def __init__(self, extra: str, what: str, missing: str | None) -> None:
        super().__init__(
            f"{what} needs the {extra} extra: pip install 'vcenter-guest[{extra}]' "
            f"(the module {missing or '?'} is not installed)",
            name=missing,
        )
        self.extra = extra


@contextlib.contextmanager
def needs(extra: str, what: str) -> Iterator[None]:
    """Imports in this block that fail for a missing third-party module raise MissingExtra(extra)."""
    try:
        yield
    except MissingExtra:
        raise
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in _OWN:
            raise  # the package itself is broken: not a missing extra
        raise MissingExtra(extra, what, (exc.name or "").split(".")[0] or None) from None
