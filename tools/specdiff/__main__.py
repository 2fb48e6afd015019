"""python -m tools.specdiff FILE [FILE...]: what differs between the document and VMware's spec.

Exit status: 0 when nothing unexplained differs (every difference is a recorded departure and no
recorded departure is stale), 1 otherwise, 2 when an input cannot be read (one line says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .compare import compare, families
from .departures import apply, load_departures
from .load import load
from .model import SpecError, family_of
from .report import as_dict, write_json, write_plain, write_rich

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "vcenter-guest.yaml"
DEPARTURES = ROOT / "openapi" / "departures.yaml"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spec-diff",
        description="Compare openapi/vcenter-guest.yaml with VMware's published spec (Swagger 2.0 or "
        "OpenAPI 3, JSON or YAML, one file or one per service), operation by operation.",
    )
    parser.add_argument("files", nargs="+", type=Path, help="VMware's spec: one file, or one per service")
    parser.add_argument("--json", action="store_true", help="the whole report as JSON on stdout")
    parser.add_argument("--all", action="store_true", help="list the explained differences too")
    parser.add_argument("--document", type=Path, default=DOCUMENT, help="default: %(default)s")
    parser.add_argument("--departures", type=Path, default=DEPARTURES, help="default: %(default)s")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        ours = load([args.document])
        covered = families(ours)
        theirs = load(args.files, detailed=lambda key: family_of(key) in covered)
        departures, notes = load_departures(args.departures)
    except SpecError as exc:
        print(f"spec-diff: {exc}", file=sys.stderr)
        return 2
    result = compare(ours, theirs)
    stale = apply(departures, result.differences, theirs.form)
    report = as_dict(result, stale, notes, theirs.form)
    try:
        if args.json:
            write_json(report, sys.stdout)
        elif sys.stdout.isatty():
            write_rich(report, sys.stdout, args.all)
        else:
            write_plain(report, sys.stdout, args.all)
        sys.stdout.flush()
    except BrokenPipeError:  # `spec-diff ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if report["unexplained"] == 0 and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
