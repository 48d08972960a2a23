"""Credly badge templates -> the Credly Badge Templates lookup table.

Rules (Docebo Connect for Credly, 'Synchronisation from Credly to Lookup table' and
'Changing the badge in a course'):

* every template is mirrored; ``is_active`` is true only for state ``active`` (archived ->
  false; draft templates cannot issue either, so they are inactive too: draft is unconfirmed);
* names must be unique: the first template retrieved keeps a name and the rest are skipped.
  For stability a name already held in the table by a template that still exists keeps it;
  a table row that becomes a duplicate is made inactive rather than deleted;
* a template gone from Credly loses its row, every active mapping of it is deactivated, and
  the admin is told (one notice per deleted template, journaled for the mail step).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from credly_sync.planning.frames import records
from credly_sync.warehouse.journal import Operation

CREDLY_COLUMNS = ("badge_template_id", "name", "state")
TABLE_COLUMNS = ("badge_template_id", "badge_template_name", "is_active", "dropdown_element_id")
MAPPING_COLUMNS = (
    "id",
    "badge_template_id",
    "badge_template_name",
    "learning_plan_id",
    "certification_code",
    "is_active",
)
NOTICE_KIND = "notify_template_deleted"


@dataclass(frozen=True)
class TemplateTablePlan:
    inserts: pd.DataFrame  # badge_template_id, badge_template_name, is_active
    updates: pd.DataFrame  # badge_template_id, badge_template_name, is_active
    deletes: pd.DataFrame  # badge_template_id, badge_template_name, dropdown_element_id
    deactivated_mappings: pd.DataFrame  # MAPPING_COLUMNS
    duplicates: pd.DataFrame  # badge_template_id, name, kept_badge_template_id

    @property
    def is_empty(self) -> bool:
        return all(df.empty for df in (self.inserts, self.updates, self.deletes, self.deactivated_mappings))

    def summary(self) -> dict[str, object]:
        return {
            "inserted": len(self.inserts),
            "updated": len(self.updates),
            "deleted": len(self.deletes),
            "mappings_deactivated": len(self.deactivated_mappings),
            "duplicates_skipped": records(self.duplicates),
        }


def plan_template_table(
    credly: pd.DataFrame, table: pd.DataFrame, mappings: pd.DataFrame
) -> TemplateTablePlan:
    """Compare Credly's templates (in retrieval order) with the lookup table and the mappings."""
    credly = credly.reset_index(drop=True).assign(
        is_active=credly["state"].eq("active").to_numpy(),
        retrieved=range(len(credly)),
        held=credly["badge_template_id"].isin(table["badge_template_id"]).to_numpy(),
    )
    winners = credly.sort_values(
        ["held", "retrieved"], ascending=[False, True], kind="stable"
    ).drop_duplicates("name", keep="first")
    losers = credly[~credly["badge_template_id"].isin(winners["badge_template_id"])]
    duplicates = losers[["badge_template_id", "name"]].merge(
        winners[["name", "badge_template_id"]].rename(
            columns={"badge_template_id": "kept_badge_template_id"}
        ),
        on="name",
    )
    desired = pd.concat(
        [winners.sort_values("retrieved"), losers[losers["held"]].assign(is_active=False)], ignore_index=True
    ).rename(columns={"name": "badge_template_name"})[
        ["badge_template_id", "badge_template_name", "is_active"]
    ]

    merged = desired.merge(
        table, on="badge_template_id", how="outer", suffixes=("", "_table"), indicator=True
    )
    new = merged["_merge"].eq("left_only")
    gone = merged["_merge"].eq("right_only")
    both = merged["_merge"].eq("both")
    changed = both & (
        merged["badge_template_name"].ne(merged["badge_template_name_table"])
        | merged["is_active"].astype(bool).ne(merged["is_active_table"].astype(bool))
    )
    desired_columns = ["badge_template_id", "badge_template_name", "is_active"]
    deletes = merged.loc[
        gone, ["badge_template_id", "badge_template_name_table", "dropdown_element_id"]
    ].rename(columns={"badge_template_name_table": "badge_template_name"})
    deactivated = mappings[
        mappings["badge_template_id"].isin(deletes["badge_template_id"]) & mappings["is_active"].astype(bool)
    ]
    return TemplateTablePlan(
        inserts=merged.loc[new, desired_columns].reset_index(drop=True),
        updates=merged.loc[changed, desired_columns].reset_index(drop=True),
        deletes=deletes.reset_index(drop=True),
        deactivated_mappings=deactivated[list(MAPPING_COLUMNS)].reset_index(drop=True),
        duplicates=duplicates.reset_index(drop=True),
    )


def deletion_notices(plan: TemplateTablePlan) -> list[Operation]:
    """One journaled notice per deleted template, naming the mappings it deactivated."""
    notices = []
    for deleted in records(plan.deletes):
        template_id = deleted["badge_template_id"]
        mappings = plan.deactivated_mappings[plan.deactivated_mappings["badge_template_id"] == template_id]
        notices.append(
            Operation(
                op_key=f"{NOTICE_KIND}:{template_id}",
                kind=NOTICE_KIND,
                target=template_id,
                payload={
                    "badge_template_id": template_id,
                    "badge_template_name": deleted["badge_template_name"],
                    "deactivated_mappings": records(mappings.drop(columns=["is_active"])),
                },
            )
        )
    return notices
