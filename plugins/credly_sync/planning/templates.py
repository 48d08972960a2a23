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
  "Gone" means ``GET /badge_templates/{id}`` answered 404: a listing alone can miss a template
  (offset paging over a list that changes meanwhile, a page-size cap), so the operator looks up
  every :func:`deletion_candidates` row first. A row whose lookup failed otherwise stays as it
  is (``unconfirmed``); a template the lookup found is passed in with the listed ones.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from credly_sync.planning.frames import records
from credly_sync.planning.operations import Operation

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


def deletion_candidates(credly: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Table rows (TABLE_COLUMNS) of templates absent from Credly's listing: deleted, or missed."""
    return table[~table["badge_template_id"].isin(credly["badge_template_id"])].reset_index(drop=True)


def plan_template_table(
    credly: pd.DataFrame,
    table: pd.DataFrame,
    mappings: pd.DataFrame,
    unconfirmed: Collection[str] = (),
) -> TemplateTablePlan:
    """Compare Credly's templates (in retrieval order) with the lookup table and the mappings.

    ``unconfirmed``: ids of table rows absent from ``credly`` whose deletion could not be
    confirmed; they are planned as if Credly still listed them as the table holds them, so
    their row, name and mappings stay exactly as they are.
    """
    kept = table[table["badge_template_id"].isin(unconfirmed)]
    kept = kept[~kept["badge_template_id"].isin(credly["badge_template_id"])]
    stand_ins = pd.DataFrame(
        {
            "badge_template_id": kept["badge_template_id"].to_numpy(),
            "name": kept["badge_template_name"].to_numpy(),
            # inactive rows stay inactive whatever made them so (archived, draft, duplicate name)
            "state": kept["is_active"].astype(bool).map({True: "active", False: "archived"}).to_numpy(),
        },
        columns=list(CREDLY_COLUMNS),
    )
    credly = pd.concat([credly, stand_ins], ignore_index=True) if len(stand_ins) else credly
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
