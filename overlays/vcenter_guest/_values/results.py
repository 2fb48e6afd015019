"""What users get back: `ProcessSummary` (list), `ProcessInfo` (get) and `ProcessResult` (run).

Plain immutable values with `None` where the API leaves a field unset (the generated models use
an `UNSET` sentinel, which every caller would otherwise have to test for).
"""

from __future__ import annotations

import datetime

import attrs

__all__ = ["ProcessInfo", "ProcessResult", "ProcessSummary"]


@attrs.frozen
class ProcessSummary:
    """One process in the guest, as `processes.list` reports it.

    >>> import datetime
    >>> ProcessSummary(612, "vmtoolsd", "root", "/usr/bin/vmtoolsd",
    ...                datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)).pid
    612
    """

    pid: int
    name: str
    owner: str
    command: str
    started: datetime.datetime


@attrs.frozen
class ProcessInfo:
    """One process, as `processes.get` reports it.

    `finished` and `exit_code` are set only for a process started by `create` that has exited
    (and only for about 5 minutes after that); otherwise they are None.

        >>> import datetime
        >>> t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        >>> ProcessInfo(7, "ls", "root", "/bin/ls -l", t).running
        True
    """

    pid: int
    name: str
    owner: str
    command: str
    started: datetime.datetime
    finished: datetime.datetime | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        """True until the process's exit has been reported."""
        return self.exit_code is None and self.finished is None


@attrs.frozen
class ProcessResult:
    """A program that ran to its end: what `processes.run` returns.

    A non-zero `exit_code` is a result, not an exception (unless `run(..., check=True)`).
    `stdout` and `stderr` are what the program printed (None when not captured, or when it went to
    a file object given as `run(stdout=...)`), each cut at `run`'s `max_output_bytes` (then
    `stdout_truncated` / `stderr_truncated`); `stdout_text` / `stderr_text` decode them.

        >>> import datetime
        >>> t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        >>> r = ProcessResult(7, 0, t, t + datetime.timedelta(seconds=1.5), vm="vm-42", stdout=b"hi\n")
        >>> r.ok, r.duration.total_seconds(), r.stdout_text
        (True, 1.5, 'hi\n')
    """

    pid: int
    exit_code: int
    started: datetime.datetime
    finished: datetime.datetime | None
    vm: str
    stdout: bytes | None = attrs.field(default=None, repr=False)
    stderr: bytes | None = attrs.field(default=None, repr=False)
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    encoding: str | None = None
    """The encoding the text views use (None: UTF-8, undecodable bytes replaced)."""

    @property
    def stdout_text(self) -> str | None:
        """`stdout` decoded (see `encoding`)."""
        return None if self.stdout is None else self.stdout.decode(self.encoding or "utf-8", "replace")

    @property
    def stderr_text(self) -> str | None:
        """`stderr` decoded (see `encoding`)."""
        return None if self.stderr is None else self.stderr.decode(self.encoding or "utf-8", "replace")

    @property
    def ok(self) -> bool:
        """Whether the program exited with 0."""
        return self.exit_code == 0

    @property
    def duration(self) -> datetime.timedelta | None:
        """How long it ran, by the guest's clock (None if the server did not say when it finished)."""
        return None if self.finished is None else self.finished - self.started
