"""Inventory files: the documented format loads; every mistake is one clear InventoryError line."""

from __future__ import annotations

import math
import textwrap

import pytest
from vcenter_guest.mock import DEMO_INVENTORY, InventoryError, load_inventory

README_EXAMPLE = textwrap.dedent(
    """
    users:
      - name: administrator@vsphere.local
        password: "Admin!23"
        privileges: [VirtualMachine.GuestOperations.Execute, VirtualMachine.GuestOperations.Query]
    vms:
      - id: vm-42
        power_state: POWERED_ON
        tools: RUNNING
        guest_os_family: LINUX
        busy: false
        guest_users:
          - {name: root, password: vmware}
          - {name: svc, saml_token: "token-svc"}
        directories: [/root, /tmp]
        programs:
          /bin/true:  {}
          /bin/false: {exit_code: 1}
          /bin/sleep: {duration: 5}
          /opt/app/stuck: {duration: .inf, ignores_term: true}
          /opt/app/broken: {fails_to_start: true}
          /root/secret.sh: {allowed_users: [root]}
    session_idle_timeout: 1800
    process_retention: 300
    faults:
      seed: 7
      latency_ms: 0
      rules:
        - {operation: processes.create, error_type: SERVICE_UNAVAILABLE, rate: 0.1}
    """
)


def test_the_issue_example_loads(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(README_EXAMPLE, encoding="utf-8")
    inventory = load_inventory(path)
    vm = inventory.vms["vm-42"]
    assert math.isinf(vm.programs["/opt/app/stuck"].duration)
    assert vm.programs["/root/secret.sh"].allowed_users == {"root"}
    assert inventory.faults.rules[0].rate == 0.1


def test_the_readme_inventory_example_loads(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Mock vCenter server", 1)[1]
    example = section.split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "inventory.yaml"
    path.write_text(example, encoding="utf-8")
    assert load_inventory(path).vms


def test_the_demo_inventory_loads():
    assert "vm-42" in load_inventory(DEMO_INVENTORY).vms


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vms": [{"id": "vm-1", "power_state": "ON"}]}, "vms[0].power_state: must be one of POWERED_ON"),
        ({"vms": [{"id": "vm-1", "tools": "running"}]}, "vms[0].tools: must be one of"),
        ({"vms": [{"id": "vm-1"}, {"id": "vm-1"}]}, "vms[1]: duplicate VM id 'vm-1'"),
        ({"vms": [{"name": "no id"}]}, "vms[0]: missing required key id"),
        ({"vms": [{"id": "vm-1", "colour": "red"}]}, "vms[0]: unknown key 'colour'"),
        (
            {"vms": [{"id": "vm-1", "guest_users": [{"name": "x"}]}]},
            "vms[0].guest_users[0]: needs a password or a saml_token",
        ),
        (
            {"vms": [{"id": "vm-1", "programs": {"/a": {"exit_code": "one"}}}]},
            "vms[0].programs./a.exit_code: must be of type integer",
        ),
        ({"vms": [{"id": "vm-1", "programs": {"/a": {"allowed_users": ["ghost"]}}}]}, "unknown guest user 'ghost'"),
        (
            {"vms": [{"id": "vm-1", "programs": {"/a": {"duration": -1}}}]},
            "programs./a.duration: must satisfy minimum 0",
        ),
        ({"users": [{"name": "a"}]}, "users[0]: missing required key password"),
        ({"users": [{"name": "a", "password": "p"}, {"name": "a", "password": "q"}]}, "users[1]: duplicate user 'a'"),
        ({"process_retention": -5}, "process_retention: must satisfy minimum 0"),
        (
            {"faults": {"rules": [{"operation": "reboot", "error_type": "ERROR"}]}},
            "faults.rules[0].operation: must be one of",
        ),
        (
            {"faults": {"rules": [{"operation": "processes.list", "error_type": "UNABLE_TO_ALLOCATE_RESOURCE"}]}},
            "faults.rules[0].error_type: processes.list cannot raise UNABLE_TO_ALLOCATE_RESOURCE",
        ),
        (
            {"faults": {"rules": [{"operation": "processes.create", "error_type": "SERVICE_UNAVAILABLE", "rate": 2}]}},
            "rate: must satisfy maximum 1",
        ),
    ],
)
def test_invalid_inventory_is_rejected_with_a_message_naming_the_key(change, message):
    raw = {"users": [], "vms": [], **change}
    with pytest.raises(InventoryError) as excinfo:
        load_inventory(raw)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_inventory_errors_never_print_the_offending_value():
    raw = {"users": [{"name": "a", "password": 31415926535}], "vms": []}
    with pytest.raises(InventoryError) as excinfo:
        load_inventory(raw)
    assert "31415926535" not in str(excinfo.value)
    assert "users[0].password: must be of type string" in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: [\n  - name: a\n vms", "not valid YAML at line"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
        ("users: []\nvms: []\nextra: 1\n", "unknown key 'extra'"),
    ],
)
def test_bad_inventory_file_is_rejected_with_its_path(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as excinfo:
        load_inventory(path)
    assert str(excinfo.value).startswith(str(path))
    assert message in str(excinfo.value)


def test_missing_inventory_file_is_an_inventory_error(tmp_path):
    with pytest.raises(InventoryError, match="cannot read the inventory file"):
        load_inventory(tmp_path / "nope.yaml")
