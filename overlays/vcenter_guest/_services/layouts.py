"""What a client knows of its guests for `run`: each VM's OS, from the Identity service (asked once per
VM and client), and each VM and guest user's layout (`GuestLayout`: whether it is Windows, its
temporary directory), learnt from a run's createTemporary. The one place the OS comes from."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from vcenter_guest import errors
from vcenter_guest._engine import Plan
from vcenter_guest._values import Credentials

from .capture import GuestLayout
from .runoptions import guest_key

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import GuestIdentity

__all__ = ["GuestLayouts"]

log = logging.getLogger("vcenter_guest")

_POSIX_TEMP = "/tmp"  # noqa: S108 - the guest's temporary directory, not this machine's


class GuestLayouts:
    """One client's knowledge of its guests (see the module); `identity(vm)` is the Identity.get plan."""

    def __init__(self, identity: Callable[[str], Plan[GuestIdentity]]) -> None:
        self._identity = identity
        self._layouts: dict[tuple[str, str | None], GuestLayout] = {}
        self._families: dict[str, bool | None] = {}
        self._no_lines: set[str] = set()

    def known(self, vm: str, credentials: Credentials, windows: bool | None) -> GuestLayout | None:
        """The guest's layout for a captured run, if known: what this client learnt of this VM and guest
        user, else what `windows` says (the caller's `guest_os=`, or the Identity service's family:
        a POSIX guest's temporary directory is /tmp, a Windows guest's is learnt from its first
        createTemporary)."""
        known = self._layouts.get(guest_key(vm, credentials))
        if windows is None or (known is not None and known.windows == windows):
            return known
        return None if windows else GuestLayout(windows=False, temp=_POSIX_TEMP)

    def asked(self, vm: str, credentials: Credentials, windows: bool | None) -> Plan[GuestLayout | None]:
        """`known`, asking the Identity service first (once per VM, see `family`) when neither the
        caller nor an earlier run said what the guest is."""
        known = self.known(vm, credentials, windows)
        if known is not None or windows is not None:
            return known
        return self.known(vm, credentials, (yield from self.family(vm)))

    def family(self, vm: str) -> Plan[bool | None]:
        """Whether the guest is Windows (True), POSIX (False) or neither known (None), as the Identity
        service says; asked once per VM, whatever it answers. Fails closed: an error (Tools not
        running, no privilege, the VM not found, ...), a body that is not an Identity.Info, or a
        family that is neither Windows nor POSIX (OTHER, NETWARE) is None, and the run goes as on a
        guest it knows nothing of (the server makes its run directory, whose path tells)."""
        if vm in self._families:
            return self._families[vm]
        family: bool | None = None
        try:
            identity = yield from self._identity(vm)
        except errors.VcenterGuestError as exc:
            log.debug("%s: the guest's OS is not known from Identity (%s)", vm, type(exc).__name__)
        else:
            family = True if identity.windows else False if identity.posix else None
        self._families[vm] = family
        return family

    def makes_lines(self, vm: str) -> bool:
        """Whether a captured run's command line may make its run directory on this VM (it may, unless
        the server once said it could not start that line: `cannot_make_lines`)."""
        return vm not in self._no_lines

    def cannot_make_lines(self, vm: str) -> None:
        """The server answered a line that makes its run directory with NOT_FOUND (no `/bin/mkdir`)."""
        self._no_lines.add(vm)

    def learn(self, vm: str, credentials: Credentials, layout: GuestLayout) -> None:
        """What a createTemporary answer showed of this VM and guest user."""
        self._layouts[guest_key(vm, credentials)] = layout
