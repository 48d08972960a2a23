"""Webhook events -> the batch syncs' own plans, for the learners and earners they name.

Each operator here is the batch plan operator of its direction, run on the due inbox events:
it reads, through hooks narrowed to the events' learners (:mod:`credly_sync.extract.scoped`),
everything a batch run would read for them (their whole history since BATCH_SYNC_START_DATE),
then plans and journals exactly as the batch run does. Nothing in a webhook body is acted on:

* Credly events are fetched again by id with the organisation's token (``GET /events/{id}``)
  and must carry its ``organization_id``; an id Credly does not know, or another
  organisation's event, is closed as ``ignored`` with the reason and changes nothing;
* Docebo events only name the learners whose enrollments and awards are read again.

The apply operators of the batch DAGs then send what was journaled. An event whose planning
fails is tried again after a growing delay, and closed as ``failed`` after ``max_attempts``,
without holding up the others: a batch that fails for a reason other than the API or the
warehouse (a bad event) is planned again one event at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from credly_sync.extract.lms import LmsAdapter, adapter_class
from credly_sync.extract.scoped import EarnerScopedCredlyHook
from credly_sync.hooks.base import ApiError, AuthenticationError, NotFoundError
from credly_sync.hooks.credly import CredlyHook
from credly_sync.operators.credly_to_lms import PlanCredlyToLmsOperator
from credly_sync.operators.lms_to_credly import PlanLmsToCredlyOperator
from credly_sync.planning.lms_to_credly import MassRevocationError
from credly_sync.runs import SyncWindow
from credly_sync.settings import IntegrationSettings, load_settings
from credly_sync.warehouse.engine import warehouse_engine
from credly_sync.warehouse.inbox import (
    DEFAULT_MAX_ATTEMPTS,
    StoredEvent,
    due_events,
    mark_ignored,
    mark_processed,
    record_failure,
)
from credly_sync.webhooks.sources import CREDLY_TEMPLATE_EVENTS, CREDLY_TO_LMS, LMS_TO_CREDLY, SOURCES

CLOCK_SKEW = timedelta(minutes=5)  # a completion stamped by the LMS a little "in the future"
# Failures that concern the service or a safety stop, not one event: splitting would only
# repeat the calls (an outage) or slip past the stop (mass revocation).
BATCH_ERRORS = (ApiError, SQLAlchemyError, MassRevocationError)


def events_window(settings: IntegrationSettings) -> SyncWindow:
    """Everything since BATCH_SYNC_START_DATE, as an incremental run (no full-reconcile rules):
    the narrowed hooks make it the named learners' whole history."""
    floor = datetime.combine(settings.batch_sync_start_date, time.min, tzinfo=UTC)
    return SyncWindow(floor, datetime.now(UTC) + CLOCK_SKEW, full=False, advances_watermarks=False)


class _InboxEvents(BaseOperator):
    """Taking the due events of a direction's sources and closing each after planning; the
    run's window is the named learners' whole history (:func:`events_window`).

    :param batch_size: events taken per run at most (the next run takes the rest; default
        ``default_batch_size``).
    :param max_attempts: failed attempts before an event is closed as ``failed``.
    :param retry_base_seconds: delay before the first retry of a failed event (then doubled).
    """

    direction: str
    default_batch_size: int

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_base_seconds: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_size = batch_size or self.default_batch_size
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds

    def window(self, context: Context, settings: IntegrationSettings, engine: Engine) -> SyncWindow:
        return events_window(settings)

    def _due(self, engine: Engine, lms: str | None = None) -> list[StoredEvent]:
        """The direction's due events; with ``lms``, those of that LMS's source (another LMS's
        events are closed as ignored: this deployment does not read that LMS)."""
        sources = [name for name, source in SOURCES.items() if source.direction == self.direction]
        if lms is not None:
            foreign = [name for name in sources if (SOURCES[name].lms or "").upper() != lms]
            stray = due_events(engine, foreign, limit=self.batch_size)
            mark_ignored(engine, {e.id: f"a {e.source} event, but the LMS setting is {lms}" for e in stray})
            sources = [name for name in sources if name not in foreign]
        events = due_events(engine, sources, limit=self.batch_size)
        if not events:
            raise AirflowSkipException(f"no webhook events due from {', '.join(sources)}")
        self.log.info("%d webhook event(s) due", len(events))
        return events

    def _plan_events(
        self, engine: Engine, events: Sequence[StoredEvent], plan: Callable[[Sequence[StoredEvent]], None]
    ) -> dict[str, int]:
        """Plan the events together; if that fails for an event's sake, one at a time."""
        counts = {"processed": 0, "failed_attempts": 0, "closed_failed": 0}
        if not events:
            return counts
        batches: list[Sequence[StoredEvent]] = [events]
        while batches:
            batch = batches.pop(0)
            try:
                plan(batch)
            except AuthenticationError:
                raise  # the connection is wrong, not the events: fix it, nothing is counted
            except Exception as exc:
                if len(batch) > 1 and not isinstance(exc, BATCH_ERRORS):
                    self.log.warning(
                        "planning %d events together failed (%s): one at a time", len(batch), exc
                    )
                    batches.extend([event] for event in batch)
                    continue
                reason = f"{type(exc).__name__}: {exc}"
                self.log.error("%d event(s) not planned: %s", len(batch), reason)
                failed = record_failure(
                    engine,
                    batch,
                    reason[:2000],
                    max_attempts=self.max_attempts,
                    retry_base=timedelta(seconds=self.retry_base_seconds),
                )
                counts["failed_attempts"] += len(batch)
                counts["closed_failed"] += len(failed)
                continue
            mark_processed(engine, [event.id for event in batch])
            counts["processed"] += len(batch)
        return counts


