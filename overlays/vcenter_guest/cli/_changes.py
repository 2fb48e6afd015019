"""`vcenter-guest mv`, `mktemp`, `chmod`, `chown` and `touch`: govc's guest.mv, guest.mktemp,
guest.chmod, guest.chown and guest.touch, in one or many VMs."""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

import click

from vcenter_guest import errors

from ._common import Connection, connection_options
from ._many import Done, on_vms, vm_options

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient, Credentials

__all__ = ["chmod", "chown", "mktemp", "mv", "touch"]

_ID_MAX = 2**32 - 1


@click.command()
@vm_options
@click.option("--overwrite", is_flag=True, help="Replace a file that exists at DEST (a directory is never replaced).")
@click.option(
    "-n", "--no-clobber", is_flag=True, help="Never replace a file at DEST (the default; govc's -n, accepted as is)."
)
@connection_options
@click.argument("source")
@click.argument("dest")
def mv(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    overwrite: bool,
    no_clobber: bool,
    source: str,
    dest: str,
) -> None:
    """Move (rename) the file or directory SOURCE to DEST in the VM's guest. A file at DEST is replaced
    only with --overwrite (govc replaces it unless -n: here, as `upload`, nothing is replaced unless
    asked); DEST is the new path, not a directory to move into.

    \b
        vcenter-guest mv --vm vm-42 /var/log/app.log /var/log/app.log.1
        vcenter-guest mv --vm vm-42 /home/svc /home/svc.old
    """
    if overwrite and no_clobber:
        raise click.UsageError("--overwrite and -n/--no-clobber contradict each other: pass one of them")

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        try:
            await vc.files.move(target, creds, source, dest, overwrite=overwrite)
        except errors.InvalidArgument as exc:
            if getattr(exc.data, "reason", None) != "NOT_A_FILE":
                raise
            await vc.files.move(target, creds, source, dest, directory=True)  # as govc: a directory, then
        return Done({"path": source, "moved_to": dest})

    on_vms(conn, vms, work, prefix=prefix)


@click.command()
@vm_options
@click.option("-d", "--directory", is_flag=True, help="Make a directory instead of a file.")
@click.option(
    "-t", "--prefix-name", "name_prefix", default="vcenter-guest-", show_default=True, help="Start of the name."
)
@click.option("-s", "--suffix", default="", help="End of the name.")
@click.option(
    "-p", "--parent", metavar="DIR", help="Make it in this guest directory (default: the guest's temporary one)."
)
@connection_options
def mktemp(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    directory: bool,
    name_prefix: str,
    suffix: str,
    parent: str | None,
) -> None:
    """Make a new temporary file (or, with -d, directory) in the VM's guest, private to the guest user,
    with a name nobody could predict, and print its path (govc's guest.mktemp; its -t, -s and -p).

    \b
        vcenter-guest mktemp --vm vm-42
        vcenter-guest mktemp --vm vm-42 -d -t build- -p /var/log
    """

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        make = vc.files.mkdtemp if directory else vc.files.mkstemp
        path: str = await make(target, creds, prefix=name_prefix, suffix=suffix, parent=parent)
        return Done({"path": path, "type": "DIRECTORY" if directory else "FILE"}, path)

    on_vms(conn, vms, work, prefix=prefix)


async def _posix_update(
    vc: AsyncClient, creds: Credentials, target: str, path: str, what: str, **attributes: Any
) -> None:
    """files.update with POSIX attributes. VMware's server refuses them for a file of a Windows guest
    (InvalidArgument: they do not fit the guest's OS), as it refuses govc's: then the file is
    described (Files.get) and, when its file system is Windows, the error says so."""
    try:
        await vc.files.update(target, creds, path, **attributes)
    except errors.InvalidArgument as exc:
        try:
            info = await vc.files.stat(target, creds, path)
        except errors.VcenterGuestError:
            raise exc from None
        if info.filesystem_family != "WINDOWS":
            raise
        raise errors.InvalidArgument(
            f"{path} is a file of a Windows guest, which has no POSIX {what}: the server refuses them "
            "(nothing was changed; a Windows file's attributes are hidden and read-only)",
            status_code=exc.status_code,
            operation=exc.operation,
            vm=exc.vm,
        ) from None


class _Mode(click.ParamType):  # type: ignore[type-arg]
    """An octal POSIX mode: 640, 0640, 0o640 or 4755 (chmod(1)'s numeric form)."""

    name = "MODE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        digits = text[2:] if text[:2].lower() == "0o" else text
        if len(digits) == 5 and digits.startswith("0"):  # 00640
            digits = digits[1:]
        if not 1 <= len(digits) <= 4 or any(c not in "01234567" for c in digits):
            self.fail(f"{text!r} is not an octal mode such as 644 or 0755 (symbolic modes are not taken)", param, ctx)
        return digits


@click.command()
@vm_options
@connection_options
@click.argument("mode", type=_Mode())
@click.argument("guest_path")
def chmod(conn: Connection, vms: tuple[str, ...], prefix: bool | None, mode: str, guest_path: str) -> None:
    """Change the POSIX permissions of the file GUEST_PATH in the VM's guest to MODE, in octal (govc's
    guest.chmod; there, 644 without a leading 0 is read as decimal: here it is octal, as chmod(1) reads it).

    vcenter-guest chmod --vm vm-42 0600 /var/log/app.log
    """

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        await _posix_update(vc, creds, target, guest_path, "permissions", permissions=mode)
        return Done({"path": guest_path, "permissions": mode})

    on_vms(conn, vms, work, prefix=prefix)


