"""Adobe Learning Manager behind the LMS seam: user badges and completions of badge-carrying
learning objects -> achievements (ALM -> Credly only; ALM takes nothing back from Credly).

An ALM badge earns a Credly template when it names one: ``externalBadgeId`` with
``externalBadgeProvider`` Credly, as ALM's own connector imports it through badge.csv. Where the
API does not show those attributes (unconfirmed, :mod:`credly_sync.hooks.alm_unconfirmed`), the
badge.csv imported with ``python -m credly_sync alm badge-csv import`` (``alm_badge_mappings``)
says it. A Retired badge, or a template that is not active in the Credly Badge Templates table,
earns nothing and is reported.

What a run reads:

* the badges and the learning objects (which object carries which badge), once;
* enrollments: those completed in the window (a full reconcile: every enrollment, so a reset
  completion is read as ``revoked``), or every enrollment of the learners an event names;
* the user badges (``dateAchieved``) of the learners with such a completion (a full reconcile:
  of every learner, one call each).

A user badge is the achievement, issued at ``dateAchieved`` and tied to the learning object that
achieved it (its ``model``); a completion of a badge-carrying object whose user badge is not
there (yet) is one too, at ``dateCompleted``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from credly_sync.extract.lms import (
    LEARNER_COLUMNS,
    AchievementQuery,
    Achievements,
    LmsAdapter,
    completions_in_window,
)
from credly_sync.extract.progress import logged
from credly_sync.hooks import alm_unconfirmed as shapes
from credly_sync.hooks.alm import AlmHook, attribute, moment, related_id
from credly_sync.planning.frames import frame
from credly_sync.runs import SyncWindow
from credly_sync.warehouse.alm_badges import read_alm_badge_mappings

log = logging.getLogger(__name__)
# ALM learning object types -> the sync's object types (the ledger's learning_object_type)
OBJECT_TYPES = {"course": "course", "learningProgram": "learning_plan", "certification": "certification"}
BADGE_OBJECT = "badge"  # a user badge achieved another way (a skill level): tied to the badge
ACTIVE = "Active"
ROW_COLUMNS = (
    "lms_user_id",
    "object_type",
    "object_id",
    "object_name",
    "badge_template_id",
    "completed_at",
    "status",
)


@dataclass(frozen=True)
class _Earner:
    """A badge-carrying thing (a learning object or an ALM badge): its name and template."""

    badge_id: str
    name: str | None
    template: str


class AlmLms(LmsAdapter):
    """Adobe Learning Manager, read through :class:`AlmHook` (connection ``alm_default``)."""

    name = "ALM"
    title = "Adobe Learning Manager"
    hook_class = AlmHook
    default_conn_id = AlmHook.default_conn_name
    stream_prefix = "alm"

    hook: AlmHook

    def achievements(self, query: AchievementQuery) -> Achievements:
        problems: list[str] = []
        badges = self._credly_badges(query, problems)
        objects = self._badge_objects(badges)
        enrollments = self._enrollments(query.window, objects)
        completed = enrollments.loc[enrollments["status"].eq("completed"), "lms_user_id"]
        earned = self._user_badges(self._users_to_read(query.window, completed), badges, objects)
        # the user badge is the truth where there is one: a completion (or a reset) of the same
        # object counts only where its user badge is not there (yet, or any more)
        held = pd.MultiIndex.from_frame(earned[["lms_user_id", "object_id"]])
        other = ~pd.MultiIndex.from_frame(enrollments[["lms_user_id", "object_id"]]).isin(held)
        rows = pd.concat(
            [
                completions_in_window(earned, query.window, "ALM user badges"),
                completions_in_window(enrollments[other], query.window, "ALM enrollments"),
            ],
            ignore_index=True,
        )
        return Achievements(rows, problems=problems)

    def learners(self, user_ids: Iterable[str]) -> pd.DataFrame:
        """E-mail and names (ALM keeps one ``name``: its last word is the last name)."""
        users = self.hook.users_by_ids(sorted({str(u) for u in user_ids}))
        rows = []
        for user_id, user in users.items():
            first, _, last = str(attribute(user, "name") or "").strip().rpartition(" ")
            rows.append(
                {
                    "lms_user_id": user_id,
                    "email": attribute(user, "email"),
                    "first_name": first.strip() or None,
                    "last_name": last or None,
                }
            )
        return frame(rows, LEARNER_COLUMNS)

    # --- what earns which template --------------------------------------------------------------

    def _credly_badges(self, query: AchievementQuery, problems: list[str]) -> dict[str, _Earner]:
        """The Active ALM badges naming an active Credly template, by ALM badge id; the others
        that name a Credly template are reported."""
        active = query.templates[query.templates["is_active"].astype(bool)]
        active_ids = set(active["badge_template_id"].astype(str))
        imported = _ImportedBadges(read_alm_badge_mappings(query.engine))
        badges: dict[str, _Earner] = {}
        for badge in logged(self.hook.iter_badges(), "ALM badges"):
            badge_id = str(badge.get("id"))
            template, provider = _external_badge(badge, imported.find(badge_id, attribute(badge, "name")))
            if template is None or str(provider or "").lower() != shapes.CREDLY_PROVIDER.lower():
                continue  # not a Credly badge
            name, state = attribute(badge, "name"), attribute(badge, "state")
            if state != ACTIVE:
                problems.append(f"ALM badge {badge_id} ({name}) is {state}: nothing issued for it")
            elif template not in active_ids:
                problems.append(
                    f"ALM badge {badge_id} ({name}) names Credly template {template}, which is not an "
                    "active template (archived, deleted, or not read yet by credly_templates): "
                    "nothing issued for it"
                )
            else:
                badges[badge_id] = _Earner(badge_id, name, template)
        return badges

    def _badge_objects(self, badges: dict[str, _Earner]) -> dict[str, _Earner]:
        """Learning object id -> the Credly badge it carries (and the object's name)."""
        objects = {}
        for lo in self.hook.iter_learning_objects(OBJECT_TYPES):
            badge = badges.get(related_id(lo, shapes.LO_BADGE_RELATIONSHIP) or "")
            if badge is not None:
                objects[str(lo["id"])] = _Earner(badge.badge_id, shapes.lo_name(lo), badge.template)
        return objects

    # --- reads ------------------------------------------------------------------------------

    def _enrollments(self, window: SyncWindow, objects: dict[str, _Earner]) -> pd.DataFrame:
        """Enrollments of the badge-carrying objects: the window's completions; every one on a
        full reconcile, and every one of the learners in scope."""
        if self.scope is not None:
            found: Iterable[dict[str, Any]] = (
                e for user in self.scope for e in self.hook.iter_user_enrollments(user, OBJECT_TYPES)
            )
        elif window.full:
            found = self.hook.iter_enrollments(lo_types=OBJECT_TYPES)
        else:
            found = self.hook.iter_completed_enrollments(window.start, OBJECT_TYPES)
        rows = []
        for enrollment in logged(found, "ALM enrollments"):
            lo = related_id(enrollment, shapes.ENROLLMENT_OBJECT) or ""
            user = related_id(enrollment, shapes.ENROLLMENT_LEARNER)
            if lo not in objects or user is None:
                continue
            done = attribute(enrollment, "state") == shapes.COMPLETED_STATE
            rows.append(_row(user, lo, objects[lo], attribute(enrollment, "dateCompleted"), completed=done))
        return frame(rows, ROW_COLUMNS)

    def _users_to_read(self, window: SyncWindow, completed: pd.Series) -> list[str]:
        """Whose user badges to read: the learners in scope; on a full reconcile everyone (one
        call each); else those who completed a badge-carrying object in the window."""
        if self.scope is not None:
            return self.scope
        if window.full:
            return sorted({str(u.get("id")) for u in logged(self.hook.iter_users(), "ALM users")})
        return sorted(set(completed.dropna().astype(str)))

    def _user_badges(
        self, users: list[str], badges: dict[str, _Earner], objects: dict[str, _Earner]
    ) -> pd.DataFrame:
        """The user badges that earn a template, each tied to the learning object that achieved
        it (its ``model``) or else to the ALM badge; ``completed_at`` is ``dateAchieved``."""
        rows = []
        for user in users:
            for user_badge in self.hook.iter_user_badges(user):
                badge = badges.get(related_id(user_badge, shapes.USER_BADGE_BADGE) or "")
                if badge is None:
                    continue
                model = related_id(user_badge, shapes.USER_BADGE_MODEL) or ""
                achieved = attribute(user_badge, "dateAchieved")
                carrier = objects.get(model)
                if carrier is not None and carrier.badge_id == badge.badge_id:
                    rows.append(_row(user, model, carrier, achieved, completed=True))
                else:
                    rows.append(_row(user, None, badge, achieved, completed=True))
        return frame(rows, ROW_COLUMNS).drop_duplicates(["lms_user_id", "object_type", "object_id"])


def _row(user: str, lo: str | None, earner: _Earner, when: Any, *, completed: bool) -> dict[str, Any]:
    """An achievement row of learning object ``lo`` (None: of the ALM badge itself)."""
    achieved = moment(when)
    return {
        "lms_user_id": user,
        "object_type": OBJECT_TYPES[lo.partition(":")[0]] if lo else BADGE_OBJECT,
        "object_id": lo or earner.badge_id,
        "object_name": earner.name,
        "badge_template_id": earner.template,
        "completed_at": achieved.isoformat() if achieved else None,
        "status": "completed" if completed else "other",
    }


class _ImportedBadges:
    """The badge.csv rows imported into alm_badge_mappings. ALM gives a migrated badge an id of
    its own (unconfirmed: the simulator does), so a live badge is matched by the row's ``id``,
    else by its name (``badgeName``: unique within a file, at most 25 characters)."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        self.by_id = {str(row["alm_badge_id"]): row for row in rows}
        names: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            names.setdefault(str(row["badge_name"]).casefold(), []).append(row)
        self.by_name = {name: found[0] for name, found in names.items() if len(found) == 1}

    def find(self, badge_id: str, name: Any) -> dict[str, Any] | None:
        return self.by_id.get(badge_id) or self.by_name.get(str(name or "").casefold())


def _external_badge(badge: dict[str, Any], imported: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The Credly template and provider an ALM badge names: its own attributes where the API
    shows them, else the imported badge.csv row."""
    template = attribute(badge, shapes.EXTERNAL_BADGE_ID)
    if template:
        return str(template), attribute(badge, shapes.EXTERNAL_BADGE_PROVIDER)
    if imported:
        return str(imported["badge_template_id"]), imported["external_badge_provider"]
    return None, None
