"""Keep the LMS API inside its budget: the shared call budget for LMS hooks, and a task that
gives its worker slot back (reschedule) when the budget or the server asks for a long wait."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from airflow.sdk.exceptions import AirflowRescheduleException
from sqlalchemy import Engine

from credly_sync.hooks.base import RateLimitedError
from credly_sync.settings import load_settings
from credly_sync.warehouse.budget import ApiBudget, BudgetExhaustedError

LMS_API = "docebo"
# The budget's window: an hour, as Docebo counts; a shorter one (seconds) lets a test or a
# demo watch tasks wait for the next window without waiting an hour.
BUDGET_WINDOW = float(os.environ.get("CREDLY_SYNC_BUDGET_WINDOW_SECONDS", "3600"))


def lms_budget(engine: Engine) -> ApiBudget:
    """LMS_API_CALLS_PER_HOUR calls per window, for every task of the deployment together."""
    return ApiBudget(engine, LMS_API, load_settings(engine).lms_api_calls_per_hour, window=BUDGET_WINDOW)


@contextmanager
def paced(budget: ApiBudget, log: logging.Logger) -> Iterator[None]:
    """Run a task body under ``budget``: log what it used, and reschedule the task instead of
    failing when the budget is spent or a 429 asks for a long wait."""
    try:
        yield
    except BudgetExhaustedError as exc:
        log.warning("%s; the task resumes then", exc)
        raise AirflowRescheduleException(exc.resume_at) from exc
    except RateLimitedError as exc:
        resume = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
        log.warning(
            "%s answered 429 (%s); the task resumes at %s", budget.api, exc.reason, resume.isoformat()
        )
        raise AirflowRescheduleException(resume) from exc
    finally:
        log.info(
            "%s API calls: %d used by this task, %d left this hour for the deployment (budget %d)",
            budget.api,
            budget.used,
            budget.remaining(),
            budget.limit,
        )
