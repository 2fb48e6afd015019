"""L5 (issue 25): credentials inside a server URL never appear in a message, whatever else is wrong
with the URL. The URL is refused (exit 2, before anything is sent) without being quoted back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from vcenter_guest import AsyncClient, Client, errors
from vcenter_guest.cli import main

USER, PASSWORD = "admin", "S3cretPw"

SERVERS = [
    f"https://{USER}:{PASSWORD}@vc.example.com",  # credentials alone
    f"https://{USER}:{PASSWORD}@vc.example.com:99999",  # and a port beyond 65535
    f"https://{USER}:{PASSWORD}@vc.example.com:abc",  # and a port that is no number (httpx cannot parse it)
    f"https://{USER}:{PASSWORD}@vc.example.com/api",  # and /api
    f"ftp://{USER}:{PASSWORD}@vc.example.com",  # and a scheme that is not http(s)
    f"https://{USER}:{PASSWORD}@vc exa mple.com",  # and a host that is no host
    f"https://{USER}:{PASSWORD}@[::1",  # and an unclosed IPv6 address
    f"{USER}:{PASSWORD}@vc.example.com:99999",  # no scheme
    f"https://{USER}:S3cret/Pw@vc.example.com",  # a '/' in the password ends the authority early
    f"https://{USER}:S3cret#Pw@vc.example.com",  # a '#' too
    f"https://{USER}:S3cret%40Pw@vc.example.com:0",  # percent-encoded, and port 0
]


def _shown(text: str) -> list[str]:
    pieces = [USER, "S3cret", "Pw@"]
    return [piece for piece in pieces if piece in text]


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_url_with_credentials_exits_2_and_no_message_shows_them(server: str) -> None:
    result = CliRunner().invoke(
        main, ["--server", server, "--user", "someone", "ps", "--vm", "vm-42"], env={"VCENTER_PASSWORD": "p"}
    )
    assert result.exit_code == 2, result.output
    assert "credentials" in result.stderr, "the message says what is wrong: credentials do not go in the URL"
    assert "--user" in result.stderr, "and, in the command line's words, where they go instead"
    assert _shown(result.output) == [], result.output


@pytest.mark.parametrize("server", SERVERS[1:3])
def test_a_server_url_with_credentials_from_the_environment_or_a_profile_is_not_shown_either(server: str) -> None:
    by_env = CliRunner().invoke(main, ["ps", "--vm", "vm-42"], env={"VCENTER_URL": server, "VCENTER_USER": "x"})
    assert by_env.exit_code == 2
    assert _shown(by_env.output) == [], by_env.output
    profile = Path(os.environ["XDG_CONFIG_HOME"]) / "vcenter-guest" / "config.toml"
    profile.parent.mkdir(parents=True)
    profile.write_text(f'default_profile = "lab"\n[profiles.lab]\nserver = "{server}"\nuser = "x"\n')
    by_profile = CliRunner().invoke(main, ["ps", "--vm", "vm-42", "--json"], env={"VCENTER_PASSWORD": "p"})
    assert by_profile.exit_code == 2
    assert _shown(by_profile.output) == [], by_profile.output


@pytest.mark.parametrize("client_type", [Client, AsyncClient])
@pytest.mark.parametrize("server", SERVERS)
def test_the_clients_refuse_a_server_url_with_credentials_without_quoting_them(
    client_type: type[Client] | type[AsyncClient], server: str
) -> None:
    with pytest.raises(errors.UsageError) as caught:
        client_type(server, user="someone", password="p")
    assert "credentials" in str(caught.value)
    assert _shown(str(caught.value)) == [], str(caught.value)
    assert _shown(repr(caught.value.args)) == []
