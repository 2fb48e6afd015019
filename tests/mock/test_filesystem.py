"""The mock's guest filesystem API and its data plane, as a user of Transfers, Files and Directories meets them.

Every response is also checked against the document by the `api` fixture (status, media type, body).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_INVENTORY, NODE_OVERHEAD, serve

from .conftest import CREDS, SVC_CREDS, Api

FNF = "com.vmware.vcenter.vm.guest.filesystem.file_not_found"
DENIED = "com.vmware.vcenter.vm.guest.filesystem.access_denied"
WIN_CREDS = {**CREDS, "user_name": "Administrator", "password": "vmware"}


def _details(reason: str, path: str) -> dict[str, str]:
    return {"reason": reason, "file_path": path}


def test_upload_then_download_gives_back_the_bytes_and_their_attributes(api: Api) -> None:
    data = bytes(range(256)) * 40
    api.upload("/tmp/blob.bin", data, posix={"permissions": "640"})
    assert api.download("/tmp/blob.bin") == data
    info = api.fs("/files//tmp/blob.bin?action=get").json()
    assert info["type"] == "FILE"
    assert info["size"] == len(data)
    assert info["attributes"]["filesystem_family"] == "POSIX"
    assert info["attributes"]["posix_attributes"] == {"owner": 0, "group": 0, "permissions": "640"}


def test_a_transfer_url_serves_one_successful_request(api: Api) -> None:
    url = api.transfer("/tmp/once.txt", size=3)
    assert api.request("GET", url).status_code == 400  # an upload URL wants PUT; not used up
    assert api.request("PUT", url, content=b"ab").status_code == 400  # short: not used up either
    assert api.request("PUT", url, content=b"abc").status_code == 200
    again = api.request("PUT", url, content=b"abc")
    assert again.status_code == 404
    assert "already used" in again.text


def test_a_wrong_token_is_refused_like_an_unknown_transfer(api: Api) -> None:
    url = api.transfer("/etc/hostname")
    assert api.request("GET", url[:-2] + "xx").status_code == 404
    assert api.request("GET", "/guestFile?id=999999&token=x").status_code == 404
    assert api.request("GET", "/guestFile").status_code == 404
    assert api.request("GET", url).content == b"demo-linux\n"  # the failed tries did not use it up


def test_a_transfer_expires_after_ten_minutes(api: Api) -> None:
    url = api.transfer("/etc/hostname")
    api.clock.advance(600)
    assert api.request("GET", url).status_code == 404


def test_a_power_change_ends_open_transfers(api: Api) -> None:
    url = api.transfer("/etc/hostname")
    api.simulator.update_vm("vm-42", power_state="SUSPENDED")
    api.simulator.update_vm("vm-42", power_state="POWERED_ON")
    assert api.request("GET", url).status_code == 404


def test_an_upload_longer_than_declared_is_refused_and_writes_nothing(api: Api) -> None:
    url = api.transfer("/tmp/long.txt", size=2)
    assert api.request("PUT", url, content=b"abc").status_code == 400
    api.expect_error(
        api.fs("/files//tmp/long.txt?action=get"),
        404,
        "NOT_FOUND",
        FNF,
        data=_details("FILE_NOT_FOUND", "/tmp/long.txt"),
    )


def test_an_existing_file_is_replaced_only_with_overwrite(api: Api) -> None:
    api.upload("/tmp/a.txt", b"one", posix={"permissions": "600"})
    response = api.fs("?action=create", spec={"path": "/tmp/a.txt", "attributes": {"size": 3}})
    api.expect_error(response, 400, "ALREADY_EXISTS", "com.vmware.vcenter.vm.guest.filesystem.already_exists")
    api.upload("/tmp/a.txt", b"two!", overwrite=True)
    assert api.download("/tmp/a.txt") == b"two!"
    # The old attributes are dropped: the default permissions again.
    assert api.fs("/files//tmp/a.txt?action=get").json()["attributes"]["posix_attributes"]["permissions"] == "644"


def test_a_file_that_appears_after_create_stops_an_upload_without_overwrite(api: Api) -> None:
    url = api.transfer("/tmp/race.txt", size=1)
    api.upload("/tmp/race.txt", b"x")
    assert api.request("PUT", url, content=b"y").status_code == 409
    assert api.download("/tmp/race.txt") == b"x"


def test_an_upload_beyond_the_free_space_is_unable_to_allocate(make_api: Any) -> None:
    # A file costs its bytes and NODE_OVERHEAD (the mock's memory per entry).
    vm = {**DEMO_INVENTORY["vms"][0], "disk_bytes": 100 + NODE_OVERHEAD}
    api: Api = make_api({**DEMO_INVENTORY, "vms": [vm]})
    api.upload("/tmp/fits", b"x" * 100)
    response = api.fs("?action=create", spec={"path": "/tmp/more", "attributes": {"size": 1}})
    api.expect_error(
        response, 500, "UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.vcenter.vm.guest.filesystem.no_disk_space"
    )
    api.fs("/files//tmp/fits?action=delete")
    api.upload("/tmp/more", b"y" * 100)  # deleting gave the space back


@pytest.mark.parametrize(
    ("route", "body", "path"),
    [
        ("/files//root/secret?action=get", {}, "/root/secret"),
        ("/files?action=list", {"path": "/root"}, "/root"),
        ("/directories?action=create", {"path": "/etc/svc"}, "/etc/svc"),
        ("/files?action=createTemporary", {"prefix": "a", "suffix": "", "parent_path": "/etc"}, "/etc"),
    ],
)
def test_a_guest_user_may_not_touch_what_is_not_its_own(api: Api, route: str, body: dict[str, Any], path: str) -> None:
    api.expect_error(api.fs(route, creds=SVC_CREDS, **body), 403, "UNAUTHORIZED", DENIED, args=[path])


def test_a_guest_user_cannot_download_root_files_nor_remove_others_files_in_tmp(api: Api) -> None:
    response = api.fs("?action=create", creds=SVC_CREDS, spec={"path": "/root/secret"})
    api.expect_error(response, 403, "UNAUTHORIZED", DENIED)
    api.upload("/tmp/roots.txt", b"r")
    # /tmp is world-writable but sticky: svc may not delete root's file there.
    api.expect_error(api.fs("/files//tmp/roots.txt?action=delete", creds=SVC_CREDS), 403, "UNAUTHORIZED", DENIED)
    api.upload("/tmp/svc.txt", b"s", creds=SVC_CREDS)
    api.upload("/home/svc/own.txt", b"s", creds=SVC_CREDS)
    info = api.fs("/files//tmp/svc.txt?action=get").json()["attributes"]["posix_attributes"]
    assert (info["owner"], info["group"]) == (1000, 1000)
    assert api.fs("/files//tmp/svc.txt?action=delete", creds=SVC_CREDS).status_code == 204


@pytest.mark.parametrize("encoded", ["/files//tmp/a%20b%5Cc.txt", "/files/%2Ftmp%2Fa%20b%5Cc.txt"])
def test_the_path_of_get_may_be_raw_or_percent_encoded(api: Api, encoded: str) -> None:
    api.upload("/tmp/a b\\c.txt", b"x")
    assert api.fs(encoded + "?action=get").json()["size"] == 1


def test_get_describes_a_symbolic_link_without_following_it(api: Api) -> None:
    info = api.fs("/files//bin?action=get").json()
    assert info["type"] == "SYMLINK"
    assert info["attributes"]["symlink_target"] == "usr/bin"
    assert api.fs("/files//bin/true?action=get").json()["type"] == "FILE"


def test_list_pages_through_a_directory_in_creation_order(api: Api) -> None:
    api.fs("/directories?action=create", path="/tmp/many")
    names = [f"f{i}.txt" for i in range(7)]
    for name in names:
        api.upload(f"/tmp/many/{name}", name.encode())
    seen: list[str] = []
    index = 0
    while True:
        page = api.fs("/files?action=list", path="/tmp/many", iteration={"size": 3, "index": index}).json()
        assert page["total"] == 7
        seen += [f["filename"] for f in page["files"]]
        assert page["start_index"] == index
        assert page["end_index"] == index + len(page["files"]) - 1
        if page["status"] == "END_OF_DATA":
            break
        index = page["end_index"] + 1
    assert seen == names
    beyond = api.fs("/files?action=list", path="/tmp/many", iteration={"index": 7}).json()
    assert beyond == {"files": [], "total": 7, "status": "END_OF_DATA"}


def test_list_filters_names_with_a_regular_expression(api: Api) -> None:
    api.fs("/directories?action=create", path="/tmp/mixed")
    for name in ("a.log", "b.txt", "c.log"):
        api.upload(f"/tmp/mixed/{name}", b"")
    page = api.fs("/files?action=list", path="/tmp/mixed", filter={"match_pattern": r"\.log$"}).json()
    assert [f["filename"] for f in page["files"]] == ["a.log", "c.log"]
    bad = api.fs("/files?action=list", path="/tmp/mixed", filter={"match_pattern": "("})
    api.expect_error(bad, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.invalid_pattern")


def test_list_of_a_file_is_that_file(api: Api) -> None:
    page = api.fs("/files?action=list", path="/etc/hostname").json()
    assert page["files"] == [{"filename": "hostname", "type": "FILE", "size": len("demo-linux\n")}]


def test_temporary_files_and_directories_are_private_and_unpredictable(api: Api) -> None:
    first = api.fs("/files?action=createTemporary", prefix="run-", suffix=".out").json()
    second = api.fs("/files?action=createTemporary", prefix="run-", suffix=".out").json()
    assert first != second
    assert first.startswith("/tmp/run-")
    assert first.endswith(".out")
    info = api.fs(f"/files/{first}?action=get").json()
    assert (info["size"], info["attributes"]["posix_attributes"]["permissions"]) == (0, "600")
    directory = api.fs("/directories?action=createTemporary", prefix="d", suffix="", parent_path="/root").json()
    assert directory.startswith("/root/d")
    assert api.fs(f"/files/{directory}?action=get").json()["attributes"]["posix_attributes"]["permissions"] == "700"


def test_a_temporary_name_cannot_escape_its_directory(api: Api) -> None:
    response = api.fs("/files?action=createTemporary", prefix="../etc/", suffix="")
    api.expect_error(response, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.invalid_name_part")


def test_directories_follow_mkdir_and_rmdir(api: Api) -> None:
    missing = api.fs("/directories?action=create", path="/tmp/x/y")
    api.expect_error(missing, 404, "NOT_FOUND", FNF, data=_details("FILE_NOT_FOUND", "/tmp/x/y"))
    assert api.fs("/directories?action=create", path="/tmp/x/y", create_parents=True).status_code == 204
    exists = api.fs("/directories?action=create", path="/tmp/x")
    api.expect_error(exists, 400, "ALREADY_EXISTS", "com.vmware.vcenter.vm.guest.filesystem.already_exists")
    busy = api.fs("/directories?action=delete", path="/tmp/x")
    api.expect_error(busy, 400, "RESOURCE_IN_USE", "com.vmware.vcenter.vm.guest.filesystem.directory_not_empty")
    into_itself = api.fs("/directories?action=move", path="/tmp/x", new_path="/tmp/x/y/z")
    api.expect_error(into_itself, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.move_into_itself")
    assert api.fs("/directories?action=move", path="/tmp/x", new_path="/tmp/w").status_code == 204
    assert api.fs("/files?action=list", path="/tmp/w").json()["files"][0]["filename"] == "y"
    assert api.fs("/directories?action=delete", path="/tmp/w", recursive=True).status_code == 204
    gone = api.fs("/files//tmp/w?action=get")
    api.expect_error(gone, 404, "NOT_FOUND", FNF, data=_details("FILE_NOT_FOUND", "/tmp/w"))


def test_files_move_takes_files_only_and_overwrites_only_when_asked(api: Api) -> None:
    api.upload("/tmp/m1", b"1")
    api.upload("/tmp/m2", b"2")
    taken = api.fs("/files?action=move", path="/tmp/m1", new_path="/tmp/m2")
    api.expect_error(taken, 400, "ALREADY_EXISTS", "com.vmware.vcenter.vm.guest.filesystem.already_exists")
    assert api.fs("/files?action=move", path="/tmp/m1", new_path="/tmp/m2", overwrite=True).status_code == 204
    assert api.download("/tmp/m2") == b"1"
    directory = api.fs("/files?action=move", path="/tmp", new_path="/tmp2")
    api.expect_error(
        directory, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.not_a_file",
        data=_details("NOT_A_FILE", "/tmp"),
    )  # fmt: skip
    no_parent = api.fs("/files?action=move", path="/tmp/m2", new_path="/nowhere/m2")
    api.expect_error(no_parent, 404, "NOT_FOUND", FNF, data=_details("FILE_NOT_FOUND", "/nowhere/m2"))


def test_update_changes_permissions_and_times_of_the_guest_family_only(api: Api) -> None:
    api.upload("/tmp/u", b"u")
    change = {"posix": {"permissions": "755"}, "last_modified": "2020-01-02T03:04:05.000Z"}
    assert api.fs("/files?action=update", path="/tmp/u", file_attributes=change).status_code == 204
    attributes = api.fs("/files//tmp/u?action=get").json()["attributes"]
    assert attributes["posix_attributes"]["permissions"] == "755"
    assert attributes["last_modified"] == "2020-01-02T03:04:05.000Z"
    windows = api.fs("/files?action=update", path="/tmp/u", file_attributes={"windows": {"hidden": True}})
    api.expect_error(windows, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.attributes_mismatch")
    chown = api.fs(
        "/files?action=update", creds=SVC_CREDS, path="/tmp/u", file_attributes={"posix": {"owner_id": 1000}}
    )
    api.expect_error(chown, 403, "UNAUTHORIZED", DENIED)


def test_a_path_longer_than_the_guest_allows_is_path_too_long(api: Api) -> None:
    long_name = "/tmp/" + "n" * 256  # one component over NAME_MAX
    response = api.fs("/files?action=list", path=long_name)
    # The path comes back cut to 256 characters: an error never echoes a megabyte of input.
    api.expect_error(
        response, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.filesystem.path_too_long",
        data=_details("PATH_TOO_LONG", long_name[:253] + "..."),
    )  # fmt: skip
    deep = "/tmp" + "/d" * 2048  # 4100 bytes: over PATH_MAX
    api.expect_error(
        api.fs("/files?action=list", path=deep),
        400,
        "INVALID_ARGUMENT",
        "com.vmware.vcenter.vm.guest.filesystem.path_too_long",
        data=_details("PATH_TOO_LONG", deep[:253] + "..."),
    )


def test_windows_names_are_case_insensitive_and_keep_their_spelling(api: Api) -> None:
    api.upload("C:\\Users\\Administrator\\Report.TXT", b"w", vm="vm-43", creds=WIN_CREDS)
    assert api.download("c:/users/administrator/report.txt", vm="vm-43", creds=WIN_CREDS) == b"w"
    page = api.fs("/files?action=list", vm="vm-43", creds=WIN_CREDS, path="C:\\Users\\Administrator").json()
    assert "Report.TXT" in [f["filename"] for f in page["files"]]
    info = api.fs("/files/C:%5CUsers%5CAdministrator%5CReport.TXT?action=get", vm="vm-43", creds=WIN_CREDS).json()
    assert info["attributes"]["filesystem_family"] == "WINDOWS"
    assert set(info["attributes"]["win_attributes"]) == {"hidden", "read_only", "created"}
    temporary = api.fs("/files?action=createTemporary", vm="vm-43", creds=WIN_CREDS, prefix="t", suffix=".tmp").json()
    assert temporary.lower().startswith("c:\\users\\administrator\\appdata\\local\\temp\\t")


def test_a_program_is_a_file_of_the_guest(api: Api) -> None:
    """Programs run from where the file system has them: through links, and after a move."""
    assert api.op("get", pid=api.create("/usr/bin/true")).json()["name"] == "true"
    api.fs("/files?action=move", path="/opt/app/exit", new_path="/tmp/exit")
    pid = api.create("/tmp/exit", arguments="3")
    api.clock.advance(1)
    assert api.op("get", pid=pid).json()["exit_code"] == 3
    moved = api.op("create", spec={"path": "/opt/app/exit"})
    assert moved.status_code == 404


def test_a_file_that_is_not_executable_starts_and_exits_126(api: Api) -> None:
    api.upload("/tmp/data.txt", b"not a program")
    pid = api.create("/tmp/data.txt")
    api.clock.advance(1)
    assert api.op("get", pid=pid).json()["exit_code"] == 126


def test_a_directory_made_through_the_api_can_be_the_working_directory(api: Api) -> None:
    api.fs("/directories?action=create", path="/tmp/work")
    assert api.create("/bin/true", working_directory="/tmp/work") > 0


def _slow_boot(ready_after: float) -> dict[str, Any]:
    return {**DEMO_INVENTORY, "vms": [{**DEMO_INVENTORY["vms"][0], "ready_after": ready_after}]}


def test_a_booting_guest_is_not_ready_until_ready_after(make_api: Any) -> None:
    api: Api = make_api(_slow_boot(30))
    api.login()
    readiness = api.request("GET", "/api/vcenter/vm/vm-42/guest/operations", headers=api.headers())
    assert readiness.json() == {"guest_operations_ready": False, "interactive_guest_operations_ready": False}
    api.expect_error(
        api.op("create", spec={"path": "/bin/true"}),
        503, "SERVICE_UNAVAILABLE", "com.vmware.vcenter.vm.guest.agent_unreachable",
    )  # fmt: skip
    api.clock.advance(30)
    readiness = api.request("GET", "/api/vcenter/vm/vm-42/guest/operations", headers=api.headers())
    assert readiness.json()["guest_operations_ready"] is True
    api.simulator.update_vm("vm-42", power_state="POWERED_OFF")
    api.simulator.update_vm("vm-42", power_state="POWERED_ON")
    readiness = api.request("GET", "/api/vcenter/vm/vm-42/guest/operations", headers=api.headers())
    assert readiness.json()["guest_operations_ready"] is False  # a new boot: not ready again


def test_readiness_of_an_unknown_vm_is_not_found(api: Api) -> None:
    api.login()
    response = api.request("GET", "/api/vcenter/vm/vm-404/guest/operations", headers=api.headers())
    api.expect_error(response, 404, "NOT_FOUND", "com.vmware.vcenter.vm.not_found")


def test_vm_list_filters_by_every_field_at_once(api: Api) -> None:
    api.login()
    everything = api.request("GET", "/api/vcenter/vm", headers=api.headers()).json()
    assert {v["vm"] for v in everything} == {v["id"] for v in DEMO_INVENTORY["vms"]}
    query = "?power_states=POWERED_ON&names=demo-linux&names=demo-windows&names=demo-busy"
    found = api.request("GET", "/api/vcenter/vm" + query, headers=api.headers()).json()
    assert sorted(v["name"] for v in found) == ["demo-busy", "demo-linux", "demo-windows"]
    none = api.request("GET", "/api/vcenter/vm?names=demo-linux&power_states=POWERED_OFF", headers=api.headers())
    assert none.json() == []


def test_vm_list_refuses_an_unknown_power_state(api: Api) -> None:
    api.login()
    response = api.request("GET", "/api/vcenter/vm?power_states=ON", headers=api.headers())
    api.expect_error(response, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.list.invalid_power_state")


def test_vm_list_refuses_more_than_4000_matches(make_api: Any) -> None:
    inventory = {"users": DEMO_INVENTORY["users"], "vms": [{"id": f"vm-{i}"} for i in range(4001)]}
    api: Api = make_api(inventory)
    api.login()
    response = api.request("GET", "/api/vcenter/vm", headers=api.headers())
    api.expect_error(response, 500, "UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.vcenter.vm.list.limit_exceeded")
    narrowed = api.request("GET", "/api/vcenter/vm?vms=vm-1&vms=vm-2", headers=api.headers())
    assert [v["vm"] for v in narrowed.json()] == ["vm-1", "vm-2"]


def test_a_large_file_streams_through_unchanged(api: Api) -> None:
    data = bytes(range(256)) * (12 * 4096)  # 12 MiB: several chunks each way
    api.upload("/tmp/big.bin", data)
    assert api.download("/tmp/big.bin") == data


def test_an_upload_in_pieces_of_every_size_is_kept_whole_and_programs_read_and_append_to_it(api: Api) -> None:
    # Tiny chunks (a trickling client) are gathered, large ones kept as they come; either way the
    # file is the bytes in order, for a download as for a program of the guest.
    pieces = [b"a" * 10] * 300 + [bytes(range(256)) * 400] + [b"z"] * 7 + [b"tail\n"]
    data = b"".join(pieces)
    url = api.transfer("/tmp/pieces.txt", size=len(data))

    async def arrive() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    content = arrive() if api.name == "asgi" else iter(pieces)  # one body message per piece
    response = api.request("PUT", url, content=content, headers={"Content-Length": str(len(data))})
    assert response.status_code == 200, response.text
    assert api.download("/tmp/pieces.txt") == data
    info = api.fs("/files//tmp/pieces.txt?action=get").json()
    assert info["size"] == len(data)
    created = api.op("create", spec={"path": "/bin/echo", "arguments": "more >> /tmp/pieces.txt"})
    assert created.status_code == 201, created.text
    api.clock.advance(60)
    assert api.download("/tmp/pieces.txt") == data + b"more\n"


def test_a_second_listener_stands_for_the_esxi_host_and_alone_serves_the_data_plane() -> None:
    # A client that substitutes the wrong host, or sends an API call to the host, finds out.
    # Its own server: the root conftest's has no second listener standing for the ESXi host.
    with serve(esxi_host=True) as url, httpx.Client(base_url=url, timeout=30) as vcenter:
        vcenter.headers["vmware-api-session-id"] = vcenter.post(
            "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)
        ).json()
        spec = {"path": "/etc/hostname"}
        created = vcenter.post(
            "/api/vcenter/vm/vm-42/guest/filesystem?action=create", json={"credentials": CREDS, "spec": spec}
        )
        assert created.status_code == 201
        transfer_url = created.json()
        host = transfer_url.split("/guestFile", 1)[0]
        assert host.startswith("http://127.0.0.1:")
        assert host not in {url, "http://*"}
        query = transfer_url.split("/guestFile", 1)[1]
        assert vcenter.get("/guestFile" + query).status_code == 404  # vCenter does not serve it
        assert httpx.get(host + "/api/vcenter/vm", timeout=30).status_code == 404  # nor the host the API
        assert httpx.get(transfer_url, timeout=30).content == b"demo-linux\n"
