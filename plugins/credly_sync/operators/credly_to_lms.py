"""Credly badges -> planned LMS external training and certification awards, and their apply steps."""

from __future__ import annotations

import threading
from typing import Any

from airflow.sdk import BaseOperator, Context
from sqlalchemy import Engine

from credly_sync.extract.credly_to_lms import credly_badges, read_credly_to_lms
from credly_sync.extract.lms import LmsAdapter, adapter_class
from credly_sync.hooks import docebo_unconfirmed as shapes
from credly_sync.hooks.base import NotFoundError
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.operators.apply import ApplyJournalOperator, OperationSkipped
from credly_sync.operators.pacing import lms_budget, paced
from credly_sync.planning.credly_to_lms import (
    CERTIFICATION_AWARD,
    CERTIFICATION_REVOKE,
    CERTIFICATION_UPDATE,
    EXTERNAL_TRAINING_CREATE,
    EXTERNAL_TRAINING_DELETE,
    EXTERNAL_TRAINING_UPDATE,
    KINDS,
    ImportPolicy,
    plan_credly_to_lms,
)
from credly_sync.runs import CREDLY_BADGE_STREAM, SyncWindow, is_dry_run, sync_window
from credly_sync.settings import IntegrationSettings, load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.holders import upsert_holders
from credly_sync.warehouse.journal import JournalEntry, record_operations, supersede_unplanned
from credly_sync.warehouse.templates import read_template_table
from credly_sync.warehouse.watermarks import advance_watermark, read_watermarks
from credly_sync.webui.links import CredlySyncPageLink

REPORTED = 50  # unmatched badges and planned keys listed in the log and the summary
AWARD_SOURCE = "Credly"
EXTERNAL_TRAINING_KINDS = (EXTERNAL_TRAINING_CREATE, EXTERNAL_TRAINING_UPDATE, EXTERNAL_TRAINING_DELETE)
CERTIFICATION_KINDS = (CERTIFICATION_AWARD, CERTIFICATION_UPDATE, CERTIFICATION_REVOKE)


