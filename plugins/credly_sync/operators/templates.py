"""Credly badge templates -> the Credly Badge Templates lookup table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from airflow.sdk import BaseOperator, Context

from credly_sync.hooks.base import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
)
from credly_sync.hooks.credly import CredlyHook
from credly_sync.planning.frames import frame, records
from credly_sync.planning.templates import (
    CREDLY_COLUMNS,
    deletion_candidates,
    deletion_notices,
    plan_template_table,
)
from credly_sync.settings import load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.templates import apply_template_plan, read_mappings, read_template_table

PROGRESS_EVERY = 500


@dataclass
class DeletionLookups:
    """What ``GET /badge_templates/{id}`` said about templates missing from the listing."""

    found: list[dict[str, Any]] = field(default_factory=list)  # CREDLY_COLUMNS, from the answer
    gone: list[str] = field(default_factory=list)  # 404: deletion confirmed
    unconfirmed: list[dict[str, Any]] = field(default_factory=list)  # id, name, reason


class SyncBadgeTemplatesOperator(BaseOperator):
    """Page through every Credly badge template and mirror them into the lookup table.

    Inserts, renames, (de)activations and deletions are written in one transaction, together
    with the deactivation of mappings of deleted templates and one journaled notice per
    deleted template (sent by :class:`TemplateDeletionNoticeOperator`). A template missing from
    the listing is deleted only when ``GET /badge_templates/{id}`` answers 404; a 200 keeps it
    (with the state of that answer), any other failure leaves its row as it is and is reported,
    and 401/403 fail the task before anything is written.

    :param credly_conn_id: the Credly connection.
    :param warehouse_conn_id: the warehouse SQL connection.
    :param http_retry: the hook's retry policy, as a :class:`RetryPolicy` or its fields in a dict.
    """

    template_fields = ("credly_conn_id", "warehouse_conn_id")

    def __init__(
        self,
        *,
        credly_conn_id: str = CredlyHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        http_retry: RetryPolicy | Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credly_conn_id = credly_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.http_retry = RetryPolicy(**http_retry) if isinstance(http_retry, Mapping) else http_retry

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        # Invalid settings fail the run before any write: the mail step needs NOTIFICATION_MAIL_ID,
        # and a table written by a misconfigured run would schedule credly_lms_dropdown.
        load_settings(engine)
        hook = CredlyHook(self.credly_conn_id, retry=self.http_retry)
        listed = self._list_templates(hook)
        table = read_template_table(engine)
        lookups = self._look_up_missing(hook, deletion_candidates(listed, table))
        plan = plan_template_table(
            pd.concat([listed, frame(lookups.found, CREDLY_COLUMNS)], ignore_index=True),
            table,
            read_mappings(engine),
            unconfirmed=[row["badge_template_id"] for row in lookups.unconfirmed],
        )
        apply_template_plan(engine, plan, deletion_notices(plan), context["run_id"])
        summary = {
            "retrieved": len(listed),
            "missing_from_listing": len(lookups.found) + len(lookups.gone) + len(lookups.unconfirmed),
            "kept_after_lookup": [row["badge_template_id"] for row in lookups.found],
            "unconfirmed_deletions": lookups.unconfirmed,
            **plan.summary(),
        }
        for duplicate in summary["duplicates_skipped"]:
            self.log.warning(
                "skipped template %s: name %r is already used by template %s",
                duplicate["badge_template_id"],
                duplicate["name"],
                duplicate["kept_badge_template_id"],
            )
        self.log.info(
            "template table sync: %s", {k: v for k, v in summary.items() if not isinstance(v, list)}
        )
        return summary

    def _list_templates(self, hook: CredlyHook) -> pd.DataFrame:
        """Every template, oldest first: of equal names the first created is kept (Docebo
        Connect), and the default order of Credly's lists is unconfirmed, so the order is asked
        for and made sure of here."""
        retrieved = []
        for template in hook.iter_badge_templates(sort="created_at"):
            retrieved.append(template)
            if len(retrieved) % PROGRESS_EVERY == 0:
                self.log.info("retrieved %d templates so far", len(retrieved))
        retrieved.sort(key=lambda template: str(template.get("created_at") or ""))
        return frame(
            ({"badge_template_id": t["id"], "name": t["name"], "state": t["state"]} for t in retrieved),
            CREDLY_COLUMNS,
        )

    def _look_up_missing(self, hook: CredlyHook, candidates: pd.DataFrame) -> DeletionLookups:
        """Ask Credly about each template the listing did not return."""
        lookups = DeletionLookups()
        for row in records(candidates):
            template_id, name = row["badge_template_id"], row["badge_template_name"]
            try:
                answer = hook.get_badge_template(template_id)
            except NotFoundError:
                lookups.gone.append(template_id)
                continue
            except (AuthenticationError, PermissionDeniedError):
                raise  # the connection is wrong: nothing has been written yet; fix it and rerun
            except ApiError as exc:  # 5xx or timeouts after retries, malformed answers, other 4xx
                reason = hook.scrub(str(exc))
            else:
                if answer.get("name") and answer.get("state"):
                    self.log.info(
                        "template %s (%r) is missing from the listing but exists", template_id, name
                    )
                    lookups.found.append(
                        {"badge_template_id": template_id, "name": answer["name"], "state": answer["state"]}
                    )
                    continue
                reason = "the answer has no name or state"
            self.log.warning(
                "template %s (%r) is missing from the listing and its deletion is unconfirmed (%s): "
                "row and mappings left as they are, no notice; the next run asks again",
                template_id,
                name,
                reason,
            )
            lookups.unconfirmed.append({"badge_template_id": template_id, "name": name, "reason": reason})
        return lookups
