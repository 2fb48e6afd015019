"""The services of the API the mock simulates: one module each, found here, not listed anywhere.

A module holds its service's part of the simulator (a class marked `@part`, when the service has rules
of its own) and its HTTP handlers (`@handles(operation_id)`). Adding a service to the mock is adding
one module to this package: `load` imports every module in it, which registers its handlers and its
part (`_handlers`), and `Simulator` is made of the parts (`_simulator`).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["load"]


def load() -> list[ModuleType]:
    """Every service module of this package, imported (each registers its part and handlers once)."""
    return [importlib.import_module(f"{__name__}.{info.name}") for info in sorted(pkgutil.iter_modules(__path__))]
