"""The engine makes the session calls its client hands it (it loads no wire, no generated code itself),
and loads them only when it first needs one."""

from __future__ import annotations

from typing import Any

import httpx
from vcenter_guest._engine import Call, Engine, Renew, Send
from vcenter_guest.operations import operations


class Handed:
    """Session calls of a test's own: they record which were made, and read their answers plainly."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def _call(self, op_id: str, parse: Any) -> Call[Any]:
        self.made.append(op_id)
        return Call(operations()[op_id], lambda: {"method": "post", "url": "/api/session"}, parse)

    def session_create(self) -> Call[str]:
        return self._call("session.create", lambda response, call: "handed-" + response.json())

    def session_get(self) -> Call[bool]:
        return self._call("session.get", lambda response, call: response.status_code == 200)

    def session_delete(self) -> Call[None]:
        return self._call("session.delete", lambda response, call: None)


def _run(plan: Any, answer: httpx.Response) -> Any:
    reply: Any = None
    while True:
        try:
            effect = plan.send(reply)
        except StopIteration as stop:
            return stop.value
        assert isinstance(effect, Send | Renew)
        reply = answer


def test_login_makes_the_session_call_the_client_handed_in_and_loads_it_once() -> None:
    handed = Handed()
    loads: list[int] = []

    def load() -> Handed:
        loads.append(1)
        return handed

    engine = Engine("http://vc.test", user="u", password="p", session_id=None, sessions=load)
    assert loads == []  # nothing is loaded before the first session call
    assert _run(engine.login(), httpx.Response(201, json="s-1")) == "handed-s-1"
    assert engine.session_id == "handed-s-1"
    assert _run(engine.session_alive(), httpx.Response(200, json={})) is True
    assert handed.made == ["session.create", "session.get"]
    assert loads == [1]
