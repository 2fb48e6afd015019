"""Running schemathesis's engine over the shipped document against one target, and tallying the outcome.

The engine does the work (examples, coverage, fuzzing and stateful phases, every default check);
this module configures it for this API, plugs in the session auth, the case shaping and the custom
checks, counts cases per operation and failures per check, and writes schemathesis's own reports
(then filters secrets out of them).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import re
import shlex
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from vcenter_guest.operations import Effect, OperationTable, load_document

from ._auth import LoginError, Transport, http_transport, login, logout, make_provider
from ._checks import register_checks
from ._determinism import no_local_constants
from ._guestfiles import NoRunDirectory, ServerFault, make_run_directory, open_transfer, remove_run_directory
from ._result import CheckTally, FuzzFailure, FuzzResult, OperationStats
from ._scenarios import SCENARIOS, Probe, ScenarioOutcome, run_scenarios
from ._secrets import SecretFilter
from ._settings import FuzzOptions, FuzzTarget
from ._shaping import FILE_EFFECTS, HTTP_TOKEN, PROBE_METHODS, install_guard, steer, unguarded
from ._state import RunState, forget, operation_of, remember, state_of
from ._verdict import write_json, write_junit

__all__ = ["DEFAULT_CHECKS", "FuzzFailure", "FuzzResult", "LoginError", "OperationStats", "run", "run_checks"]

# schemathesis's checks the run judges cases with, besides the project's own (CUSTOM_CHECKS). Off:
# `use_after_free` and `not_a_server_error`, replaced by contract-aware ones (see _checks);
# `ensure_resource_availability`, which never judges a case of this document (VMware's path keys carry the
# action, so a create's path is no prefix of its resource's: `created_process_is_available` holds the fact);
# `object_level_authorization`, which compares what several API identities may read (the run logs in as
# one). `response_headers_conformance` is on when the document declares a response header (the shipped one
# declares none: it would vouch for nothing). `run_checks()` gives the list of a run.
DEFAULT_CHECKS = (
    "no_undocumented_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
    "allow_header_conformance",
)
_OFF = ("use_after_free", "not_a_server_error", "ensure_resource_availability", "object_level_authorization")


def _asgi_transport(app: Any, base_url: str) -> Transport:
    import anyio  # noqa: PLC0415 - only for in-process targets
    import httpx  # noqa: PLC0415

    async def call(method: str, path: str, headers: dict[str, str], content: bytes | None) -> tuple[int, bytes]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url) as client:
            response = await client.request(method, path, headers=headers, content=content)
            return response.status_code, response.content

    def send(method: str, path: str, headers: dict[str, str], content: bytes | None = None) -> tuple[int, bytes]:
        return anyio.run(call, method, path, headers, content)

    return send


def _declares_response_headers(document: Mapping[str, Any]) -> bool:
    return any(
        isinstance(response, dict) and response.get("headers")
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    )


def _off(document: Mapping[str, Any]) -> tuple[str, ...]:
    """schemathesis's checks a run against this document leaves off (see DEFAULT_CHECKS)."""
    return _OFF if _declares_response_headers(document) else (*_OFF, "response_headers_conformance")


