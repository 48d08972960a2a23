"""Docebo behind the LMS seam: course completions (by dropdown), learning plan completions and
certification awards (by mapping) -> achievements; and the reads credly_to_lms needs.

Three routes (Docebo Connect for Credly): a completed course whose dropdown (the
COURSE_ADDITIONAL_FIELD) selects an active template; a completed learning plan mapped in
credly_integration_mappings; a certification award whose code is mapped. Every list is read
page by page, never per learner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from credly_sync.extract.credly_to_lms import badge_id_from_url
from credly_sync.extract.lms import (
    ACHIEVEMENT_COLUMNS,
    LEARNER_COLUMNS,
    AchievementQuery,
    Achievements,
    LmsAdapter,
    LmsWriteBack,
    completions_in_window,
    per_template,
    templates_by,
)
from credly_sync.extract.progress import chunked, logged
from credly_sync.extract.scoped import EarnerScopedDoceboHook, LearnerScopedDoceboHook
from credly_sync.hooks import docebo_unconfirmed as shapes
from credly_sync.hooks.base import NotFoundError
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.planning.credly_to_lms import AWARD_COLUMNS, EXTERNAL_TRAINING_COLUMNS, LMS_USER_COLUMNS
from credly_sync.planning.frames import ZERO_DATE, frame
from credly_sync.runs import SyncWindow

log = logging.getLogger(__name__)
ACHIEVEMENT_BASE = tuple(c for c in ACHIEVEMENT_COLUMNS if c != "badge_template_id")
ENROLLMENT_COLUMNS = ("lms_user_id", "object_type", "object_id", "object_name", "completed_at", "status")
COURSE_CHUNK = 100  # course ids per enrollment read, so no URL grows with the number of courses
LEARNERS_READ_ONE_BY_ONE = 100  # fewer learners than this are read by id, not by paging all users
USER_CHUNK = 100  # LMS user ids per Docebo list filter
USERS_LOOKED_UP_ONE_BY_ONE = 100  # fewer e-mails than this are searched, not the whole list
USER_FILTER_LIMIT = 1000  # above this many users a whole list is cheaper than filtered walks
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
    return completions_in_window(
        per_template(frame(rows, ENROLLMENT_COLUMNS), templates), window, "course enrollments"
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
    achievements = per_template(frame(rows, ENROLLMENT_COLUMNS), templates_by_plan)
    return completions_in_window(achievements, window, "learning plan enrollments")


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
    return per_template(frame(rows, ACHIEVEMENT_BASE), templates_by_code)[list(ACHIEVEMENT_COLUMNS)]


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


def _last_second(window: SyncWindow) -> Any:
    """Docebo's completion filters are inclusive; the window is ``[start, end)``."""
    return window.end - timedelta(seconds=1)


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


def _by_users(
    users: list[int], walk: Callable[[list[int] | None], Iterable[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    """Walk a Docebo list filtered to ``users`` in chunks, or, for many users, the whole list
    once (dropping other users' rows as they stream by)."""
    wanted = set(users)
    if len(users) <= USER_FILTER_LIMIT:
        # the user filters are unconfirmed (a server may ignore them): rows are checked here too
        for chunk in chunked(users, USER_CHUNK):
            chunk_users = set(chunk)
            yield from (item for item in walk(chunk) if int(item["user_id"]) in chunk_users)
        return
    yield from (item for item in walk(None) if int(item["user_id"]) in wanted)


class DoceboLms(LmsAdapter, LmsWriteBack):
    """Docebo: achievements by course dropdown, learning plan and certification mappings; it
    takes external training and certification awards back from Credly."""

    name = "DOCEBO"
    title = "Docebo"
    hook_class = DoceboHook
    default_conn_id = DoceboHook.default_conn_name
    stream_prefix = "docebo"
    hook: DoceboHook

    @classmethod
    def scoped_hook(
        cls, conn_id: str, learners: Collection[str] | None, earners: Collection[str] | None
    ) -> DoceboHook:
        """Docebo narrows its list reads in the hook (:mod:`credly_sync.extract.scoped`)."""
        if learners is not None:
            return LearnerScopedDoceboHook(conn_id, [int(u) for u in learners])
        if earners is not None:
            return EarnerScopedDoceboHook(conn_id, earners)
        return DoceboHook(conn_id)

    def achievements(self, query: AchievementQuery) -> Achievements:
        window, settings = query.window, query.settings
        by_plan = templates_by(query.mappings, "learning_plan_id")
        by_code = templates_by(query.mappings, "certification_code")
        if not settings.lms_certifications_to_credly:
            by_code = {}
        by_course = course_templates(self.hook, settings.course_additional_field, query.templates)
        rows = pd.concat(
            [
                course_achievements(self.hook, window, by_course),
                learning_plan_achievements(self.hook, window, by_plan),
                certification_achievements(self.hook, window, by_code, query.synced_award_ids),
            ],
            ignore_index=True,
        )
        return Achievements(rows, course_templates=by_course)

    def learners(self, user_ids: Iterable[str]) -> pd.DataFrame:
        return learners(self.hook, user_ids)

    def write_back(self) -> DoceboLms:
        return self

    def users_by_email(self, emails: Iterable[object]) -> pd.DataFrame:
        return lms_users(self.hook, emails)

    def certification_ids(self, codes: Iterable[str]) -> dict[str, int]:
        return certification_ids(self.hook, codes)

    def external_trainings(self, user_ids: Iterable[str]) -> pd.DataFrame:
        return external_trainings(self.hook, user_ids)

    def certification_awards(self, user_ids: Iterable[str], ids_by_code: dict[str, int]) -> pd.DataFrame:
        return certification_awards(self.hook, user_ids, ids_by_code)
