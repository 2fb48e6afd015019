"""`vcenter-guest mock`: starts, prints its URL and which demo credentials to use, never a secret."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_INVENTORY

SECRETS = [DEMO_API_PASSWORD, DEMO_GUEST_PASSWORD, "svc-pass", "token-svc", "Audit!23", "Oper!23"]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from vcenter_guest.cli import main; main()", "mock", *args]


def _start(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_command(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1), lines
    proc.kill()
    pytest.fail("vcenter-guest mock did not print its URL:\n" + "".join(lines))


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return out


def test_mock_command_serves_the_demo_inventory_on_a_free_port_without_printing_secrets():
    proc, url, lines = _start("--port", "0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert not url.endswith(":0")
        response = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD), timeout=30)
        assert response.status_code == 201
    finally:
        rest = _stop(proc)
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert DEMO_API_USER in output
    assert "guest user root" in output
    assert "README" in output  # where the demo passwords are
    for vm in DEMO_INVENTORY["vms"]:
        assert vm["id"] in output
    for secret in SECRETS:
        assert secret not in output, "a demo secret was printed"
    assert "Traceback" not in output


def test_mock_command_serves_an_inventory_file(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(
        "users: [{name: ops@lab, password: 'S3cr3t-lab'}]\nvms: [{id: vm-7, programs: {/bin/true: {}}}]\n",
        encoding="utf-8",
    )
    proc, url, lines = _start("--inventory", str(path), "--port", "0", "--log-level", "warning")
    try:
        assert httpx.post(url + "/api/session", auth=("ops@lab", "S3cr3t-lab"), timeout=30).status_code == 201
    finally:
        rest = _stop(proc)
    output = "".join(lines) + rest
    assert "vm-7" in output
    assert "S3cr3t-lab" not in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users: []\nvms: [{id: vm-1, tools: ON}]\n", "vms[0].tools: must be one of"),
        ("users: [\n", "not valid YAML"),
        (None, "cannot read the inventory file"),
    ],
)
def test_mock_command_reports_a_bad_inventory_in_one_line_without_traceback(tmp_path, content, message):
    path = tmp_path / "lab.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = subprocess.run(_command("--inventory", str(path)), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_mock_command_reports_a_port_in_use_without_traceback():
    from vcenter_guest.mock._server import bind

    sock = bind("127.0.0.1", 0)
    try:
        port = str(sock.getsockname()[1])
        result = subprocess.run(_command("--port", port), capture_output=True, text=True, timeout=60, check=False)
    finally:
        sock.close()
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_mock_command_can_stand_for_the_esxi_host_on_a_second_port():
    proc, url, lines = _start("--port", "0", "--esxi-port", "0", "--log-level", "warning")
    try:
        printed = "".join(lines)
        match = re.search(r"ESXi host stand-in .* on (http://127\.0\.0\.1:\d+)", printed)
        assert match, printed
        host = match.group(1)
        assert host != url
        session = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD), timeout=30).json()
        creds = {
            "type": "USERNAME_PASSWORD",
            "interactive_session": False,
            "user_name": DEMO_GUEST_USER,
            "password": DEMO_GUEST_PASSWORD,
        }
        transfer = httpx.post(
            url + "/api/vcenter/vm/vm-42/guest/filesystem?action=create",
            json={"credentials": creds, "spec": {"path": "/etc/hostname"}},
            headers={"vmware-api-session-id": session},
            timeout=30,
        ).json()
        assert transfer.startswith(host + "/guestFile?")
        assert httpx.get(transfer, timeout=30).content == b"demo-linux\n"
    finally:
        rest = _stop(proc)
    assert proc.returncode == 0, rest


def test_mock_command_refuses_an_esxi_port_it_cannot_bind_without_traceback():
    from vcenter_guest.mock._server import bind

    sock = bind("127.0.0.1", 0)
    try:
        port = str(sock.getsockname()[1])
        result = subprocess.run(
            _command("--port", "0", "--esxi-port", port), capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        sock.close()
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("level", ["info", "debug"])
def test_mock_command_prints_its_own_log_lines_at_info_and_debug_without_secrets(level):
    proc, url, lines = _start("--port", "0", "--log-level", level)
    try:
        session = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD), timeout=30).json()
        headers = {"vmware-api-session-id": session}
        creds = {
            "type": "USERNAME_PASSWORD",
            "interactive_session": False,
            "user_name": "root",
            "password": DEMO_GUEST_PASSWORD,
        }
        created = httpx.post(
            url + "/api/vcenter/vm/vm-42/guest/processes?action=create",
            json={"credentials": creds, "spec": {"path": "/bin/true"}},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
    finally:
        rest = _stop(proc)
    output = "".join(lines) + rest
    assert f"vcenter_guest.mock: API session created for {DEMO_API_USER}" in output, output
    assert ("started /bin/true as pid" in output) == (level == "debug"), output
    for secret in [*SECRETS, session]:
        assert secret not in output