class PlanLmsEventsOperator(_InboxEvents, PlanLmsToCredlyOperator):
    """LMS webhook events (Docebo) -> the ``lms_to_credly`` plan for the learners they name."""

    direction = LMS_TO_CREDLY

    default_batch_size = 500
    _user_ids: list[str] = []  # set per batch of events, before the batch plan runs

    def execute(self, context: Context) -> dict[str, int]:
        engine = warehouse_engine(self.warehouse_conn_id)
        events = self._due(engine, load_settings(engine).lms)

        def plan(batch: Sequence[StoredEvent]) -> None:
            self._user_ids = sorted({i for e in batch for i in SOURCES[e.source].learner_ids(e.payload)})
            super(PlanLmsEventsOperator, self).execute(context)

        counts = {"events": len(events), **self._plan_events(engine, events, plan)}
        self.log.info("webhook events: %s", counts)
        return counts

    def lms_adapter(self, settings: IntegrationSettings) -> LmsAdapter:
        return adapter_class(settings.lms).connect(
            self.lms_conn_id, learners=self._user_ids, budget=self._budget
        )


class PlanCredlyEventsOperator(_InboxEvents, PlanCredlyToLmsOperator):
    """Credly webhook events -> verified by id -> the ``credly_to_lms`` plan for their earners.

    Template events are verified and closed as ``ignored``: the ``credly_templates`` DAG
    applies template changes (its daily run, or trigger it).
    """

    direction = CREDLY_TO_LMS

    default_batch_size = 200
    _emails: list[str] = []  # set per batch of events, before the batch plan runs

    def execute(self, context: Context) -> dict[str, int]:
        engine = warehouse_engine(self.warehouse_conn_id)
        events = self._due(engine)
        emails, ignored, unverified = self._verify(engine, events)
        mark_ignored(engine, ignored)

        def plan(batch: Sequence[StoredEvent]) -> None:
            self._emails = sorted({emails[event.id] for event in batch})
            super(PlanCredlyEventsOperator, self).execute(context)

        verified = [event for event in events if event.id in emails]
        counts = {
            "events": len(events),
            "ignored": len(ignored),
            "unverified": unverified,
            **self._plan_events(engine, verified, plan),
        }
        self.log.info("webhook events: %s", counts)
        return counts

    def _verify(
        self, engine: Engine, events: Sequence[StoredEvent]
    ) -> tuple[dict[int, str], dict[int, str], int]:
        """Fetch each event from Credly: the e-mail of each genuine badge event, the reasons of
        the events that change nothing, and how many could not be fetched (tried again later)."""
        hook = CredlyHook(self.credly_conn_id)
        organization_id = hook.organization_id
        emails: dict[int, str] = {}
        ignored: dict[int, str] = {}
        unverified = 0
        for event in events:
            try:
                fetched = hook.get_event(quote(event.event_id, safe=""))
            except NotFoundError:
                ignored[event.id] = "Credly does not know this event (404): not genuine, nothing changed"
                continue
            except AuthenticationError:
                raise
            except ApiError as exc:
                unverified += 1
                record_failure(
                    engine,
                    [event],
                    f"fetching the event from Credly failed: {exc}",
                    max_attempts=self.max_attempts,
                    retry_base=timedelta(seconds=self.retry_base_seconds),
                )
                continue
            if str(fetched.get("organization_id")) != organization_id:
                ignored[event.id] = (
                    f"event of organisation {fetched.get('organization_id')!r}, not ours: nothing changed"
                )
            elif fetched.get("event_type") in CREDLY_TEMPLATE_EVENTS:
                ignored[event.id] = "template change: applied by the credly_templates DAG"
            elif not (fetched.get("badge") or {}).get("recipient_email"):
                ignored[event.id] = f"{fetched.get('event_type')} event without a badge recipient"
            else:
                emails[event.id] = str(fetched["badge"]["recipient_email"])
        return emails, ignored, unverified

    def credly_hook(self) -> CredlyHook:
        return EarnerScopedCredlyHook(self.credly_conn_id, self._emails, per_page=self.credly_page_size)

    def lms_adapter(self, settings: IntegrationSettings) -> LmsAdapter:
        return adapter_class(settings.lms).connect(
            self.lms_conn_id, earners=self._emails, budget=self._budget
        )
