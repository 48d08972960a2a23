"""Extract for Credly -> LMS: the badges of the mapped templates, and what the LMS holds for them.

Every list is read page by page, never per badge or per learner:

* Credly badges of the active mappings' templates (``badge_template_id`` filter, templates in
  chunks). A full reconcile reads every badge of those templates. An incremental run reads the
  badges changed (``updated_at``) in the window, then every badge of the same templates held by
  the e-mails it saw: the planner decides per learner (the latest live badge of a certification,
  a replacement whose old badge changed in another window), so it must see a learner's whole
  story, not just the badge that moved;
* through the LMS adapter's write-back side (:class:`credly_sync.extract.lms.LmsWriteBack`):
  the LMS users of the badges' e-mails, and their external training and certification awards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from credly_sync.extract.lms import LmsWriteBack
from credly_sync.extract.progress import chunked, logged
from credly_sync.hooks.credly import CredlyHook
from credly_sync.planning.credly_to_lms import BADGE_COLUMNS, MAPPING_COLUMNS
from credly_sync.planning.frames import frame
from credly_sync.runs import SyncWindow
from credly_sync.warehouse.ledger import read_ledger
from credly_sync.warehouse.mappings import usable_active_mappings

log = logging.getLogger(__name__)
TEMPLATE_CHUNK = 50  # template ids per Credly filter (a UUID is 36 characters of URL)
EMAIL_CHUNK = 50  # e-mails per Credly filter
READ_BADGE_COLUMNS = (*BADGE_COLUMNS, "issued_to", "public", "updated_at")
BADGE_URL = re.compile(r"/badges/([0-9A-Za-z][0-9A-Za-z-]*)(?:/|$)")


@dataclass(frozen=True)
class CredlyToLmsInputs:
    """The planner's inputs (``plan_credly_to_lms`` keywords) and the mapped certification codes
    the LMS does not know (reported, not planned)."""

    badges: pd.DataFrame
    mappings: pd.DataFrame
    lms_users: pd.DataFrame
    external_trainings: pd.DataFrame
    certification_awards: pd.DataFrame
    ledger: pd.DataFrame
    unknown_codes: list[str]

    def planner_inputs(self) -> dict[str, pd.DataFrame]:
        return {
            "badges": self.badges,
            "mappings": self.mappings,
            "lms_users": self.lms_users,
            "external_trainings": self.external_trainings,
            "certification_awards": self.certification_awards,
            "ledger": self.ledger,
        }


def read_credly_to_lms(
    credly: CredlyHook, lms: LmsWriteBack, engine: Engine, window: SyncWindow, *, certifications: bool
) -> CredlyToLmsInputs:
    """Everything a Credly -> LMS plan compares. Without ``certifications`` (the LMS is the
    master) no certification code is mapped; a mapping row with a bad id is skipped and logged."""
    usable, problems = usable_active_mappings(engine)
    for problem in problems:
        log.warning("mapping skipped: %s", problem)
    mappings = frame(usable, MAPPING_COLUMNS)
    if not certifications:
        mappings = mappings.assign(certification_code=None)
    badges = credly_badges(credly, mappings["badge_template_id"].dropna(), window)
    users = lms.users_by_email(badges["recipient_email"])
    code = mappings["certification_code"].map(_code)
    codes = set(code.dropna())
    ids_by_code = lms.certification_ids(codes) if codes and not users.empty else {}
    unknown = sorted(codes - set(ids_by_code)) if not users.empty else []
    # an unknown code is reported, not planned: the award could not be sent
    mappings = mappings.assign(certification_code=code.where(~code.isin(unknown), None))
    imports_training = mappings["import_as_external_training"].fillna(False).astype(bool).any()
    user_ids = users["lms_user_id"]
    return CredlyToLmsInputs(
        badges=badges,
        mappings=mappings,
        lms_users=users,
        external_trainings=lms.external_trainings(user_ids if imports_training else []),
        certification_awards=lms.certification_awards(user_ids, ids_by_code),
        ledger=ledger_of(engine, badges, window),
        unknown_codes=unknown,
    )


def ledger_of(engine: Engine, badges: pd.DataFrame, window: SyncWindow) -> pd.DataFrame:
    """Every ledger row on a full reconcile; else only those of the badges read (and the
    badges they name as replaced or replacing)."""
    if window.full:
        return read_ledger(engine, live_only=False)
    ids = pd.concat([badges[c] for c in ("badge_id", "replaces_badge_id", "replacement_badge_id")])
    return read_ledger(engine, live_only=False, credly_badge_ids=ids.dropna())


def credly_badges(hook: CredlyHook, template_ids: Iterable[str], window: SyncWindow) -> pd.DataFrame:
    """The badges (READ_BADGE_COLUMNS: the planner's and the holders table's) of these templates
    the run has to look at."""
    templates = sorted(set(template_ids))
    if not templates:
        return frame([], READ_BADGE_COLUMNS)
    if window.full:
        return frame(_badge_rows(_walk_templates(hook, templates), "Credly badges"), READ_BADGE_COLUMNS)
    # No date filter on /badges is documented (findings-2026-12): the filters are sent for a
    # server that knows them, and the window is checked here on every badge either way.
    changed = frame(
        _badge_rows(
            (
                badge
                for badge in _walk_templates(
                    hook, templates, updated_at_min=window.start, updated_at_max=window.end
                )
                if _changed_in(badge, window)
            ),
            "Credly badges changed in the window",
        ),
        READ_BADGE_COLUMNS,
    )
    emails = sorted({str(e).strip().lower() for e in changed["recipient_email"].dropna() if str(e).strip()})
    if not emails:
        return changed
    held = frame(
        _badge_rows(
            (
                badge
                for chunk in chunked(emails, EMAIL_CHUNK)
                for badge in _walk_templates(hook, templates, recipient_email=chunk)
            ),
            "Credly badges of the same earners",
        ),
        READ_BADGE_COLUMNS,
    )
    both = pd.concat([held, changed], ignore_index=True)
    return both.drop_duplicates("badge_id", keep="last").reset_index(drop=True)


def badge_id_from_url(url: Any) -> str | None:
    """The Credly badge id in a badge link (``https://www.credly.com/badges/<id>[/...]``)."""
    if not isinstance(url, str):
        return None
    match = BADGE_URL.search(url.split("?", 1)[0].split("#", 1)[0])
    return match.group(1) if match else None


# --- internals ----------------------------------------------------------------------------------


def _walk_templates(hook: CredlyHook, templates: Sequence[str], **filters: Any) -> Iterator[dict[str, Any]]:
    for chunk in chunked(templates, TEMPLATE_CHUNK):
        yield from hook.iter_badges(badge_template_id=chunk, **filters)


def _changed_in(badge: dict[str, Any], window: SyncWindow) -> bool:
    moments = [badge.get(key) for key in ("updated_at", "state_updated_at", "issued_at")]
    changed = max((pd.to_datetime(m, utc=True) for m in moments if isinstance(m, str) and m), default=None)
    return changed is not None and window.start <= changed < window.end


def _badge_rows(badges: Iterable[dict[str, Any]], what: str) -> Iterator[dict[str, Any]]:
    for badge in logged(badges, what):
        template = badge.get("badge_template") or {}
        yield {
            "badge_id": badge["id"],
            "badge_template_id": template.get("id"),
            "badge_template_name": template.get("name"),
            "recipient_email": badge.get("recipient_email"),
            "issuer_earner_id": badge.get("issuer_earner_id"),
            "state": badge.get("state"),
            "issued_at": badge.get("issued_at"),
            "expires_at": badge.get("expires_at"),
            "replaces_badge_id": badge.get("replaces_badge_id"),
            "replacement_badge_id": badge.get("replacement_badge_id"),
            "badge_url": badge.get("badge_url"),
            "issued_to": badge.get("issued_to"),
            "public": badge.get("public"),
            "updated_at": badge.get("updated_at"),
        }


def _code(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
