"""The ALM world's records and the world itself (with its JSON snapshot form).

Times are ISO 8601 texts in ALM's ``YYYY-MM-DDTHH:MM:SS.mmmZ`` form, so they sort as text.
Ids are strings, as in the API (``"10001"``, ``"course:101"``, ``"course:101_1"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from include.simulators.common import world as common


def iso(moment: datetime) -> str:
    """ALM's time text: UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_text() -> str:
    return iso(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """An ISO time (``Z`` or an offset; a bare date is midnight UTC); ``ValueError`` if not one."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class User:
    id: str
    email: str
    name: str
    state: str = "ACTIVE"
    date_created: str = ""


@dataclass(slots=True)
class LearningObject:
    id: str  # "<loType>:<number>"
    lo_type: str  # course | learningProgram | certification | jobAid
    name: str
    state: str = "Published"
    date_created: str = ""
    badge_id: str | None = None
    sub_lo_ids: list[str] = field(default_factory=list)

    @property
    def instance_id(self) -> str:
        return f"{self.id}_1"  # one default instance per object


@dataclass(slots=True)
class Enrollment:
    user_id: str
    lo_id: str
    state: str  # ENROLLED | STARTED | COMPLETED
    date_enrolled: str
    date_started: str | None = None
    date_completed: str | None = None
    has_passed: bool = False
    score: int = 0
    user_badge_id: str | None = None
    source: str = "SELF_ENROLL"

    @property
    def id(self) -> str:
        return f"{self.lo_id}_1-{self.user_id}"


@dataclass(slots=True)
class Badge:
    id: str
    name: str
    state: str  # Active | Retired
    image_url: str
    external_badge_id: str | None = None
    external_badge_provider: str | None = None
    date_created: str = ""


@dataclass(slots=True)
class UserBadge:
    id: str
    user_id: str
    badge_id: str
    model_id: str  # the learning object whose completion achieved it
    date_achieved: str

    @property
    def assertion_url(self) -> str:
        return f"https://learningmanager.adobe.com/app/badges/assertion/{self.id}"


@dataclass
class World(common.World):
    """Records by id; enrollments by ``(user_id, lo_id)``; ``next_id`` numbers badges, learning
    objects and users."""

    users: dict[str, User] = field(default_factory=dict)
    learning_objects: dict[str, LearningObject] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], Enrollment] = field(default_factory=dict)
    badges: dict[str, Badge] = field(default_factory=dict)
    user_badges: dict[str, UserBadge] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "users": [asdict(r) for r in self.users.values()],
            "learning_objects": [asdict(r) for r in self.learning_objects.values()],
            "enrollments": [asdict(r) for r in self.enrollments.values()],
            "badges": [asdict(r) for r in self.badges.values()],
            "user_badges": [asdict(r) for r in self.user_badges.values()],
            "next_id": self.next_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        enrollments = [Enrollment(**row) for row in data["enrollments"]]
        return cls(
            users={r.id: r for r in (User(**row) for row in data["users"])},
            learning_objects={r.id: r for r in (LearningObject(**row) for row in data["learning_objects"])},
            enrollments={(r.user_id, r.lo_id): r for r in enrollments},
            badges={r.id: r for r in (Badge(**row) for row in data["badges"])},
            user_badges={r.id: r for r in (UserBadge(**row) for row in data["user_badges"])},
            next_id=int(data["next_id"]),
        )
