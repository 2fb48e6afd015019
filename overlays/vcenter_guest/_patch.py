"""Workarounds for openapi-python-client limitations, applied to the generated package.

In the style of the Azure SDK's `_patch.py`: the generated code is never edited; where it is wrong
and neither the document nor generator-config.yaml can fix it, the overlay corrects it here, once,
when the generated models are first imported after `import vcenter_guest` (see `_patch_hook`: this
module imports all the generated models, which `import vcenter_guest` itself must not). Each
workaround says what is wrong, why it cannot be fixed upstream of the overlay, and when it can go.
tests/generated/test_generator_workarounds.py and tests/overlay/test_redaction.py check each one,
with a canary that fails as soon as the pinned generator no longer has the bug (then delete the
workaround).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
from dateutil.parser import isoparse
from vcenter_guest_client.models.create_spec_environment_variables import CreateSpecEnvironmentVariables
from vcenter_guest_client.models.credentials import Credentials
from vcenter_guest_client.models.localization_param import LocalizationParam
from vcenter_guest_client.models.localization_param_date_time_format import LocalizationParamDateTimeFormat
from vcenter_guest_client.models.nested_localizable_message import NestedLocalizableMessage
from vcenter_guest_client.types import UNSET, Unset

from ._redact import REDACTED

__all__ = [
    "LOCALIZATION_PARAM_FIELDS",
    "SECRET_FIELDS",
    "generated_credentials_repr",
    "generated_localization_param_from_dict",
    "patch_sdk",
]

_T = TypeVar("_T", bound=LocalizationParam)

# The wire names LocalizationParam.from_dict below handles; a test compares them with the generated
# class's fields, so a spec change to Vapi.Std.LocalizationParam cannot be silently dropped here.
LOCALIZATION_PARAM_FIELDS = ("s", "dt", "i", "d", "l", "format", "precision")

# Kept so the canary test can show the generated method is still broken.
generated_localization_param_from_dict = LocalizationParam.from_dict


def _localization_param_from_dict(cls: type[_T], src_dict: Mapping[str, Any]) -> _T:
    """LocalizationParam.from_dict without the generator's variable shadowing.

    WHY: VMware's `Vapi.Std.LocalizationParam` has a field named `d` (a double). The generated
    from_dict keeps the remaining keys in a local variable also named `d` and rebinds it with
    `d = d.pop("d", UNSET)`, so parsing ANY localization parameter raises AttributeError, and with
    it every error body whose messages carry `params`. The wire name cannot change, and
    openapi-python-client 0.28.4 has no option to rename a property or that local variable.
    WHEN IT CAN GO: when the pinned generator names that variable so it cannot collide with a
    property (see upstream openapi-python-client's from_dict shadowing fixes); the canary test
    in tests/generated/test_generator_workarounds.py fails then.
    """
    rest = dict(src_dict)
    dt_raw = rest.pop("dt", UNSET)
    l_raw = rest.pop("l", UNSET)
    format_raw = rest.pop("format", UNSET)
    param = cls(
        s=rest.pop("s", UNSET),
        dt=UNSET if isinstance(dt_raw, Unset) else isoparse(dt_raw),
        i=rest.pop("i", UNSET),
        d=rest.pop("d", UNSET),
        l=UNSET if isinstance(l_raw, Unset) else NestedLocalizableMessage.from_dict(l_raw),
        format_=UNSET if isinstance(format_raw, Unset) else LocalizationParamDateTimeFormat(format_raw),
        precision=rest.pop("precision", UNSET),
    )
    param.additional_properties = rest
    return param


# Generated models with `format: password` properties -> those properties' Python names. A test
# compares this with the document, so a new secret field cannot be missed here.
SECRET_FIELDS: dict[type, frozenset[str]] = {Credentials: frozenset({"password", "saml_token"})}

# Kept so the canary test can show the generated repr still prints secrets.
generated_credentials_repr = Credentials.__repr__


def _redacting_repr(self: Any) -> str:
    """The attrs repr of a generated model, with its secret fields shown as `<redacted>`.

    WHY: openapi-python-client renders every property, `format: password` included, as an attrs
    field with the default repr, so `repr(Credentials(...))`, and the repr of every request body
    holding one, prints the guest password or SAML token (into logs, tracebacks, debuggers). The
    generator has no option to mark a field `repr=False`.
    WHEN IT CAN GO: when the pinned generator emits `repr=False` for `format: password`; the canary
    test in tests/overlay/test_redaction.py fails then.
    """
    secret = SECRET_FIELDS.get(type(self), frozenset())
    parts = []
    for f in attrs.fields(type(self)):
        value = getattr(self, f.name)
        parts.append(f"{f.name}={REDACTED if f.name in secret and isinstance(value, str) else repr(value)}")
    return f"{type(self).__name__}({', '.join(parts)})"


def _environment_repr(self: CreateSpecEnvironmentVariables) -> str:
    """The environment of a CreateSpec with its values shown as `<redacted>`: a program's
    environment is where tokens and passwords are passed (the overlay's CreateSpec hides them too).
    Not a generator bug but this package's policy, so it stays as long as the model does."""
    shown = ", ".join(f"{name!r}: {REDACTED}" for name in self.additional_properties)
    return f"{type(self).__name__}({{{shown}}})"


def patch_sdk() -> None:
    """Applies every workaround to the generated package. Idempotent."""
    LocalizationParam.from_dict = classmethod(_localization_param_from_dict)  # type: ignore[method-assign,assignment]
    for model in SECRET_FIELDS:
        model.__repr__ = _redacting_repr  # type: ignore[method-assign,assignment]
    CreateSpecEnvironmentVariables.__repr__ = _environment_repr  # type: ignore[method-assign,assignment]


# Importing this module applies the workarounds: see _patch_hook for when that happens.
patch_sdk()
