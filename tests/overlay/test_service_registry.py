"""The services are declared once (`vcenter_guest._services.Services`): both clients' attributes, their
docstrings and the package's exports follow from that declaration."""

from __future__ import annotations

from typing import Any

import anyio
import vcenter_guest
from vcenter_guest import AsyncClient, Client, Credentials
from vcenter_guest._services import Services, exported, services
from vcenter_guest.mock import DEMO_VM


def test_the_package_exports_both_classes_of_every_declared_service() -> None:
    assert vcenter_guest._services.__all__ == exported()
    assert set(exported()) <= set(vcenter_guest.__all__)
    for name in exported():
        assert getattr(vcenter_guest, name) is getattr(vcenter_guest._services, name)


def test_each_client_has_each_declared_service_made_once_of_its_own_kind() -> None:
    declared = services(Services)
    # Today's services are declared; a new one is not listed here (the registry is the one list).
    assert {"processes", "files", "vms", "guest"} <= set(declared)
    sync = Client("https://vc.example.com", user="u", password="p")
    asynchronous = AsyncClient("https://vc.example.com", user="u", password="p")
    try:
        for name, each in declared.items():
            assert type(getattr(sync, name)) is each.sync
            assert type(getattr(asynchronous, name)) is each.asynchronous
            assert getattr(sync, name) is getattr(sync, name)
            assert getattr(Client, name).__doc__ == each.sync.__doc__.strip().split("\n\n")[0]
    finally:
        sync.close()
        anyio.run(asynchronous.close)


def test_a_declared_service_works_on_both_clients(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        assert vc.guest.readiness(DEMO_VM).guest_operations_ready

    async def main() -> None:
        async with server.async_client() as vc:
            assert (await vc.guest.readiness(DEMO_VM)).guest_operations_ready

    anyio.run(main)
