"""badge.csv both ways against a real warehouse, through the command line."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credly_sync.cli import main
from credly_sync.warehouse.alm_badges import BADGE_CSV_COLUMNS, read_alm_badge_mappings
from credly_sync.warehouse.schema import credly_badge_templates

T1 = "38348470-6f69-4e80-8bd3-d8af504959c3"
T2 = "5b1f8c3e-2a7d-4c61-9e0f-7d2b4a6c8e10"
T3 = "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
T4 = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
LONG = "Certified Cloud Security Practitioner"


def add_templates(engine: Engine) -> None:
    rows = [
        (T1, "Cloud Basics", True, datetime(2026, 1, 5, 8, 0, tzinfo=UTC)),
        (T2, LONG, True, datetime(2026, 1, 6, 8, 0, tzinfo=UTC)),
        (T3, "Archived One", False, datetime(2026, 1, 7, 8, 0, tzinfo=UTC)),
        (T4, "cloud basics", True, datetime(2026, 1, 8, 8, 0, tzinfo=UTC)),  # same name, newer
    ]
    with engine.begin() as connection:
        for template_id, name, active, created in rows:
            connection.execute(
                credly_badge_templates.insert().values(
                    badge_template_id=template_id,
                    badge_template_name=name,
                    is_active=active,
                    created_at=created,
                    updated_at=created,
                )
            )


def test_export_then_import_round_trips(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_templates(warehouse)
    target = tmp_path / "badge.csv"
    assert main(["alm", "badge-csv", "export", str(target)]) == 1, "names to review"
    captured = capsys.readouterr()
    assert "3 active template(s) written, 2 name(s) to review" in captured.out
    assert (
        f"line 3, column badgeName: template {T2} is named {LONG!r} (37 characters, ALM allows 25); "
        "written as the proposed 'Certified Cloud Security'"
    ) in captured.err
    assert f"line 4, column badgeName: template {T4} is named 'cloud basics' (a duplicate)" in captured.err
    with target.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == BADGE_CSV_COLUMNS
    assert [(r["id"], r["badgeName"], r["externalBadgeId"]) for r in rows] == [
        (T1, "Cloud Basics", T1),
        (T2, "Certified Cloud Security", T2),
        (T4, "cloud basics 2", T4),
    ]
    assert rows[0]["badgeCreationDate"] == "2026-01-05T08:00:00.000Z"
    assert {(r["state"], r["externalBadgeProvider"]) for r in rows} == {("Active", "Credly")}
    assert rows[0]["imageUrl"] == f"badges/{T1}.png"

    assert main(["alm", "badge-csv", "import", str(target)]) == 0
    assert "3 inserted, 0 updated, 0 rejected, 0 warning(s)" in capsys.readouterr().out
    mappings = read_alm_badge_mappings(warehouse)
    assert sorted(
        (m["alm_badge_id"], m["badge_template_id"], m["badge_name"], m["state"]) for m in mappings
    ) == [
        (T4, T4, "cloud basics 2", "Active"),
        (T1, T1, "Cloud Basics", "Active"),
        (T2, T2, "Certified Cloud Security", "Active"),
    ]
    # the same file again updates in place, and exporting again writes the same file
    assert main(["alm", "badge-csv", "import", str(target)]) == 0
    assert "0 inserted, 3 updated" in capsys.readouterr().out
    again = tmp_path / "again.csv"
    main(
        [
            "alm",
            "badge-csv",
            "export",
            str(again),
            "--image-url",
            "https://cdn.example/{badge_template_id}.png",
        ]
    )
    first, second = target.read_text().splitlines(), again.read_text().splitlines()
    assert [line.replace(f"badges/{T}", "") for line, T in zip(first[1:], [T1, T2, T4], strict=True)] == [
        line.replace(f"https://cdn.example/{T}", "") for line, T in zip(second[1:], [T1, T2, T4], strict=True)
    ]


def test_bad_rows_are_reported_and_good_ones_imported(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_templates(warehouse)
    when = "2026-02-01T10:00:00.000Z"
    source = tmp_path / "badge.csv"
    source.write_text(
        ",".join(BADGE_CSV_COLUMNS)
        + "\n"
        + f"501,Cloud Basics,{when},,Active,badges/501.png,{T1},Credly\n"
        + f"502,Security Practitioner Level 2,{when},,Active,badges/502.png,{T2},Credly\n"
        + f"503,Archived,{when},,Retired,badges/503.png,{T3},Credly\n"
        + f"504,Unknown Template,{when},,Active,badges/504.png,{T4.replace('0a', 'ff')},Credly\n"
        + f"505,Data,31/01/2026,,Active,badges/505.png,{T2},Credly\n"
    )
    assert main(["alm", "badge-csv", "import", str(source)]) == 1
    captured = capsys.readouterr()
    assert "3 inserted, 0 updated, 2 rejected, 2 warning(s)" in captured.out
    assert (
        f"{source}: line 3, column badgeName: 'Security Practitioner Level 2' has 29 characters"
        in captured.err
    )
    assert (
        f"{source}: line 6, column badgeCreationDate: '31/01/2026' must be YYYY-MM-DDTHH:MM:SS.mmmZ"
        in captured.err
    )
    assert f"{source}: warning: line 4, column externalBadgeId: {T3} is archived in Credly" in captured.err
    assert (
        "line 5, column externalBadgeId" in captured.err
        and "not in the Credly Badge Templates" in captured.err
    )
    assert {m["alm_badge_id"] for m in read_alm_badge_mappings(warehouse)} == {"501", "503", "504"}

    # a name another stored badge has is refused: names identify badges after a migration
    clash = tmp_path / "clash.csv"
    clash.write_text(",".join(BADGE_CSV_COLUMNS) + f"\n601,CLOUD BASICS,{when},,Active,b.png,{T1},Credly\n")
    assert main(["alm", "badge-csv", "import", str(clash)]) == 1
    assert (
        "line 2, column badgeName: 'CLOUD BASICS' is already the name of ALM badge 501"
        in capsys.readouterr().err
    )
    assert len(read_alm_badge_mappings(warehouse)) == 3
