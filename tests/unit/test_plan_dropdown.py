"""Planning the LMS course dropdown from the Credly Badge Templates table."""

from __future__ import annotations

import pytest

from credly_sync.planning.dropdown import (
    ADD,
    OPTION_COLUMNS,
    RELABEL,
    REMOVE,
    DropdownCutRefused,
    large_cut_reason,
    plan_dropdown,
)
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


def test_an_empty_template_table_may_not_remove_a_single_option() -> None:
    with pytest.raises(DropdownCutRefused) as refused:
        plan_dropdown(templates(), options((11, "Cloud"), (12, "Data"), (13, "Ops")), "5", "r7")
    message = str(refused.value)
    assert "refusing to remove 3 of the 3 options of dropdown field 5" in message
    assert "table is empty" in message and "allow_large_dropdown_cut" in message
    plan = plan_dropdown(templates(), options((11, "Cloud")), "5", "r7", allow_large_cut=True)
    assert kinds_and_payloads(plan) == [(REMOVE, {"element_id": 11, "label": "Cloud"})]


def test_the_last_option_is_removed_only_when_allowed() -> None:
    inactive = templates(("t1", "Cloud", False, 11))
    with pytest.raises(DropdownCutRefused, match="leave the dropdown empty"):
        plan_dropdown(inactive, options((11, "Cloud")), "5", "r8")
    assert plan_dropdown(inactive, options((11, "Cloud")), "5", "r8", allow_large_cut=True).links == {
        "t1": None
    }


@pytest.mark.parametrize(
    ("options_count", "removals", "refused"),
    [(6, 2, False), (6, 3, True), (20, 4, False), (20, 5, True), (2, 1, False), (2, 2, True), (5, 0, False)],
)
def test_a_run_removes_at_most_the_larger_of_two_and_a_fifth(
    options_count: int, removals: int, refused: bool
) -> None:
    assert (large_cut_reason(options_count, options_count, removals) is not None) is refused


def test_routine_removals_pass_without_the_param() -> None:
    rows = [(f"t{n}", f"B{n}", n > 2, 10 + n) for n in range(1, 11)]  # 2 of 10 archived
    plan = plan_dropdown(templates(*rows), options(*[(10 + n, f"B{n}") for n in range(1, 11)]), "5", "r9")
    assert plan.summary()[REMOVE] == 2
