"""The document's recorded departures from VMware's spec (openapi/departures.yaml), and matching them.

A departure matches a difference when the difference's pointer equals the departure's pointer or
lies under it, segment by segment; in a departure's pointer `*` stands for any run of characters
within one segment (`/paths/*/post/responses/*` is every POST's every status; `~1api~1vcenter~1vm?action=*`
is every action of that path). `aspect` and `kind`, when given, must be the difference's too, so
that "the document lists more errors" (`kind: only-ours`) does not hide "VMware lists an error the
document lacks" (`only-vmware`). `forms`, when given, limits a departure to specs of those forms
(`swagger-2.0`, `openapi-3`); elsewhere it is neither applied nor called stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .compare import Difference
from .model import SpecError

_KEYS = {"id", "pointer", "reason", "source", "aspect", "kind", "forms"}


@dataclass(frozen=True)
class Departure:
    id: str
    pointer: str
    reason: str
    source: str
    aspect: str | None = None
    kind: str | None = None
    forms: tuple[str, ...] = ()

    def segments(self) -> list[re.Pattern[str]]:
        return [re.compile(".*".join(map(re.escape, s.split("*"))) + r"\Z") for s in self.pointer.split("/")[1:]]

    def matches(self, diff: Difference) -> bool:
        if (self.aspect and self.aspect != diff.aspect) or (self.kind and self.kind != diff.kind):
            return False
        have = diff.pointer.split("/")[1:]
        want = self.segments()
        return len(have) >= len(want) and all(p.match(s) for p, s in zip(want, have[: len(want)], strict=True))


def load_departures(path: Path) -> tuple[list[Departure], list[dict[str, str]]]:
    """The departures, and the `not_compared` notes (what the diff leaves out by design)."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read the departures ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("departures"), list):
        raise SpecError(f"{path}: no `departures` list")
    found = []
    for index, entry in enumerate(raw["departures"]):
        if not isinstance(entry, dict) or not {"id", "pointer", "reason", "source"} <= entry.keys():
            raise SpecError(f"{path}: departure {index} lacks one of id, pointer, reason, source")
        if entry.keys() - _KEYS or not str(entry["pointer"]).startswith("/"):
            raise SpecError(f"{path}: departure {entry['id']}: unknown keys or a pointer not starting with /")
        forms = tuple(str(f) for f in entry.get("forms") or ())
        ident, pointer, reason, source = (str(entry[k]) for k in ("id", "pointer", "reason", "source"))
        found.append(Departure(ident, pointer, reason, source, entry.get("aspect"), entry.get("kind"), forms))
    ids = [d.id for d in found]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{path}: departure ids repeat")
    notes = raw.get("not_compared") or []
    return found, [{"what": str(n.get("what")), "reason": str(n.get("reason"))} for n in notes if isinstance(n, dict)]


def apply(departures: list[Departure], diffs: list[Difference], form: str) -> list[Departure]:
    """Marks each difference a departure explains; returns the applicable departures that explain none."""
    live = [d for d in departures if not d.forms or form in d.forms]
    used: set[str] = set()
    for diff in diffs:
        for departure in live:
            if departure.matches(diff):
                diff.departure = departure.id
                used.add(departure.id)
                break
    return [d for d in live if d.id not in used]
