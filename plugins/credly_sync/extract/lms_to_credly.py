"""Extract for LMS -> Credly: the LMS achievements (through the LMS adapter), the learners, and
the badges they already hold.

The badges held come from Credly itself on a full reconcile (every badge of the templates
involved) and from the ledger on incremental runs, plus one look-up per template for the
learners about to be issued (a badge issued by hand or by another system, such as ALM's own
Credly connector, is not issued again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from credly_sync.extract.lms import AchievementQuery, Achievements, LmsAdapter
from credly_sync.extract.progress import logged
from credly_sync.hooks.credly import CredlyHook
from credly_sync.planning.credly_to_lms import CERTIFICATION_AWARD
from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import DESIRED_COLUMNS, EMAIL, HOLDING_STATES, ISSUED_COLUMNS
from credly_sync.runs import SyncWindow
from credly_sync.settings import IntegrationSettings
from credly_sync.warehouse.journal import applied_results
from credly_sync.warehouse.ledger import read_ledger
from credly_sync.warehouse.mappings import usable_active_mappings
from credly_sync.warehouse.templates import read_template_table

log = logging.getLogger(__name__)
EMAIL_CHUNK = 50  # recipient e-mails per Credly look-up


@dataclass(frozen=True)
class LmsToCredlyInputs:
    """The planner's inputs, and what the LMS says about its courses' templates."""

    desired: pd.DataFrame
    issued: pd.DataFrame
    ledger: pd.DataFrame
    achievements: Achievements


def read_lms_to_credly(
    lms: LmsAdapter, credly: CredlyHook, engine: Engine, settings: IntegrationSettings, window: SyncWindow
) -> LmsToCredlyInputs:
    """Achievements with learner details, the badges held, and the ledger rows involved."""
    usable, problems = usable_active_mappings(engine)
    for problem in problems:
        log.warning("mapping skipped: %s", problem)
    query = AchievementQuery(
        window=window,
        engine=engine,
        settings=settings,
        mappings=pd.DataFrame(usable),
        templates=read_template_table(engine),
        synced_award_ids=frozenset(applied_results(engine, [CERTIFICATION_AWARD], "award_id")),
    )
    achieved = lms.achievements(query)
    for problem in achieved.problems:
        log.warning("%s", problem)
    rows = achieved.rows
    learners = lms.learners(rows["lms_user_id"])
    desired = rows.merge(learners, on="lms_user_id", how="left")[list(DESIRED_COLUMNS)]
    if window.full:
        ledger = read_ledger(engine)
        templates = set(rows["badge_template_id"]) | set(ledger["badge_template_id"])
        issued = badges_in_credly(credly, templates)
    else:
        ledger = read_ledger(engine, lms_user_ids=rows["lms_user_id"])
        candidates = _not_held(desired, ledger)
        log.info("checking %d issue candidate(s) in Credly before issuing", len(candidates))
        issued = pd.concat(
            [badges_in_ledger(ledger), badges_held_by_candidates(credly, candidates)], ignore_index=True
        )
    return LmsToCredlyInputs(desired, issued, ledger, achieved)


def badges_in_credly(hook: CredlyHook, template_ids: Iterable[str]) -> pd.DataFrame:
    """Every badge of these templates, page by page (full reconcile)."""
    template_ids = sorted(set(template_ids))
    if not template_ids:
        return frame([], ISSUED_COLUMNS)
    rows = (_issued_row(b) for b in logged(hook.iter_badges(badge_template_id=template_ids), "Credly badges"))
    return frame(rows, ISSUED_COLUMNS)


def _issued_row(badge: dict[str, Any]) -> dict[str, Any]:
    return {
        "badge_id": badge["id"],
        "badge_template_id": (badge.get("badge_template") or {}).get("id"),
        "recipient_email": badge.get("recipient_email"),
        "issuer_earner_id": badge.get("issuer_earner_id"),
        "state": badge.get("state"),
        "issued_at": badge.get("issued_at"),
        "expires_at": badge.get("expires_at"),
    }


def badges_held_by_candidates(hook: CredlyHook, candidates: pd.DataFrame) -> pd.DataFrame:
    """The holding badges in Credly of learners about to be issued a template (``lms_user_id``,
    ``email``, ``badge_template_id``): the article's "filter unassigned badge templates", so a
    badge issued by hand or by another system is not issued again, also for templates that
    allow duplicates. One read per template and 50 e-mails (a value list, §4); the hook checks
    each result, since a server may ignore a filter."""
    emails = candidates.assign(email=candidates["email"].fillna("").astype(str).str.strip().str.lower())
    usable = emails["email"].str.match(EMAIL) & ~emails["email"].str.contains(r"[|,]|::", regex=True)
    rows = []
    for template_id, group in emails[usable].groupby("badge_template_id"):
        addresses = sorted(set(group["email"]))
        for start in range(0, len(addresses), EMAIL_CHUNK):
            chunk = addresses[start : start + EMAIL_CHUNK]
            for b in hook.iter_badges(
                badge_template_id=template_id, recipient_email=chunk, state=HOLDING_STATES
            ):
                rows.append(_issued_row(b))
    return frame(rows, ISSUED_COLUMNS)


def badges_in_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """The live badges issued here, in Credly's shape (incremental runs)."""
    return frame(
        (
            {
                "badge_id": row.credly_badge_id,
                "badge_template_id": row.badge_template_id,
                "recipient_email": row.recipient_email,
                "issuer_earner_id": row.lms_user_id,
                "state": "accepted",
                "issued_at": None,
                "expires_at": row.expires_at,
            }
            for row in ledger.itertuples()
        ),
        ISSUED_COLUMNS,
    )


def _not_held(desired: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Earned (not revoked) learner/template pairs the ledger holds no badge for."""
    earned = desired.loc[
        ~desired["revoked"].fillna(False).astype(bool), ["lms_user_id", "email", "badge_template_id"]
    ]
    held = ledger[["lms_user_id", "badge_template_id"]].astype(str).drop_duplicates()
    merged = earned.astype({"lms_user_id": str}).merge(held, how="left", indicator=True)
    return merged[merged["_merge"].eq("left_only")].drop(columns="_merge").drop_duplicates()
