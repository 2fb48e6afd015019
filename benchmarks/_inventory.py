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
    "MOCK_MAX_PROCESSES",
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


MOCK_MAX_PROCESSES = 1024
"""What the mock keeps per VM unless told otherwise (its `max_processes`), and what a benchmark that
never reads back a process it did not just start asks for."""


def build_inventory(
    vm_count: int, *, processes_per_vm: int = MOCK_MAX_PROCESSES, process_retention: float = 300
) -> dict[str, Any]:
    """An inventory in the mock's format with `vm_count` powered-on Linux VMs.

    `/bin/true` exits 0 at once; `/bin/sleep S` runs S seconds (the waiting benchmark's programs).
    Each VM keeps exactly `processes_per_vm` processes (started and running): a benchmark that
    reads back processes it started earlier says how many it starts on one VM, and the mock forgets
    the oldest past that, so a benchmark that starts more than it said fails at any count.

    >>> inventory = build_inventory(3, processes_per_vm=2000)
    >>> len(inventory["vms"]), inventory["max_processes"]
    (3, 2000)
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
            "/bin/mkdir": {"utility": "mkdir"},  # a captured run with the OS known makes its directory
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
        "max_processes": processes_per_vm,
        "max_running_processes": processes_per_vm,
    }
