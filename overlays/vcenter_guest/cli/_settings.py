"""Where the CLI's connection settings come from, and the API sessions it keeps between invocations.

Each setting is taken from the first of: the option after the subcommand, the option before it
(`vcenter-guest --server vc run ...`), its environment variable, the profile (`--profile NAME`,
`VCENTER_PROFILE`, or the file's `default_profile`), the built-in default.

The profile file is TOML, `config.toml` in the user's config directory (platformdirs; on Linux
`~/.config/vcenter-guest/config.toml`, `VCENTER_GUEST_CONFIG` names another file):

    default_profile = "lab"

    [profiles.lab]
    server = "vc.lab.example.com"
    user = "administrator@vsphere.local"
    guest_user = "root"
    ca_bundle = "~/lab-ca.pem"
    insecure = false

It holds no secret: a password, token or session key in it is refused (secrets come from the
environment or a prompt). The API sessions the CLI keeps between invocations: `_sessions`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import click

__all__ = ["SETTINGS", "Setting", "config_path", "load_profile"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(text: str, where: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise click.UsageError(f"{where} must be true or false (1/0, yes/no, on/off), got {text!r}")


def _path(text: str, where: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise click.UsageError(f"{where}: no such file: {text}")
    return path


@attrs.frozen
class Setting:
    """One connection setting: its option, environment variable, profile key and parser."""

    name: str
    env: str | None
    profile_key: str | None
    parse: Callable[[str, str], Any] | None = None  # text from the environment or profile -> value
    default: Any = None


SETTINGS: tuple[Setting, ...] = (
    Setting("server", "VCENTER_URL", "server"),
    Setting("mock", None, None, default=False),
    Setting("user", "VCENTER_USER", "user"),
    Setting("guest_user", "VCENTER_GUEST_USER", "guest_user"),
    Setting("insecure", "VCENTER_INSECURE", "insecure", _flag, False),
    Setting("ca_bundle", "VCENTER_CA_BUNDLE", "ca_bundle", _path),
    Setting("session_cache", "VCENTER_SESSION_CACHE", "session_cache", _flag, True),
    Setting("http_timeout", None, "http_timeout", None, 30.0),
    Setting("attempts", None, "attempts", None, 5),
    Setting("profile", "VCENTER_PROFILE", None),
    Setting("as_json", None, None, default=False),
    Setting("json_lines", None, None, default=False),
    Setting("debug", None, None, default=False),
)
"""Every connection setting, in the order the CLI documents them."""

_PROFILE_KEYS = {s.profile_key for s in SETTINGS if s.profile_key}
_SECRET_WORDS = ("password", "secret", "token", "session", "key")


def config_path() -> Path:
    """The profile file: `VCENTER_GUEST_CONFIG`, else config.toml in the user's config directory."""
    named = os.environ.get("VCENTER_GUEST_CONFIG")
    if named:
        return Path(named).expanduser()
    import platformdirs  # noqa: PLC0415 - only when a setting is looked up

    return Path(platformdirs.user_config_dir("vcenter-guest")) / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415

    try:
        with path.open("rb") as file:
            data: dict[str, Any] = tomllib.load(file)
    except OSError as exc:
        raise click.UsageError(f"cannot read the profile file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.UsageError(f"the profile file {path} is not valid TOML: {exc}") from None
    return data


def load_profile(name: str | None) -> tuple[str | None, dict[str, Any]]:
    """(the profile's name, its settings): `name`, else the file's default_profile, else none (empty).

    Unknown profiles, unknown keys, values of the wrong type and secrets are usage errors naming the file."""
    path = config_path()
    if not path.is_file():
        if name is not None:
            raise click.UsageError(f"no profile {name!r}: there is no profile file at {path}")
        return None, {}
    data = _read_toml(path)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise click.UsageError(f"{path}: [profiles.NAME] tables expected")
    extra = set(data) - {"profiles", "default_profile"}
    if extra:
        raise click.UsageError(f"{path}: unknown key(s) {', '.join(sorted(extra))} (profiles and default_profile)")
    chosen = name if name is not None else data.get("default_profile")
    if chosen is None:
        return None, {}
    if not isinstance(chosen, str) or chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise click.UsageError(f"no profile {chosen!r} in {path} (profiles: {known})")
    values: dict[str, Any] = dict(profiles[chosen])
    for key in values:
        if any(word in key.lower() for word in _SECRET_WORDS) and key not in _PROFILE_KEYS:
            raise click.UsageError(
                f"{path}: profile {chosen!r} holds {key!r}: secrets never go in the profile file "
                "(set VCENTER_PASSWORD / VCENTER_GUEST_PASSWORD, or answer the prompt)"
            )
    unknown = set(values) - _PROFILE_KEYS
    if unknown:
        raise click.UsageError(
            f"{path}: profile {chosen!r}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_PROFILE_KEYS))})"
        )
    return chosen, {key: _profile_value(path, chosen, key, value) for key, value in values.items()}


def _profile_value(path: Path, profile: str, key: str, value: object) -> Any:
    where = f"{path}: profile {profile!r}: {key}"
    if key in {"insecure", "session_cache"}:
        if not isinstance(value, bool):
            raise click.UsageError(f"{where} must be true or false")
        return value
    if key == "http_timeout":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise click.UsageError(f"{where} must be a positive number of seconds")
        return float(value)
    if key == "attempts":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise click.UsageError(f"{where} must be a positive integer")
        return value
    if not isinstance(value, str) or not value:
        raise click.UsageError(f"{where} must be a non-empty string")
    return _path(value, where) if key == "ca_bundle" else value
