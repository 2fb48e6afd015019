"""The built-in demo inventory: what `vcenter-guest mock` serves without `--inventory`.

Its passwords are fixtures of a loopback mock, documented in the README; they are never printed.
"""

from __future__ import annotations

from typing import Any

from ._records import EXECUTE, MODIFY, QUERY

__all__ = [
    "DEMO_API_PASSWORD",
    "DEMO_API_USER",
    "DEMO_GUEST_PASSWORD",
    "DEMO_GUEST_USER",
    "DEMO_INVENTORY",
    "DEMO_VM",
]

DEMO_API_USER = "administrator@vsphere.local"
DEMO_API_PASSWORD = "Admin!23"  # noqa: S105 - the documented demo password of the mock
DEMO_GUEST_USER = "root"
DEMO_GUEST_PASSWORD = "vmware"  # noqa: S105 - the documented demo password of the mock
DEMO_VM = "vm-42"

# The VM's power privileges (Power.start, stop, suspend, reset): the demo administrator holds them.
_POWER = [f"VirtualMachine.Interact.{name}" for name in ("PowerOn", "PowerOff", "Suspend", "Reset")]
# A power-on, reset or reboot takes a second before the Tools run again; a guest shutdown half one.
_BOOT = {"boot_seconds": 1.0, "shutdown_seconds": 0.5}

_GUEST_USERS: list[dict[str, Any]] = [
    {"name": DEMO_GUEST_USER, "password": DEMO_GUEST_PASSWORD},
    {"name": "svc", "password": "svc-pass", "saml_token": "token-svc"},
]

# A current Debian guest: /bin, /sbin and /lib are links into /usr ("merged /usr"), so every program
# answers at both /bin/... and /usr/bin/....
_LINUX_PROGRAMS: dict[str, dict[str, Any]] = {
    "/usr/bin/true": {"utility": "true"},
    "/usr/bin/false": {"utility": "false"},
    **{
        f"/usr/bin/{name}": {"utility": name}
        for name in ("echo", "printf", "cat", "env", "ls", "head", "base64", "sh", "bash", "sleep", "mkdir")
    },
    **{f"/usr/bin/{name}": {"utility": name} for name in ("uptime", "uname")},
    "/opt/app/exit": {"exit_code_from_args": True},
    "/opt/app/job": {"duration_from_args": True, "exit_code_from_args": True},
    "/opt/app/stuck": {"duration": float("inf"), "ignores_term": True},
    "/opt/app/unkillable": {"duration": float("inf"), "unkillable": True},
    "/opt/app/broken": {"fails_to_start": True},
    "/root/secret.sh": {"allowed_users": [DEMO_GUEST_USER]},
}


_LINUX_SYMLINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib"}

_OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""

_LINUX_FILES: dict[str, dict[str, Any]] = {
    "/etc/os-release": {"content": _OS_RELEASE},
    "/root/secret": {"content": "only root may read this\n", "mode": "600"},
    "/home/svc/notes.txt": {"content": "svc's notes\n", "owner": "svc"},
    "/var/log/app.log": {"size": 256 * 1024},
}


def _linux(vm_id: str, name: str, **state: Any) -> dict[str, Any]:
    return {
        "id": vm_id,
        "name": name,
        "power_state": "POWERED_ON",
        "tools": "RUNNING",
        "guest_os_family": "LINUX",
        "busy": False,
        "guest_users": _GUEST_USERS,
        "directories": ["/root", "/tmp", "/home/svc", "/var/log", "/usr/sbin", "/usr/lib"],  # noqa: S108 - guest paths
        "symlinks": _LINUX_SYMLINKS,
        "files": {**_LINUX_FILES, "/etc/hostname": {"content": f"{name}\n"}},
        "programs": _LINUX_PROGRAMS,
        "disk_bytes": 512 << 20,
        "processes": [
            {"pid": 1, "name": "systemd", "owner": "root", "command": "/sbin/init"},
            {"pid": 612, "name": "vmtoolsd", "owner": "root", "command": "/usr/bin/vmtoolsd"},
        ],
        **_BOOT,
        **state,
    }


DEMO_INVENTORY: dict[str, Any] = {
    "users": [
        {"name": DEMO_API_USER, "password": DEMO_API_PASSWORD, "privileges": [EXECUTE, QUERY, MODIFY, *_POWER]},
        {"name": "auditor@vsphere.local", "password": "Audit!23", "privileges": [QUERY]},
        {"name": "operator@vsphere.local", "password": "Oper!23", "privileges": [EXECUTE]},
    ],
    "vms": [
        _linux(DEMO_VM, "demo-linux"),
        {
            "id": "vm-43",
            "name": "demo-windows",
            "power_state": "POWERED_ON",
            "tools": "RUNNING",
            "guest_os_family": "WINDOWS",
            "busy": False,
            "guest_users": [
                {"name": "Administrator", "password": "vmware"},
                {"name": DEMO_GUEST_USER, "password": DEMO_GUEST_PASSWORD},
            ],
            "directories": ["C:\\Windows", "C:\\Temp"],
            "files": {
                "C:\\Windows\\System32\\drivers\\etc\\hosts": {"content": "127.0.0.1 localhost\r\n"},
                "C:\\Users\\Administrator\\Desktop\\readme.txt": {
                    "content": "demo-windows\r\n",
                    "owner": "Administrator",
                },
            },
            "disk_bytes": 512 << 20,
            "programs": {
                "C:\\Windows\\System32\\cmd.exe": {"utility": "cmd"},
                "C:\\Tools\\argv.exe": {"utility": "argv"},  # reports its arguments as JSON (see _argv)
                "C:\\Windows\\System32\\ping.exe": {"duration": 3},
                "C:\\Windows\\System32\\timeout.exe": {"duration_from_args": True},
            },
            "processes": [{"pid": 4, "name": "System", "owner": "SYSTEM", "command": "System"}],
            **_BOOT,
        },
        _linux("vm-44", "demo-powered-off", power_state="POWERED_OFF"),
        _linux("vm-45", "demo-suspended", power_state="SUSPENDED"),
        _linux("vm-46", "demo-tools-not-running", tools="NOT_RUNNING"),
        _linux("vm-47", "demo-busy", busy=True),
        _linux("vm-48", "demo-tools-unsupported", tools="UNSUPPORTED"),
        _linux("vm-49", "demo-tools-disabled", tools="DISABLED"),
        _linux("vm-50", "demo-solaris", guest_os_family="SOLARIS"),
    ],
    "session_idle_timeout": 1800,
    "process_retention": 300,
}
