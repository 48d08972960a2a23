"""Parsing the Credly integration mappings CSV: good rows kept, bad ones named by line and column."""

from __future__ import annotations

import io

from credly_sync.warehouse.mappings import MAPPING_COLUMNS, parse_mapping_csv

HEADER = ",".join(MAPPING_COLUMNS) + "\n"


def test_good_rows_are_typed_and_bad_rows_reported() -> None:
    text = HEADER + (
        "t-1,Cloud,,true,,true\n"
        "t-2,Data,LP-7,false,,yes\n"
        ",Nameless,LP-1,false,,true\n"
        "t-3,Nothing,,false,,true\n"
        "t-1,Cloud,,true,,false\n"
        "t-4,Cert,,,CERT-1,\n"
    )
    rows, errors = parse_mapping_csv(io.StringIO(text))
    assert [r["badge_template_id"] for r in rows] == ["t-1", "t-4"]
    assert rows[1] == {
        "badge_template_id": "t-4",
        "badge_template_name": "Cert",
        "learning_plan_id": None,
        "import_as_external_training": False,
        "certification_code": "CERT-1",
        "is_active": True,
    }
    assert [(e.line, e.column) for e in errors] == [
        (3, "is_active"),
        (4, "badge_template_id"),
        (5, "learning_plan_id"),
        (6, "badge_template_id"),
    ]
    assert "'yes' must be 'true' or 'false'" in str(errors[0])
    assert "same mapping as line 2" in errors[3].reason


def test_unknown_header_rejects_the_file_with_the_allowed_columns() -> None:
    rows, errors = parse_mapping_csv(io.StringIO("template,lp\nx,y\n"))
    assert rows == []
    assert errors[0].line == 1
    assert "unknown column 'template'" in errors[0].reason
    assert "missing column 'badge_template_id'" in errors[0].reason
