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


INT64_EDGES = st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64])
TIMES = st.sampled_from(
    ["2020-01-02T03:04:05Z", "2020-01-02T03:04:05.123+01:00", "2020-13-01T00:00:00Z", "yesterday", ""]
)
FILE_VALUES = st.one_of(SCALARS, INT64_EDGES, TIMES)
ATTRIBUTES = st.fixed_dictionaries(
    {},
    optional={
        "size": FILE_VALUES,
        "overwrite": FILE_VALUES,
        "last_modified": FILE_VALUES,
        "last_accessed": FILE_VALUES,
        "posix": st.fixed_dictionaries({}, optional={"owner_id": FILE_VALUES, "permissions": FILE_VALUES}),
        "windows": st.fixed_dictionaries({}, optional={"hidden": FILE_VALUES}),
    },
)
FILE_BODIES = st.fixed_dictionaries(
    {"credentials": CREDENTIALS},
    optional={
        "path": FILE_VALUES,
        "new_path": FILE_VALUES,
        "prefix": FILE_VALUES,
        "suffix": FILE_VALUES,
        "iteration": st.fixed_dictionaries({}, optional={"size": FILE_VALUES, "index": FILE_VALUES}),
        "filter": st.fixed_dictionaries({}, optional={"match_pattern": FILE_VALUES}),
        "file_attributes": ATTRIBUTES,
        "spec": st.fixed_dictionaries({"path": FILE_VALUES}, optional={"attributes": ATTRIBUTES}),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([op.id for op in operations().values() if op.body_schema]), FILE_BODIES)
def test_the_fast_validator_agrees_on_int64_bounds_and_date_times(operation, body):
    """Property: on bodies with integers at the int64 edges and date-times, both validators agree."""
    document = _DOCUMENT
    full = document._validators[operation]
    assert (document.body_error(operation, body) is None) == full.is_valid(body), (operation, body)


def test_an_integer_beyond_int64_is_invalid():
    creds = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "x"}
    body = {"credentials": creds, "path": "/tmp", "iteration": {"size": 2**63}}
    assert _DOCUMENT.body_error("files.list", body) is not None
    assert _DOCUMENT.body_error("files.list", {**body, "iteration": {"size": 2**63 - 1}}) is None


_DOCUMENT = Document(load_document())


def test_true_and_one_are_different_credentials():
    document = Document(load_document())
    good = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "x"}
    assert document.body_error("processes.list", {"credentials": good}) is None
    assert document.body_error("processes.list", {"credentials": {**good, "interactive_session": 0}}) is not None