def run_checks(document: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """Every check a run against `document` (default: the shipped one) judges cases with, sorted:
    schemathesis's that it leaves on, and the project's own."""
    import schemathesis.specs.openapi.checks  # noqa: F401, PLC0415 - registers schemathesis's own checks
    from schemathesis.checks import CHECKS  # noqa: PLC0415 - schemathesis is the fuzz extra
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415

    register_checks()
    off = _off(document if document is not None else load_document())
    config = SchemathesisConfig.from_dict({"checks": {name: {"enabled": False} for name in off}})
    checks = config.projects.get_default().checks_config_for()
    return tuple(sorted(c.__name__ for c in CHECKS.get_all() if checks.get_by_name(name=c.__name__).enabled))


def _config(target: FuzzTarget, options: FuzzOptions, document: Mapping[str, Any]) -> Any:
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415 - schemathesis is the fuzz extra

    data: dict[str, Any] = {
        "base-url": target.base_url,
        "workers": options.workers,
        "request-timeout": options.request_timeout,
        "tls-verify": target.ca_bundle if target.ca_bundle and target.tls_verify else target.tls_verify,
        "generation": {"max-examples": options.max_examples, "deterministic": True, "database": "none"},
        # schemathesis can draw values from the Python source in the process (here: this package's
        # own, never the server's): off, so that a run depends on the server and the seed only (it
        # once sent a header named after a constant of the mock's code, with a value no HTTP parser takes).
        "analysis": {"constants": {"enabled": False}},
        "phases": {"stateful": {"enabled": options.stateful, "max-steps": options.stateful_max_steps}},
        "checks": {
            # Delete terminates a process: it stays visible (finished, exit code 143) to get and list
            # until retention lapses, so a 200 after delete is the contract, not a use after free.
            # terminated_process_is_finished checks the real contract instead. vAPI documents
            # conditions of a VM at 5xx (RESOURCE_BUSY 500, SERVICE_UNAVAILABLE 503):
            # no_undocumented_server_error fails only the 5xx the document does not give. The
            # others: see DEFAULT_CHECKS.
            **{name: {"enabled": False} for name in _off(document)},
            # This API answers schema-valid input with 400 for reasons no schema can state: a
            # relative program path, start_minimized on Linux, a USERNAME_PASSWORD object without a
            # password, a VM that is not running. The document declares each of them.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "5xx"]},
        },
    }
    if not target.sandbox:
        # The unexpected-method probes may only use methods that change nothing (see PROBE_METHODS).
        data["phases"]["coverage"] = {"unexpected-methods": sorted(PROBE_METHODS)}
    if options.seed is not None:
        data["seed"] = options.seed
    if options.max_failures is not None:
        data["max-failures"] = options.max_failures
    return SchemathesisConfig.from_dict(data)


_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


def _valid_http(headers: Any) -> bool:
    """Whether request headers can be sent as HTTP/1.1 (RFC 9110/9112): token names, values without
    control characters, a Content-Length of digits."""
    if not isinstance(headers, dict):
        return True
    for name, value in headers.items():
        if not isinstance(name, str) or not HTTP_TOKEN.fullmatch(name):
            return False
        for item in value if isinstance(value, list) else [value]:  # recorded as lists of values
            text = item if isinstance(item, str) else str(item)
            if not _FIELD_VALUE.fullmatch(text):
                return False
            if name.lower() == "content-length" and not text.strip().isdigit():
                return False
    return True


def _count(result: FuzzResult, state: RunState, event: Any) -> None:
    recorder = event.recorder
    seen: set[tuple[str, str, str]] = set()
    for case_id, node in recorder.cases.items():
        case = node.value
        interaction = recorder.interactions.get(case_id)
        if interaction is None:
            continue  # generated, never sent
        stats = result.operations.setdefault(case.operation.label, OperationStats())
        stats.cases += 1
        status = interaction.response.status_code if interaction.response is not None else None
        if status is not None:
            stats.statuses[status] += 1
        meta = case.meta
        op = operation_of(state, case)
        if (
            op is not None
            and op.effect is Effect.STARTS_PROGRAM
            and meta is not None
            and meta.generation.mode.is_positive
            and status
        ):
            result.positive_create_statuses[status] += 1
        if not _valid_http(getattr(interaction.request, "headers", None)):
            # Generated headers that are not HTTP (a Content-Length of letters, a name with a space):
            # what answers is the HTTP parser in front of the API, not the API. Counted, not judged.
            stats.not_http += 1
            continue
        for check in recorder.checks.get(case_id, []):
            tally = result.checks.setdefault(check.name, CheckTally())
            tally.exercised += check.status.name in {"SUCCESS", "FAILURE"}
            if check.status.name != "FAILURE" or check.failure_info is None:
                continue
            tally.failed += 1
            failure = check.failure_info.failure
            title = str(failure.title)
            stats.failures[check.name] += 1
            key = (case.operation.label, check.name, title)
            if key in seen:
                continue
            seen.add(key)
            _add_failure(result, state.secrets, key, status, check.failure_info)


def _add_failure(
    result: FuzzResult, secrets: SecretFilter, key: tuple[str, str, str], status: int | None, info: Any
) -> None:
    label, check, title = key
    for i, existing in enumerate(result.failures):
        if (existing.operation, existing.check, existing.title) == (label, check, secrets.text(title)):
            result.failures[i] = attrs.evolve(existing, count=existing.count + 1)
            return
    result.failures.append(
        FuzzFailure(
            operation=label,
            check=check,
            title=secrets.text(title),
            message=secrets.text(str(getattr(info.failure, "message", info.failure))),
            status=status,
            curl=secrets.text(info.code_sample),
        )
    )


def _own_directory(
    state: RunState, result: FuzzResult, transport: Transport, session: str, say: Callable[[str], None]
) -> None:
    """Makes the run's own guest directory (`state.run_directory`) when the document has file operations;
    without one (a fault of the server is reported), no file operation is sent."""
    table, target, credentials = state.table, state.target, state.target.guest_credentials()
    if credentials is None or not any(op.effect in FILE_EFFECTS for op in table.values()):
        return
    say("making the run's own guest directory")
    try:
        run_directory = state.run_directory = make_run_directory(
            transport,
            session,
            table,
            vm=target.vms[0],
            credentials=credentials,
            parent=target.guest_dir,
            server=target.base_url,
        )
    except NoRunDirectory as exc:
        say(state.secrets.text(f"no guest directory of the run's own ({exc.why}): file operations were skipped"))
        if exc.fault is not None:
            _add_fault(result, state.secrets, target, exc.fault)
        return

    def opener(upload: bool) -> tuple[str, int | None] | None:
        return open_transfer(transport, session, table, run_directory, credentials, upload=upload)

    state.opener = opener


def _add_fault(result: FuzzResult, secrets: SecretFilter, target: FuzzTarget, fault: ServerFault) -> None:
    """Reports what the run found wrong with its own guest directory as a failure, with a curl line that
    asks the same (credentials and session filtered)."""
    shown = {**fault.body, "credentials": "[Filtered]"}
    curl = (
        f"curl -X {fault.method} -H 'vmware-api-session-id: [Filtered]' -H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(shown))} {shlex.quote(target.base_url + fault.route)}"
    )
    result.failures.append(
        FuzzFailure(
            operation=fault.operation,
            check=fault.check,
            title=secrets.text(fault.title),
            message=secrets.text(fault.message),
            status=fault.status,
            curl=secrets.text(curl),
        )
    )


def _report_handlers(options: FuzzOptions, config: Any) -> list[tuple[Any, Path]]:
    from schemathesis.cli.commands.run.handlers.har import HarHandler  # noqa: PLC0415
    from schemathesis.cli.commands.run.handlers.junitxml import JunitXMLHandler  # noqa: PLC0415
    from schemathesis.cli.commands.run.handlers.ndjson import NdjsonHandler  # noqa: PLC0415

    options.report_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[tuple[Any, Path]] = []
    for fmt in options.reports:
        if fmt == "junit":
            path = options.report_dir / "junit.xml"
            handlers.append((JunitXMLHandler(path), path))
        elif fmt == "har":
            path = options.report_dir / "network.har"
            handlers.append((HarHandler(path, config.output), path))
        elif fmt == "ndjson":
            path = options.report_dir / "events.ndjson"
            handlers.append((NdjsonHandler(path, config), path))
    return handlers


def _transport(target: FuzzTarget, options: FuzzOptions) -> Transport:
    if target.app is not None:
        return _asgi_transport(target.app, target.base_url)
    verify: bool | ssl.SSLContext = target.tls_verify
    if target.ca_bundle and target.tls_verify:
        verify = ssl.create_default_context(cafile=target.ca_bundle)
    return http_transport(target.base_url, verify=verify, timeout=options.request_timeout)


def _schema(state: RunState, transport: Transport) -> Any:
    import schemathesis  # noqa: PLC0415 - schemathesis is the fuzz extra

    target = state.target
    config = _config(target, state.options, state.table.document)
    schema = schemathesis.openapi.from_dict(_fuzzed_document(state), config=config)
    if target.app is not None:
        schema.app = target.app
    # refresh_interval=None: the provider keeps its own session (and hands out throwaway ones).
    schema.auth(refresh_interval=None)(make_provider(state, transport))
    schema.hook("map_case")(steer)
    schema.hook("after_call")(_session_collector)
    return schema


def _fuzzed_document(state: RunState) -> dict[str, Any]:
    """A copy of the run's document without the operations no safety rule covers, unless the target is a
    sandbox: default-deny, and the guard refuses them again should one come through anyway."""
    document = copy.deepcopy(dict(state.table.document))
    if state.target.sandbox:
        return document
    dropped = {op.id: op for op in unguarded(state.table)}
    if state.run_directory is None:
        # No directory of its own in a guest: no file operation may be sent at all.
        dropped |= {op.id: op for op in state.table.values() if op.effect in FILE_EFFECTS}
    for op in dropped.values():
        item = document["paths"][op.path_key]
        item.pop(op.method.lower(), None)
        if not any(key in item for key in ("get", "put", "post", "delete", "options", "head", "patch", "trace")):
            del document["paths"][op.path_key]
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                links = response.get("links", {})
                for name in [n for n, link in links.items() if link.get("operationId") in dropped]:
                    del links[name]
    _drop_path_examples(document)
    return document


def _names_a_path(value: Any) -> bool:
    if isinstance(value, str):
        return "/" in value or "\\" in value
    if isinstance(value, dict):
        return any(_names_a_path(v) for v in value.values())
    if isinstance(value, list):
        return any(_names_a_path(v) for v in value)
    return False


def _drop_path_examples(node: Any, parent: str | None = None) -> None:
    """Removes every example that holds a path (`/tmp/a.txt`, `-l /tmp > /tmp/ls.out`): the engine sends
    examples as they are, and the document's example paths are never sent to a server that is not a
    sandbox (the guard would rewrite them anyway; this way they never reach it)."""
    if isinstance(node, dict):
        if parent != "properties":  # there, `example` would be the name of a member
            for key in ("example", "examples"):
                if key in node and _names_a_path(node[key]):
                    del node[key]
        for key, value in node.items():
            _drop_path_examples(value, key)
    elif isinstance(node, list):
        for value in node:
            _drop_path_examples(value)


def _on_event(result: FuzzResult, state: RunState, event: Any, say: Callable[[str], None]) -> None:
    from schemathesis.engine import events  # noqa: PLC0415

    secrets = state.secrets
    if isinstance(event, events.ScenarioFinished):
        _count(result, state, event)
    elif isinstance(event, events.PhaseStarted):
        say(f"phase: {event.phase.name.value}")
        result.seconds[event.phase.name.value] = -time.monotonic()
    elif isinstance(event, events.PhaseFinished) and event.phase.name.value in result.seconds:
        result.seconds[event.phase.name.value] += time.monotonic()
    elif isinstance(event, events.NonFatalError):
        result.errors.append(secrets.text(f"{event.label}: {event.info.format(base_url_is_set=True)}"))
    elif isinstance(event, events.FatalError):
        result.errors.append(secrets.text(f"fatal: {type(event.exception).__name__}: {event.exception}"))


def run(
    target: FuzzTarget,
    options: FuzzOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> FuzzResult:
    """Fuzz `target` with the shipped document; never raises for what the server does.

    Raises LoginError when no session can be had (the server is unreachable, or rejects the API
    user): nothing was tested then.

        >>> from vcenter_guest.mock import create_app  # doctest: +SKIP
        >>> result = run(mock_target(create_app()), FuzzOptions(max_examples=5))  # doctest: +SKIP
        >>> result.ok, result.total_cases  # doctest: +SKIP
        (True, 412)
    """
    options = options or FuzzOptions()
    say = progress or (lambda _: None)
    register_checks()
    install_guard()
    secrets = SecretFilter(target.secrets())
    secrets.add_login(target.user, target.password)
    table = OperationTable(target.document) if target.document is not None else OperationTable(load_document())
    state = RunState(target=target, options=options, secrets=secrets, table=table)
    transport = _transport(target, options)
    # Fail early, with a clear reason, if the run cannot log in at all.
    setup_session = login(transport, target.user, target.password)
    secrets.add(setup_session)
    result = FuzzResult(checks={name: CheckTally() for name in run_checks(table.document)})
    _own_directory(state, result, transport, setup_session, say)
    _run_scenarios(state, result, Probe(transport, setup_session, table, target, state.run_directory), say)
    schema = _schema(state, transport)
    handlers = _report_handlers(options, schema.config)
    try:
        _run_engine(state, result, schema, handlers, say)
    finally:
        _leave(state, result, transport, setup_session, say=say)
    for _, path in handlers:
        if path.exists():
            secrets.file(path)
            result.reports.append(path)
    _write_verdicts(result, options, secrets)
    return result


def _run_engine(
    state: RunState, result: FuzzResult, schema: Any, handlers: list[tuple[Any, Path]], say: Callable[[str], None]
) -> None:
    """The engine's phases (none with --scenarios-only), every event tallied and handed to the report handlers."""
    from schemathesis.cli.commands.run.context import ExecutionContext  # noqa: PLC0415
    from schemathesis.engine import from_schema  # noqa: PLC0415

    ctx = ExecutionContext(config=schema.config)
    stack = contextlib.ExitStack()
    remember(schema, state)
    try:
        stack.enter_context(no_local_constants())
        if state.options.workers > 1:
            stack.enter_context(_serialized_ast_parse())
        for handler, _ in handlers:
            handler.start(ctx)
        for event in () if state.options.scenarios_only else from_schema(schema).execute():
            ctx.on_event(event)
            for handler, _ in handlers:
                handler.handle_event(ctx, event)
            _on_event(result, state, event, say)
    finally:
        stack.close()
        for handler, _ in handlers:
            handler.shutdown(ctx)
        forget(schema)


def _run_scenarios(state: RunState, result: FuzzResult, probe: Probe, say: Callable[[str], None]) -> None:
    """The conformance scenarios, before the random phases (unless --no-scenarios); each broken fact is a
    failure named after it."""
    if not state.options.scenarios:
        result.scenarios = [
            ScenarioOutcome(name, fact, not_run="skipped (--no-scenarios)") for name, (fact, _) in SCENARIOS.items()
        ]
        return
    started = time.monotonic()
    result.scenarios = run_scenarios(probe, say)
    result.seconds["scenarios"] = time.monotonic() - started
    for outcome in result.scenarios:
        if outcome.failure is not None:
            result.failures.append(
                FuzzFailure(
                    operation=f"scenario ({outcome.cases} requests)",
                    check=outcome.name,
                    title=outcome.fact,
                    message=state.secrets.text(outcome.failure),
                    status=None,
                    curl=f"vcenter-guest fuzz again (the scenario {outcome.name} is deterministic)",
                )
            )


def _write_verdicts(result: FuzzResult, options: FuzzOptions, secrets: SecretFilter) -> None:
    """The summary JSON (`--report json`) and the JUnit XML of checks and scenarios (`--junit-xml`)."""
    if "json" in options.reports:
        path = options.report_dir / "verdict.json"
        write_json(result, path)
        secrets.file(path)
        result.reports.append(path)
    if options.junit_xml is not None:
        write_junit(result, options.junit_xml)
        secrets.file(options.junit_xml)
        result.reports.append(options.junit_xml)


def _leave(
    state: RunState, result: FuzzResult, transport: Transport, setup_session: str, *, say: Callable[[str], None]
) -> None:
    """What a run leaves behind, cleared: its guest directory (listed first: what is in it that the run
    did not make is a finding) and every API session it opened or found."""
    credentials = state.target.guest_credentials()
    if state.run_directory is not None and credentials is not None:
        say("listing the run's guest directory before removing it")
        fault = remove_run_directory(transport, setup_session, state.table, state.run_directory, credentials)
        if fault is not None:
            _add_fault(result, state.secrets, state.target, fault)
    for session_id in [*state.stray_sessions, *state.own_sessions, setup_session]:
        logout(transport, session_id)


@contextlib.contextmanager
def _serialized_ast_parse() -> Iterator[None]:
    """Runs `ast.parse` one thread at a time while several workers generate cases.

    WHY: CPython before 3.11.8 (gh-106905) raises "SystemError: AST constructor recursion depth
    mismatch" when two threads parse at once, and hypothesis parses source (to describe strategies)
    in each worker: a multi-worker run failed with that error about one time in three.
    WHEN IT CAN GO: when the package requires Python >= 3.11.8 (the fix; 3.10 is supported too, and
    had the same bug until 3.10.14). tests/property/test_fuzz_command.py's multi-worker test fails
    without it on an affected interpreter.
    """
    if sys.version_info >= (3, 11, 8) or (3, 10, 14) <= sys.version_info < (3, 11):
        yield
        return
    original = ast.parse
    lock = threading.Lock()

    def parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(*args, **kwargs)

    ast.parse = parse
    try:
        yield
    finally:
        ast.parse = original


def _session_collector(context: Any, case: Any, response: Any) -> None:
    """`after_call` hook: a session id a `POST /api/session` case got is a secret, and must be logged out."""
    state = state_of(case)
    op = operation_of(state, case) if state is not None else None
    if state is None or op is None or op.effect is not Effect.CREATES_SESSION or response.status_code != 201:
        return
    try:
        session_id = response.json()
    except ValueError:
        return
    if isinstance(session_id, str):
        state.add_stray_session(session_id)
