"""An SDK client left to the garbage collector never stalls the mock (issue 30: the interop run that hung).

`VsphereClient.__del__` logs out with a blocking HTTPS call without a time-out, and the cyclic garbage
collector runs it in whichever thread triggers a collection. When that was the thread serving the mock,
the mock waited for itself, for ever (`_tls_mock.py` tells the story). The interleaving is made here on
purpose: a client left in a reference cycle, and a collection on the mock's serving side. And a client
whose login failed is finalized at once, without the recursion its half-built state makes.
"""

from __future__ import annotations

import gc
import sys
import weakref
from typing import Any

import pytest
from com.vmware.vapi.std import errors_client as std
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER
from vmware.vapi.vsphere.client import create_vsphere_client


def test_a_client_left_in_a_cycle_is_logged_out_by_the_collector_without_stalling_the_mock(sdk_mock: Any) -> None:
    client = create_vsphere_client(sdk_mock.server, DEMO_API_USER, DEMO_API_PASSWORD, session=sdk_mock.http())
    session_id = client.get_session_id()
    alive = weakref.ref(client)
    gc.disable()  # no collection but the ones this test asks for, wherever they happen
    try:
        cycle: list[Any] = [client]
        cycle.append(cycle)  # as a caught exception's traceback holds a test's frame and its client
        del client, cycle
        sdk_mock.collect_garbage_where_it_serves()
        # Bounded, unlike the SDK's own calls: a mock that stalls fails this test, it does not hang it.
        answer = sdk_mock.http().get(f"https://{sdk_mock.server}/api/vcenter/vm", timeout=15)
        assert answer.status_code == 401  # it answers (no session: UNAUTHENTICATED)
    finally:
        gc.enable()
    gc.collect()  # here, in the test's thread: the finalizer logs the client out, against the mock
    assert alive() is None
    with pytest.raises(std.Unauthenticated):
        create_vsphere_client(sdk_mock.server, session_id=session_id, session=sdk_mock.http()).vcenter.VM.list()


def test_the_client_a_failed_login_leaves_half_built_is_finalized_without_recursing(failed_login: Any) -> None:
    """`VsphereClient.__init__` that raises leaves a client whose `__del__` recurses through
    `ApiClient.__getattr__` to the recursion limit; deep in a stack, that aborted the interpreter."""
    from vmware.vapi.bindings.stub import ApiClient

    lookups = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal lookups
        if event == "call" and frame.f_code is ApiClient.__getattr__.__code__:
            lookups += 1

    sys.setprofile(count)
    try:
        error = failed_login(DEMO_API_USER, "wrong")
        gc.collect()
    finally:
        sys.setprofile(None)
    assert isinstance(error, std.Unauthenticated)
    assert lookups <= 2, f"the finalizer recursed: {lookups} lookups through ApiClient.__getattr__"
