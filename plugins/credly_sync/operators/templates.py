"""Credly badge templates -> the Credly Badge Templates lookup table."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, Context

from credly_sync.hooks.credly import CredlyHook
from credly_sync.planning.frames import frame
from credly_sync.planning.templates import CREDLY_COLUMNS, deletion_notices, plan_template_table
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.templates import apply_template_plan, read_mappings, read_template_table

PROGRESS_EVERY = 500


class SyncBadgeTemplatesOperator(BaseOperator):
    """Page through every Credly badge template and mirror them into the lookup table.

    Inserts, renames, (de)activations and deletions are written in one transaction, together
    with the deactivation of mappings of deleted templates and one journaled notice per
    deleted template (sent by :class:`TemplateDeletionNoticeOperator`).

    :param credly_conn_id: the Credly connection.
    :param warehouse_conn_id: the warehouse SQL connection.
    """

    template_fields = ("credly_conn_id", "warehouse_conn_id")

    def __init__(
        self,
        *,
        credly_conn_id: str = CredlyHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credly_conn_id = credly_conn_id
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        retrieved = []
        for template in CredlyHook(self.credly_conn_id).iter_badge_templates():
            retrieved.append(
                {"badge_template_id": template["id"], "name": template["name"], "state": template["state"]}
            )
            if len(retrieved) % PROGRESS_EVERY == 0:
                self.log.info("retrieved %d templates so far", len(retrieved))
        plan = plan_template_table(
            frame(retrieved, CREDLY_COLUMNS), read_template_table(engine), read_mappings(engine)
        )
        apply_template_plan(engine, plan, deletion_notices(plan), context["run_id"])
        summary = {"retrieved": len(retrieved), **plan.summary()}
        for duplicate in summary["duplicates_skipped"]:
            self.log.warning(
                "skipped template %s: name %r is already used by template %s",
                duplicate["badge_template_id"],
                duplicate["name"],
                duplicate["kept_badge_template_id"],
            )
        self.log.info(
            "template table sync: %s", {k: v for k, v in summary.items() if k != "duplicates_skipped"}
        )
        return summary
