"""Mock bugs that schemathesis found (tests/property), pinned here so they stay fixed."""

from __future__ import annotations

from typing import Any


def test_vm_id_with_a_newline_gets_the_apis_json_not_found(make_api: Any) -> None:
    """A path parameter holding %0A matched no Starlette route: the answer was a text/plain 404."""
    api = make_api()
    response = api.op("create", vm="%5D%0A", spec={"path": "/bin/true"})
    api.expect_error(response, 404, "NOT_FOUND", "com.vmware.vcenter.vm.not_found", args=["]\n"])
