"""The overlay's workarounds for generator bugs (overlays/vcenter_guest/_patch.py) work, and are still needed."""

from __future__ import annotations

import datetime
import subprocess
import sys

import attrs
import pytest
import vcenter_guest  # noqa: F401  (importing the overlay applies its patches)
from vcenter_guest import _patch
from vcenter_guest_client.models.localizable_message import LocalizableMessage
from vcenter_guest_client.models.localization_param import LocalizationParam
from vcenter_guest_client.models.localization_param_date_time_format import LocalizationParamDateTimeFormat

PARAM = {
    "s": "vm-42",
    "dt": "2026-11-27T10:15:30+00:00",
    "i": 7,
    "d": 0.5,
    "l": {"id": "nested", "params": {"x": {"s": "y"}}},
    "format": "SHORT_DATE",
    "precision": 2,
    "unknown": [1],
}


def test_canary_the_pinned_generator_still_shadows_d_in_localization_param() -> None:
    """When this fails, the generator fixed the bug: delete the workaround in _patch.py and this test."""
    with pytest.raises(AttributeError):
        _patch.generated_localization_param_from_dict.__func__(LocalizationParam, {"s": "x"})  # type: ignore[attr-defined]


def test_patched_localization_param_parses_every_field() -> None:
    param = LocalizationParam.from_dict(PARAM)
    assert param.s == "vm-42"
    assert param.dt == datetime.datetime(2026, 11, 27, 10, 15, 30, tzinfo=datetime.timezone.utc)
    assert (param.i, param.d, param.precision) == (7, 0.5, 2)
    assert param.format_ is LocalizationParamDateTimeFormat.SHORT_DATE
    assert param.l is not None
    assert param.additional_properties == {"unknown": [1]}
    assert LocalizationParam.from_dict(param.to_dict()) == param


def test_messages_with_params_parse_through_the_generated_message_model() -> None:
    message = LocalizableMessage.from_dict(
        {"id": "m", "default_message": "{0}", "args": ["a"], "params": {"p": {"d": 1.5}, "q": {"s": "x"}}}
    )
    assert message.params is not None
    assert message.params["p"].d == 1.5


def test_workaround_handles_every_field_of_the_generated_class() -> None:
    """A spec change to LocalizationParam must update the workaround, not be silently dropped by it."""
    wire_names = {"format_": "format"}
    fields = {wire_names.get(f.name, f.name) for f in attrs.fields(LocalizationParam)} - {"additional_properties"}
    assert fields == set(_patch.LOCALIZATION_PARAM_FIELDS)


PARSE_A_PARAM = (
    "from vcenter_guest_client.models.localization_param import LocalizationParam; "
    "assert LocalizationParam.from_dict({'s': 'x', 'd': 1.5}).d == 1.5"
)


@pytest.mark.parametrize(
    "program",
    [
        # the overlay first: its import must not load the generated models, yet patch them when they load
        "import sys, vcenter_guest; assert 'vcenter_guest_client.models' not in sys.modules; " + PARSE_A_PARAM,
        # the generated models first: importing the overlay patches them at once
        "import vcenter_guest_client.models, vcenter_guest; " + PARSE_A_PARAM,
    ],
    ids=["overlay-first", "models-first"],
)
def test_the_workarounds_apply_whichever_package_is_imported_first(program: str) -> None:
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
