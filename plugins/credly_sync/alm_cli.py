"""The ``alm`` admin commands (``python -m credly_sync alm ...``), kept apart from cli.py:

alm badge-csv export FILE [--image-url PATTERN]
                             the active Credly templates as an ALM badge.csv
alm badge-csv import FILE    an ALM badge.csv into the ALM badge mappings
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from credly_sync.warehouse.alm_badges import (
    DEFAULT_IMAGE_URL,
    export_badge_csv,
    import_alm_badges,
    parse_badge_csv,
)


def add_alm_commands(commands: Any) -> None:
    """The ``alm`` sub-command and its actions, on cli.py's sub-parsers."""
    alm = commands.add_parser("alm", help="Adobe Learning Manager").add_subparsers(dest="area", required=True)
    badge_csv = alm.add_parser("badge-csv", help="ALM badge.csv with Credly template ids").add_subparsers(
        dest="action", required=True
    )
    export = badge_csv.add_parser("export", help="write the active Credly templates as an ALM badge.csv")
    export.add_argument("file", type=Path)
    export.add_argument(
        "--image-url",
        default=DEFAULT_IMAGE_URL,
        help="imageUrl of each badge: a content-folder path or web URL; {badge_template_id} is "
        f"replaced (default: {DEFAULT_IMAGE_URL})",
    )
    badge_csv.add_parser("import", help="read an ALM badge.csv into the ALM badge mappings").add_argument(
        "file", type=Path
    )


def run_alm_command(engine: Engine, args: argparse.Namespace) -> int:
    """0 when everything went in (or out) as it was; 1 when a row was reported."""
    mode, encoding = ("w", "utf-8") if args.action == "export" else ("r", "utf-8-sig")
    with args.file.open(mode, encoding=encoding, newline="") as stream:
        if args.action == "export":
            written, shortened = export_badge_csv(engine, stream, image_url=args.image_url)
            problems = [str(notice) for notice in shortened]
            print(f"badge.csv: {written} active template(s) written, {len(shortened)} name(s) to review")
        else:
            rows, errors = parse_badge_csv(stream)
            report = import_alm_badges(engine, rows)
            bad = [*errors, *report.rejected]
            rejected = len({error.line for error in bad})  # a row may have several bad cells
            print(
                f"ALM badge mappings: {report.inserted} inserted, {report.updated} updated, "
                f"{rejected} rejected, {len(report.warnings)} warning(s)"
            )
            problems = [str(error) for error in sorted(bad, key=lambda e: e.line)]
            for warning in report.warnings:
                print(f"{args.file}: warning: {warning}", file=sys.stderr)
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    return 1 if problems else 0
