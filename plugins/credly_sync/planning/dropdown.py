"""The course additional field (dropdown) in the LMS <- the Credly Badge Templates table.

Rules (Docebo Connect for Credly, 'Synchronisation from Credly Lookup table to Docebo LMS'):
every active template is one option labelled with its name, its element id stored in the
table; options of inactive or deleted templates are removed and their ids cleared.

The plan is recomputed from the field's real options on every run, so it converges whatever
happened before: an unclaimed option that already carries an active template's name is
adopted (its id stored) rather than added twice, e.g. after a crash between the LMS write
and the warehouse update.

A plan never empties the dropdown or cuts it deeply on its own authority: removing an option
resets every course that selected it, and an empty, unsynced or wrong template table would
otherwise wipe the field. Such a plan raises :class:`DropdownCutRefused` unless the caller
allows it (the DAG param ``allow_large_dropdown_cut``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from credly_sync.planning.frames import records
from credly_sync.planning.operations import Operation

OPTION_COLUMNS = ("element_id", "label")
ADD, REMOVE, RELABEL = "dropdown_add", "dropdown_remove", "dropdown_relabel"
DROPDOWN_KINDS = (ADD, REMOVE, RELABEL)
ALLOW_LARGE_CUT_PARAM = "allow_large_dropdown_cut"
# Removing up to max(2, 20 %) of the options at once is ordinary churn (a template archived or
# deleted); more, or all of them, or any removal while the template table is empty, needs a yes.
MAX_REMOVED_SHARE = 0.2
MAX_REMOVED_ALWAYS = 2


class DropdownCutRefused(ValueError):
    """The plan would empty the dropdown or remove more options than a routine run does."""


@dataclass(frozen=True)
class DropdownPlan:
    operations: list[Operation] = field(default_factory=list)
    links: dict[str, int | None] = field(default_factory=dict)  # template id -> element id to store

    def summary(self) -> dict[str, int]:
        counts = {kind: 0 for kind in DROPDOWN_KINDS}
        for op in self.operations:
            counts[op.kind] += 1
        return {**counts, "links": len(self.links)}


def plan_dropdown(
    templates: pd.DataFrame,
    options: pd.DataFrame,
    field_id: str,
    run_id: str,
    *,
    allow_large_cut: bool = False,
) -> DropdownPlan:
    """Operations and table links that make the field's options equal the active templates.

    Raises :class:`DropdownCutRefused` when the plan would cut the field too deeply (see
    :func:`large_cut_reason`) and ``allow_large_cut`` is false.
    """
    option_labels = dict(zip(options["element_id"].astype(int), options["label"], strict=True))
    active = templates[templates["is_active"].astype(bool)]
    claimed: set[int] = set()
    operations: list[Operation] = []
    links: dict[str, int | None] = {}

    def op(kind: str, subject: object, payload: dict) -> Operation:
        return Operation(
            f"{kind}:{field_id}:{subject}:{run_id}", kind, str(subject), {"field_id": field_id, **payload}
        )

    for row in records(active):
        element_id = row["dropdown_element_id"]
        if element_id is not None and int(element_id) in option_labels:
            claimed.add(int(element_id))
            if option_labels[int(element_id)] != row["badge_template_name"]:
                operations.append(
                    op(
                        RELABEL,
                        element_id,
                        {"element_id": int(element_id), "label": row["badge_template_name"]},
                    )
                )
            continue
        twin = next(
            (
                eid
                for eid, label in option_labels.items()
                if label == row["badge_template_name"] and eid not in claimed
            ),
            None,
        )
        if twin is not None:
            claimed.add(twin)
            links[row["badge_template_id"]] = twin
        else:
            if element_id is not None:
                links[row["badge_template_id"]] = None
            operations.append(
                op(
                    ADD,
                    row["badge_template_id"],
                    {"badge_template_id": row["badge_template_id"], "label": row["badge_template_name"]},
                )
            )
    for element_id, label in option_labels.items():
        if element_id not in claimed:
            operations.append(op(REMOVE, element_id, {"element_id": element_id, "label": label}))
    inactive_linked = templates[
        ~templates["is_active"].astype(bool) & templates["dropdown_element_id"].notna()
    ]
    links.update({template_id: None for template_id in inactive_linked["badge_template_id"]})
    plan = DropdownPlan(operations=operations, links=links)
    reason = large_cut_reason(len(templates), len(option_labels), plan.summary()[REMOVE])
    if reason and not allow_large_cut:
        raise DropdownCutRefused(
            f"refusing to remove {plan.summary()[REMOVE]} of the {len(option_labels)} options of "
            f"dropdown field {field_id}: {reason}. Nothing was changed. If the removal is intended "
            f"(the templates really were archived or deleted in Credly), trigger credly_lms_dropdown "
            f'with the param {ALLOW_LARGE_CUT_PARAM} = true ({{"{ALLOW_LARGE_CUT_PARAM}": true}}).'
        )
    return plan


def large_cut_reason(table_rows: int, options: int, removals: int) -> str | None:
    """Why removing ``removals`` of ``options`` options needs an explicit yes, or None."""
    if removals == 0:
        return None
    if table_rows == 0:
        return (
            "the Credly Badge Templates table is empty (credly_templates has not synced this "
            "warehouse yet, or the connection points at another warehouse); run credly_templates first"
        )
    if removals == options:
        return "that would leave the dropdown empty"
    limit = max(MAX_REMOVED_ALWAYS, int(options * MAX_REMOVED_SHARE))
    if removals > limit:
        return (
            f"a run may remove at most {limit} (the larger of {MAX_REMOVED_ALWAYS} and "
            f"{MAX_REMOVED_SHARE:.0%} of the options) without being allowed to"
        )
    return None
