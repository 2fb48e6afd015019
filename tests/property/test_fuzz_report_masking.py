"""The fuzz command's report files are masked as its other output is: a field named like a secret is
masked whatever its value, and a known secret is masked inside the NDJSON report's base64 payloads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

from vcenter_guest.fuzz._secrets import REDACTED, SecretFilter


def _payload(text: str) -> dict[str, str]:
    return {"$base64": base64.b64encode(text.encode()).decode("ascii")}


@pytest.mark.parametrize("suffix", [".ndjson", ".har", ".json"])
def test_a_report_field_named_like_a_secret_is_masked_whatever_its_value(tmp_path: Path, suffix: str) -> None:
    # "never-told" is no secret the filter knows: only the field's name says it is one.
    event = {"request": {"body": {"credentials": {"user_name": "root", "password": "never-told-1"}}}}
    report = tmp_path / f"events{suffix}"
    report.write_text(json.dumps(event) + "\n", encoding="utf-8")
    SecretFilter().file(report)
    text = report.read_text(encoding="utf-8")
    assert "never-told-1" not in text
    assert json.loads(text.splitlines()[0] if suffix == ".ndjson" else text)["request"]["body"]["credentials"] == {
        "user_name": "root",
        "password": REDACTED,
    }


def test_a_known_secret_inside_an_ndjson_payload_is_masked_and_the_payload_stays_base64(tmp_path: Path) -> None:
    report = tmp_path / "events.ndjson"
    report.write_text(json.dumps({"response": {"body": _payload("session s3cr3t-session-id ok")}}) + "\n")
    SecretFilter(["s3cr3t-session-id"]).file(report)
    body = json.loads(report.read_text())["response"]["body"]
    assert base64.b64decode(body["$base64"]).decode() == f"session {REDACTED} ok"
