"""An async request never pays for a failed import (issue 14).

httpcore 1.0 runs `import sniffio` each time it makes a lock or an event, to tell asyncio from trio;
where sniffio is missing, every one of those is a failed import (60-90 us, about 4 per request).
The package declares sniffio, so the import is a dictionary lookup. This test counts the imports
that fail during a burst of async calls through the client's own transport to a loopback mock
(httpx's, and aiohttp's where the aiohttp extra is installed).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable
from typing import Any

import pytest
from vcenter_guest import AsyncClient, Credentials
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER

from tests.conftest import MockServer

CREDS = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
def test_a_burst_of_async_requests_makes_no_failed_import(
    kind: str, monkeypatch: pytest.MonkeyPatch, make_loopback_server: Callable[..., MockServer]
) -> None:
    """Through either transport of the client's own pools (aiohttp's makes no sniffio import at all)."""
    if kind == "aiohttp":
        pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "1" if kind == "aiohttp" else "0")
    failed: list[str] = []
    attempted: list[str] = []
    real_import = builtins.__import__

    def counting_import(name: str, *args: Any, **kwargs: Any) -> Any:
        attempted.append(name)
        try:
            return real_import(name, *args, **kwargs)
        except ImportError:
            failed.append(name)
            raise

    async def burst(url: str) -> None:
        async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
            await vc.processes.list("vm-42", CREDS)  # the first call loads what every call uses
            monkeypatch.setattr(builtins, "__import__", counting_import)
            try:
                await asyncio.gather(*(vc.processes.list("vm-42", CREDS) for _ in range(50)))
            finally:
                monkeypatch.setattr(builtins, "__import__", real_import)

    asyncio.run(burst(make_loopback_server().url))
    if kind == "httpx":
        assert "sniffio" in attempted, "httpcore no longer asks for sniffio: this test no longer measures anything"
    assert failed == [], f"{len(failed)} failed imports in 50 requests: {sorted(set(failed))}"
