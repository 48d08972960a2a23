"""Extract for LMS -> Credly: the LMS achievements that earn badges, and the badges held.

Three routes (Docebo Connect for Credly): a completed course whose dropdown (the
COURSE_ADDITIONAL_FIELD) selects an active template; a completed learning plan mapped in
credly_integration_mappings; a certification award whose code is mapped. Every list is read
page by page, never per learner.

The badges held come from Credly itself on a full reconcile (every badge of the templates
involved) and from the ledger on incremental runs: an hourly run then costs no Credly read,
and a badge someone else issued is still caught by Credly's duplicate rule when issuing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pandas as pd

from credly_sync.extract.progress import logged
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import DESIRED_COLUMNS, ISSUED_COLUMNS
from credly_sync.runs import SyncWindow

log = logging.getLogger(__name__)
LEARNER_COLUMNS = ("lms_user_id", "email", "first_name", "last_name")
ACHIEVEMENT_COLUMNS = tuple(c for c in DESIRED_COLUMNS if c not in LEARNER_COLUMNS[1:])


def course_templates(hook: DoceboHook, field_name: str, templates: pd.DataFrame) -> dict[str, str]:
    """Course id -> badge template id, from each course's dropdown element (active templates)."""
    field = hook.find_dropdown_field(field_name)
    if field is None:
        log.warning("course field %r does not exist yet: no course earns a badge", field_name)
        return {}
    active = templates[templates["is_active"].astype(bool) & templates["dropdown_element_id"].notna()]
    by_element = dict(
        zip(active["dropdown_element_id"].astype(int), active["badge_template_id"], strict=True)
    )
    return {
        str(course_id): by_element[element]
        for course_id, element in hook.course_field_values(field.field_id).items()
        if element in by_element
    }


def course_achievements(
    hook: DoceboHook, window: SyncWindow, templates_by_course: dict[str, str]
) -> pd.DataFrame:
    """Completed courses of the window that select a template."""
    if not templates_by_course:
        return frame([], ACHIEVEMENT_COLUMNS)
    rows = (
        {
            "lms_user_id": str(e["user_id"]),
            "object_type": "course",
            "object_id": str(e["id"]),
            "object_name": e.get("name"),
            "badge_template_id": templates_by_course[str(e["id"])],
            "completed_at": e["course_complete_date"],
            "lms_expires_at": None,
            "revoked": False,
        }
        for e in logged(
            hook.iter_course_completions(
                window.start, _last_second(window), course_ids=[int(c) for c in templates_by_course]
            ),
            "course completions",
        )
    )
    return frame(rows, ACHIEVEMENT_COLUMNS)


def learning_plan_achievements(
    hook: DoceboHook, window: SyncWindow, templates_by_plan: dict[str, str]
) -> pd.DataFrame:
    """Completed learning plans of the window that are mapped to a template."""
    if not templates_by_plan:
        return frame([], ACHIEVEMENT_COLUMNS)
    enrollments = hook.iter_learning_plan_enrollments(
        learning_plan_ids=[int(p) for p in templates_by_plan],
        statuses=["completed"],
        completed_from=window.start,
        completed_to=_last_second(window),
    )
    rows = (
        {
            "lms_user_id": str(e["user_id"]),
            "object_type": "learning_plan",
            "object_id": str(e["learning_plan_id"]),
            "object_name": e.get("learning_plan_name"),
            "badge_template_id": templates_by_plan[str(e["learning_plan_id"])],
            "completed_at": e["enrollment_completion_date"],
            "lms_expires_at": None,
            "revoked": False,
        }
        for e in logged(enrollments, "learning plan completions")
    )
    return frame(rows, ACHIEVEMENT_COLUMNS)


def certification_achievements(
    hook: DoceboHook, window: SyncWindow, templates_by_code: dict[str, str]
) -> pd.DataFrame:
    """Certification awards of mapped codes changed in the window; revoked ones are marked so."""
    if not templates_by_code:
        return frame([], ACHIEVEMENT_COLUMNS)
    certifications = {
        str(c["id_cert"]): c for c in hook.iter_certifications() if c.get("code") in templates_by_code
    }
    awards = hook.iter_certification_awards(certification_ids=[int(i) for i in certifications])
    rows = []
    for award in logged(awards, "certification awards"):
        changed = pd.Timestamp(award.get("updated_at") or award["issued_on"], tz="UTC")
        if not window.full and not (window.start <= changed < window.end):
            continue
        code = award["certification_code"]
        rows.append(
            {
                "lms_user_id": str(award["user_id"]),
                "object_type": "certification",
                "object_id": code,
                "object_name": award.get("certification_title"),
                "badge_template_id": templates_by_code[code],
                "completed_at": award["issued_on"],
                "lms_expires_at": award.get("expires_on"),
                "revoked": award.get("status") == "revoked",
            }
        )
    return frame(rows, ACHIEVEMENT_COLUMNS)


def learners(hook: DoceboHook, user_ids: Iterable[str]) -> pd.DataFrame:
    """E-mail and names of the given LMS users (the whole user list is paged once)."""
    wanted = set(user_ids)
    if not wanted:
        return frame([], LEARNER_COLUMNS)
    rows = (
        {
            "lms_user_id": str(u["user_id"]),
            "email": u.get("email"),
            "first_name": u.get("first_name"),
            "last_name": u.get("last_name"),
        }
        for u in logged(hook.iter_users(), "users")
        if str(u["user_id"]) in wanted
    )
    return frame(rows, LEARNER_COLUMNS)


def lost_achievements(
    achievements: pd.DataFrame, ledger: pd.DataFrame, mapped_objects: set[tuple[str, str]]
) -> pd.DataFrame:
    """Full reconcile only: badges issued here for a learning object that is still mapped but no
    longer completed or awarded by the learner (a reset completion) become revoked achievements.
    A course whose dropdown now names another template, or no template, revokes nothing."""
    current = set(
        zip(achievements["lms_user_id"], achievements["object_type"], achievements["object_id"], strict=True)
    )
    gone = [
        {
            "lms_user_id": row.lms_user_id,
            "object_type": row.learning_object_type,
            "object_id": row.learning_object_id,
            "object_name": None,
            "badge_template_id": row.badge_template_id,
            "completed_at": row.created_at,
            "lms_expires_at": None,
            "revoked": True,
        }
        for row in ledger.itertuples()
        if (row.learning_object_type, row.learning_object_id) in mapped_objects
        and (row.lms_user_id, row.learning_object_type, row.learning_object_id) not in current
    ]
    return frame(gone, ACHIEVEMENT_COLUMNS)


def badges_in_credly(hook: CredlyHook, template_ids: Iterable[str]) -> pd.DataFrame:
    """Every badge of these templates, page by page (full reconcile)."""
    template_ids = sorted(set(template_ids))
    if not template_ids:
        return frame([], ISSUED_COLUMNS)
    rows = (
        {
            "badge_id": b["id"],
            "badge_template_id": (b.get("badge_template") or {}).get("id"),
            "recipient_email": b.get("recipient_email"),
            "issuer_earner_id": b.get("issuer_earner_id"),
            "state": b.get("state"),
            "issued_at": b.get("issued_at"),
            "expires_at": b.get("expires_at"),
        }
        for b in logged(hook.iter_badges(badge_template_id=template_ids), "Credly badges")
    )
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


def _last_second(window: SyncWindow) -> Any:
    """Docebo's completion filters are inclusive; the window is ``[start, end)``."""
    return window.end - timedelta(seconds=1)
