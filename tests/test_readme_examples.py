"""Every ```python block of README.md runs, as written, against the mock vCenter.

The blocks are found by parsing the Markdown (markdown-it-py, the parser rich uses), one test per
block, named by the line its fence opens on. Each block runs as a complete program (`exec` of its
whole text, in a fresh namespace) in a temporary working directory, so the files it writes stay out
of the checkout. Whatever it raises fails its test.

The namespace holds only what the README's prose says the reader supplies ("In the examples, `url`
is your vCenter's address ..."), bound to the demo inventory of a mock served over loopback with
`vcenter_guest.mock.serve()`:

- `url`: the vCenter's URL (here the mock's `http://127.0.0.1:PORT`);
- `user`, `pw`: the API user and password;
- `guest_pw`: the password of the guest user `root`.

Nothing else: a block uses its own imports, guest credentials (`creds`), VM lists and local files,
or makes them. No text of a block is rewritten: the README names the server by the variable `url`
rather than a literal `https://vc.example.com`, so an example shows the code a reader runs.

The block using `vcenter_guest.fuzz` needs schemathesis (the `fuzz` extra, Python 3.11 or later)
and is skipped, saying so, without it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(markdown: str) -> list[tuple[int, str]]:
    """(line of the opening fence, 1-based; code) of every ```python fence of `markdown`."""
    return [
        (token.map[0] + 1, token.content)
        for token in MarkdownIt("commonmark").parse(markdown)
        if token.type == "fence" and token.info.split(maxsplit=1)[:1] == ["python"] and token.map
    ]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 4


def test_the_parser_finds_fences_only() -> None:
    text = "a\n\n```python\nx = 1\n```\n\n    ```python\n    indented code, not a fence\n\n```console\n$ y\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n")]


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """The demo inventory, served once for every block (each block makes its own sessions)."""
    from vcenter_guest.mock import serve

    # Its own server, module-wide: the root conftest's mock servers are made per test.
    with serve() as url:
        yield url


def _reader_supplies(mock_url: str) -> dict[str, Any]:
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD

    return {"url": mock_url, "user": DEMO_API_USER, "pw": DEMO_API_PASSWORD, "guest_pw": DEMO_GUEST_PASSWORD}


def _marked(line: int, code: str) -> Any:
    """A block as a test case: the SDK's block marked `sdk` (`nox -s interop` runs just it), the fuzz
    block given the time a whole fuzz run takes on a busy machine (67 s was seen at load 8)."""
    if "com.vmware" in code:
        marks: tuple[Any, ...] = (pytest.mark.sdk, pytest.mark.timeout(60))
    elif "vcenter_guest.fuzz" in code:
        marks = (pytest.mark.timeout(240),)
    else:
        marks = (pytest.mark.timeout(60),)
    return pytest.param(line, code, marks=marks, id=f"line-{line}")


@pytest.mark.parametrize(("line", "code"), [_marked(line, code) for line, code in BLOCKS])
def test_readme_example_runs(
    line: int, code: str, mock_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "vcenter_guest.fuzz" in code and (sys.version_info < (3, 11) or not importlib.util.find_spec("schemathesis")):
        pytest.skip("the fuzz example needs schemathesis: the fuzz extra, Python 3.11 or later")
    if "com.vmware" in code and not (importlib.util.find_spec("com") and importlib.util.find_spec("com.vmware")):
        pytest.skip("the SDK example needs VMware's SDK: `nox -s interop` installs it and runs this block")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__", **_reader_supplies(mock_url)}
    # Compiled as README.md with the code at its own lines, so a traceback shows the README's lines.
    exec(compile("\n" * line + code, str(README), "exec"), namespace)
