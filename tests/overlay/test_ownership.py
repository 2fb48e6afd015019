"""A directory the client writes into or deletes is proven its own: a server that answers createTemporary
with a path it did not make for this call (`/tmp`, `/`, another directory) gets no file operation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from vcenter_guest import Credentials, errors
from vcenter_guest.mock import DEMO_VM, create_app
from vcenter_guest.ownership import UnprovenDirectory, claim_prefix, prove_directory

from tests.conftest import MockServer

Answer = Callable[[dict[str, Any]], object]


class TemporaryAnswers:
    """The mock vCenter, except that Directories.createTemporary answers what `answer(body)` says
    (without making anything), and every request is recorded as (method, path?action)."""

    def __init__(self, answer: Answer) -> None:
        self.inner = create_app()
        self.state = self.inner.state
        self.answer = answer
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        query = scope["query_string"].decode()
        action = re.search(r"action=(\w+)", query)
        self.seen.append(f"{scope['method']} {scope['path'].rsplit('/', 1)[-1]}?{action.group(1) if action else ''}")
        if action is None or action.group(1) != "createTemporary":
            await self.inner(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        content = json.dumps(self.answer(json.loads(body))).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def after_create_temporary(self) -> list[str]:
        """What the client sent after its createTemporary (nothing, when it adopted nothing)."""
        index = next(i for i, seen in enumerate(self.seen) if seen.endswith("?createTemporary"))
        return [seen for seen in self.seen[index + 1 :] if not seen.startswith("DELETE session")]


def _in(parent: str) -> Answer:
    return lambda body: f"{parent}/{body['prefix']}X1y2"


# What a server with one bug answers: an existing directory, a root, a path that leaves its parent...
BAD_ANSWERS: dict[str, Answer] = {
    "the temporary directory itself": lambda body: "/tmp",
    "the root": lambda body: "/",
    "a Windows root": lambda body: "C:\\",
    "a name without the nonce asked for": lambda body: "/tmp/vcenter-guest-run-X1y2",
    "a path through ..": lambda body: f"/tmp/../etc/{body['prefix']}X1y2",
    "a trailing separator": lambda body: f"/tmp/{body['prefix']}X1y2/",
    "a relative path": lambda body: f"tmp/{body['prefix']}X1y2",
    "the name asked for in a subdirectory of it": lambda body: f"/tmp/{body['prefix']}X/inner",
    "an empty string": lambda body: "",
}


@pytest.fixture
def guest_other_file(in_process_server: MockServer, guest: Credentials) -> Callable[[], bytes]:
    """Another user's /tmp/stdout (a file a captured run would write over in /tmp), and how to read it."""
    with in_process_server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"precious\n", "/tmp/stdout")

    def read() -> bytes:
        with in_process_server.client() as vc:
            return vc.files.download(DEMO_VM, guest, "/tmp/stdout")

    return read


def _server(in_process_server: MockServer, answer: Answer) -> tuple[MockServer, TemporaryAnswers]:
    app = TemporaryAnswers(answer)
    app.inner = in_process_server.app  # the same guest as the fixture's
    app.state = app.inner.state
    return MockServer(app, in_process_server.url, "in-process", in_process_server._portal), app


@pytest.mark.parametrize("bad", list(BAD_ANSWERS))
def test_run_adopts_no_directory_it_cannot_prove_its_own_and_touches_nothing(
    bad: str, in_process_server: MockServer, guest: Credentials, guest_other_file: Callable[[], bytes]
) -> None:
    server, app = _server(in_process_server, BAD_ANSWERS[bad])
    with server.client() as vc, pytest.raises(errors.UnexpectedResponse) as caught:
        # stdin: a run whose directory the server makes (it holds stdin before the program starts)
        vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"hi")
    assert app.after_create_temporary() == [], f"the client went on in a directory it did not prove its own ({bad})"
    assert "directories.create_temporary" in str(caught.value)
    assert "is not a new directory of this run" in str(caught.value)
    assert guest_other_file() == b"precious\n"


