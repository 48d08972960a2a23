"""Extract for Credly -> LMS: the badges of the mapped templates, and what the LMS holds for them.

Every list is read page by page, never per badge or per learner:

* Credly badges of the active mappings' templates (``badge_template_id`` filter, templates in
  chunks). A full reconcile reads every badge of those templates. An incremental run reads the
  badges changed (``updated_at``) in the window, then every badge of the same templates held by
  the e-mails it saw: the planner decides per learner (the latest live badge of a certification,
  a replacement whose old badge changed in another window), so it must see a learner's whole
  story, not just the badge that moved;
* LMS users, once, kept only when their e-mail is one of the badges' e-mails;
* external training and certification awards of those users (filtered by user id in chunks
  while that takes fewer calls than reading the whole list, which a full reconcile does).

External training carries its badge only as the link (``certificate_url``): the badge id is
read back from that URL, and rows without one are not this sync's and are dropped here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import pandas as pd

from credly_sync.extract.progress import logged
from credly_sync.hooks import docebo_unconfirmed as shapes
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.planning.credly_to_lms import (
    AWARD_COLUMNS,
    BADGE_COLUMNS,
    EXTERNAL_TRAINING_COLUMNS,
    LMS_USER_COLUMNS,
)
from credly_sync.planning.frames import frame
from credly_sync.runs import SyncWindow

log = logging.getLogger(__name__)
TEMPLATE_CHUNK = 50  # template ids per Credly filter (a UUID is 36 characters of URL)
EMAIL_CHUNK = 50  # e-mails per Credly filter
USER_CHUNK = 100  # LMS user ids per Docebo list filter
USERS_LOOKED_UP_ONE_BY_ONE = 100  # fewer e-mails than this are searched, not the whole list
USER_FILTER_LIMIT = 1000  # above this many users a whole list is cheaper than filtered walks
READ_BADGE_COLUMNS = (*BADGE_COLUMNS, "issued_to", "public", "updated_at")
BADGE_URL = re.compile(r"/badges/([0-9A-Za-z][0-9A-Za-z-]*)(?:/|$)")

T = TypeVar("T")


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
                for chunk in _chunks(emails, EMAIL_CHUNK)
                for badge in _walk_templates(hook, templates, recipient_email=chunk)
            ),
            "Credly badges of the same earners",
        ),
        READ_BADGE_COLUMNS,
    )
    both = pd.concat([held, changed], ignore_index=True)
    return both.drop_duplicates("badge_id", keep="last").reset_index(drop=True)


def lms_users(hook: DoceboHook, emails: Iterable[Any]) -> pd.DataFrame:
    """The LMS users (LMS_USER_COLUMNS) whose e-mail is one of ``emails`` (case-insensitive):
    looked up one by one (``search_text``, matched exactly here) while they are few, else the
    user list paged once, whoever the badges belong to."""
    wanted = sorted({str(e).strip().lower() for e in emails if isinstance(e, str) and e.strip()})
    if not wanted:
        return frame([], LMS_USER_COLUMNS)
    if len(wanted) <= USERS_LOOKED_UP_ONE_BY_ONE:
        rows = (  # every exact match: two users with one e-mail are reported by the planner
            {"lms_user_id": str(user["user_id"]), "email": user.get("email")}
            for email in wanted
            for user in hook.iter_users(email)
            if str(user.get("email") or "").strip().lower() == email
        )
        return frame(rows, LMS_USER_COLUMNS)
    keys = set(wanted)
    rows = (
        {"lms_user_id": str(user["user_id"]), "email": user.get("email")}
        for user in logged(hook.iter_users(), "LMS users")
        if str(user.get("email") or "").strip().lower() in keys
    )
    return frame(rows, LMS_USER_COLUMNS)


def certification_ids(hook: DoceboHook, codes: Iterable[str]) -> dict[str, int]:
    """Certification code -> Docebo ``id_cert`` for the codes that exist (the catalogue, once)."""
    wanted = set(codes)
    if not wanted:
        return {}
    return {
        str(cert["code"]): int(cert["id_cert"])
        for cert in hook.iter_certifications()
        if cert.get("code") in wanted
    }


def external_trainings(hook: DoceboHook, user_ids: Iterable[str]) -> pd.DataFrame:
    """External training (EXTERNAL_TRAINING_COLUMNS) of these users that links to a Credly badge."""
    users = sorted({int(u) for u in user_ids})
    if not users:
        return frame([], EXTERNAL_TRAINING_COLUMNS)
    rows = (
        {
            "external_training_id": str(item[shapes.EXTERNAL_TRAINING_ID]),
            "lms_user_id": str(item["user_id"]),
            "credly_badge_id": badge_id_from_url(item.get(shapes.EXTERNAL_TRAINING_BADGE_URL)),
            "title": item.get("title"),
            "institute": item.get("provider"),
            "date": item.get("date_from"),
            "expires_at": item.get("expiration_date"),
            "link": item.get(shapes.EXTERNAL_TRAINING_BADGE_URL),
        }
        for item in logged(
            _by_users(users, lambda chunk: hook.iter_external_training(user_ids=chunk)), "external training"
        )
    )
    return frame((row for row in rows if row["credly_badge_id"]), EXTERNAL_TRAINING_COLUMNS)


def certification_awards(
    hook: DoceboHook, user_ids: Iterable[str], ids_by_code: dict[str, int]
) -> pd.DataFrame:
    """Awards (AWARD_COLUMNS) of these users for the mapped certifications, in any status."""
    users = sorted({int(u) for u in user_ids})
    if not users or not ids_by_code:
        return frame([], AWARD_COLUMNS)
    cert_ids = sorted(ids_by_code.values())
    codes = {cert_id: code for code, cert_id in ids_by_code.items()}
    rows = (
        {
            "award_id": str(award["award_id"]),
            "lms_user_id": str(award["user_id"]),
            "certification_code": award.get("certification_code") or codes.get(int(award["id_cert"])),
            "issued_at": award.get("issued_on"),
            "expires_at": award.get("expires_on"),
            "state": award.get("status"),
        }
        for award in logged(
            _by_users(
                users,
                lambda chunk: hook.iter_certification_awards(user_ids=chunk, certification_ids=cert_ids),
            ),
            "certification awards",
        )
    )
    return frame(rows, AWARD_COLUMNS)


def badge_id_from_url(url: Any) -> str | None:
    """The Credly badge id in a badge link (``https://www.credly.com/badges/<id>[/...]``)."""
    if not isinstance(url, str):
        return None
    match = BADGE_URL.search(url.split("?", 1)[0].split("#", 1)[0])
    return match.group(1) if match else None


# --- internals ----------------------------------------------------------------------------------


def _walk_templates(hook: CredlyHook, templates: Sequence[str], **filters: Any) -> Iterator[dict[str, Any]]:
    for chunk in _chunks(templates, TEMPLATE_CHUNK):
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


def _by_users(
    users: list[int], walk: Callable[[list[int] | None], Iterable[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    """Walk a Docebo list filtered to ``users`` in chunks, or, for many users, the whole list
    once (dropping other users' rows as they stream by)."""
    wanted = set(users)
    if len(users) <= USER_FILTER_LIMIT:
        # the user filters are unconfirmed (a server may ignore them): rows are checked here too
        for chunk in _chunks(users, USER_CHUNK):
            chunk_users = set(chunk)
            yield from (item for item in walk(chunk) if int(item["user_id"]) in chunk_users)
        return
    yield from (item for item in walk(None) if int(item["user_id"]) in wanted)


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