def _ids(text: str) -> tuple[int | None, int | None]:
    """UID[:GID] (or :GID) as numbers: the API takes ids, not names."""
    owner, _, group = text.partition(":")
    found: list[int | None] = []
    for part, what in ((owner, "UID"), (group, "GID")):
        if not part:
            found.append(None)
            continue
        if not part.isascii() or not part.isdigit() or int(part) > _ID_MAX:
            raise click.BadParameter(
                f"{part!r} is not a numeric {what} (the API takes ids, not names: `id -u NAME` in the guest)",
                param_hint="OWNER",
            )
        found.append(int(part))
    if found == [None, None]:
        raise click.BadParameter("give UID, UID:GID or :GID", param_hint="OWNER")
    return found[0], found[1]


@click.command()
@vm_options
@connection_options
@click.argument("owner", metavar="UID[:GID]")
@click.argument("guest_path")
def chown(conn: Connection, vms: tuple[str, ...], prefix: bool | None, owner: str, guest_path: str) -> None:
    """Change the owner (and group) of the file GUEST_PATH in the VM's guest to the numeric UID[:GID]
    (or only the group, with :GID), as govc's guest.chown; the guest allows it to an administrator.

    vcenter-guest chown --vm vm-42 1000:1000 /var/log/app.log
    """
    uid, gid = _ids(owner)

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        await _posix_update(vc, creds, target, guest_path, "owner or group", owner=uid, group=gid)
        return Done({"path": guest_path, "owner": uid, "group": gid})

    on_vms(conn, vms, work, prefix=prefix)


_UNIX_DATE = "%a %b %d %H:%M:%S %Y"
"""Go's time.UnixDate (`Mon Jan _2 15:04:05 MST 2006`, what `date` prints in the C locale) without its
zone, which `_unix_date` reads: the format govc's guest.touch -d takes."""
_UTC_NAMES = frozenset({"UTC", "GMT", "Z"})


def _unix_date(text: str) -> datetime.datetime | None:
    """`text` in govc's format (Go's time.UnixDate), or None when it is not in it. The zone is UTC/GMT,
    a numeric offset (+0100), or this machine's own zone abbreviation (then its local time, as
    `date` printed it); any other abbreviation is refused (Go would take it as UTC, silently)."""
    words = text.split()
    if len(words) != 6:
        return None
    zone = words[4]
    try:
        naive = datetime.datetime.strptime(" ".join(words[:4] + words[5:]), _UNIX_DATE)
    except ValueError:
        return None
    if zone.upper() in _UTC_NAMES:
        return naive.replace(tzinfo=datetime.timezone.utc)
    if zone in time.tzname:
        return naive.astimezone()
    try:
        offset = datetime.datetime.strptime(zone, "%z").tzinfo
    except ValueError:
        raise click.BadParameter(
            f"the zone {zone!r} of {text!r} is not known here (only UTC, GMT, +HHMM or this machine's own "
            f"{'/'.join(dict.fromkeys(time.tzname))}): give ISO 8601 with an offset instead",
            param_hint="--date",
        ) from None
    return naive.replace(tzinfo=offset)


def _date(text: str) -> datetime.datetime:
    """ISO 8601 (a time without a zone is local time), @SECONDS since the epoch (`date +%s`), or govc's
    format (`date`'s own output: Tue Dec  8 10:00:00 UTC 2026)."""
    try:
        if text.startswith("@"):
            return datetime.datetime.fromtimestamp(float(text[1:]), tz=datetime.timezone.utc)
        unix = _unix_date(text)
        if unix is not None:
            return unix
        when = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except (ValueError, OverflowError, OSError):
        raise click.BadParameter(
            f"{text!r} is not a date: give ISO 8601 (2026-12-08T10:00:00+00:00), @SECONDS, or govc's "
            "format (Tue Dec  8 10:00:00 UTC 2026, as `date` prints it)",
            param_hint="--date",
        ) from None
    return when if when.utcoffset() is not None else when.astimezone()


@click.command()
@vm_options
@click.option("-a", "--access", is_flag=True, help="Change the access time instead of the modification time.")
@click.option("-c", "--no-create", is_flag=True, help="Do not make a file that is not there (it is then an error).")
@click.option(
    "-d",
    "--date",
    metavar="DATE",
    help="This time instead of now: ISO 8601 (without a zone: local time), @SECONDS since the epoch, or "
    "govc's format, as `date` prints it (Tue Dec  8 10:00:00 UTC 2026).",
)
@connection_options
@click.argument("guest_path")
def touch(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    access: bool,
    no_create: bool,
    date: str | None,
    guest_path: str,
) -> None:
    """Set the modification time (with -a, the access time) of the file GUEST_PATH in the VM's guest to
    now (or --date), making an empty file if there is none (unless -c), as govc's guest.touch.

    \b
        vcenter-guest touch --vm vm-42 /tmp/ready
        vcenter-guest touch --vm vm-42 -d 2026-01-01T00:00:00Z /var/log/app.log
        vcenter-guest touch --vm vm-42 -d "Thu Jan  1 00:00:00 UTC 2026" /var/log/app.log
    """
    when = _date(date) if date is not None else None

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        stamp = when or datetime.datetime.now(datetime.timezone.utc)
        accessed, modified = (stamp, None) if access else (None, stamp)
        made = False
        try:
            await vc.files.update(target, creds, guest_path, last_accessed=accessed, last_modified=modified)
        except errors.NotFound:
            if no_create:
                raise
            await vc.files.upload(target, creds, b"", guest_path)
            made = True
            if when is not None:
                await vc.files.update(target, creds, guest_path, last_accessed=accessed, last_modified=modified)
        field = "last_accessed" if access else "last_modified"
        return Done({"path": guest_path, "made": made, field: stamp.isoformat()})

    on_vms(conn, vms, work, prefix=prefix)
