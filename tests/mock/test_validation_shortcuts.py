"""The mock's fast validator (jsonschema-rs) gives the verdict of the OpenAPI 3.0 validator on every body."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest.mock._document import Document
from vcenter_guest.operations import load_document, operations

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, width=16),
    st.sampled_from(["", "root", "vmware", "USERNAME_PASSWORD", "SAML_BEARER_TOKEN", "/bin/true"]),
)
CREDENTIAL_KEYS = st.sampled_from(["type", "interactive_session", "user_name", "password", "saml_token", "other"])
CREDENTIALS = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["USERNAME_PASSWORD", "SAML_BEARER_TOKEN", "KERBEROS"]),
            "interactive_session": SCALARS,
        },
        optional={"user_name": SCALARS, "password": SCALARS, "saml_token": SCALARS},
    ),
    st.dictionaries(CREDENTIAL_KEYS, SCALARS, max_size=6),
    st.dictionaries(CREDENTIAL_KEYS, st.lists(SCALARS, max_size=2), max_size=2),
    SCALARS,
)
SPECS = st.one_of(
    st.fixed_dictionaries({"path": SCALARS}, optional={"arguments": SCALARS, "start_minimized": SCALARS}),
    st.dictionaries(
        st.sampled_from(["path", "environment_variables"]),
        st.one_of(SCALARS, st.dictionaries(st.text(max_size=2), SCALARS, max_size=2)),
    ),
    SCALARS,
)
BODIES = st.one_of(
    st.fixed_dictionaries({"credentials": CREDENTIALS}, optional={"spec": SPECS, "extra": SCALARS}),
    st.dictionaries(st.sampled_from(["credentials", "spec"]), st.one_of(CREDENTIALS, SPECS), max_size=2),
    SCALARS,
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([op.id for op in operations().values() if op.body_schema]), BODIES),
        min_size=1,
        max_size=6,
    )
)
def test_the_fast_validator_gives_the_same_verdict_as_full_validation(calls):
    document = Document(load_document())
    for operation, body in calls:
        full = document._validators[operation]
        assert (document.body_error(operation, body) is None) == full.is_valid(body), (operation, body)


def test_true_and_one_are_different_credentials():
    document = Document(load_document())
    good = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "x"}
    assert document.body_error("processes.list", {"credentials": good}) is None
    assert document.body_error("processes.list", {"credentials": {**good, "interactive_session": 0}}) is not None
