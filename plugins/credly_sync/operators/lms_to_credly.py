"""LMS completions, learning plans and certifications -> planned Credly badge operations."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from airflow.sdk import BaseOperator, Context
from sqlalchemy import Connection, Engine

from credly_sync.extract.lms import LmsAdapter, adapter_class
from credly_sync.extract.lms_to_credly import read_lms_to_credly
from credly_sync.hooks.credly import CredlyHook
from credly_sync.operators.pacing import lms_budget, paced
from credly_sync.planning.lms_to_credly import (
    ISSUE,
    KINDS,
    REVOKE,
    IssuePolicy,
    LmsToCredlyPlan,
    check_revocation_share,
    plan_lms_to_credly,
)
from credly_sync.runs import SyncWindow, allows_mass_revocation, is_dry_run, sync_window
from credly_sync.settings import IntegrationSettings, load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import open_operation_keys, record_operations, supersede_unplanned
from credly_sync.warehouse.ledger import count_live
from credly_sync.warehouse.templates import replace_course_templates
from credly_sync.warehouse.watermarks import advance_watermark, read_watermarks
from credly_sync.webui.links import CredlySyncPageLink

REPORTED_LEARNERS = 50
REPORTED_FIELDS = ("lms_user_id", "object_type", "object_id", "badge_template_id", "reason")


class PlanLmsToCredlyOperator(BaseOperator):
    """Read the run's LMS achievements and the badges held, plan issue/revoke/replace, journal them.

    The LMS is the one the LMS setting names (Docebo or Adobe Learning Manager), read through
    its adapter (:mod:`credly_sync.extract.lms`).

    Returns the partitions the issue step is mapped over (Airflow maps over return values only)
    and pushes a summary (counts per kind, learners reported instead of sent) under the XCom key
    ``summary``. With the ``dry_run`` param the plan is only reported.

    :param lms_conn_id: the LMS connection (default: the LMS's own, ``docebo_default`` or
        ``alm_default``).
    :param credly_conn_id: the Credly connection (read on full reconciles only).
    :param warehouse_conn_id: the warehouse SQL connection.
    :param chunk_size: issue operations per mapped apply task.
    """

    template_fields = ("lms_conn_id", "credly_conn_id", "warehouse_conn_id")
    operator_extra_links = (CredlySyncPageLink(),)

    def __init__(
        self,
        *,
        lms_conn_id: str | None = None,
        credly_conn_id: str = CredlyHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        chunk_size: int = 5000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lms_conn_id = lms_conn_id
        self.credly_conn_id = credly_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.chunk_size = chunk_size

    def execute(self, context: Context) -> list[list[int]]:
        engine = warehouse_engine(self.warehouse_conn_id)
        self._budget = lms_budget(engine)
        with paced(self._budget, self.log):
            return self._plan(context, engine)

    def _plan(self, context: Context, engine: Engine) -> list[list[int]]:
        settings = load_settings(engine)
        lms = self.lms_adapter(settings)
        window = self.window(context, settings, engine)
        self.log.info("reading %s achievements: %s", lms.title, window.describe())
        if not settings.lms_certifications_to_credly:
            self.log.info("certification awards are not read: CREDLY_INTEGRATION_MASTER is CREDLY")
        credly = CredlyHook(self.credly_conn_id, per_page=100)
        inputs = read_lms_to_credly(lms, credly, engine, settings, window)
        desired, issued, ledger = inputs.desired, inputs.issued, inputs.ledger
        policy = IssuePolicy(
            sync_revocation=settings.sync_revocation,
            default_expiration_days=settings.default_expiration_days,
            evidence_title=settings.evidence_title,
            lms_name=lms.title,
        )
        plan = plan_lms_to_credly(desired, issued, ledger, policy, datetime.now(UTC))
        check_revocation_share(plan, count_live(engine), allowed=allows_mass_revocation(context))
        for learner in plan.rejected_learners[:REPORTED_LEARNERS]:
            self.log.warning(
                "not sent: learner %s (%s): %s", learner["lms_user_id"], learner["email"], learner["reason"]
            )
        dry_run = is_dry_run(context)
        superseded = 0
        if not dry_run:
            with engine.begin() as connection:
                superseded = self._supersede(connection, plan, desired, window, policy, context["run_id"])
                record_operations(connection, plan.operations, context["run_id"])
                if inputs.achievements.course_templates is not None:
                    replace_course_templates(connection, inputs.achievements.course_templates)
                if window.advances_watermarks:
                    for stream in lms.streams():
                        advance_watermark(connection, stream, window.end)
        summary = {
            "window": window.describe(),
            "dry_run": dry_run,
            "achievements": len(desired),
            **plan.summary(),
            "superseded": superseded,
            # LMS ids and reasons only: learner e-mails stay out of XCom (the log names them)
            "rejected_learner_examples": [
                {key: learner[key] for key in REPORTED_FIELDS}
                for learner in plan.rejected_learners[:REPORTED_LEARNERS]
            ],
            "planned": [op.op_key for op in plan.operations[:REPORTED_LEARNERS]] if dry_run else [],
            "lms_problems": inputs.achievements.problems[:REPORTED_LEARNERS],
        }
        self.log.info("plan: %s", {k: v for k, v in summary.items() if not isinstance(v, list)})
        context["ti"].xcom_push(key="summary", value=summary)
        return [] if dry_run else self._partitions(engine)

    def window(self, context: Context, settings: IntegrationSettings, engine: Engine) -> SyncWindow:
        """What the run reads: from the streams' watermarks (the event DAG's subclass reads its
        learners' whole history and leaves the watermarks alone)."""
        streams = adapter_class(settings.lms).streams()
        return sync_window(context, settings, read_watermarks(engine, streams))

    def lms_adapter(self, settings: IntegrationSettings) -> LmsAdapter:
        """The LMS reads go through this adapter (the event DAG's narrows them to its learners)."""
        return adapter_class(settings.lms).connect(self.lms_conn_id, budget=self._budget)

    @staticmethod
    def _supersede(
        connection: Connection,
        plan: LmsToCredlyPlan,
        desired: pd.DataFrame,
        window: SyncWindow,
        policy: IssuePolicy,
        run_id: str,
    ) -> int:
        """Close the open operations this plan no longer makes: for the learners it read (all of
        them on a full reconcile), and every open revocation once SYNC_REVOCATION is off."""
        planned = [op.op_key for op in plan.operations]
        reason = f"superseded by the plan of {run_id}"
        targets = None if window.full else set(desired["lms_user_id"].astype(str))
        superseded = supersede_unplanned(connection, KINDS, planned, targets=targets, reason=reason)
        if not policy.sync_revocation:
            superseded += supersede_unplanned(
                connection, [REVOKE], planned, reason=f"{reason}: SYNC_REVOCATION is false"
            )
        return len(superseded)

    def _partitions(self, engine: Engine) -> list[list[int]]:
        open_issues = len(open_operation_keys(engine, [ISSUE]))
        if not open_issues:
            return []
        count = math.ceil(open_issues / self.chunk_size)
        return [[index, count] for index in range(count)]
