"""Planning the LMS course dropdown from the Credly Badge Templates table."""

from __future__ import annotations

from credly_sync.planning.dropdown import ADD, OPTION_COLUMNS, RELABEL, REMOVE, plan_dropdown
from credly_sync.planning.frames import frame
from credly_sync.planning.templates import TABLE_COLUMNS


def templates(*rows: tuple[str, str, bool, int | None]):
    return frame([dict(zip(TABLE_COLUMNS, row, strict=True)) for row in rows], TABLE_COLUMNS)


def options(*rows: tuple[int, str]):
    return frame([dict(zip(OPTION_COLUMNS, row, strict=True)) for row in rows], OPTION_COLUMNS)


def kinds_and_payloads(plan):
    return [(op.kind, {k: v for k, v in op.payload.items() if k != "field_id"}) for op in plan.operations]


def test_first_run_adds_an_option_per_active_template_only() -> None:
    plan = plan_dropdown(
        templates(("t1", "Cloud", True, None), ("t2", "Data", False, None)),
        options(),
        field_id="5",
        run_id="r1",
    )
    assert kinds_and_payloads(plan) == [(ADD, {"badge_template_id": "t1", "label": "Cloud"})]
    assert plan.operations[0].op_key == "dropdown_add:5:t1:r1"
    assert plan.links == {}


def test_in_step_plans_nothing() -> None:
    plan = plan_dropdown(
        templates(("t1", "Cloud", True, 11), ("t2", "Data", False, None)), options((11, "Cloud")), "5", "r2"
    )
    assert plan.operations == [] and plan.links == {}


def test_archived_or_deleted_template_options_are_removed_and_ids_cleared() -> None:
    plan = plan_dropdown(
        templates(("t1", "Cloud", True, 11), ("t2", "Data", False, 12)),
        options((11, "Cloud"), (12, "Data"), (13, "Gone")),
        "5",
        "r3",
    )
    assert kinds_and_payloads(plan) == [
        (REMOVE, {"element_id": 12, "label": "Data"}),
        (REMOVE, {"element_id": 13, "label": "Gone"}),
    ]
    assert plan.links == {"t2": None}


def test_renamed_template_relabels_its_option_in_place() -> None:
    plan = plan_dropdown(templates(("t1", "Cloud 2", True, 11)), options((11, "Cloud")), "5", "r4")
    assert kinds_and_payloads(plan) == [(RELABEL, {"element_id": 11, "label": "Cloud 2"})]


def test_an_unclaimed_option_with_the_name_is_adopted_not_added_twice() -> None:
    plan = plan_dropdown(
        templates(("t1", "Cloud", True, None), ("t2", "Data", True, 99)),
        options((11, "Cloud"), (12, "Data")),
        "5",
        "r5",
    )
    assert plan.operations == []
    assert plan.links == {"t1": 11, "t2": 12}


def test_a_stale_element_id_is_cleared_and_the_option_added_again() -> None:
    plan = plan_dropdown(templates(("t1", "Cloud", True, 99)), options(), "5", "r6")
    assert kinds_and_payloads(plan) == [(ADD, {"badge_template_id": "t1", "label": "Cloud"})]
    assert plan.links == {"t1": None}
    assert plan.summary() == {ADD: 1, REMOVE: 0, RELABEL: 0, "links": 1}
