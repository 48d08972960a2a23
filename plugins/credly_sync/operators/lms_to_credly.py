"""LMS completions, learning plans and certifications -> planned Credly badge operations."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from airflow.sdk import BaseOperator, Context
from sqlalchemy import Connection, Engine

from credly_sync.extract import lms
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.operators.pacing import lms_budget, paced
from credly_sync.planning.credly_to_lms import CERTIFICATION_AWARD
from credly_sync.planning.lms_to_credly import (
    DESIRED_COLUMNS,
    ISSUE,
    KINDS,
    REVOKE,
    IssuePolicy,
    LmsToCredlyPlan,
    check_revocation_share,
    plan_lms_to_credly,
)
from credly_sync.runs import SyncWindow, allows_mass_revocation, is_dry_run, lms_streams, sync_window
from credly_sync.settings import IntegrationSettings, load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import (
    applied_results,
    open_operation_keys,
    record_operations,
    supersede_unplanned,
)
from credly_sync.warehouse.ledger import count_live, read_ledger
from credly_sync.warehouse.mappings import usable_active_mappings
from credly_sync.warehouse.templates import read_template_table, replace_course_templates
from credly_sync.warehouse.watermarks import advance_watermark, read_watermarks
from credly_sync.webui.links import CredlySyncPageLink

REPORTED_LEARNERS = 50
LMS_NAME = "docebo"  # the watermark streams' prefix
REPORTED_FIELDS = ("lms_user_id", "object_type", "object_id", "badge_template_id", "reason")


class PlanLmsToCredlyOperator(BaseOperator):
    """Read the run's LMS achievements and the badges held, plan issue/revoke/replace, journal them.

    Returns the partitions the issue step is mapped over (Airflow maps over return values only)
    and pushes a summary (counts per kind, learners reported instead of sent) under the XCom key
    ``summary``. With the ``dry_run`` param the plan is only reported.

    :param docebo_conn_id: the Docebo connection.
    :param credly_conn_id: the Credly connection (read on full reconciles only).
    :param warehouse_conn_id: the warehouse SQL connection.
    :param chunk_size: issue operations per mapped apply task.
    """

    template_fields = ("docebo_conn_id", "credly_conn_id", "warehouse_conn_id")
    operator_extra_links = (CredlySyncPageLink(),)

    def __init__(
        self,
        *,
        docebo_conn_id: str = DoceboHook.default_conn_name,
        credly_conn_id: str = CredlyHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        chunk_size: int = 5000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.docebo_conn_id = docebo_conn_id
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
        streams = lms_streams(LMS_NAME)
        window = self.window(context, settings, engine)
        self.log.info("reading LMS achievements: %s", window.describe())
        if not settings.lms_certifications_to_credly:
            self.log.info("certification awards are not read: CREDLY_INTEGRATION_MASTER is CREDLY")
        desired, issued, ledger, by_course = self._extract(engine, settings, window)
        policy = IssuePolicy(
            sync_revocation=settings.sync_revocation,
            default_expiration_days=settings.default_expiration_days,
            evidence_title=settings.evidence_title,
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
                replace_course_templates(connection, by_course)
                if window.advances_watermarks:
                    for stream in streams:
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
        }
        self.log.info("plan: %s", {k: v for k, v in summary.items() if not isinstance(v, list)})
        context["ti"].xcom_push(key="summary", value=summary)
        return [] if dry_run else self._partitions(engine)

    def window(self, context: Context, settings: IntegrationSettings, engine: Engine) -> SyncWindow:
        """What the run reads: from the streams' watermarks (the event DAG's subclass reads its
        learners' whole history and leaves the watermarks alone)."""
        return sync_window(context, settings, read_watermarks(engine, lms_streams(LMS_NAME)))

    def docebo_hook(self) -> DoceboHook:
        """The LMS reads go through this hook (the event DAG's narrows them to its learners)."""
        return DoceboHook(self.docebo_conn_id)

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

    def _extract(self, engine: Engine, settings: IntegrationSettings, window: SyncWindow) -> tuple[Any, ...]:
        """Achievements with learner details, badges held, the ledger, and course -> template."""
        docebo = self.docebo_hook()
        docebo.budget = self._budget
        usable, problems = usable_active_mappings(engine)
        for problem in problems:
            self.log.warning("mapping skipped: %s", problem)
        mappings = pd.DataFrame(usable)
        by_plan = _templates_by(mappings, "learning_plan_id")
        by_code = _templates_by(mappings, "certification_code")
        if not settings.lms_certifications_to_credly:
            by_code = {}
        by_course = lms.course_templates(
            docebo, settings.course_additional_field, read_template_table(engine)
        )
        synced_awards = applied_results(engine, [CERTIFICATION_AWARD], "award_id")
        achievements = pd.concat(
            [
                lms.course_achievements(docebo, window, by_course),
                lms.learning_plan_achievements(docebo, window, by_plan),
                lms.certification_achievements(docebo, window, by_code, synced_awards),
            ],
            ignore_index=True,
        )
        learners = lms.learners(docebo, achievements["lms_user_id"])
        desired = achievements.merge(learners, on="lms_user_id", how="left")[list(DESIRED_COLUMNS)]
        credly = CredlyHook(self.credly_conn_id, per_page=100)
        if window.full:
            ledger = read_ledger(engine)
            templates = set(achievements["badge_template_id"]) | set(ledger["badge_template_id"])
            issued = lms.badges_in_credly(credly, templates)
        else:
            ledger = read_ledger(engine, lms_user_ids=achievements["lms_user_id"])
            in_ledger = lms.badges_in_ledger(ledger)
            candidates = _not_held(desired, ledger)
            self.log.info("checking %d issue candidate(s) in Credly before issuing", len(candidates))
            issued = pd.concat(
                [in_ledger, lms.badges_held_by_candidates(credly, candidates)], ignore_index=True
            )
        return desired, issued, ledger, by_course

    def _partitions(self, engine: Engine) -> list[list[int]]:
        open_issues = len(open_operation_keys(engine, [ISSUE]))
        if not open_issues:
            return []
        count = math.ceil(open_issues / self.chunk_size)
        return [[index, count] for index in range(count)]


def _not_held(desired: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Earned (not revoked) learner/template pairs the ledger holds no badge for."""
    earned = desired.loc[
        ~desired["revoked"].fillna(False).astype(bool), ["lms_user_id", "email", "badge_template_id"]
    ]
    held = ledger[["lms_user_id", "badge_template_id"]].astype(str).drop_duplicates()
    merged = earned.astype({"lms_user_id": str}).merge(held, how="left", indicator=True)
    return merged[merged["_merge"].eq("left_only")].drop(columns="_merge").drop_duplicates()


def _templates_by(mappings: pd.DataFrame, column: str) -> dict[str, list[str]]:
    """Learning plan id or certification code -> the badge template ids it maps to (one object
    may map to several templates)."""
    if mappings.empty:
        return {}
    rows = mappings[mappings[column].notna()]
    templates: dict[str, list[str]] = {}
    for key, template in zip(rows[column].astype(str), rows["badge_template_id"], strict=True):
        if template not in templates.setdefault(key, []):
            templates[key].append(template)
    return templates
