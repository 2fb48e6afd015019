"""The inventory the benchmarks serve: many identical Linux VMs, each with the programs the runs use.

Its secrets are benchmark fixtures for a loopback mock, not real credentials.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "API_PASSWORD",
    "API_USER",
    "GUEST_PASSWORD",
    "GUEST_USER",
    "build_inventory",
    "vm_ids",
]

API_USER = "bench@vsphere.local"
API_PASSWORD = "bench-api-password"  # noqa: S105 - a fixture of the loopback mock
GUEST_USER = "root"
GUEST_PASSWORD = "bench-guest-password"  # noqa: S105 - a fixture of the loopback mock


def vm_ids(count: int) -> list[str]:
    """The ids of the benchmark VMs, `vm-1` to `vm-<count>`.

    >>> vm_ids(2)
    ['vm-1', 'vm-2']
    """
    return [f"vm-{i}" for i in range(1, count + 1)]


def build_inventory(vm_count: int, *, process_retention: float = 300) -> dict[str, Any]:
    """An inventory in the mock's format with `vm_count` powered-on Linux VMs.

    `/bin/true` exits 0 at once; `/bin/sleep S` runs S seconds (the waiting benchmark's programs).

    >>> len(build_inventory(3)["vms"])
    3
    """
    vm = {
        "power_state": "POWERED_ON",
        "tools": "RUNNING",
        "guest_os_family": "LINUX",
        "busy": False,
        "guest_users": [{"name": GUEST_USER, "password": GUEST_PASSWORD}],
        "directories": ["/root"],
        "programs": {
            "/bin/true": {},
            "/bin/sleep": {"duration_from_args": True},
            "/bin/echo": {"utility": "echo"},
            "/bin/sh": {"utility": "sh"},
        },
        "disk_bytes": 1 << 30,
    }
    return {
        "users": [
            {
                "name": API_USER,
                "password": API_PASSWORD,
                "privileges": [
                    "VirtualMachine.GuestOperations.Execute",
                    "VirtualMachine.GuestOperations.Query",
                    "VirtualMachine.GuestOperations.Modify",
                ],
            }
        ],
        "vms": [{"id": vm_id, **vm} for vm_id in vm_ids(vm_count)],
        # The benchmark calls for minutes; an expiring session would measure re-login instead.
        "session_idle_timeout": 86400,
        "process_retention": process_retention,
    }
