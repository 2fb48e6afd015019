"""What the mock keeps is bounded whatever clients send: processes per VM, and the work one create costs.

A guest cannot start programs without end, and the mock cannot keep every process it ever ran:
finished processes are forgotten oldest first beyond `max_processes`, and a create beyond
`max_running_processes` running ones fails as vCenter's does when a program fails to start.
"""

from __future__ import annotations

import copy
import shlex
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest.mock import DEMO_INVENTORY, InventoryError, load_inventory
from vcenter_guest.mock._processes import WORDS_SCAN, _leading_words

START_FAILED = "com.vmware.vcenter.vm.guest.processes.start_failed"


def _inventory(**settings_: int) -> dict:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    inventory.update(settings_)
    return inventory


def test_a_create_past_the_running_limit_fails_to_start_and_one_ends_frees_a_place(make_api):
    api = make_api(_inventory(max_processes=10, max_running_processes=3))
    running = [api.create("/bin/sleep", arguments="1000") for _ in range(3)]
    response = api.op("create", spec={"path": "/bin/sleep", "arguments": "1000"})
    api.expect_error(response, 500, "UNABLE_TO_ALLOCATE_RESOURCE", START_FAILED)
    assert api.op("delete", pid=running[0]).status_code == 204
    api.create("/bin/sleep", arguments="1000")  # the terminated one no longer runs


def _finished(api, count):
    pids = []
    for _ in range(count):
        pids.append(api.create("/bin/true"))
        api.clock.advance(1)  # it has finished
    return pids


def test_finished_processes_past_the_limit_are_forgotten_oldest_first(make_api):
    api = make_api(_inventory(max_processes=8, max_running_processes=2))
    always = {p["pid"] for p in api.op("list").json()}  # the inventory's own processes (they never end)
    pids = _finished(api, 12)
    listed = {p["pid"] for p in api.op("list").json()}
    assert listed == always | set(pids[-8:])
    assert api.op("get", pid=pids[0]).status_code == 404
    assert api.op("get", pid=pids[-1]).json()["exit_code"] == 0


def test_running_processes_are_never_forgotten_for_finished_ones(make_api):
    api = make_api(_inventory(max_processes=8, max_running_processes=3))
    always = {p["pid"] for p in api.op("list").json()}  # the inventory's own processes
    long = [api.create("/bin/sleep", arguments="1000") for _ in range(2)]
    _finished(api, 10)
    listed = {p["pid"] for p in api.op("list").json()}
    assert set(long) <= listed
    assert len(listed - always) == 8


def test_the_process_a_create_just_started_is_never_the_one_forgotten(make_api):
    """The inventory's own processes (they never end) do not count towards max_processes."""
    api = make_api(_inventory(max_processes=1, max_running_processes=1))
    api.create("/bin/sleep", arguments="0")
    api.clock.advance(1)
    pid = api.create("/bin/true")
    assert api.op("get", pid=pid).status_code == 200


def test_terminating_many_processes_does_not_pile_up_bookkeeping(api):
    for _ in range(500):
        api.op("delete", pid=api.create("/bin/sleep", arguments="100000000"))
    vm = api.simulator.find_vm("vm-42")
    assert len(vm.expiries) <= 2 * len(vm.processes) + 64


def test_limits_are_checked_when_the_inventory_is_loaded():
    with pytest.raises(InventoryError, match=r"max_running_processes \(9\) exceeds max_processes \(4\)"):
        load_inventory(_inventory(max_processes=4, max_running_processes=9))
    with pytest.raises(InventoryError, match="max_processes"):
        load_inventory(_inventory(max_processes=0))


@pytest.mark.parametrize("transport", ["asgi"])
def test_memory_stays_bounded_under_many_creates_with_large_arguments(make_api):
    """1000 creates with 64 KiB arguments each (64 MiB sent) leave at most max_processes of them kept."""
    api = make_api(_inventory(max_processes=16, max_running_processes=8))
    arguments = "0 " + "x" * (64 * 1024)
    api.create("/bin/sleep", arguments="0")  # warm up: the first request loads what every request uses
    tracemalloc.start()
    try:
        for _ in range(1000):
            api.op("create", spec={"path": "/bin/sleep", "arguments": arguments})
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 16 * 1024 * 1024, f"{current / 2**20:.1f} MiB kept after 1000 creates"


# -- the words a simulated program takes, from arguments of any length ---------------------------------

_words = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8), max_size=6)


@settings(max_examples=300, derandomize=True, database=None)
@given(words=_words, count=st.integers(1, 3))
def test_the_leading_words_are_the_shells_for_any_quoted_line(words, count):
    """Property: for a line within WORDS_SCAN, the words are exactly the first `count` of shlex.split
    of the whole line; and a word running past WORDS_SCAN after them changes nothing (it is left out)."""
    line = shlex.join(words)
    assert _leading_words(line, count) == shlex.split(line)[:count]
    assert _leading_words(line + " " + "y" * (2 * WORDS_SCAN), count) == shlex.split(line)[:count]


def test_a_word_cut_at_the_scan_limit_is_left_out_and_an_unbalanced_quote_within_it_is_rejected():
    assert _leading_words("x" * (WORDS_SCAN + 10), 1) == []
    assert _leading_words("5" + " " * 2000 + "7", 1) == ["5"]  # a word followed by blanks up to the cut
    assert _leading_words("5 3" + "\t" * 1500 + "t", 2) == ["5", "3"]
    assert _leading_words("5 '" + "x" * (WORDS_SCAN + 10), 2) == ["5"]
    assert _leading_words("5 'oops", 2) is None


def test_a_megabyte_of_plain_arguments_runs_without_parsing_and_as_the_real_program_would(api):
    """Plain words go straight to the program (no parse of a megabyte); sleep checks every operand."""
    pid = api.create("/bin/sleep", arguments="0 " + "0 " * (500 * 1000))
    api.clock.advance(1)
    assert api.op("get", pid=pid).json()["exit_code"] == 0
    pid = api.create("/bin/sleep", arguments="0 " + "z" * (1000 * 1000))  # a bad operand: sleep exits 1
    api.clock.advance(1)
    assert api.op("get", pid=pid).json()["exit_code"] == 1
