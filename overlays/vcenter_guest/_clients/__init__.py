"""The drivers: `Client` (sync) and `AsyncClient` (async) perform the engine's effects with httpx."""

from .asynchronous import AsyncClient
from .sync import Client

__all__ = ["AsyncClient", "Client"]
