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
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from credly_sync.extract.progress import logged
from credly_sync.hooks.base import NotFoundError
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.planning.frames import ZERO_DATE, frame
from credly_sync.planning.lms_to_credly import DESIRED_COLUMNS, EMAIL, HOLDING_STATES, ISSUED_COLUMNS
from credly_sync.runs import SyncWindow

log = logging.getLogger(__name__)
LEARNER_COLUMNS = ("lms_user_id", "email", "first_name", "last_name")
ACHIEVEMENT_COLUMNS = tuple(c for c in DESIRED_COLUMNS if c not in LEARNER_COLUMNS[1:])
ACHIEVEMENT_BASE = tuple(c for c in ACHIEVEMENT_COLUMNS if c != "badge_template_id")
ENROLLMENT_COLUMNS = ("lms_user_id", "object_type", "object_id", "object_name", "completed_at", "status")
EMAIL_CHUNK = 50  # recipient e-mails per Credly look-up
COURSE_CHUNK = 100  # course ids per enrollment read, so no URL grows with the number of courses
LEARNERS_READ_ONE_BY_ONE = 100  # fewer learners than this are read by id, not by paging all users
CREDLY_SOURCE = "credly"  # the award source credly_to_lms sets (operators/credly_to_lms.py AWARD_SOURCE)


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
    hook: DoceboHook, window: SyncWindow, templates_by_course: Mapping[str, str]
) -> pd.DataFrame:
    """Completed courses of the window that select a template; on a full reconcile also the
    enrollments of those courses read in another status (a reset completion: ``revoked``).

    The completion-date filters are unconfirmed (a server may ignore them), so status, course
    and completion time are checked here again."""
    if not templates_by_course:
        return frame([], ACHIEVEMENT_COLUMNS)
    course_ids = sorted(int(c) for c in templates_by_course)
    chunks = [course_ids[start : start + COURSE_CHUNK] for start in range(0, len(course_ids), COURSE_CHUNK)]
    if window.full:
        enrollments = (e for chunk in chunks for e in hook.iter_enrollments(course_ids=chunk))
    else:
        enrollments = (
            e
            for chunk in chunks
            for e in hook.iter_course_completions(window.start, _last_second(window), course_ids=chunk)
        )
    rows = (
        {
            "lms_user_id": str(e["user_id"]),
            "object_type": "course",
            "object_id": str(e["id"]),
            "object_name": e.get("name"),
            "completed_at": lms_time(e.get("course_complete_date")),
            "status": e.get("status"),
        }
        for e in logged(enrollments, "course enrollments")
    )
    templates = {course: [template] for course, template in templates_by_course.items()}
    return _achievements(
        _per_template(frame(rows, ENROLLMENT_COLUMNS), templates), window, "course enrollments"
    )


