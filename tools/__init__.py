"""Maintainers' tools that run from the checkout (`python -m tools.specdiff`); not part of the package."""
