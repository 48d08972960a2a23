"""All records of one Docebo tenant, with their JSON snapshot form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from include.simulators.common import world as common
from include.simulators.docebo.records import (
    Award,
    Certification,
    Course,
    CourseField,
    Enrollment,
    ExternalTraining,
    LearningPlan,
    LpEnrollment,
    User,
)


@dataclass
class World(common.World):
    """Records by id; enrollments by ``(user_id, course_id)`` / ``(user_id, learning_plan_id)``;
    ``next_id`` numbers awards, external training, fields and options."""

    users: dict[int, User] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    enrollments: dict[tuple[int, int], Enrollment] = field(default_factory=dict)
    learning_plans: dict[int, LearningPlan] = field(default_factory=dict)
    lp_enrollments: dict[tuple[int, int], LpEnrollment] = field(default_factory=dict)
    certifications: dict[int, Certification] = field(default_factory=dict)
    awards: dict[int, Award] = field(default_factory=dict)
    external_training: dict[int, ExternalTraining] = field(default_factory=dict)
    course_fields: dict[int, CourseField] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "users": [asdict(r) for r in self.users.values()],
            "courses": [
                {**asdict(r), "field_values": list(r.field_values.items())} for r in self.courses.values()
            ],
            "enrollments": [asdict(r) for r in self.enrollments.values()],
            "learning_plans": [asdict(r) for r in self.learning_plans.values()],
            "lp_enrollments": [asdict(r) for r in self.lp_enrollments.values()],
            "certifications": [asdict(r) for r in self.certifications.values()],
            "awards": [asdict(r) for r in self.awards.values()],
            "external_training": [asdict(r) for r in self.external_training.values()],
            "course_fields": [
                {**asdict(r), "options": list(r.options.items())} for r in self.course_fields.values()
            ],
            "next_id": self.next_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        courses = [Course(**{**row, "field_values": dict(row["field_values"])}) for row in data["courses"]]
        course_fields = [
            CourseField(**{**row, "options": dict(row["options"])}) for row in data["course_fields"]
        ]
        return cls(
            users={r.user_id: r for r in (User(**row) for row in data["users"])},
            courses={r.id_course: r for r in courses},
            enrollments={
                (r.user_id, r.course_id): r for r in (Enrollment(**row) for row in data["enrollments"])
            },
            learning_plans={
                r.learning_plan_id: r for r in (LearningPlan(**row) for row in data["learning_plans"])
            },
            lp_enrollments={
                (r.user_id, r.learning_plan_id): r
                for r in (LpEnrollment(**row) for row in data["lp_enrollments"])
            },
            certifications={r.id_cert: r for r in (Certification(**row) for row in data["certifications"])},
            awards={r.award_id: r for r in (Award(**row) for row in data["awards"])},
            external_training={
                r.external_training_id: r
                for r in (ExternalTraining(**row) for row in data["external_training"])
            },
            course_fields={r.id: r for r in course_fields},
            next_id=int(data["next_id"]),
        )
