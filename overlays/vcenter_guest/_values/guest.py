"""What the guest services and the VM's power and Tools services return: immutable values, each
following its generated model (`FOLLOWS` in the package), nested structures flattened where one
level says it all (`GuestNetworking.dns_servers` is the API's `dns.ip_addresses`).

Enumerations are their VMware names as strings (`"POWERED_ON"`, `"LINUX"`), as `VmSummary.power_state`
is: the generated enums check them on the way in.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

# Its values are listed once, in the package's ON_FIRST_USE (they load on first use).

# Identity families whose guests take POSIX paths and shells (the grouping is ours, not VMware's).
_POSIX_FAMILIES = frozenset({"LINUX", "SOLARIS", "DARWIN"})


@attrs.frozen
class GuestIdentity:
    """What the guest operating system is, as its Tools last reported (`guest.identity`).

    >>> GuestIdentity("UBUNTU_64", "LINUX", "Ubuntu Linux (64-bit)", "web-01").posix
    True
    """

    name: str
    """VMware's short identifier of the OS (`UBUNTU_64`, `WINDOWS_SERVER_2021`...)."""
    family: str
    """WINDOWS, LINUX, NETWARE, SOLARIS, DARWIN or OTHER."""
    full_name: str
    """The OS's full name, for people (the API's `full_name.default_message`)."""
    host_name: str
    ip_address: str | None = None
    """An IP address of the guest; None when it has none."""

    @property
    def windows(self) -> bool:
        """Whether the guest runs Windows (cmd.exe, `C:\\` paths)."""
        return self.family == "WINDOWS"

    @property
    def posix(self) -> bool:
        """Whether the guest takes POSIX shells and paths (Linux, Solaris, macOS)."""
        return self.family in _POSIX_FAMILIES


@attrs.frozen
class GuestFilesystem:
    """A local file system of the guest (`guest.filesystems`), sizes in bytes.

    >>> GuestFilesystem("/", 100, 25).used
    75
    """

    WITHHELD: ClassVar[dict[str, str]] = {"mappings": "exposed as disks, the hardware.Disk ids alone"}

    mount: str
    """The guest's name for it (a mount point, a drive): the key of the API's answer."""
    capacity: int
    free_space: int
    filesystem: str | None = None
    """Its type (ext4, NTFS...), when the Tools report one."""
    disks: tuple[str, ...] = ()
    """The virtual disks behind it (hardware.Disk ids), when known."""

    @property
    def used(self) -> int:
        """Bytes in use."""
        return self.capacity - self.free_space


@attrs.frozen
class IpAddress:
    """An IP address of a guest interface."""

    ip_address: str
    prefix_length: int
    state: str
    """PREFERRED, DEPRECATED, INVALID, INACCESSIBLE, UNKNOWN, TENTATIVE or DUPLICATE."""
    origin: str | None = None
    """OTHER, MANUAL, DHCP, LINKLAYER or RANDOM; None when not known."""


@attrs.frozen
class GuestNetworking:
    """The guest's DNS name and resolver (`guest.networking`); None or empty where it reports nothing."""

    WITHHELD: ClassVar[dict[str, str]] = {
        "dns_values": "flattened into host_name and domain_name",
        "dns": "flattened into dns_servers and search_domains",
    }

    host_name: str | None = None
    domain_name: str | None = None
    dns_servers: tuple[str, ...] = ()
    search_domains: tuple[str, ...] = ()


@attrs.frozen
class GuestInterface:
    """A network interface of the guest (`guest.interfaces`); None or empty where it reports nothing."""

    WITHHELD: ClassVar[dict[str, str]] = {
        "ip": "flattened into ip_addresses, dhcp_ipv4 and dhcp_ipv6",
        "dns": "flattened into dns_servers and search_domains",
        "dns_values": "flattened into host_name and domain_name",
    }

    mac_address: str | None = None
    ip_addresses: tuple[IpAddress, ...] = ()
    dhcp_ipv4: bool | None = None
    dhcp_ipv6: bool | None = None
    dns_servers: tuple[str, ...] = ()
    search_domains: tuple[str, ...] = ()
    host_name: str | None = None
    domain_name: str | None = None
    wins_servers: tuple[str, ...] = ()
    nic: str | None = None
    """The virtual NIC behind it (a hardware.Ethernet id), or None."""


@attrs.frozen
class GuestRoute:
    """An IP route of the guest (`guest.routes`)."""

    network: str
    prefix_length: int
    gateway_address: str | None = None
    interface_index: int | None = None
    """The 0-based position of its interface in `guest.interfaces`, or None."""


@attrs.frozen
class GuestPower:
    """The guest's power state (`guest.power`).

    >>> GuestPower("RUNNING", True).running
    True
    """

    state: str
    """RUNNING, SHUTTING_DOWN, RESETTING, STANDBY, NOT_RUNNING or UNAVAILABLE."""
    operations_ready: bool
    """Whether it takes shutdown, reboot and standby now."""

    @property
    def running(self) -> bool:
        """Whether the guest runs."""
        return self.state == "RUNNING"


@attrs.frozen
class VmPower:
    """A VM's power state (`vms.power`).

    >>> VmPower("POWERED_OFF", clean_power_off=False).powered_on
    False
    """

    state: str
    """POWERED_ON, POWERED_OFF or SUSPENDED."""
    clean_power_off: bool | None = None
    """When powered off: whether cleanly (False hints at a crash); None otherwise."""

    @property
    def powered_on(self) -> bool:
        """Whether the VM is powered on."""
        return self.state == "POWERED_ON"


@attrs.frozen
class ToolsInfo:
    """The VMware Tools of a VM (`vms.tools`).

    >>> ToolsInfo("RUNNING", "MANUAL", False).running
    True
    """

    WITHHELD: ClassVar[dict[str, str]] = {"guest_reboot_status": "flattened into reboot_requested"}

    run_state: str
    """NOT_RUNNING, RUNNING or EXECUTING_SCRIPTS."""
    upgrade_policy: str
    """MANUAL or UPGRADE_AT_POWER_CYCLE."""
    auto_update_supported: bool
    version: str | None = None
    """For people, not to be parsed; None when not installed."""
    version_number: int | None = None
    """(major << 10) + (minor << 5) + revision; None when not installed."""
    version_status: str | None = None
    """NOT_INSTALLED, CURRENT, UNMANAGED, SUPPORTED_OLD...; None when not known."""
    install_type: str | None = None
    """UNKNOWN, MSI, TAR, OSP or OPEN_VM_TOOLS; None when not known."""
    install_attempt_count: int | None = None
    error: dict[str, Any] | None = attrs.field(default=None, eq=False)
    """The error of the last install or upgrade attempt, as the server sent it; None after a success."""
    reboot_requested: bool | None = None
    """Whether the guest must reboot for the Tools (vSphere 9.1); None when not known."""

    @property
    def running(self) -> bool:
        """Whether the Tools run in the guest (running scripts counts)."""
        return self.run_state != "NOT_RUNNING"