def learning_plan_achievements(
    hook: DoceboHook, window: SyncWindow, templates_by_plan: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Completed learning plans of the window that are mapped (one row per mapped template); on
    a full reconcile also enrollments read in another status (``revoked``)."""
    if not templates_by_plan:
        return frame([], ACHIEVEMENT_COLUMNS)
    enrollments = hook.iter_learning_plan_enrollments(
        learning_plan_ids=[int(p) for p in templates_by_plan],
        statuses=None if window.full else ["completed"],
        completed_from=None if window.full else window.start,
        completed_to=None if window.full else _last_second(window),
    )
    rows = (
        {
            "lms_user_id": str(e["user_id"]),
            "object_type": "learning_plan",
            "object_id": str(e["learning_plan_id"]),
            "object_name": e.get("learning_plan_name"),
            "completed_at": lms_time(e.get("enrollment_completion_date")),
            "status": e.get("enrollment_status"),
        }
        for e in logged(enrollments, "learning plan enrollments")
    )
    achievements = _per_template(frame(rows, ENROLLMENT_COLUMNS), templates_by_plan)
    return _achievements(achievements, window, "learning plan enrollments")


def certification_achievements(
    hook: DoceboHook,
    window: SyncWindow,
    templates_by_code: Mapping[str, Sequence[str]],
    synced_award_ids: Collection[str] = (),
) -> pd.DataFrame:
    """Certification awards of mapped codes changed in the window (one row per mapped
    template); revoked ones are marked so.

    Awards that came from Credly (``credly_to_lms`` made them: their id is in ``synced_award_ids``
    or their source is Credly) are not LMS achievements: reading them back would loop."""
    if not templates_by_code:
        return frame([], ACHIEVEMENT_COLUMNS)
    certifications = {
        str(c["id_cert"]): c for c in hook.iter_certifications() if c.get("code") in templates_by_code
    }
    awards = hook.iter_certification_awards(
        certification_ids=[int(i) for i in certifications], updated_from=None if window.full else window.start
    )
    synced = set(synced_award_ids)
    rows = []
    skipped_from_credly = 0
    for award in logged(awards, "certification awards"):
        if str(award.get("id_cert")) not in certifications:
            continue  # the certification filter is unconfirmed: check it here
        if str(award.get("award_id")) in synced or str(award.get("source") or "").lower() == CREDLY_SOURCE:
            skipped_from_credly += 1
            continue
        issued = lms_time(award.get("issued_on"))
        changed = lms_time(award.get("updated_at")) or issued
        if changed is None or not window.start <= pd.Timestamp(changed, tz="UTC") < window.end:
            continue
        code = str(certifications[str(award["id_cert"])]["code"])
        rows.append(
            {
                "lms_user_id": str(award["user_id"]),
                "object_type": "certification",
                "object_id": code,
                "object_name": award.get("certification_title"),
                "completed_at": issued,
                "lms_expires_at": lms_time(award.get("expires_on")),
                "revoked": award.get("status") == "revoked",
            }
        )
    if skipped_from_credly:
        log.info("%d certification award(s) came from Credly and are not read back", skipped_from_credly)
    return _per_template(frame(rows, ACHIEVEMENT_BASE), templates_by_code)[list(ACHIEVEMENT_COLUMNS)]


def learners(hook: DoceboHook, user_ids: Iterable[str]) -> pd.DataFrame:
    """E-mail and names of the given LMS users: read one by one while they are few (an hourly
    run: a call each), else the user list paged once (a batch sync)."""
    wanted = sorted({str(u) for u in user_ids})
    if not wanted:
        return frame([], LEARNER_COLUMNS)
    if len(wanted) <= LEARNERS_READ_ONE_BY_ONE:
        rows = []
        for user_id in wanted:
            try:
                user = hook.get_user(int(user_id))
            except NotFoundError:
                log.warning("LMS user %s no longer exists: not sent", user_id)
                continue
            rows.append({"lms_user_id": user_id, **{k: user.get(k) for k in LEARNER_COLUMNS[1:]}})
        return frame(rows, LEARNER_COLUMNS)
    ids = set(wanted)
    rows = (
        {"lms_user_id": str(u["user_id"]), **{k: u.get(k) for k in LEARNER_COLUMNS[1:]}}
        for u in logged(hook.iter_users(), "users")
        if str(u["user_id"]) in ids
    )
    return frame(rows, LEARNER_COLUMNS)


def lms_time(value: Any) -> Any:
    """An LMS date or time, with Docebo's empty ``0000-00-00`` (``00:00:00``) as None."""
    if value is None or (isinstance(value, str) and (not value.strip() or value.startswith(ZERO_DATE))):
        return None
    return value


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


def _per_template(achievements: pd.DataFrame, templates_by: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """One row per achievement and template its object maps to (a mapping may name several)."""
    templates = achievements["object_id"].map(lambda object_id: list(templates_by.get(object_id, ())))
    exploded = achievements.assign(badge_template_id=templates).explode("badge_template_id")
    return exploded[exploded["badge_template_id"].notna()].reset_index(drop=True)


def _achievements(enrollments: pd.DataFrame, window: SyncWindow, what: str) -> pd.DataFrame:
    """Completions inside the window as achievements; on a full reconcile, enrollments read in
    another status as ``revoked`` (reset). Completions without a date are reported, not used."""
    completed = enrollments["status"].eq("completed")
    when = pd.to_datetime(enrollments["completed_at"], utc=True, format="ISO8601")
    undated = completed & when.isna()
    if undated.any():
        log.warning("%d completed %s have no completion date and are left out", int(undated.sum()), what)
    in_window = (when >= window.start) & (when < window.end)
    earned = enrollments[completed & in_window].assign(revoked=False)
    reset = enrollments[~completed & window.full].assign(revoked=True, completed_at=None)
    both = pd.concat([earned, reset], ignore_index=True).assign(lms_expires_at=None)
    return both[list(ACHIEVEMENT_COLUMNS)].reset_index(drop=True)


def _last_second(window: SyncWindow) -> Any:
    """Docebo's completion filters are inclusive; the window is ``[start, end)``."""
    return window.end - timedelta(seconds=1)
