"""Parsing and validating Credly integration mappings: good rows kept, bad ones named by line
(or row id) and column, so that nothing in a mapping can crash a sync."""

from __future__ import annotations

import io

import pytest

from credly_sync.warehouse.mappings import (
    MAPPING_COLUMNS,
    MappingProblem,
    mapping_row_problems,
    parse_mapping_csv,
    split_usable_mappings,
)

HEADER = ",".join(MAPPING_COLUMNS) + "\n"
T1 = "38348470-6f69-4e80-8bd3-d8af504959c3"
T2 = "606afe47-412b-422e-b386-cd5bfebc8723"
T3 = "6666e784-063e-4b61-9887-2c4bf76c7681"
T4 = "8e609202-f4ac-41b6-816c-477261b46a87"


def mapping(**values: object) -> dict[str, object]:
    """A valid mapping row (typed, as parsed or stored) with ``values`` changed."""
    row: dict[str, object] = {
        "badge_template_id": T1,
        "badge_template_name": "Cloud",
        "learning_plan_id": "501",
        "import_as_external_training": False,
        "certification_code": None,
        "is_active": True,
    }
    return {**row, **values}


def test_good_rows_are_typed_and_bad_rows_reported() -> None:
    text = HEADER + (
        f"{T1},Cloud,,true,,true\n"
        f"{T2},Data,7,false,,yes\n"
        ",Nameless,1,false,,true\n"
        f"{T3},Nothing,,false,,true\n"
        f"{T1},Cloud,,true,,false\n"
        f"{T4},Cert,,,CERT-1,\n"
        f"{T2},Data,LP-7,false,,true\n"
        f"{T2.upper()},Data,0042,false,,true\n"
    )
    rows, errors = parse_mapping_csv(io.StringIO(text))
    assert [r["badge_template_id"] for r in rows] == [T1, T4]
    assert rows[1] == {
        "badge_template_id": T4,
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
        (8, "learning_plan_id"),
        (9, "badge_template_id"),
        (9, "learning_plan_id"),
    ]
    assert "'yes' must be 'true' or 'false'" in str(errors[0])
    assert errors[1].reason == "required"
    assert "maps nothing" in errors[2].reason
    assert "same mapping as line 2" in errors[3].reason
    assert str(errors[4]).startswith(
        "line 8, column learning_plan_id: 'LP-7' is not a Docebo learning plan id"
    )
    assert "is not a Credly badge template id" in errors[5].reason
    assert "'0042'" in errors[6].reason


def test_one_learning_plan_or_code_may_map_to_several_templates() -> None:
    text = HEADER + f"{T1},A,501,false,,true\n{T2},B,501,false,,true\n{T3},C,,false,CERT-1,true\n"
    text += f"{T4},D,,false,CERT-1,true\n"
    rows, errors = parse_mapping_csv(io.StringIO(text))
    assert errors == [] and len(rows) == 4


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"badge_template_id": None}, "badge_template_id", "required"),
        ({"badge_template_id": "t-1"}, "badge_template_id", "not a Credly badge template id"),
        ({"badge_template_id": f" {T1}"}, "badge_template_id", "not a Credly badge template id"),
        ({"learning_plan_id": "abc"}, "learning_plan_id", "not a Docebo learning plan id"),
        ({"learning_plan_id": "-3"}, "learning_plan_id", "not a Docebo learning plan id"),
        ({"learning_plan_id": "0"}, "learning_plan_id", "not a Docebo learning plan id"),
        ({"learning_plan_id": "12.0"}, "learning_plan_id", "not a Docebo learning plan id"),
        ({"learning_plan_id": " 12"}, "learning_plan_id", "not a Docebo learning plan id"),
        ({"certification_code": ""}, "certification_code", "must be text"),
        ({"certification_code": " CERT-1"}, "certification_code", "blanks before or after"),
        ({"certification_code": "CERT\x001"}, "certification_code", "control character"),
        ({"certification_code": "CERT\u00851"}, "certification_code", "control character"),
        ({"learning_plan_id": None}, "learning_plan_id", "maps nothing"),
    ],
)
def test_each_unusable_value_is_named_with_its_column(changes: dict, column: str, reason: str) -> None:
    [(found_column, found_reason)] = mapping_row_problems(mapping(**changes))
    assert found_column == column and reason in found_reason


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"learning_plan_id": "7"},
        {"learning_plan_id": None, "certification_code": "CERT 001 (EU)"},
        {"learning_plan_id": None, "import_as_external_training": True},
    ],
)
def test_usable_rows_have_no_problem(changes: dict) -> None:
    assert mapping_row_problems(mapping(**changes)) == []


def test_stored_rows_are_split_into_usable_ones_and_problems_by_row_id() -> None:
    good = mapping(id=1)
    usable, problems = split_usable_mappings(
        [
            good,
            mapping(id=2, learning_plan_id="LP-7"),
            mapping(id=3, badge_template_id="x", learning_plan_id=""),
        ]
    )
    assert usable == [good]
    assert [(p.mapping_id, p.column) for p in problems] == [
        (2, "learning_plan_id"),
        (3, "badge_template_id"),
        (3, "learning_plan_id"),
    ]
    assert str(problems[0]).startswith("mapping 2, column learning_plan_id: 'LP-7'")
    assert isinstance(problems[0], MappingProblem)


def test_unknown_header_rejects_the_file_with_the_allowed_columns() -> None:
    rows, errors = parse_mapping_csv(io.StringIO("template,lp\nx,y\n"))
    assert rows == []
    assert errors[0].line == 1
    assert "unknown column 'template'" in errors[0].reason
    assert "missing column 'badge_template_id'" in errors[0].reason
