"""ALM badge.csv rules without a warehouse: name proposals and every reported cell."""

from __future__ import annotations

import io

from credly_sync.warehouse.alm_badges import BADGE_CSV_COLUMNS, parse_badge_csv, propose_badge_name

HEADER = ",".join(BADGE_CSV_COLUMNS) + "\n"
T1 = "38348470-6f69-4e80-8bd3-d8af504959c3"
T2 = "5b1f8c3e-2a7d-4c61-9e0f-7d2b4a6c8e10"
WHEN = "2026-01-31T09:30:00.000Z"


def test_a_short_free_name_is_kept() -> None:
    assert propose_badge_name("Cloud Basics") == "Cloud Basics"
    assert propose_badge_name("x" * 25) == "x" * 25


def test_long_names_keep_whole_leading_words() -> None:
    name = "Certified Cloud Security Practitioner"  # 37 characters
    assert propose_badge_name(name) == "Certified Cloud Security"
    assert propose_badge_name("Supercalifragilisticexpialidocious rocks") == "Supercalifragilisticexpia"


def test_taken_names_are_numbered_within_25_characters() -> None:
    taken = {"certified cloud security", "Certified Cloud 2"}
    assert propose_badge_name("Certified Cloud Security Practitioner", taken) == "Certified Cloud 3"
    assert propose_badge_name("Cloud Basics", {"CLOUD BASICS"}) == "Cloud Basics 2"
    assert propose_badge_name("a" * 40, {"a" * 25, "a" * 23 + " 2"}) == "a" * 23 + " 3"


def test_good_rows_become_mappings_with_their_lines() -> None:
    text = HEADER + f"alm-1,Cloud Basics,{WHEN},,Active,badges/1.png,{T1},Credly\n"
    text += f"alm-2,Data Basics,{WHEN},{WHEN},Retired,https://x/2.png,{T2},credly\n"
    rows, errors = parse_badge_csv(io.StringIO(text))
    assert errors == []
    assert [(line, row["alm_badge_id"], row["state"]) for line, row in rows] == [
        (2, "alm-1", "Active"),
        (3, "alm-2", "Retired"),
    ]
    assert rows[1][1]["external_badge_provider"] == "Credly" and rows[1][1]["badge_modified_at"] is not None


def test_every_bad_cell_is_reported_with_line_column_and_reason() -> None:
    text = HEADER + (
        f"alm-1,Cloud Basics,{WHEN},,Active,badges/1.png,{T1},Credly\n"
        f",A Very Long Badge Name For ALM,2026-01-31,,active,,Cloud Basics,Accredible\n"
        f"alm-1,cloud basics,{WHEN},1979-01-01T00:00:00.000Z,Active,ftp://x/y.png,,Credly\n"
        f"alm-4,Good,{WHEN},,Active,badges/4.png,{T2}\n"
        f"alm-5,Too many,{WHEN},,Active,badges/5.png,{T2},Credly,extra\n"
    )
    rows, errors = parse_badge_csv(io.StringIO(text))
    assert [line for line, _ in rows] == [2]
    found = {(e.line, e.column) for e in errors}
    assert found == {
        (3, "id"),
        (3, "badgeName"),
        (3, "badgeCreationDate"),
        (3, "state"),
        (3, "imageUrl"),
        (3, "externalBadgeId"),
        (3, "externalBadgeProvider"),
        (4, "id"),
        (4, "badgeName"),
        (4, "lastModifiedDate"),
        (4, "imageUrl"),
        (4, "externalBadgeId"),
        (5, "externalBadgeProvider"),
        (6, "row"),
    }
    text_of = {(e.line, e.column): str(e) for e in errors}
    assert "30 characters, ALM allows 25: try 'A Very Long Badge Name'" in text_of[(3, "badgeName")]
    assert "same id as line 2" in text_of[(4, "id")] and "same name as line 2" in text_of[(4, "badgeName")]
    assert "between 1981 and 2038" in text_of[(4, "lastModifiedDate")]
    assert "maps nothing" in text_of[(4, "externalBadgeId")]
    assert (
        text_of[(3, "externalBadgeProvider")]
        == "line 3, column externalBadgeProvider: 'Accredible' must be Credly"
    )


def test_header_problems_are_one_error() -> None:
    rows, errors = parse_badge_csv(io.StringIO("id,badgeName,colour\nx,y,z\n"))
    assert rows == [] and len(errors) == 1 and errors[0].line == 1 and errors[0].column == "header"
    assert (
        "unknown column 'colour'" in errors[0].reason
        and "missing column 'externalBadgeId'" in errors[0].reason
    )
    bom, problems = parse_badge_csv(
        io.StringIO("\ufeff" + HEADER + f"a,B,{WHEN},,Active,i.png,{T1},Credly\n")
    )
    assert problems == [] and len(bom) == 1
