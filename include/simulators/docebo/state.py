"""The simulated tenant: its world, the reads the API serves and the changes it accepts.

Every change happens under ``lock`` and tells the listeners (the webhook sender) what fired:
``listener(event_code, payloads)``, one call per change, all payloads of a batch together.
Filtered lists are cached until the next change, so paging a large list scans it once.
``mode`` says whether the unconfirmed helpful forms are served and counts ignored filters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from include.simulators.common.world import WorldState
from include.simulators.docebo import checks
from include.simulators.docebo.records import (
    ApiRefusal,
    Award,
    CourseField,
    Enrollment,
    ExternalTraining,
    LpEnrollment,
)
from include.simulators.docebo.tokens import TokenIssuer
from include.simulators.docebo.unconfirmed import (
    DUPLICATE_AWARD_STATUS,
    EVENT_CERTIFICATION_AWARDED,
    EVENT_CERTIFICATION_REVOKED,
    EVENT_CERTIFICATION_UPDATED,
    EVENT_COURSE_COMPLETED,
    EVENT_LEARNING_PLAN_COMPLETED,
    empty_date,
)
from include.simulators.docebo.world import World

Listener = Callable[[str, list[dict[str, Any]]], None]


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class DoceboState(WorldState[World]):
    """One tenant: OAuth app, world, listeners. Read ``world`` directly in tests."""

    def __init__(
        self, tokens: TokenIssuer, domain: str = "acme.docebosaas.com", *, strict: bool = True
    ) -> None:
        super().__init__(World, strict=strict)
        self.tokens = tokens
        self.domain = domain
        self.listeners: list[Listener] = []
        self._held: dict[tuple[int, int], int] | None = None  # (user, cert) -> active award id

    # --- whole world ------------------------------------------------------------------------

    def load(self, world: World) -> None:
        with self.lock:
            super().load(world)
            self._held = None

    def reset(self) -> None:
        """An empty world and no tokens."""
        super().reset()
        self.tokens.reset()

    # --- reads ------------------------------------------------------------------------------

    def user(self, user_id: int) -> Any:
        return _found(self.world.users.get(user_id), "User", user_id)

    def course(self, course_id: int) -> Any:
        return _found(self.world.courses.get(course_id), "Course", course_id)

    def learning_plan(self, plan_id: int) -> Any:
        return _found(self.world.learning_plans.get(plan_id), "Learning plan", plan_id)

    def certification(self, cert_id: int) -> Any:
        return _found(self.world.certifications.get(cert_id), "Certification", cert_id)

    def award(self, award_id: int) -> Award:
        return _found(self.world.awards.get(award_id), "Certification award", award_id)

    def external(self, training_id: int) -> ExternalTraining:
        return _found(self.world.external_training.get(training_id), "External training", training_id)

    def course_field(self, field_id: int) -> CourseField:
        return _found(self.world.course_fields.get(field_id), "Course additional field", field_id)

    def enrollment_json(self, row: Enrollment) -> dict[str, Any]:
        course = self.world.courses[row.course_id]
        return {
            "id": course.id_course,
            "code": course.code,
            "name": course.name,
            "type": course.course_type,
            "status": row.status,
            "course_complete_date": self._datetime(row.completed_at),
            "enroll_date_of_enrollment": row.enrolled_at,
            "enroll_begin_date": self._datetime(None),
            "enroll_end_date": self._datetime(None),
            "score": row.score,
            "user_id": row.user_id,
            "username": self.world.users[row.user_id].username,
            "total_time": 0,
            "level": 3,
        }

    def lp_enrollment_json(self, row: LpEnrollment, extra_fields: set[str]) -> dict[str, Any]:
        plan = self.world.learning_plans[row.learning_plan_id]
        item: dict[str, Any] = {
            "learning_plan_id": plan.learning_plan_id,
            "learning_plan_code": plan.code,
            "learning_plan_name": plan.title,
            "user_id": row.user_id,
            "username": self.world.users[row.user_id].username,
            "enrollment_date": row.enrolled_at,
        }
        if "enrollment_status" in extra_fields:
            item["enrollment_status"] = row.status
        if "enrollment_completion_date" in extra_fields:
            item["enrollment_completion_date"] = self._datetime(row.completed_at)
        return item

    def award_json(self, award: Award) -> dict[str, Any]:
        cert = self.world.certifications[award.id_cert]
        status = award.status
        if status == "active" and award.expires_on and award.expires_on < now_text()[:10]:
            status = "expired"
        return {
            "award_id": award.award_id,
            "id_cert": cert.id_cert,
            "certification_code": cert.code,
            "certification_title": cert.title,
            "user_id": award.user_id,
            "issued_on": award.issued_on,
            "expires_on": empty_date(award.expires_on, self.mode.strict, with_time=False),
            "status": status,
            "source": award.source,
            "external_link": award.external_link,
            "updated_at": award.updated_at,
        }

    def external_json(self, record: ExternalTraining) -> dict[str, Any]:
        item = record.to_json()
        item["expiration_date"] = empty_date(record.expiration_date, self.mode.strict, with_time=False)
        return item

    def _datetime(self, value: str | None) -> str | None:
        return empty_date(value, self.mode.strict, with_time=True)

    # --- certification awards ---------------------------------------------------------------

    def award_certification(self, body: dict[str, Any]) -> Award:
        cert_id, user_id = checks.required_int(body, "id_cert"), checks.required_int(body, "user_id")
        issued_on = checks.day(body, "issued_on", required=True)
        expires_on = checks.day(body, "expires_on", required=False)
        source, link = checks.optional_text(body, "source"), checks.optional_text(body, "external_link")
        with self.lock:
            self._known(self.world.certifications, cert_id, "id_cert")
            self._known(self.world.users, user_id, "user_id")
            if expires_on and expires_on < issued_on:  # type: ignore[operator]
                raise ApiRefusal(400, "expires_on: must not be before issued_on", "expires_on")
            if self.holding_award(user_id, cert_id):
                raise ApiRefusal(
                    DUPLICATE_AWARD_STATUS, "The user already holds this certification", "id_cert"
                )
            award = Award(
                self.world.take_id(),
                cert_id,
                user_id,
                issued_on,
                expires_on,  # type: ignore[arg-type]
                source=source,
                external_link=link,
                updated_at=now_text(),
            )
            self.world.awards[award.award_id] = award
            self._held_awards()[(user_id, cert_id)] = award.award_id
            self._changed(EVENT_CERTIFICATION_AWARDED, [self._award_payload(award)])
            return award

    def holding_award(self, user_id: int, cert_id: int) -> Award | None:
        """The user's award of this certification that is not revoked."""
        with self.lock:
            award_id = self._held_awards().get((user_id, cert_id))
            return None if award_id is None else self.world.awards[award_id]

    def _held_awards(self) -> dict[tuple[int, int], int]:
        """``(user_id, id_cert)`` -> active award id, built once per loaded world."""
        if self._held is None:
            awards = self.world.awards.values()
            self._held = {(a.user_id, a.id_cert): a.award_id for a in awards if a.status == "active"}
        return self._held

    def update_award(self, award_id: int, body: dict[str, Any]) -> Award:
        with self.lock:
            award = self.award(award_id)
            if award.status == "revoked":
                raise ApiRefusal(400, "A revoked award cannot be updated", "award_id")
            issued_on = checks.day(body, "issued_on", required=False) or award.issued_on
            expires_on = (
                checks.day(body, "expires_on", required=False) if "expires_on" in body else award.expires_on
            )
            if expires_on and expires_on < issued_on:
                raise ApiRefusal(400, "expires_on: must not be before issued_on", "expires_on")
            award.issued_on, award.expires_on = issued_on, expires_on
            if "external_link" in body:
                award.external_link = checks.optional_text(body, "external_link")
            award.updated_at = now_text()
            self._changed(EVENT_CERTIFICATION_UPDATED, [self._award_payload(award)])
            return award

    def revoke_award(self, award_id: int) -> Award:
        """Revoke; revoking a revoked award changes nothing and fires nothing."""
        with self.lock:
            award = self.award(award_id)
            if award.status != "revoked":
                award.status, award.updated_at = "revoked", now_text()
                self._held_awards().pop((award.user_id, award.id_cert), None)
                self._changed(EVENT_CERTIFICATION_REVOKED, [self._award_payload(award)])
            return award

    # --- external training ------------------------------------------------------------------

    def create_external(self, body: dict[str, Any]) -> ExternalTraining:
        user_id = checks.required_int(body, "user_id")
        record = ExternalTraining(
            0,
            user_id,
            checks.required_text(body, "title"),
            checks.required_text(body, "provider"),
            checks.day(body, "date_from", required=True),  # type: ignore[arg-type]
            checks.day(body, "expiration_date", required=False),
            checks.optional_text(body, "certificate_url"),
            checks.optional_text(body, "training_type") or "badge",
            checks.number(body, "credits"),
            checks.number(body, "score"),
        )
        with self.lock:
            self._known(self.world.users, user_id, "user_id")
            record.external_training_id = self.world.take_id()
            record.created_at = record.updated_at = now_text()
            self.world.external_training[record.external_training_id] = record
            self._changed()
            return record

    def update_external(self, training_id: int, body: dict[str, Any]) -> ExternalTraining:
        with self.lock:
            record = self.external(training_id)
            merged = {**record.to_json(), **body}  # stored form: an empty date is None
            for name in ("title", "provider"):
                setattr(record, name, checks.required_text(merged, name))
            record.date_from = checks.day(merged, "date_from", required=True)  # type: ignore[assignment]
            record.expiration_date = checks.day(merged, "expiration_date", required=False)
            record.certificate_url = checks.optional_text(merged, "certificate_url")
            record.training_type = checks.required_text(merged, "training_type")
            record.credits, record.score = checks.number(merged, "credits"), checks.number(merged, "score")
            record.updated_at = now_text()
            self._changed()
            return record

    def delete_external(self, training_id: int) -> None:
        with self.lock:
            self.external(training_id)
            del self.world.external_training[training_id]
            self._changed()

    # --- course additional fields -----------------------------------------------------------

    def create_field(self, body: dict[str, Any]) -> CourseField:
        name = checks.required_text(body, "name")
        kind = body.get("type", "dropdown")
        if kind not in ("dropdown", "textfield"):
            raise ApiRefusal(400, "type: must be dropdown or textfield", "type")
        with self.lock:
            record = CourseField(self.world.take_id(), name, kind)
            self.world.course_fields[record.id] = record
            self._changed()
            return record

    def add_option(self, field_id: int, body: dict[str, Any]) -> int:
        label = checks.required_text(body, "label")
        with self.lock:
            record = self._dropdown(field_id)
            element_id = self.world.take_id()
            record.options[element_id] = label
            self._changed()
            return element_id

    def rename_option(self, field_id: int, element_id: int, body: dict[str, Any]) -> None:
        label = checks.required_text(body, "label")
        with self.lock:
            record = self._dropdown(field_id)
            _found(record.options.get(element_id), "Dropdown option", element_id)
            record.options[element_id] = label
            self._changed()

    def remove_option(self, field_id: int, element_id: int) -> int:
        """Remove an option; courses using it fall back to the empty value. Returns that count."""
        with self.lock:
            record = self._dropdown(field_id)
            _found(record.options.pop(element_id, None), "Dropdown option", element_id)
            reset = 0
            for course in self.world.courses.values():
                if course.field_values.get(field_id) == element_id:
                    course.field_values[field_id] = None
                    reset += 1
            self._changed()
            return reset

    def set_course_value(self, course_id: int, field_id: int, value: Any) -> None:
        with self.lock:
            course = self.course(course_id)
            record = self.course_field(field_id)
            if value is not None:
                if record.type != "dropdown":
                    value = str(value)
                elif isinstance(value, bool) or not isinstance(value, int) or value not in record.options:
                    raise ApiRefusal(400, f"value: {value!r} is not an option of field {field_id}", "value")
            course.field_values[field_id] = value
            self._changed()

    # --- world changes (learners' progress) ---------------------------------------------------

    def complete_courses(self, rows: list[tuple[int, int, str]]) -> list[Enrollment]:
        """Mark ``(user_id, course_id, completed_at)`` completed (enrolling if needed); one event."""
        with self.lock:
            done = []
            for user_id, course_id, completed_at in rows:
                self.user(user_id), self.course(course_id)
                enrollment = self.world.enrollments.setdefault(
                    (user_id, course_id), Enrollment(user_id, course_id, "subscribed", completed_at)
                )
                enrollment.status, enrollment.completed_at = "completed", completed_at
                done.append(enrollment)
            self._changed(EVENT_COURSE_COMPLETED, [self._completion_payload(e) for e in done])
            return done

    def reset_completion(self, user_id: int, course_id: int) -> Enrollment:
        with self.lock:
            key = (user_id, course_id)
            enrollment = _found(self.world.enrollments.get(key), "Enrollment", f"{course_id}/{user_id}")
            enrollment.status, enrollment.completed_at = "in_progress", None
            self._changed()
            return enrollment

    def complete_learning_plan(self, user_id: int, plan_id: int, completed_at: str) -> LpEnrollment:
        with self.lock:
            user, plan = self.user(user_id), self.learning_plan(plan_id)
            row = self.world.lp_enrollments.setdefault(
                (user_id, plan_id), LpEnrollment(user_id, plan_id, "enrolled", completed_at)
            )
            row.status, row.completed_at = "completed", completed_at
            payload = {
                "fired_at": now_text(),
                "user_id": user_id,
                "username": user.username,
                "learning_plan_id": plan_id,
                "learning_plan_code": plan.code,
                "learning_plan_name": plan.title,
                "status": "completed",
                "completion_date": completed_at,
            }
            self._changed(EVENT_LEARNING_PLAN_COMPLETED, [payload])
            return row

    # --- internals --------------------------------------------------------------------------

    def _changed(self, event: str | None = None, payloads: list[dict[str, Any]] | None = None) -> None:
        self._cache.clear()
        if event and payloads:
            for listener in self.listeners:
                listener(event, payloads)

    def _dropdown(self, field_id: int) -> CourseField:
        record = self.course_field(field_id)
        if record.type != "dropdown":
            raise ApiRefusal(400, f"field_id: field {field_id} is not a dropdown", "field_id")
        return record

    def _known(self, records: dict[int, Any], key: int, name: str) -> None:
        if key not in records:
            raise ApiRefusal(400, f"{name}: {key} does not exist", name)

    def _completion_payload(self, row: Enrollment) -> dict[str, Any]:
        course, user = self.world.courses[row.course_id], self.world.users[row.user_id]
        return {
            "fired_at": now_text(),
            "user_id": row.user_id,
            "username": user.username,
            "course_id": course.id_course,
            "course_name": course.name,
            "status": row.status,
            "completion_date": row.completed_at,
            "enrollment_date": row.enrolled_at,
            "enrollment_date_begin_validity": None,
            "enrollment_date_end_validity": None,
            "subscribed_by_id": None,
            "level": 3,
        }

    def _award_payload(self, award: Award) -> dict[str, Any]:
        return {
            "fired_at": now_text(),
            "username": self.world.users[award.user_id].username,
            **self.award_json(award),
        }


def _found(record: Any, kind: str, key: object) -> Any:
    if record is None:
        raise ApiRefusal(404, f"{kind} {key} not found")
    return record
