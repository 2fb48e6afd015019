"""A very short secret is kept out of messages without destroying them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from vcenter_guest import Credentials, errors
from vcenter_guest.mock import DEMO_VM
from vcenter_guest.redaction import REDACTED, Redactor

from tests.conftest import MockServer


def test_a_one_letter_password_leaves_messages_readable(
    make_server: Callable[..., MockServer], demo_inventory: dict[str, Any]
) -> None:
    demo_inventory["users"].append({"name": "p@vsphere.local", "password": "p"})
    server = make_server(demo_inventory)
    with server.client(user="p@vsphere.local", password="p") as vc, pytest.raises(errors.NotFound) as caught:
        vc.processes.get(DEMO_VM, Credentials.password("root", "vmware"), 999_999)
    assert "process" in str(caught.value)
    assert REDACTED not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "text", "scrubbed"),
    [
        ("p", "unexpected response", "unexpected response"),
        ("p", "password p rejected", f"password {REDACTED} rejected"),
        ("p", "p", REDACTED),
        ("p", "user root:p@host", f"user root:{REDACTED}@host"),
        ("p!", "bad password p!, try again", f"bad password {REDACTED}, try again"),
        ("abc", "xabcx abc", f"xabcx {REDACTED}"),
        ("hunter2!", "xhunter2!x", f"x{REDACTED}x"),  # long enough to be replaced wherever it stands
    ],
)
def test_a_short_secret_is_redacted_where_it_stands_alone_and_a_long_one_everywhere(
    secret: str, text: str, scrubbed: str
) -> None:
    assert Redactor([secret]).scrub(text) == scrubbed
