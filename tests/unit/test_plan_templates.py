"""Planning the Credly Badge Templates lookup table from Credly's template list."""

from __future__ import annotations

from credly_sync.planning.frames import frame, records
from credly_sync.planning.templates import (
    CREDLY_COLUMNS,
    MAPPING_COLUMNS,
    NOTICE_KIND,
    TABLE_COLUMNS,
    deletion_candidates,
    deletion_notices,
    plan_template_table,
)


def credly(*rows: tuple[str, str, str]):
    return frame([dict(zip(CREDLY_COLUMNS, row, strict=True)) for row in rows], CREDLY_COLUMNS)


def table(*rows: tuple[str, str, bool, int | None]):
    return frame([dict(zip(TABLE_COLUMNS, row, strict=True)) for row in rows], TABLE_COLUMNS)


def mappings(*rows: tuple[int, str, str, str | None, str | None, bool]):
    return frame([dict(zip(MAPPING_COLUMNS, row, strict=True)) for row in rows], MAPPING_COLUMNS)


def test_first_run_inserts_every_template_with_its_active_flag() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active"), ("t2", "Data", "archived"), ("t3", "Draft", "draft")),
        table(),
        mappings(),
    )
    assert records(plan.inserts) == [
        {"badge_template_id": "t1", "badge_template_name": "Cloud", "is_active": True},
        {"badge_template_id": "t2", "badge_template_name": "Data", "is_active": False},
        {"badge_template_id": "t3", "badge_template_name": "Draft", "is_active": False},
    ]
    assert plan.updates.empty and plan.deletes.empty


def test_nothing_changed_plans_nothing() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active"), ("t2", "Data", "archived")),
        table(("t1", "Cloud", True, 7), ("t2", "Data", False, None)),
        mappings((1, "t1", "Cloud", "LP-1", None, True)),
    )
    assert plan.is_empty
    assert plan.summary() == {
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "mappings_deactivated": 0,
        "duplicates_skipped": [],
    }


def test_rename_archive_and_unarchive_are_updates() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud 2", "active"), ("t2", "Data", "archived"), ("t3", "Ops", "active")),
        table(("t1", "Cloud", True, 7), ("t2", "Data", True, 8), ("t3", "Ops", False, None)),
        mappings(),
    )
    assert records(plan.updates) == [
        {"badge_template_id": "t1", "badge_template_name": "Cloud 2", "is_active": True},
        {"badge_template_id": "t2", "badge_template_name": "Data", "is_active": False},
        {"badge_template_id": "t3", "badge_template_name": "Ops", "is_active": True},
    ]


def test_deleted_template_loses_its_row_and_active_mappings_with_a_notice() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active")),
        table(("t1", "Cloud", True, 7), ("t2", "Data", True, 8)),
        mappings(
            (1, "t2", "Data", "LP-1", None, True),
            (2, "t2", "Data", None, "CERT-9", False),
            (3, "t1", "Cloud", "LP-2", None, True),
        ),
    )
    assert records(plan.deletes) == [
        {"badge_template_id": "t2", "badge_template_name": "Data", "dropdown_element_id": 8}
    ]
    assert plan.deactivated_mappings["id"].tolist() == [1]
    [notice] = deletion_notices(plan)
    assert (notice.op_key, notice.kind) == (f"{NOTICE_KIND}:t2", NOTICE_KIND)
    assert notice.payload == {
        "badge_template_id": "t2",
        "badge_template_name": "Data",
        "deactivated_mappings": [
            {
                "id": 1,
                "badge_template_id": "t2",
                "badge_template_name": "Data",
                "learning_plan_id": "LP-1",
                "certification_code": None,
            }
        ],
    }


def test_duplicate_names_keep_the_first_retrieved_and_list_the_rest() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active"), ("t2", "Cloud", "active"), ("t3", "Data", "active")),
        table(),
        mappings(),
    )
    assert plan.inserts["badge_template_id"].tolist() == ["t1", "t3"]
    assert records(plan.duplicates) == [
        {"badge_template_id": "t2", "name": "Cloud", "kept_badge_template_id": "t1"}
    ]


def test_a_name_already_in_the_table_keeps_its_template_and_a_new_twin_is_skipped() -> None:
    plan = plan_template_table(
        credly(("t9", "Cloud", "active"), ("t1", "Cloud", "active")),
        table(("t1", "Cloud", True, 7)),
        mappings(),
    )
    assert plan.inserts.empty and plan.updates.empty
    assert records(plan.duplicates) == [
        {"badge_template_id": "t9", "name": "Cloud", "kept_badge_template_id": "t1"}
    ]


def test_a_table_row_renamed_into_a_duplicate_is_made_inactive_not_deleted() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active"), ("t2", "Cloud", "active")),
        table(("t1", "Cloud", True, 7), ("t2", "Data", True, 8)),
        mappings((1, "t2", "Data", "LP-1", None, True)),
    )
    assert plan.deletes.empty and plan.deactivated_mappings.empty
    assert records(plan.updates) == [
        {"badge_template_id": "t2", "badge_template_name": "Cloud", "is_active": False}
    ]


def test_deletion_candidates_are_the_table_rows_the_listing_did_not_return() -> None:
    candidates = deletion_candidates(
        credly(("t1", "Cloud", "active")), table(("t1", "Cloud", True, 7), ("t2", "Data", False, None))
    )
    assert records(candidates) == [
        {
            "badge_template_id": "t2",
            "badge_template_name": "Data",
            "is_active": False,
            "dropdown_element_id": None,
        }
    ]


def test_an_unconfirmed_deletion_leaves_row_mappings_and_name_as_they_are() -> None:
    plan = plan_template_table(
        credly(("t1", "Cloud", "active"), ("t9", "Data", "active")),
        table(("t1", "Cloud", True, 7), ("t2", "Data", True, 8), ("t3", "Ops", False, None)),
        mappings((1, "t2", "Data", "11", None, True), (2, "t3", "Ops", "12", None, True)),
        unconfirmed=["t2", "t3"],
    )
    assert plan.is_empty, "no delete, no update, no mapping deactivated, no insert"
    assert deletion_notices(plan) == []
    assert records(plan.duplicates) == [
        {"badge_template_id": "t9", "name": "Data", "kept_badge_template_id": "t2"}
    ], "a newcomer does not take the name of a row that may still exist"
