"""The options of a run (`run`, `run_script`, `run_many`), as one value checked once."""

from __future__ import annotations

from typing import IO

import attrs

from vcenter_guest import errors

from .capture import check_encoding, check_limit, output_target
from .checks import check_flag, check_run_timeout, check_terminate

__all__ = ["RunOptions"]


@attrs.frozen
class RunOptions:
    """How a program runs and what comes back (the keywords of `run`; see its docstring), checked by
    `checked`, so that `run`, `run_script` and each VM of `run_many` share one checked value.
    Without capture, `max_output_bytes`, `encoding` and the output targets are not used (nor checked)."""

    timeout: float | None
    terminate_on_timeout: bool
    check: bool
    capture: bool
    max_output_bytes: int
    encoding: str | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None
    wait_ready: float | None

    @classmethod
    def checked(
        cls,
        *,
        timeout: object,
        terminate_on_timeout: object,
        check: object,
        capture: object,
        max_output_bytes: object,
        encoding: object,
        stdout: object = None,
        stderr: object = None,
        wait_ready: object = None,
    ) -> RunOptions:
        """The options, each checked (errors.UsageError names the first that is wrong)."""
        ready_within = check_run_timeout(wait_ready, "wait_ready")
        run_timeout = check_run_timeout(timeout)
        terminate = check_terminate(terminate_on_timeout, run_timeout, "run")
        if not check_flag(capture, "capture"):
            if stdout is not None or stderr is not None:
                raise errors.UsageError("stdout= and stderr= need capture=True")
            return cls(run_timeout, terminate, bool(check), False, 0, None, None, None, ready_within)
        limit, codec = check_limit(max_output_bytes), check_encoding(encoding)
        out, err = output_target(stdout, "stdout"), output_target(stderr, "stderr")
        return cls(run_timeout, terminate, bool(check), True, limit, codec, out, err, ready_within)