@pytest.mark.parametrize("bad", ["the temporary directory itself", "the root", "a path through .."])
def test_async_run_and_temporary_directory_adopt_no_directory_they_cannot_prove(
    bad: str, in_process_server: MockServer, guest: Credentials, guest_other_file: Callable[[], bytes]
) -> None:
    server, app = _server(in_process_server, BAD_ANSWERS[bad])

    async def main() -> None:
        async with server.async_client() as vc:
            with pytest.raises(errors.UnexpectedResponse):
                await vc.processes.run(DEMO_VM, guest, "/bin/cat", stdin=b"hi")  # the server's directory
            with pytest.raises(errors.UnexpectedResponse):
                async with vc.files.temporary_directory(DEMO_VM, guest):
                    pytest.fail("a directory the server did not make for this call was adopted")

    anyio.run(main)
    assert [seen for seen in app.seen if "?createTemporary" not in seen and "session" not in seen] == []
    assert guest_other_file() == b"precious\n"


def test_temporary_directory_deletes_nothing_it_cannot_prove_its_own(
    in_process_server: MockServer, guest: Credentials, guest_other_file: Callable[[], bytes]
) -> None:
    server, app = _server(in_process_server, BAD_ANSWERS["the temporary directory itself"])
    with server.client() as vc, pytest.raises(errors.UnexpectedResponse), vc.files.temporary_directory(DEMO_VM, guest):
        pytest.fail("a directory the server did not make for this call was adopted")
    assert app.after_create_temporary() == []
    assert guest_other_file() == b"precious\n"


def test_a_directory_made_as_asked_is_adopted_and_removed(in_process_server: MockServer, guest: Credentials) -> None:
    with in_process_server.client() as vc:
        result = vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi")
        vc.files.mkdir(DEMO_VM, guest, "/tmp/work")
        with vc.files.temporary_directory(DEMO_VM, guest, prefix="mine-", parent="/tmp/work/") as made:
            assert made.startswith("/tmp/work/mine-")
            assert vc.files.list(DEMO_VM, guest, made) == []
    assert result.stdout == b"hi\n"


def test_the_nonce_is_fresh_for_every_directory_asked_for(in_process_server: MockServer, guest: Credentials) -> None:
    asked: list[str] = []

    def answer(body: dict[str, Any]) -> object:
        asked.append(body["prefix"])
        return "/tmp"

    server, _ = _server(in_process_server, answer)
    with server.client() as vc:
        for _ in range(2):
            with pytest.raises(errors.UnexpectedResponse):
                vc.files.mkdtemp(DEMO_VM, guest, prefix="p-")
    assert len(set(asked)) == 2
    assert all(re.fullmatch(r"p-[0-9a-f]{16}-", prefix) for prefix in asked)


@pytest.mark.parametrize(
    ("answer", "parent", "proven"),
    [
        ("/tmp/{p}abc", None, True),
        ("/tmp/{p}abc", "/tmp", True),
        ("/tmp/{p}abc", "/tmp/", True),
        ("/{p}abc", "/", True),
        ("/tmp/{p}abc", "/var/tmp", False),
        ("/tmp/x/{p}abc", "/tmp", False),
        ("C:\\Temp\\{p}abc", "c:\\temp", True),
        ("C:\\Temp\\{p}abc", "C:/Temp", True),
        ("C:\\Temp\\{p}abc", "D:\\Temp", False),
        ("C:\\Temp\\{p}abc.", None, False),
        ("C:\\Temp\\{p}abc ", None, False),
        ("C:/Temp/{p}abc", None, False),
        ("\\\\server\\share\\{p}abc", None, False),
        ("//tmp/{p}abc", None, False),
        ("/tmp/./{p}abc", None, False),
        ("/tmp/{p}abc\n", None, False),
        ("/tmp/{p}", None, True),  # a server may add nothing random: the nonce is ours alone
        ("/tmp/{p}a\x00b", None, False),
    ],
)
def test_prove_directory_accepts_only_a_normalised_new_name_directly_in_its_parent(
    answer: str, parent: str | None, proven: bool
) -> None:
    prefix = claim_prefix("run-")
    path = answer.format(p=prefix)
    if proven:
        assert prove_directory(path, prefix=prefix, parent=parent) == path
    else:
        with pytest.raises(UnprovenDirectory):
            prove_directory(path, prefix=prefix, parent=parent)
