"""The vAPI standard error the simulator raises, and its wire form.

The HTTP status is not stored here: the HTTP layer looks it up in the OpenAPI document
(`x-vapi-http-status` of the specific error schema), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CHALLENGE", "MAX_ARG_LENGTH", "MockError", "shown"]

CHALLENGE = 'Basic realm="vCenter"'
"""The `WWW-Authenticate` challenge of an UNAUTHENTICATED answer."""

# Arguments echo caller input (VM ids, paths); bounding them keeps a hostile 1 MiB VM id from
# coming back in every error body and log line.
MAX_ARG_LENGTH = 256


def shown(value: object) -> str:
    """Caller input as an error may echo it: cut to MAX_ARG_LENGTH characters."""
    text = str(value)
    return text if len(text) <= MAX_ARG_LENGTH else text[: MAX_ARG_LENGTH - 3] + "..."


class MockError(Exception):
    """A vAPI standard error, raised by the simulator and rendered by the HTTP layer.

    `default_message` is written with `{0}`, `{1}`... placeholders for `args`; the body sends it with
    them substituted, as VMware's LocalizableMessage does, and `args` apart. Never put a secret into
    `args` or `data`: they are sent to the client.

        >>> err = MockError("NOT_FOUND", "com.vmware.vcenter.vm.not_found",
        ...                 "The virtual machine {0} was not found.", "vm-7")
        >>> err.body()["messages"][0]["args"]
        ['vm-7']
        >>> str(err)
        'NOT_FOUND: The virtual machine vm-7 was not found.'
    """

    def __init__(
        self,
        error_type: str,
        message_id: str,
        default_message: str,
        *args: object,
        data: Mapping[str, Any] | None = None,
        challenge: str | None = None,
    ) -> None:
        self.error_type = error_type
        self.message_id = message_id
        self.default_message = default_message
        self.args_ = tuple(shown(a) for a in args)
        self.data = dict(data) if data is not None else None
        self.challenge = challenge
        super().__init__(f"{error_type}: {self.text}")

    @property
    def text(self) -> str:
        """The message with its arguments filled in."""
        return self.default_message.format(*self.args_)

    def body(self) -> dict[str, Any]:
        """The JSON body VMware's `/api` endpoint sends for this error."""
        body: dict[str, Any] = {
            "error_type": self.error_type,
            # default_message is the text with the arguments substituted, as VMware sends it; `args`
            # carries them apart for a client that localizes the message.
            "messages": [{"id": self.message_id, "default_message": self.text, "args": list(self.args_)}],
        }
        if self.data is not None:
            body["data"] = self.data
        if self.challenge is not None:
            body["challenge"] = self.challenge
        return body
