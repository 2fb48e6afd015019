"""The values users pass in and get back follow the generated models (a spec change reaches them)."""

from __future__ import annotations

import attrs
from vcenter_guest._values import FOLLOWS, unfollowed_fields


def test_every_generated_field_is_exposed_or_withheld_with_a_reason() -> None:
    """When this fails, the document gained a field: expose it on the value it names, or withhold it
    (its `WITHHELD`, with the reason) if users must not see it as an attribute."""
    assert unfollowed_fields() == []


def test_withheld_fields_say_why() -> None:
    for value in FOLLOWS:
        for field, reason in getattr(value, "WITHHELD", {}).items():
            assert len(reason) > 20, f"{value.__name__}.{field} is withheld without a reason"


def test_the_drift_check_names_a_field_its_value_lacks() -> None:
    """The check is not vacuous: a value that lacks a field of its model is named."""

    @attrs.frozen
    class Narrow:
        path: str

    import vcenter_guest._values as values

    saved = dict(values.FOLLOWS)
    try:
        values.FOLLOWS.clear()
        values.FOLLOWS[Narrow] = ("create_spec", "CreateSpec")
        assert "Narrow.arguments" in unfollowed_fields()
        assert "Narrow.path" not in unfollowed_fields()
    finally:
        values.FOLLOWS.clear()
        values.FOLLOWS.update(saved)