class PlanCredlyToLmsOperator(BaseOperator):
    """Read the run's Credly badges of the actively mapped templates and what the LMS holds for
    their earners, plan external training and certification changes, and journal them.

    Open operations of an earlier run that this plan no longer wants (the badge changed since,
    or the LMS already holds the result) are closed as superseded, so a stale create or award is
    never sent. Returns a summary (counts per kind, badges reported instead of sent, the window);
    with the ``dry_run`` param nothing is journaled and the summary lists the planned keys.

    The LMS is the one the LMS setting names, through its adapter's write-back side; an LMS
    that takes nothing back (Adobe Learning Manager) only gets the badge holders refreshed.

    :param credly_conn_id: the Credly connection.
    :param lms_conn_id: the LMS connection (default: the LMS's own, e.g. ``docebo_default``).
    :param warehouse_conn_id: the warehouse SQL connection.
    :param credly_page_size: badges per Credly page (``per``; None = Credly's 50).
    """

    template_fields = ("credly_conn_id", "lms_conn_id", "warehouse_conn_id")
    operator_extra_links = (CredlySyncPageLink(),)

    def __init__(
        self,
        *,
        credly_conn_id: str = CredlyHook.default_conn_name,
        lms_conn_id: str | None = None,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        credly_page_size: int | None = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credly_conn_id = credly_conn_id
        self.lms_conn_id = lms_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.credly_page_size = credly_page_size

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        self._budget = lms_budget(engine)
        with paced(self._budget, self.log):
            return self._plan(context, engine)

    def _plan(self, context: Context, engine: Engine) -> dict[str, Any]:
        settings = load_settings(engine)
        window = self.window(context, settings, engine)
        self.log.info("reading Credly badges: %s", window.describe())
        if not settings.credly_certifications_to_lms:
            self.log.info("certification awards are not planned: CREDLY_INTEGRATION_MASTER is the LMS")
        credly = self.credly_hook()
        organization_id = credly.organization_id
        lms = self.lms_adapter(settings).write_back()
        if lms is None:
            return self._holders_only(context, engine, credly, window, settings.lms)
        inputs = read_credly_to_lms(
            credly, lms, engine, window, certifications=settings.credly_certifications_to_lms
        )
        unknown_codes = inputs.unknown_codes
        plan = plan_credly_to_lms(
            **inputs.planner_inputs(),
            policy=ImportPolicy(institute_name=settings.external_training_institute_name),
        )
        for badge in plan.unmatched_badges[:REPORTED]:
            self.log.warning(
                "not sent: badge %s (%s): %s", badge["badge_id"], badge["recipient_email"], badge["reason"]
            )
        for code in unknown_codes:
            self.log.warning("certification code %r is mapped but does not exist in the LMS", code)
        dry_run = is_dry_run(context)
        superseded = 0
        if not dry_run:
            # a full reconcile saw every learner; an incremental run every badge of those it read
            targets = None if window.full else inputs.lms_users["lms_user_id"]
            with engine.begin() as connection:
                stale = supersede_unplanned(
                    connection,
                    KINDS,
                    (op.op_key for op in plan.operations),
                    targets=targets,
                    reason=f"superseded by the plan of {context['run_id']}",
                )
                record_operations(connection, plan.operations, context["run_id"])
                upsert_holders(connection, inputs.badges, organization_id)
                if window.advances_watermarks:
                    advance_watermark(connection, CREDLY_BADGE_STREAM, window.end)
            superseded = len(stale)
        summary = {
            "window": window.describe(),
            "dry_run": dry_run,
            "badges": len(inputs.badges),
            "lms_users_matched": len(inputs.lms_users),
            "external_trainings_read": len(inputs.external_trainings),
            "certification_awards_read": len(inputs.certification_awards),
            **plan.summary(),
            "superseded": superseded,
            "unknown_certification_codes": unknown_codes,
            "unmatched_badge_examples": plan.unmatched_badges[:REPORTED],
            "planned": [op.op_key for op in plan.operations[:REPORTED]] if dry_run else [],
        }
        self.log.info("plan: %s", {k: v for k, v in summary.items() if not isinstance(v, list)})
        return summary

    def window(self, context: Context, settings: IntegrationSettings, engine: Engine) -> SyncWindow:
        """What the run reads: from the badge stream's watermark (the event DAG's subclass reads
        its earners' whole history and leaves the watermark alone)."""
        return sync_window(context, settings, read_watermarks(engine, [CREDLY_BADGE_STREAM]))

    def credly_hook(self) -> CredlyHook:
        """The badge reads go through this hook (the event DAG's narrows them to its earners)."""
        return CredlyHook(self.credly_conn_id, per_page=self.credly_page_size)

    def lms_adapter(self, settings: IntegrationSettings) -> LmsAdapter:
        """The LMS the badges go back to (the event DAG's narrows it to its earners)."""
        return adapter_class(settings.lms).connect(self.lms_conn_id, budget=self._budget)

    def _holders_only(
        self, context: Context, engine: Engine, credly: CredlyHook, window: SyncWindow, lms: str
    ) -> dict[str, Any]:
        """An LMS that takes nothing back from Credly (ALM shows Credly badges through its own
        connector): the badges of every active template are still read for the holders table."""
        self.log.info("LMS %s takes no write-back from Credly: only the badge holders are refreshed", lms)
        templates = read_template_table(engine)
        badges = credly_badges(
            credly, templates.loc[templates["is_active"].astype(bool), "badge_template_id"], window
        )
        dry_run = is_dry_run(context)
        if not dry_run:
            with engine.begin() as connection:
                upsert_holders(connection, badges, credly.organization_id)
                if window.advances_watermarks:
                    advance_watermark(connection, CREDLY_BADGE_STREAM, window.end)
        summary = {"window": window.describe(), "dry_run": dry_run, "badges": len(badges), "lms": lms}
        self.log.info("plan: %s", summary)
        return summary


class DoceboApplyOperator(ApplyJournalOperator):
    """Shared by the Docebo write operators of this direction.

    :param docebo_conn_id: the Docebo connection.
    """

    template_fields = ("docebo_conn_id", "warehouse_conn_id")

    def __init__(self, *, docebo_conn_id: str = DoceboHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.docebo_conn_id = docebo_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        self._budget = lms_budget(warehouse_engine(self.warehouse_conn_id))
        with paced(self._budget, self.log):
            return super().execute(context)

    def get_hook(self) -> DoceboHook:
        hook = DoceboHook(self.docebo_conn_id, retry=self.http_retry, pool_size=self.max_workers)
        hook.budget = self._budget
        return hook


class ApplyExternalTrainingOperator(DoceboApplyOperator):
    """Create, update and delete the journaled external training.

    The badge's URL is the record's link, and the only way to find it again: a create tried
    before (a killed or failed run) looks for a record with that link first, and the hook looks
    again after an uncertain POST, so a badge never gets two records.
    """

    kinds = EXTERNAL_TRAINING_KINDS

    def apply_one(self, hook: DoceboHook, entry: JournalEntry) -> dict[str, Any] | None:
        payload = entry.payload
        user_id = int(payload["lms_user_id"])
        if entry.kind == EXTERNAL_TRAINING_DELETE:
            training_id = int(payload["external_training_id"])
            deleted = hook.delete_external_training(training_id)
            return {
                "outcome": "deleted" if deleted else "already_deleted",
                "external_training_id": training_id,
            }
        if not payload.get("link"):
            raise OperationSkipped(
                f"badge {payload['credly_badge_id']} has no URL: "
                "its external training could not be found again"
            )
        if entry.kind == EXTERNAL_TRAINING_CREATE:
            if entry.attempts > 0:
                found = hook.find_external_training(user_id, payload["link"])
                if found is not None:
                    return {
                        "outcome": "already_exists",
                        "external_training_id": found[shapes.EXTERNAL_TRAINING_ID],
                    }
            result = hook.create_external_training(
                user_id,
                payload["title"],
                payload["institute"],
                payload["date"],
                payload["expires_at"],
                badge_url=payload["link"],
            )
            return {"outcome": result.outcome, "external_training_id": result.record_id}
        if entry.kind == EXTERNAL_TRAINING_UPDATE:
            training_id = int(payload["external_training_id"])
            body = shapes.external_training_body(
                user_id,
                payload["title"],
                payload["institute"],
                payload["date"],
                payload["expires_at"],
                payload["link"],
            )
            body.pop("user_id")  # the record keeps its learner
            try:
                hook.update_external_training(training_id, body)
            except NotFoundError:
                raise OperationSkipped(
                    f"external training {training_id} no longer exists; the next run creates it again"
                ) from None
            return {"outcome": "updated", "external_training_id": training_id}
        raise OperationSkipped(f"unknown external training operation {entry.kind}")


class ApplyCertificationAwardsOperator(DoceboApplyOperator):
    """Award, update and revoke the journaled certifications (Docebo's ``id_cert`` is looked up
    by code once per run).

    Before awarding, a retried operation looks for the award first; an award found (then or
    through Docebo's duplicate refusal) is updated to the badge's dates instead, as the recipe
    does when the certification is already present.
    """

    kinds = CERTIFICATION_KINDS

    def execute(self, context: Context) -> dict[str, Any]:
        # per run, and not in __init__: operators are copied and serialized, locks are not
        self._ids_by_code: dict[str, int] | None = None
        self._ids_lock = threading.Lock()
        return super().execute(context)

    def apply_one(self, hook: DoceboHook, entry: JournalEntry) -> dict[str, Any] | None:
        payload = entry.payload
        if entry.kind == CERTIFICATION_REVOKE:
            award_id = int(payload["award_id"])
            revoked = hook.revoke_certification_award(award_id)
            return {"outcome": "revoked" if revoked else "not_found", "award_id": award_id}
        issued, expires, link = payload["issued_at"], payload["expires_at"], payload.get("link")
        if entry.kind == CERTIFICATION_UPDATE:
            award_id = int(payload["award_id"])
            try:
                _update_award(hook, award_id, issued, expires, link)
            except NotFoundError:
                raise OperationSkipped(
                    f"award {award_id} no longer exists; the next run awards again"
                ) from None
            return {"outcome": "updated", "award_id": award_id}
        if entry.kind == CERTIFICATION_AWARD:
            return self._award(hook, entry)
        raise OperationSkipped(f"unknown certification operation {entry.kind}")

    def _award(self, hook: DoceboHook, entry: JournalEntry) -> dict[str, Any]:
        payload = entry.payload
        user_id = int(payload["lms_user_id"])
        code = payload["certification_code"]
        cert_id = self._certification_id(hook, code)
        issued, expires, link = payload["issued_at"], payload["expires_at"], payload.get("link")
        held = hook.find_certification_award(user_id, cert_id) if entry.attempts > 0 else None
        outcome = "already_awarded"
        if held is None:
            result = hook.award_certification(
                user_id, cert_id, issued, expires, source=AWARD_SOURCE, external_link=link
            )
            if result.outcome == "awarded" or result.record is None:
                return {"outcome": result.outcome, "award_id": result.record_id}
            held = result.record
        award_id = int(held["award_id"])
        if (held.get("issued_on"), held.get("expires_on")) != (issued, expires):
            _update_award(hook, award_id, issued, expires, link)
            outcome = "updated_existing"
        return {"outcome": outcome, "award_id": award_id}

    def _certification_id(self, hook: DoceboHook, code: str) -> int:
        with self._ids_lock:
            if self._ids_by_code is None:
                self._ids_by_code = {
                    str(cert["code"]): int(cert["id_cert"]) for cert in hook.iter_certifications()
                }
        if code not in self._ids_by_code:
            raise ValueError(f"no certification with code {code!r} in the LMS")
        return self._ids_by_code[code]


def _update_award(
    hook: DoceboHook, award_id: int, issued: str, expires: str | None, link: str | None
) -> None:
    hook.update_certification_award(
        award_id, issued_on=issued, expires_on=expires, external_link=link, clear_expiry=expires is None
    )
