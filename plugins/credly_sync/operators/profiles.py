"""Credly badges -> Microsoft 365 profiles: set up the people-data connection, then sync items.

No operation journal here, by design: Graph item writes are idempotent (PUT creates or
replaces, DELETE of a missing item is a 404 taken as done), and the warehouse table of pushed
items, updated after each batch, is the record a rerun compares against. A killed run simply
plans again and sends what is still missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pendulum
from airflow.sdk import BaseOperator, Context, Param
from airflow.sdk.exceptions import AirflowException

from credly_sync.extract import profiles as extract
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.graph import GraphHook
from credly_sync.planning.frames import records
from credly_sync.planning.profiles import (
    PROFILE_SCHEMA,
    BadgeClassification,
    badge_changed_at,
    changed_emails,
    eligible_badges,
    match_earners,
    plan_profile_writes,
    profile_items,
    users_for_emails,
)
from credly_sync.profile_exports import WEEKDAYS
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.holders import upsert_holders
from credly_sync.warehouse.profiles import pushed_items, record_deleted, record_written
from credly_sync.warehouse.watermarks import read_watermark, write_watermark

REPORTED = 50  # unmatched earners and failures listed in the log and the summary
BATCH = 200  # items per bulk call; each batch is recorded before the next is sent
PROFILE_PARAMS = {
    "full_sync": Param(
        False,
        type="boolean",
        description="Compare every person (and delete items of people who left) instead of only "
        "the people whose badges changed since the watermark.",
    ),
}


def admin_actions(connection_id: str) -> list[str]:
    """What a Microsoft 365 admin must do once before profiles show the data (§3.2)."""
    source = f"https://graph.microsoft.com/v1.0/admin/people/profileSources(sourceId='{connection_id}')"
    return [
        "Register the connection as a profile source (needs PeopleSettings.ReadWrite.All, which this "
        "DAG's app does not need or hold): POST https://graph.microsoft.com/v1.0/admin/people/profileSources "
        f'{{"sourceId": "{connection_id}", "displayName": "Credly", "webUrl": "https://www.credly.com"}}',
        f"Add {source} to prioritizedSourceUrls of the profile property settings "
        "(PATCH /admin/people/profilePropertySettings/{id}).",
        "Know that the data is visible to everyone in the organisation (people connectors allow no "
        "narrower ACL) and may take up to 6 hours to appear.",
    ]


class EnsureProfileConnectionOperator(BaseOperator):
    """Create the people-data external connection and its schema when missing.

    Returns ``{connection_id, created, schema_registered, admin_actions}``; the admin actions are
    logged as a warning whenever the connection is new.

    :param msgraph_conn_id: the Graph connection.
    :param connection_id: the external connection id (3-32 letters or digits).
    :param connection_name: its display name.
    """

    template_fields = ("msgraph_conn_id", "connection_id")

    def __init__(
        self,
        *,
        msgraph_conn_id: str = GraphHook.default_conn_name,
        connection_id: str,
        connection_name: str = "Credly badges",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.msgraph_conn_id = msgraph_conn_id
        self.connection_id = connection_id
        self.connection_name = connection_name

    def execute(self, context: Context) -> dict[str, Any]:
        hook = GraphHook(self.msgraph_conn_id)
        created = hook.get_external_connection(self.connection_id) is None
        if created:
            description = "Verified Credly badges: certifications and awards on people profiles"
            hook.create_external_connection(self.connection_id, self.connection_name, description)
            self.log.info("created the external connection %s", self.connection_id)
        schema = hook.get_schema(self.connection_id)
        registered = schema is None
        if registered:
            operation = hook.register_schema(self.connection_id, PROFILE_SCHEMA)
            if operation:
                hook.wait_for_operation(operation)
            self.log.info("registered the people schema of %s", self.connection_id)
        else:
            _check_schema(self.connection_id, schema)
        actions = admin_actions(self.connection_id)
        log = self.log.warning if created else self.log.info
        for action in actions:
            log("admin, once: %s", action)
        return {
            "connection_id": self.connection_id,
            "created": created,
            "schema_registered": registered,
            "admin_actions": actions,
        }


class SyncProfilesOperator(BaseOperator):
    """Read the organisation's badges and the tenant's users, refresh the badge holders table,
    and write one profile item per matched person; delete items that must go.

    Incremental (daily): only people whose badges changed (``updated_at`` / ``state_updated_at``)
    since the watermark. Full (``full_sync`` param, the ``full_sync_weekday``, or no watermark
    yet): everyone, which also deletes the items of people who left, were disabled or lost
    their licence. The watermark advances only when every write succeeded. Returns a summary;
    unmatched earners are counted and listed (first 50), never sent.
    """

    template_fields = ("credly_conn_id", "msgraph_conn_id", "warehouse_conn_id", "connection_id")

    def __init__(
        self,
        *,
        credly_conn_id: str = CredlyHook.default_conn_name,
        msgraph_conn_id: str = GraphHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        connection_id: str,
        watermark_stream: str,
        award_template_ids: Sequence[str] = (),
        award_name_pattern: str | None = None,
        full_sync_weekday: str = "sunday",
        timezone: str = "UTC",
        max_workers: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credly_conn_id = credly_conn_id
        self.msgraph_conn_id = msgraph_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.connection_id = connection_id
        self.watermark_stream = watermark_stream
        self.award_template_ids = list(award_template_ids)
        self.award_name_pattern = award_name_pattern
        self.full_sync_weekday = full_sync_weekday
        self.timezone = timezone
        self.max_workers = max_workers

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        watermark = read_watermark(engine, self.watermark_stream)
        full, why = self._is_full(context, watermark)
        self.log.info("%s run (%s); watermark %s", "full" if full else "incremental", why, watermark)
        credly = CredlyHook(self.credly_conn_id)
        graph = GraphHook(self.msgraph_conn_id, pool_size=self.max_workers)
        organization_id = credly.organization_id
        templates, badges = extract.credly_templates(credly), extract.credly_badges(credly)
        users = extract.graph_users(graph)
        now = datetime.now(UTC)
        with engine.begin() as connection:
            holders = upsert_holders(connection, badges, organization_id, complete=True)

        earners = match_earners(eligible_badges(badges, templates, now), users)
        classification = BadgeClassification(frozenset(self.award_template_ids), self.award_name_pattern)
        desired = profile_items(earners.matched, classification, graph.tenant_id)
        scope = None if full else users_for_emails(users, changed_emails(badges, watermark))
        plan = plan_profile_writes(desired, pushed_items(engine, self.connection_id), scope_user_ids=scope)
        self.log.info("plan: %s", plan.summary())

        written, deleted, failures = self._apply(graph, organization_id, plan.puts, plan.deletes["item_id"])
        mark = _next_watermark(badges, watermark, now)
        if not failures:
            with engine.begin() as connection:
                write_watermark(connection, self.watermark_stream, mark)
        unmatched = records(earners.unmatched)
        for earner in unmatched[:REPORTED]:
            self.log.warning(
                "not sent: %s (%d badges): %s", earner["email"], earner["badges"], earner["reason"]
            )
        summary = {
            "full": full,
            "why": why,
            "organization_id": organization_id,
            "connection_id": self.connection_id,
            "badges": len(badges),
            "users": len(users),
            "people_in_scope": len(desired) if scope is None else len(scope),
            "people_with_items": len(desired),
            **plan.summary(),
            "items_written": written,
            "items_deleted": deleted,
            "failed": len(failures),
            "failures": failures[:REPORTED],
            "unmatched_earners": len(unmatched),
            "unmatched_earner_examples": unmatched[:REPORTED],
            "holders": vars(holders),
            "watermark": (mark if not failures else watermark or mark).isoformat(),
        }
        self.log.info("summary: %s", {k: v for k, v in summary.items() if not isinstance(v, list)})
        if failures:
            raise AirflowException(
                f"{len(failures)} profile writes failed (the next run retries them); first: {failures[0]}"
            )
        return summary

    def _is_full(self, context: Context, watermark: datetime | None) -> tuple[bool, str]:
        if (context.get("params") or {}).get("full_sync"):
            return True, "full_sync param"
        if watermark is None:
            return True, "no watermark yet"
        dag_run = context.get("dag_run")
        moment = context.get("logical_date") or getattr(dag_run, "run_after", None) or datetime.now(UTC)
        local = pendulum.instance(moment).in_timezone(self.timezone)
        if WEEKDAYS[local.weekday()] == self.full_sync_weekday:
            return True, f"weekly full run ({self.full_sync_weekday})"
        return False, "daily incremental"

    def _apply(
        self, graph: GraphHook, organization_id: str, puts: pd.DataFrame, deletes: pd.Series
    ) -> tuple[int, int, list[str]]:
        """Send in batches, recording each batch's successes before the next batch goes."""
        graph.prepare()
        engine = warehouse_engine(self.warehouse_conn_id)
        written = deleted = 0
        failures: list[str] = []
        rows = puts.to_dict("records")
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            outcomes = graph.put_items(
                self.connection_id,
                [(row["item_id"], row["item"]) for row in batch],
                max_workers=self.max_workers,
            )
            done = [row for row, outcome in zip(batch, outcomes, strict=True) if outcome.outcome != "failed"]
            failures += [
                f"PUT {batch[o.key]['item_id']}: {o.error}" for o in outcomes if o.outcome == "failed"
            ]
            with engine.begin() as connection:
                written += record_written(connection, self.connection_id, organization_id, done)
        ids = [str(item_id) for item_id in deletes]
        for start in range(0, len(ids), BATCH):
            batch_ids = ids[start : start + BATCH]
            outcomes = graph.delete_items(self.connection_id, batch_ids, max_workers=self.max_workers)
            gone = [o.record_id for o in outcomes if o.outcome != "failed"]
            failures += [f"DELETE {batch_ids[o.key]}: {o.error}" for o in outcomes if o.outcome == "failed"]
            with engine.begin() as connection:
                deleted += record_deleted(connection, self.connection_id, gone)
        return written, deleted, failures


def _check_schema(connection_id: str, schema: dict[str, Any]) -> None:
    """An existing connection must carry our schema: items written against another would be
    refused or ignored."""
    have = {
        (p.get("name"), p.get("type"), tuple(p.get("labels") or [])) for p in schema.get("properties") or []
    }
    want = {(p["name"], p["type"], tuple(p["labels"])) for p in PROFILE_SCHEMA}
    if not want <= have:
        raise AirflowException(
            f"external connection {connection_id} exists with another schema ({sorted(have)}); "
            "use another connection_id or delete that connection"
        )


def _next_watermark(badges: pd.DataFrame, previous: datetime | None, now: datetime) -> datetime:
    """The newest badge change seen (server time, so clock skew cannot skip a change)."""
    latest = badge_changed_at(badges).max() if len(badges) else pd.NaT
    if pd.isna(latest):
        return previous or now
    latest = latest.to_pydatetime()
    return max(latest, previous) if previous else latest
