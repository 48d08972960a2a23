"""The simulated ALM account: its world, the JSON:API resources it serves and the changes it
accepts.

Every change happens under ``lock`` and tells the listeners (the webhook sender) what fired:
``listener(events)``, one call per change with all its ``(eventName, data)`` pairs. Sorted
lists are cached until the next change, so paging a large list sorts it once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from include.simulators.alm.records import (
    Badge,
    Enrollment,
    LearningObject,
    User,
    UserBadge,
    World,
    now_text,
)
from include.simulators.alm.tokens import TokenIssuer
from include.simulators.alm.unconfirmed import (
    COMPLETED,
    ENROLLED,
    EXTERNAL_BADGE_ID,
    EXTERNAL_BADGE_PROVIDER,
    USER_BADGE_LO_MODEL,
)
from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.world import WorldState

Event = tuple[str, dict[str, Any]]
Listener = Callable[[list[Event]], None]
LO_TYPES = ("course", "learningProgram", "certification", "jobAid")
EVENT_PREFIX = {"course": "COURSE", "learningProgram": "LEARNING_PATH", "certification": "CERTIFICATION"}
BADGE_STATES = ("Active", "Retired")


def event_name(lo_type: str, action: str, by_admin: bool) -> str | None:
    """``COURSE_COMPLETED``, ``LEARNING_PATH_ENROLLMENT_BATCH``, ...; None for a job aid."""
    prefix = EVENT_PREFIX.get(lo_type)
    if prefix is None:
        return None
    return f"{prefix}_{action}" + ("_BATCH" if by_admin else "")


def ref(kind: str, record_id: str) -> dict[str, Any]:
    return {"data": {"id": record_id, "type": kind}}


class AlmState(WorldState[World]):
    """One account: its OAuth client, world and listeners. Read ``world`` directly in tests."""

    def __init__(self, tokens: TokenIssuer, *, strict: bool = True) -> None:
        super().__init__(World, strict=strict)
        self.tokens = tokens
        self.listeners: list[Listener] = []
        self.public_url: str | None = None  # written into links instead of the request's base

    # --- look-ups ---------------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        return _found(self.world.users.get(user_id), "User", user_id)

    def learning_object(self, lo_id: str) -> LearningObject:
        return _found(self.world.learning_objects.get(lo_id), "Learning object", lo_id)

    def badge(self, badge_id: str) -> Badge:
        return _found(self.world.badges.get(badge_id), "Badge", badge_id)

    def user_badge(self, user_id: str, user_badge_id: str) -> UserBadge:
        found = self.world.user_badges.get(user_badge_id)
        return _found(found if found and found.user_id == user_id else None, "User badge", user_badge_id)

    # --- JSON:API resources -----------------------------------------------------------------

    def user_json(self, user: User) -> dict[str, Any]:
        attributes = {
            "email": user.email,
            "name": user.name,
            "state": user.state,
            "userType": "Internal",
            "uniqueId": user.email,
            "dateCreated": user.date_created,
        }
        return {"id": user.id, "type": "user", "attributes": attributes}

    def lo_json(self, lo: LearningObject) -> dict[str, Any]:
        attributes = {
            "loType": lo.lo_type,
            "state": lo.state,
            "dateCreated": lo.date_created,
            "datePublished": lo.date_created,
            "dateUpdated": lo.date_created,
            "isExternal": False,
            "localizedMetadata": [{"locale": "en-US", "name": lo.name, "description": ""}],
        }
        relationships: dict[str, Any] = {
            "instances": {"data": [{"id": lo.instance_id, "type": "learningObjectInstance"}]},
            "subLOs": {"data": [{"id": sub, "type": "learningObject"} for sub in lo.sub_lo_ids]},
            "skills": {"data": []},
        }
        if lo.badge_id:
            relationships["badge"] = ref("badge", lo.badge_id)
        return {
            "id": lo.id,
            "type": "learningObject",
            "attributes": attributes,
            "relationships": relationships,
        }

    def enrollment_json(self, row: Enrollment) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "dateEnrolled": row.date_enrolled,
            "dateStarted": row.date_started,
            "hasPassed": row.has_passed,
            "progressPercent": 100 if row.state == COMPLETED else (50 if row.date_started else 0),
            "score": row.score,
            "state": row.state,
        }
        if row.date_completed is not None or not self.mode.strict:
            attributes["dateCompleted"] = row.date_completed
        relationships = {
            "learner": ref("user", row.user_id),
            "learningObject": ref("learningObject", row.lo_id),
            "loInstance": ref("learningObjectInstance", f"{row.lo_id}_1"),
        }
        if row.user_badge_id:
            relationships["learnerBadge"] = ref("userBadge", row.user_badge_id)
        return {
            "id": row.id,
            "type": "learningObjectInstanceEnrollment",
            "attributes": attributes,
            "relationships": relationships,
        }

    def badge_json(self, badge: Badge) -> dict[str, Any]:
        attributes: dict[str, Any] = {"imageUrl": badge.image_url, "name": badge.name, "state": badge.state}
        if not self.mode.strict:
            attributes[EXTERNAL_BADGE_ID] = badge.external_badge_id
            attributes[EXTERNAL_BADGE_PROVIDER] = badge.external_badge_provider
        return {"id": badge.id, "type": "badge", "attributes": attributes}

    def user_badge_json(self, row: UserBadge) -> dict[str, Any]:
        return {
            "id": row.id,
            "type": "userBadge",
            "attributes": {
                "assertionUrl": row.assertion_url,
                "dateAchieved": row.date_achieved,
                "modelType": USER_BADGE_LO_MODEL,
            },
            "relationships": {
                "badge": ref("badge", row.badge_id),
                "learner": ref("user", row.user_id),
                "model": ref("learningObject", row.model_id),
            },
        }

    def resource(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The resource a relationship points to, for ``include``; None if it is not there."""
        world = self.world
        if kind == "user" and record_id in world.users:
            return self.user_json(world.users[record_id])
        if kind == "learningObject" and record_id in world.learning_objects:
            return self.lo_json(world.learning_objects[record_id])
        if kind == "badge" and record_id in world.badges:
            return self.badge_json(world.badges[record_id])
        if kind == "userBadge" and record_id in world.user_badges:
            return self.user_badge_json(world.user_badges[record_id])
        return None

    # --- changes (what admins and learners do in the UI) ------------------------------------

    def add_user(self, body: dict[str, Any]) -> User:
        email, name = _text(body, "email"), _text(body, "name")
        with self.lock:
            user_id = str(body.get("id") or self.world.take_id())
            if user_id in self.world.users:
                raise ApiRefusal(409, f"User {user_id} exists")
            user = User(user_id, email, name, date_created=now_text())
            self.world.users[user_id] = user
            self._changed()
            return user

    def add_learning_object(self, body: dict[str, Any]) -> LearningObject:
        lo_type, name = _text(body, "loType"), _text(body, "name")
        if lo_type not in LO_TYPES:
            raise ApiRefusal(400, f"loType must be one of {', '.join(LO_TYPES)}")
        with self.lock:
            badge_id = body.get("badgeId")
            if badge_id is not None:
                self.badge(str(badge_id))
            subs = [str(s) for s in body.get("subLOs") or []]
            for sub in subs:
                self.learning_object(sub)
            lo = LearningObject(
                f"{lo_type}:{self.world.take_id()}",
                lo_type,
                name,
                date_created=now_text(),
                badge_id=None if badge_id is None else str(badge_id),
                sub_lo_ids=subs,
            )
            self.world.learning_objects[lo.id] = lo
            self._changed()
            return lo

    def attach_badge(self, lo_id: str, badge_id: str | None) -> LearningObject:
        with self.lock:
            lo = self.learning_object(lo_id)
            if badge_id is not None:
                self.badge(badge_id)
            lo.badge_id = badge_id
            self._changed()
            return lo

    def add_badge(self, body: dict[str, Any]) -> Badge:
        name, state = _text(body, "name"), str(body.get("state") or "Active")
        if state not in BADGE_STATES:
            raise ApiRefusal(400, "state must be Active or Retired")
        with self.lock:
            badge = Badge(
                str(self.world.take_id()),
                name,
                state,
                str(body.get("imageUrl") or "https://cpcontents.adobe.com/badges/default.png"),
                _optional(body, EXTERNAL_BADGE_ID),
                _optional(body, EXTERNAL_BADGE_PROVIDER),
                date_created=str(body.get("badgeCreationDate") or now_text()),
            )
            self.world.badges[badge.id] = badge
            self._changed()
            return badge

    def set_badge_state(self, badge_id: str, state: str) -> Badge:
        if state not in BADGE_STATES:
            raise ApiRefusal(400, "state must be Active or Retired")
        with self.lock:
            badge = self.badge(badge_id)
            badge.state = state
            self._changed()
            return badge

    def enroll(self, rows: list[tuple[str, str]], by_admin: bool) -> list[Enrollment]:
        """Enroll ``(user_id, lo_id)`` pairs (already enrolled: unchanged, no event)."""
        with self.lock:
            done, events = [], []
            for user_id, lo_id in rows:
                self.user(user_id)
                lo = self.learning_object(lo_id)
                if (user_id, lo_id) in self.world.enrollments:
                    continue
                row = Enrollment(
                    user_id, lo_id, ENROLLED, now_text(), source="ADMIN_ENROLL" if by_admin else "SELF_ENROLL"
                )
                self.world.enrollments[(user_id, lo_id)] = row
                done.append(row)
                name = event_name(lo.lo_type, "ENROLLMENT", by_admin)
                if name:
                    events.append((name, self._event_data(row, lo)))
            self._changed(events)
            return done

    def complete(self, rows: list[tuple[str, str, str | None]], by_admin: bool) -> list[Enrollment]:
        """Complete ``(user_id, lo_id, date_completed)`` (enrolling first if needed), achieving the
        object's badge; one change, so one webhook request with every event."""
        with self.lock:
            done, events = [], []
            for user_id, lo_id, date_completed in rows:
                self.user(user_id)
                lo = self.learning_object(lo_id)
                moment = date_completed or now_text()
                row = self.world.enrollments.get((user_id, lo_id))
                if row is None:
                    row = Enrollment(user_id, lo_id, ENROLLED, moment)
                    self.world.enrollments[(user_id, lo_id)] = row
                row.state, row.date_completed, row.has_passed = COMPLETED, moment, True
                row.date_started = row.date_started or row.date_enrolled
                row.score = row.score or 100
                if by_admin:
                    row.source = "ADMIN_ENROLL"
                self._achieve(row, lo)
                done.append(row)
                name = event_name(lo.lo_type, "COMPLETED", by_admin)
                if name:
                    events.append((name, self._event_data(row, lo)))
            self._changed(events)
            return done

    def reset_completions(self, rows: list[tuple[str, str]]) -> list[Enrollment]:
        """An admin resets ``(user_id, lo_id)`` completions: the enrollment is back to ENROLLED
        and the user badge it achieved is withdrawn (unconfirmed: what ALM does to the badge).
        No webhook: ALM documents none for a reset."""
        with self.lock:
            done = []
            for user_id, lo_id in rows:
                row = _found(self.world.enrollments.get((user_id, lo_id)), "enrollment", (user_id, lo_id))
                row.state, row.date_completed, row.has_passed = ENROLLED, None, False
                if row.user_badge_id is not None:
                    self.world.user_badges.pop(row.user_badge_id, None)
                    row.user_badge_id = None
                done.append(row)
            self._changed()
            return done

    # --- internals --------------------------------------------------------------------------

    def _achieve(self, row: Enrollment, lo: LearningObject) -> None:
        """The object's badge becomes the learner's (strict: even a retired one)."""
        if lo.badge_id is None or row.user_badge_id is not None:
            return
        badge = self.world.badges[lo.badge_id]
        if badge.state != "Active" and not self.mode.strict:
            return
        number = lo.id.partition(":")[2]
        user_badge = UserBadge(
            f"{row.user_id}_{badge.id}_LO_{number}_1", row.user_id, badge.id, lo.id, str(row.date_completed)
        )
        self.world.user_badges[user_badge.id] = user_badge
        row.user_badge_id = user_badge.id

    def _event_data(self, row: Enrollment, lo: LearningObject) -> dict[str, Any]:
        data: dict[str, Any] = {
            "userId": int(row.user_id) if row.user_id.isdigit() else row.user_id,
            "loId": lo.id,
            "loInstanceId": lo.instance_id,
            "loType": lo.lo_type,
            "enrollmentSource": row.source,
        }
        if row.state == COMPLETED:
            data["dateCompleted"] = row.date_completed
            if lo.lo_type != "certification":  # the certification samples carry no hasPassed
                data["hasPassed"] = row.has_passed
        return data

    def _changed(self, events: list[Event] | None = None) -> None:
        self._cache.clear()
        if events:
            for listener in self.listeners:
                listener(events)


def _found(record: Any, kind: str, key: object) -> Any:
    if record is None:
        raise ApiRefusal(404, f"{kind} {key} not found")
    return record


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiRefusal(400, f"{name}: is required and must be a non-empty string")
    return value.strip()


def _optional(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value in (None, "") else str(value)
