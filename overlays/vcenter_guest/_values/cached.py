"""`CachedGenerated`: a value's generated model, built once per value and never handed out."""

from __future__ import annotations

from typing import Any

__all__ = ["CachedGenerated"]


class CachedGenerated:
    """Mixin of the values users pass in: `_cached_generated()` is `to_generated()`, built once.

    The cached model is never handed out (a run's create and a fan-out's thousand creates share one),
    so nobody can mutate the shared instance; `to_generated()` still returns a new one each time.
    """

    __slots__ = ()
    _generated: Any

    def to_generated(self) -> Any:  # pragma: no cover - every value defines it
        raise NotImplementedError

    def _cached_generated(self) -> Any:
        generated = self._generated
        if generated is None:
            generated = self.to_generated()
            object.__setattr__(self, "_generated", generated)
        return generated
