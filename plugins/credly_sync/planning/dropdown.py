"""The course additional field (dropdown) in the LMS <- the Credly Badge Templates table.

Rules (Docebo Connect for Credly, 'Synchronisation from Credly Lookup table to Docebo LMS'):
every active template is one option labelled with its name, its element id stored in the
table; options of inactive or deleted templates are removed and their ids cleared.

The plan is recomputed from the field's real options on every run, so it converges whatever
happened before: an unclaimed option that already carries an active template's name is
adopted (its id stored) rather than added twice, e.g. after a crash between the LMS write
and the warehouse update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from credly_sync.planning.frames import records
from credly_sync.warehouse.journal import Operation

OPTION_COLUMNS = ("element_id", "label")
ADD, REMOVE, RELABEL = "dropdown_add", "dropdown_remove", "dropdown_relabel"
DROPDOWN_KINDS = (ADD, REMOVE, RELABEL)


@dataclass(frozen=True)
class DropdownPlan:
    operations: list[Operation] = field(default_factory=list)
    links: dict[str, int | None] = field(default_factory=dict)  # template id -> element id to store

    def summary(self) -> dict[str, int]:
        counts = {kind: 0 for kind in DROPDOWN_KINDS}
        for op in self.operations:
            counts[op.kind] += 1
        return {**counts, "links": len(self.links)}


def plan_dropdown(templates: pd.DataFrame, options: pd.DataFrame, field_id: str, run_id: str) -> DropdownPlan:
    """Operations and table links that make the field's options equal the active templates."""
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
    return DropdownPlan(operations=operations, links=links)
