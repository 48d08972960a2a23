"""The Docebo world's records, their JSON forms and the refusal raised for a bad request.

Dates are strings in Docebo's ``YYYY-MM-DD HH:MM:SS`` form (``YYYY-MM-DD`` for day-only
fields), so they sort and compare as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from include.simulators.common import refusal as common

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiRefusal(common.ApiRefusal):
    """Answer ``status`` with Docebo's error body; ``field`` names the offending input, if any."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(status, message)
        self.field = field


@dataclass(slots=True)
class User:
    user_id: int
    username: str
    email: str
    first_name: str
    last_name: str
    active: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "valid": "1" if self.active else "0",
        }


@dataclass(slots=True)
class Course:
    id_course: int
    code: str
    name: str
    course_type: str = "elearning"
    field_values: dict[int, int | None] = field(default_factory=dict)  # additional field id -> element

    def to_json(self) -> dict[str, Any]:
        return {
            "id_course": self.id_course,
            "code": self.code,
            "name": self.name,
            "course_type": self.course_type,
            "status": "published",
            "additional_fields": [{"id": fid, "value": value} for fid, value in self.field_values.items()],
        }


@dataclass(slots=True)
class Enrollment:
    user_id: int
    course_id: int
    status: str  # subscribed | in_progress | completed
    enrolled_at: str
    completed_at: str | None = None
    score: int = 0


@dataclass(slots=True)
class LearningPlan:
    learning_plan_id: int
    code: str
    title: str
    course_ids: list[int]

    def to_json(self) -> dict[str, Any]:
        return {
            "learning_plan_id": self.learning_plan_id,
            "uuid": f"lp-{self.learning_plan_id:08d}",
            "code": self.code,
            "title": self.title,
            "is_published": True,
        }


@dataclass(slots=True)
class LpEnrollment:
    user_id: int
    learning_plan_id: int
    status: str  # enrolled | in_progress | completed
    enrolled_at: str
    completed_at: str | None = None


@dataclass(slots=True)
class Certification:
    id_cert: int
    code: str
    title: str
    duration_months: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id_cert": self.id_cert,
            "code": self.code,
            "title": self.title,
            "description": "",
            "duration": self.duration_months,
            "duration_unit": "month" if self.duration_months else None,
        }


@dataclass(slots=True)
class Award:
    award_id: int
    id_cert: int
    user_id: int
    issued_on: str
    expires_on: str | None
    status: str = "active"  # active | revoked ("expired" is derived on read)
    source: str | None = None
    external_link: str | None = None
    updated_at: str = ""


@dataclass(slots=True)
class ExternalTraining:
    external_training_id: int
    user_id: int
    title: str
    provider: str
    date_from: str
    expiration_date: str | None = None
    certificate_url: str | None = None
    training_type: str = "badge"
    credits: float = 0
    score: float = 0
    status: str = "approved"
    created_at: str = ""
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class CourseField:
    id: int
    name: str
    type: str  # dropdown | textfield
    options: dict[int, str] = field(default_factory=dict)  # element id -> label

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "name": {"value": self.name, "values": {"english": self.name}},
            "default_value": None,
            "options": [{"id": eid, "label": label} for eid, label in self.options.items()],
        }
