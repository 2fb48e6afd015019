"""What a fuzz run targets (`FuzzTarget`) and how hard it tries (`FuzzOptions`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["REPORT_FORMATS", "SAFETY_RULES", "FuzzOptions", "FuzzTarget", "safety_rules"]

REPORT_FORMATS = ("junit", "har", "ndjson", "json")

# Printed first by `vcenter-guest fuzz`, and enforced for every request the run sends (_guard).
SAFETY_RULES = (
    "Requests only target the VMs named with --vm.",
    "Create calls only start the programs named with --program (with generated arguments made shell-inert: "
    "ASCII letters, digits, spaces and ._+- only; generated working directories and environments), unless "
    "--any-program is given; they also send paths that start nothing on any guest (empty, relative, a root directory).",
    "Delete calls only terminate processes this run started; any other pid is replaced by one no "
    "guest can have (2147483647).",
    "Secrets (API password, guest password or token, session ids) are filtered from every report and printed line.",
    "File and directory operations only touch paths inside a directory the run makes in the first VM "
    "named with --vm (under --guest-dir, or the guest's temporary directory) and proves its own (its name "
    "carries a fresh random nonce, it is new and empty when listed; else no file operation is sent); any "
    "other path is replaced by one inside it, and /guestFile only gets the run's own transfer URLs. At the "
    "end the run lists the directory and deletes it only if everything in it is the run's.",
    "Operations whose effect (x-vcenter-guest-effect in the API document) no rule covers are never sent.",
)


@attrs.frozen
class FuzzTarget:
    """The server to fuzz, the API user to log in as, and what the run may touch in the guests.

    Exactly one of `url` (a server) and `app` (an ASGI app, called in process) is set. Secrets are
    kept out of the repr.

        >>> t = FuzzTarget(url="https://vc.example.com", user="svc@vsphere.local", password="pw",
        ...                vms=("vm-42",), programs=("/bin/true",),
        ...                guest_user="root", guest_password="guest-pw")
        >>> "pw" in repr(t)
        False
    """

    user: str
    password: str = attrs.field(repr=False)
    vms: tuple[str, ...]
    programs: tuple[str, ...] = ()
    any_program: bool = False
    guest_user: str | None = None
    guest_password: str | None = attrs.field(default=None, repr=False)
    guest_saml_token: str | None = attrs.field(default=None, repr=False)
    url: str | None = None
    app: Any = attrs.field(default=None, repr=False)
    # Programs that ignore termination: after delete, get may still show them running.
    ignores_termination: tuple[str, ...] = ()
    tls_verify: bool = True
    # A PEM file of the CA that signed the server's certificate (verification stays on).
    ca_bundle: str | None = None
    # A disposable test server (the mock): the rules that protect real guests' VMs and processes
    # are off, so generated VM ids and pids explore the server's error paths too.
    sandbox: bool = False
    # The API document to fuzz with (None: the one shipped with the client), e.g. a newer version.
    document: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    # Where in the guest the run makes its own directory (None: the guest's temporary directory).
    guest_dir: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.app is None):
            raise ValueError("exactly one of url and app must be set")
        if not self.vms:
            raise ValueError("at least one VM is needed (--vm)")
        if not self.programs and not self.any_program:
            raise ValueError("at least one program is needed (--program), or --any-program")

    @property
    def base_url(self) -> str:
        """The URL requests go to (a placeholder host for an in-process app)."""
        return (self.url or "http://mock.invalid").rstrip("/")

    def guest_credentials(self) -> dict[str, Any] | None:
        """Guest credentials the server accepts, as the API's `Credentials` object, if known."""
        if self.guest_saml_token is not None:
            creds: dict[str, Any] = {
                "interactive_session": False,
                "type": "SAML_BEARER_TOKEN",
                "saml_token": self.guest_saml_token,
            }
            if self.guest_user is not None:
                creds["user_name"] = self.guest_user
            return creds
        if self.guest_user is not None and self.guest_password is not None:
            return {
                "interactive_session": False,
                "type": "USERNAME_PASSWORD",
                "user_name": self.guest_user,
                "password": self.guest_password,
            }
        return None

    def secrets(self) -> list[str]:
        """Every secret the target holds."""
        return [s for s in (self.password, self.guest_password, self.guest_saml_token) if s]


def safety_rules(target: FuzzTarget) -> list[str]:
    """The safety rules that hold for a run against `target`, as `vcenter-guest fuzz` prints them."""
    if not target.sandbox:
        rules = list(SAFETY_RULES)
    else:
        rules = [
            "The target is a disposable test server (sandbox): requests may target any VM id and any pid.",
            SAFETY_RULES[3],
        ]
    if target.any_program:
        rules = [r for r in rules if not r.startswith("Create calls only")]
        rules.insert(0, "Create calls may start generated program paths (--any-program).")
    return rules


@attrs.frozen
class FuzzOptions:
    """How much to generate and what to write.

    >>> FuzzOptions(max_examples=200, seed=7, reports=("junit",)).stateful
    True
    """

    max_examples: int = 50
    seed: int | None = None
    workers: int = 1
    stateful: bool = True
    # The conformance scenarios (fuzz/_scenarios.py), run before the random phases.
    scenarios: bool = True
    # Only the scenarios, no random phase (a quick conformance check; the checks stay unexercised).
    scenarios_only: bool = False
    # A JUnit XML file of the verdict: one test case per check and per scenario.
    junit_xml: Path | None = None
    # Stop the random phases after this many distinct failures (None: run the whole budget). The
    # scenarios always run; a run stopped so is FAILED, and says what it found by then.
    max_failures: int | None = None
    # Steps of one stateful scenario (create -> get -> delete -> get needs 4).
    stateful_max_steps: int = 12
    reports: tuple[str, ...] = ()
    report_dir: Path = Path("fuzz-reports")
    request_timeout: float = 10.0
    # Share (0..1) of positive guest calls sent with the known-good guest credentials, and of
    # positive create calls whose spec is made acceptable (no start_minimized, a default working
    # directory): the rest keep what was generated, to explore the error paths.
    valid_credentials_share: float = 0.75
    plausible_spec_share: float = 0.5

    def __attrs_post_init__(self) -> None:
        if self.max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        if self.max_failures is not None and self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        unknown = sorted(set(self.reports) - set(REPORT_FORMATS))
        if unknown:
            raise ValueError(f"unknown report format(s): {', '.join(unknown)}; use {', '.join(REPORT_FORMATS)}")
