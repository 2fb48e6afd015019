"""Applies `_patch` as soon as the generated models are imported, without importing them first.

`import vcenter_guest` must stay about as cheap as `import httpx, attrs`, and loading the ~80
generated model modules alone costs half as much again. Yet the workarounds in `_patch` must be in
place before anything parses a response, whoever imports the models (the overlay on its first
request, a user of `vcenter_guest_client`, a test). So `install()` puts a finder on `sys.meta_path`
that wraps the loader of `vcenter_guest_client.models`: when that package has finished loading,
`_patch` is imported (which applies it) and the finder removes itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["TARGET", "install"]

TARGET = "vcenter_guest_client.models"
_PATCH = "vcenter_guest._patch"


def _apply() -> None:
    importlib.import_module(_PATCH)


class _Loader:
    """Delegates to the real loader, then applies the patches."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _apply()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _Finder:
    """A `sys.meta_path` finder that only ever answers for TARGET, once."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != TARGET:
            return None
        _remove()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


_FINDER = _Finder()


def _remove() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> None:
    """Patches now if the generated models are already loaded, else as soon as they are."""
    if TARGET in sys.modules:
        _apply()
    elif _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
