"""The marker line at the end of a captured run's stdout is found without a pattern compiled per run:
the same answers as the per-run pattern it replaced (kept here as the oracle), on any output."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from vcenter_guest._services.capture import Output

MARKER = "vcenter-guest-0123456789abcdef01234567"


def _oracle(data: bytes, *, windows: bool) -> tuple[tuple[int, bool] | None, bytes]:
    """The search the client made before: a pattern holding the marker, compiled for each run."""
    if windows:
        pattern = re.escape(MARKER.encode()) + rb" (-?\d{1,10}) *\r?\n\Z"
    else:
        pattern = rb"\n" + re.escape(MARKER.encode()) + rb" (\d{1,3}) ([01])\n\Z"
    found = re.search(pattern, data)
    if found is None:
        return None, data
    return (int(found.group(1)), windows or found.group(2) == b"1"), data[: found.start()]


_pieces = st.sampled_from(
    [b"\n", b" ", b"0", b"1", b"7", b"-", b"\r\n", b"  ", b"x", MARKER.encode(), b"\n" + MARKER.encode() + b" "]
)
_outputs = st.lists(st.one_of(_pieces, st.binary(max_size=4)), max_size=12).map(b"".join)


@given(body=_outputs, tail=_outputs, windows=st.booleans())
def test_the_marker_line_is_found_and_stripped_as_the_per_run_pattern_found_it(
    body: bytes, tail: bytes, windows: bool
) -> None:
    data = body + tail
    output = Output(None, 1 << 20)
    output.take_stdout(data)
    found = output.end_stdout(MARKER, complete=True, windows=windows)
    assert (found, output.value()) == _oracle(data, windows=windows)


def test_a_marker_line_at_the_end_gives_the_exit_code_and_whether_stderr_has_bytes() -> None:
    for data, windows, expected in [
        (b"out\n\n" + MARKER.encode() + b" 3 1\n", False, ((3, True), b"out\n")),
        (b"out" + MARKER.encode() + b" -1073741510\r\n", True, ((-1073741510, True), b"out")),
        (b"out" + MARKER.encode() + b" 3 1\n", False, (None, b"out" + MARKER.encode() + b" 3 1\n")),
    ]:
        output = Output(None, 1 << 20)
        output.take_stdout(data)
        assert (output.end_stdout(MARKER, complete=True, windows=windows), output.value()) == expected
