"""Quote removal and expansion of one word (parameters, `~`, field splitting), as bash does them."""

from __future__ import annotations

import re
from typing import Any, Protocol

import attrs

from vcenter_guest.mock._filesystem import Account

from ._streams import Unsupported

__all__ = ["Expander", "Expanding", "Field"]


class Expanding(Protocol):
    """What expansion reads of the shell it expands for."""

    env: dict[str, str]
    who: Account
    positional: list[str]

    def lookup(self, name: str) -> str | None:
        """The value of a parameter (`$1`, `$?`, `$HOME`), or None if unset."""


class Expander:
    """Quote removal and expansion over a word's source, one character or expansion at a time."""

    def __init__(self, shell: Expanding, text: str, split: bool, *, pattern: bool = False) -> None:
        self.shell, self.text, self.split = shell, text, split
        self.pattern = pattern  # a `case` pattern: what an unquoted expansion gives is a pattern too
        self.fields = [Field()]
        self.i = 0
        self.state = ""  # "", "'" or '"': the quotes the walk is inside
        self.saw_at = False  # "$@" in the current double quotes: with no positional parameters, no field

    def expansion(self, part: Any) -> None:
        shell, fields = self.shell, self.fields
        if part.kind == "tilde":
            user = part.value[1:]
            if user and not re.fullmatch(r"[A-Za-z0-9._-]+", user):
                # `~$N`: bashlex takes the expansion into the tilde; bash expands it after a plain ~
                raise Unsupported(f"a tilde followed by an expansion ({part.value})")
            fields[-1].add(shell.env.get("HOME", shell.who.home) if not user else "~" + user, quoted=True)
        elif part.value == "@" and self.state == '"' and self.split:
            self.saw_at = True
            for n, arg in enumerate(shell.positional):
                if n:
                    fields.append(Field())
                fields[-1].add(arg, quoted=True)
        else:
            value = (shell.lookup(part.value) if part.value != "@" else " ".join(shell.positional)) or ""
            if self.state == '"' or not self.split:
                fields[-1].add(value, quoted=self.state == '"' or not self.pattern)
                return
            # field splitting on the default IFS; the pieces are subject to pathname expansion too
            for n, piece in enumerate(re.split(r"[ \t\n]+", value)):
                if n:
                    fields.append(Field())
                fields[-1].add(piece, quoted=False)

    def character(self) -> None:  # noqa: PLR0912 - bash's quoting rules, one branch each
        text, i, field = self.text, self.i, self.fields[-1]
        char = text[i]
        following = text[i + 1] if i + 1 < len(text) else None
        if char == "`" and self.state != "'":  # inside single quotes a backquote is a character
            raise Unsupported("command substitution")
        if self.state == "'":
            if char == "'":
                self.state, field.quoted = "", True
            else:
                field.add(char, quoted=True)
        elif self.state == '"':
            if char == '"':
                self.state = ""
                field.quoted = field.quoted or not self.saw_at
                self.saw_at = False
            elif char == "\\" and following is not None and following in '$`"\\\n':
                if following != "\n":
                    field.add(following, quoted=True)
                self.i += 1
            else:
                field.add(char, quoted=True)
        elif char in "'\"":
            self.state = char
        elif char == "~" and not self.split and (i == 0 or text[i - 1] == ":") and following in {None, "/", ":"}:
            # An assignment's value: bash expands a ~ at its start and after each `:` (PATH-like lists);
            # bashlex marks none of them.
            field.add(self.shell.env.get("HOME", self.shell.who.home), quoted=True)
        elif char == "\\":
            if following is not None:
                if following != "\n":
                    field.add(following, quoted=True)
                self.i += 1
        else:
            field.add(char, quoted=False)
        self.i += 1


@attrs.define
class Field:
    """A field being built by expansion: its text, the same as a glob pattern, and what was quoted."""

    text: str = ""
    pattern: str = ""
    quoted: bool = False
    glob: bool = False

    def add(self, text: str, *, quoted: bool) -> None:
        self.text += text
        if quoted:
            self.pattern += "".join(f"\\{c}" if c in "*?[\\" else c for c in text)
            self.quoted = True
        else:
            self.pattern += text
            self.glob = self.glob or any(c in "*?[" for c in text)
