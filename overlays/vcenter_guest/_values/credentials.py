"""Guest `Credentials`: who a program runs as.

Like every value users pass in, it wraps its generated model (`vcenter_guest_client.models.Credentials`)
rather than subclassing it: subclassing would import all ~80 generated model modules at
`import vcenter_guest` (they load on the first request instead), and the wrapper is immutable and
keeps its secret out of `repr`. `to_generated()` converts; the generated model's `to_dict` writes the
wire format. `WITHHELD` names the generated fields it does not expose as attributes, and why:
tests/overlay/test_values.py fails, naming the field, when the document adds one it neither exposes
nor withholds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from vcenter_guest.errors import UsageError
from vcenter_guest.redaction import REDACTED

from .cached import CachedGenerated

if TYPE_CHECKING:
    from vcenter_guest_client.models.credentials import Credentials as GeneratedCredentials

__all__ = ["Credentials"]

# The names of the two credentials types (not secrets).
USERNAME_PASSWORD = "USERNAME_PASSWORD"  # noqa: S105
SAML_BEARER_TOKEN = "SAML_BEARER_TOKEN"  # noqa: S105


@attrs.frozen(init=False, repr=False)
class Credentials(CachedGenerated):
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
    WITHHELD: ClassVar[dict[str, str]] = {
        "password": "the secret: readable as `secret`, never as an attribute that reprs and tracebacks show",
        "saml_token": "the secret: readable as `secret`, never as an attribute that reprs and tracebacks show",
    }
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
        if "\0" in secret or "\0" in (user_name or ""):
            raise UsageError("guest credentials cannot hold a NUL character")
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
