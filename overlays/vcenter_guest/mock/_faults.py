"""Injected faults and latency, as the inventory's `faults` section configures them."""

from __future__ import annotations

import logging
import random

from ._errors import CHALLENGE, MockError
from ._state import SimulatorState

__all__ = ["Faults"]

log = logging.getLogger("vcenter_guest.mock")


class Faults(SimulatorState):
    """The simulator's fault injection."""

    def fault(self, operation: str) -> MockError | None:
        """The error a configured fault rule injects into this call of `operation`, if any.

        One random stream per operation, seeded from the inventory's seed: the n-th call of an
        operation gets the same verdict whatever other operations ran in between.
        """
        rules = [r for r in self.inventory.faults.rules if r.operation == operation]
        if not rules:
            return None
        with self._lock:
            rng = self._fault_rngs.get(operation)
            if rng is None:
                rng = self._fault_rngs[operation] = random.Random(f"{self.inventory.faults.seed}:{operation}")  # noqa: S311
            for rule in rules:
                if rng.random() < rule.rate:
                    log.debug("injecting %s into %s", rule.error_type, operation)
                    return MockError(
                        rule.error_type,
                        "vcenter_guest.mock.injected_fault",
                        "The mock vCenter injected the fault {0} into the operation {1}.",
                        rule.error_type,
                        operation,
                        challenge=CHALLENGE if rule.error_type == "UNAUTHENTICATED" else None,
                    )
        return None

    def latency(self, operation: str) -> float:
        """Seconds to delay the response of `operation` (the inventory's `faults.latency_ms`)."""
        return self.inventory.faults.latency_ms / 1000.0
