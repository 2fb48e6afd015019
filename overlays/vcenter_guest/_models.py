"""What users pass in: guest `Credentials` and a program's `CreateSpec`.

Both wrap the generated models (`vcenter_guest_client.models.Credentials` / `CreateSpec`) rather
than subclass them, for two reasons: subclassing would import all ~80 generated model modules at
`import vcenter_guest` (they are loaded on the first request instead), and the wrappers are
immutable and keep secrets out of `repr`. `to_generated()` converts; the generated model's own
`to_dict` writes the wire format, so a change to the API document reaches requests unchanged.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._redact import REDACTED
from .errors import UsageError

if TYPE_CHECKING:
    from vcenter_guest_client.models.create_spec import CreateSpec as GeneratedCreateSpec
    from vcenter_guest_client.models.credentials import Credentials as GeneratedCredentials

__all__ = ["CreateSpec", "Credentials"]

# The names of the two credentials types (not secrets).
USERNAME_PASSWORD = "USERNAME_PASSWORD"  # noqa: S105
SAML_BEARER_TOKEN = "SAML_BEARER_TOKEN"  # noqa: S105


@attrs.frozen(init=False, repr=False)
class Credentials:
    """Who a program runs as in the guest: a user and password, or a SAML bearer token.

    Build them with `Credentials.password(...)` or `Credentials.saml(...)`. The secret is kept
    out of `repr` and `str`, and out of every log line and error message of this package.

        >>> creds = Credentials.password("root", "vmware")
        >>> creds
        Credentials(type='USERNAME_PASSWORD', user_name='root', password=<redacted>, interactive_session=False)
        >>> Credentials.saml("token-xyz", user="svc").user_name
        'svc'

    The constructor mirrors the official SDK's `Credentials(interactive_session, type, user_name,
    password, saml_token)` for code ported from it.
    """

    type: str
    """"USERNAME_PASSWORD" or "SAML_BEARER_TOKEN"."""
    user_name: str | None
    """The guest user (optional for SAML: the token names one)."""
    interactive_session: bool
    """Run in the logged-on desktop session (the user must be logged on; USERNAME_PASSWORD only)."""
    _secret: str = attrs.field(alias="_secret")
    _generated: Any = attrs.field(alias="_generated", eq=False, hash=False)

    def __init__(
        self,
        *,
        type: str = USERNAME_PASSWORD,
        user_name: str | None = None,
        password: str | None = None,
        saml_token: str | None = None,
        interactive_session: bool = False,
    ) -> None:
        kind = str(getattr(type, "value", type))
        if kind == USERNAME_PASSWORD:
            if not isinstance(user_name, str) or not user_name:
                raise UsageError("guest credentials need a user name")
            if not isinstance(password, str):
                raise UsageError("guest credentials of type USERNAME_PASSWORD need a password (a string)")
            if saml_token is not None:
                raise UsageError("give a password or a SAML token, not both")
            secret = password
        elif kind == SAML_BEARER_TOKEN:
            if not isinstance(saml_token, str) or not saml_token:
                raise UsageError("guest credentials of type SAML_BEARER_TOKEN need a non-empty SAML token")
            if password is not None:
                raise UsageError("give a password or a SAML token, not both")
            if user_name is not None and (not isinstance(user_name, str) or not user_name):
                raise UsageError("the user name of SAML credentials must be a non-empty string or None")
            if interactive_session:
                raise UsageError("interactive sessions need USERNAME_PASSWORD credentials, not a SAML token")
            secret = saml_token
        else:
            raise UsageError(f"credentials type must be {USERNAME_PASSWORD} or {SAML_BEARER_TOKEN}, got {kind!r}")
        if not isinstance(interactive_session, bool):
            raise UsageError("interactive_session must be True or False")
        self.__attrs_init__(kind, user_name, interactive_session, secret, None)

    @classmethod
    def password(cls, user: str, password: str, interactive: bool = False) -> Credentials:
        """Credentials of a guest user with a password.

        `interactive=True` runs the program in the user's logged-on desktop session.

            >>> Credentials.password("Administrator", "s3cret", interactive=True).interactive_session
            True
        """
        return cls(type=USERNAME_PASSWORD, user_name=user, password=password, interactive_session=interactive)

    @classmethod
    def saml(cls, token: str, user: str | None = None) -> Credentials:
        """Credentials from a SAML bearer token the guest accepts, optionally naming the guest user.

        >>> Credentials.saml("<saml:Assertion .../>").type
        'SAML_BEARER_TOKEN'
        """
        return cls(type=SAML_BEARER_TOKEN, user_name=user, saml_token=token)

    @property
    def secret(self) -> str:
        """The password or SAML token. Handle with care: this is the one place it is readable."""
        return self._secret

    def __repr__(self) -> str:
        secret_field = "password" if self.type == USERNAME_PASSWORD else "saml_token"
        return (
            f"Credentials(type={self.type!r}, user_name={self.user_name!r}, {secret_field}={REDACTED}, "
            f"interactive_session={self.interactive_session!r})"
        )

    __str__ = __repr__

    def to_generated(self) -> GeneratedCredentials:
        """A new generated `vcenter_guest_client` model with the same content (its repr is redacted too).

        >>> Credentials.password("root", "vmware").to_generated().to_dict()["type"]
        'USERNAME_PASSWORD'
        """
        from vcenter_guest_client.models.credentials import Credentials as Generated  # noqa: PLC0415
        from vcenter_guest_client.models.credentials_type import CredentialsType  # noqa: PLC0415
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        password = self._secret if self.type == USERNAME_PASSWORD else UNSET
        token = self._secret if self.type == SAML_BEARER_TOKEN else UNSET
        return Generated(
            interactive_session=self.interactive_session,
            type_=CredentialsType(self.type),
            user_name=UNSET if self.user_name is None else self.user_name,
            password=password,
            saml_token=token,
        )

    def _cached_generated(self) -> GeneratedCredentials:
        # Built once per Credentials and never handed out, so nobody can mutate the shared instance.
        generated: GeneratedCredentials | None = self._generated
        if generated is None:
            generated = self.to_generated()
            object.__setattr__(self, "_generated", generated)
        return generated


def _environment(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UsageError("environment_variables must be a mapping of names to values")
    copy = dict(value)
    for name, text in copy.items():
        if not isinstance(name, str) or not name or not isinstance(text, str):
            raise UsageError("environment_variables must map non-empty string names to string values")
    return types.MappingProxyType(copy)


@attrs.frozen(repr=False)
class CreateSpec:
    """Which program to start in the guest, and how (the SDK's `Processes.CreateSpec`).

        >>> CreateSpec("/bin/ls", arguments="-l /tmp", environment_variables={"TOKEN": "abc"})
        CreateSpec(path='/bin/ls', arguments='-l /tmp', environment_variables={'TOKEN': <redacted>})

    `path` is absolute. Linux guests run it through `/bin/bash`, so `arguments` is shell syntax
    (redirection works). Windows guests use no shell: run `c:\\windows\\system32\\cmd.exe` with
    `/c ...` for redirection. `environment_variables` is the program's complete environment; its
    values are kept out of `repr` (they often hold tokens). `arguments` is visible to anyone who
    lists the guest's processes: never put a secret there.
    """

    path: str
    arguments: str | None = None
    working_directory: str | None = None
    environment_variables: Mapping[str, str] | None = attrs.field(default=None, converter=_environment)
    start_minimized: bool | None = None
    """Windows only: start the program's window minimized. Unset (None) on other guests."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise UsageError("the program path must be a non-empty string")
        for name in ("arguments", "working_directory"):
            if not isinstance(getattr(self, name), str | None):
                raise UsageError(f"{name} must be a string or None")
        if not isinstance(self.start_minimized, bool | None):
            raise UsageError("start_minimized must be True, False or None")

    def __repr__(self) -> str:
        parts = [f"path={self.path!r}"]
        if self.arguments is not None:
            parts.append(f"arguments={self.arguments!r}")
        if self.working_directory is not None:
            parts.append(f"working_directory={self.working_directory!r}")
        if self.environment_variables is not None:
            env = ", ".join(f"{name!r}: {REDACTED}" for name in self.environment_variables)
            parts.append(f"environment_variables={{{env}}}")
        if self.start_minimized is not None:
            parts.append(f"start_minimized={self.start_minimized!r}")
        return f"CreateSpec({', '.join(parts)})"

    def to_generated(self) -> GeneratedCreateSpec:
        """The generated `vcenter_guest_client` model with the same content; unset fields stay unset.

        >>> CreateSpec("/bin/true").to_generated().to_dict()
        {'path': '/bin/true'}
        """
        from vcenter_guest_client.models.create_spec import CreateSpec as Generated  # noqa: PLC0415
        from vcenter_guest_client.models.create_spec_environment_variables import (  # noqa: PLC0415
            CreateSpecEnvironmentVariables,
        )
        from vcenter_guest_client.types import UNSET  # noqa: PLC0415

        env = self.environment_variables
        return Generated(
            path=self.path,
            arguments=UNSET if self.arguments is None else self.arguments,
            working_directory=UNSET if self.working_directory is None else self.working_directory,
            environment_variables=UNSET if env is None else CreateSpecEnvironmentVariables.from_dict(dict(env)),
            # The generated default is False, which would always send the field; unset means unset.
            start_minimized=UNSET if self.start_minimized is None else self.start_minimized,
        )
