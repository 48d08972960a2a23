"""Active mappings read back from a real warehouse: rows written by SQL, bypassing the import,
are split into usable ones and reported problems instead of crashing a sync."""

from __future__ import annotations

from sqlalchemy import Engine

from credly_sync.warehouse.mappings import MappingProblem, usable_active_mappings
from credly_sync.warehouse.schema import credly_integration_mappings
from tests.unit.test_mapping_csv import T1, T2, T3


def test_rows_that_bypassed_the_import_are_skipped_and_reported(warehouse: Engine) -> None:
    rows = [
        {"badge_template_id": T1, "learning_plan_id": "501"},
        {"badge_template_id": T2, "learning_plan_id": "501"},  # one plan, several templates
        {"badge_template_id": T3, "learning_plan_id": "LP-7"},
        {"badge_template_id": T3, "certification_code": " CERT-1"},
        {"badge_template_id": "Cloud Basics", "certification_code": "CERT-2"},
        {"badge_template_id": T1, "learning_plan_id": "x", "is_active": False},  # inactive: not read
    ]
    with warehouse.begin() as connection:
        ids = [
            connection.execute(credly_integration_mappings.insert().values(**row)).inserted_primary_key[0]
            for row in rows
        ]
    usable, problems = usable_active_mappings(warehouse)
    assert [(m["id"], m["badge_template_id"], m["learning_plan_id"]) for m in usable] == [
        (ids[0], T1, "501"),
        (ids[1], T2, "501"),
    ]
    assert [(p.mapping_id, p.column) for p in problems] == [
        (ids[2], "learning_plan_id"),
        (ids[3], "certification_code"),
        (ids[4], "badge_template_id"),
    ]
    assert all(isinstance(p, MappingProblem) for p in problems)
    assert "'Cloud Basics' is not a Credly badge template id" in str(problems[2])
