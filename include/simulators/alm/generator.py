"""A seeded ALM world: learners (shared with the other simulators: user id 10001 + i, same
e-mail), badges (optionally carrying Credly template ids), courses, learning programs and
certifications (the first ones carrying a badge each), completions spread over a date range
with the user badges they achieve, and some enrollments still in progress.

The same arguments give the same world; each part draws from its own seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from include.simulators.alm.records import Badge, Enrollment, LearningObject, User, UserBadge, World, iso
from include.simulators.alm.unconfirmed import COMPLETED, STARTED
from include.simulators.common.people import learner, seeded_random

TOPICS = ("Cloud", "Security", "Data", "Networking", "Leadership", "Python", "Finance", "Safety")
FIRST_LO_NUMBER = 101
FIRST_BADGE_ID = 501
CREATED = "2024-06-01T09:00:00.000Z"


def generate_world(
    seed: int = 0,
    *,
    learners: int = 20,
    courses: int = 5,
    learning_programs: int = 1,
    certifications: int = 1,
    badges: int = 3,
    retired_badges: int = 0,
    completions: int = 30,
    template_ids: Sequence[str] = (),
    start: str = "2025-01-01",
    days: int = 365,
) -> World:
    """A world of this size. Badge ``j`` is attached to the ``j``-th learning object (courses
    first, then learning programs, then certifications); the last ``retired_badges`` badges
    are Retired; badge ``j`` carries ``template_ids[j]`` as its Credly template when given."""
    world = World()
    for index in range(learners):
        person = learner(index)
        user_id = str(person.user_id)
        world.users[user_id] = User(
            user_id, person.email, f"{person.first_name} {person.last_name}", date_created=CREATED
        )
    for index in range(badges):
        template = template_ids[index] if index < len(template_ids) else None
        badge_id = str(FIRST_BADGE_ID + index)
        world.badges[badge_id] = Badge(
            badge_id,
            f"{TOPICS[index % len(TOPICS)]} Badge {index + 1}",
            "Retired" if index >= badges - retired_badges else "Active",
            f"https://cpcontents.adobe.com/badges/{badge_id}.png",
            template,
            "Credly" if template else None,
            date_created=CREATED,
        )
    _learning_objects(world, seed, courses, learning_programs, certifications)
    _enrollments(world, seed, completions, datetime.fromisoformat(start).replace(tzinfo=UTC), days)
    world.next_id = 1_000_001
    return world


def _learning_objects(world: World, seed: int, courses: int, programs: int, certifications: int) -> None:
    rng = seeded_random(seed, "alm-learning-objects")
    badge_ids = list(world.badges)
    number = FIRST_LO_NUMBER
    course_ids: list[str] = []
    kinds = [("course", courses), ("learningProgram", programs), ("certification", certifications)]
    position = 0
    for lo_type, count in kinds:
        for index in range(count):
            lo_id = f"{lo_type}:{number}"
            label = {"course": "", "learningProgram": "Path: ", "certification": "Certified "}[lo_type]
            subs = (
                sorted(rng.sample(course_ids, min(len(course_ids), 2)))
                if lo_type != "course" and course_ids
                else []
            )
            world.learning_objects[lo_id] = LearningObject(
                lo_id,
                lo_type,
                f"{label}{TOPICS[index % len(TOPICS)]} {index + 1}",
                date_created=CREATED,
                badge_id=badge_ids[position] if position < len(badge_ids) else None,
                sub_lo_ids=subs,
            )
            if lo_type == "course":
                course_ids.append(lo_id)
            number += 1
            position += 1


def _enrollments(world: World, seed: int, completions: int, origin: datetime, days: int) -> None:
    """``completions`` completed pairs and a quarter as many started, dated in the range."""
    rng = seeded_random(seed, "alm-enrollments")
    user_ids, lo_ids = list(world.users), list(world.learning_objects)
    pairs = len(user_ids) * len(lo_ids)
    completed = min(completions, pairs)
    drawn = rng.sample(range(pairs), min(pairs, completed + completed // 4))
    for position, pair in enumerate(drawn):
        user_id, lo = user_ids[pair // len(lo_ids)], world.learning_objects[lo_ids[pair % len(lo_ids)]]
        done = origin + timedelta(seconds=int(rng.random() * days * 86400))
        enrolled = iso(done - timedelta(days=1 + rng.randrange(30)))
        row = Enrollment(user_id, lo.id, STARTED, enrolled, date_started=enrolled)
        if position < completed:
            row.state, row.date_completed, row.has_passed = COMPLETED, iso(done), True
            row.score = 60 + rng.randrange(41)
            if lo.badge_id:
                number = lo.id.partition(":")[2]
                badge = UserBadge(
                    f"{user_id}_{lo.badge_id}_LO_{number}_1", user_id, lo.badge_id, lo.id, iso(done)
                )
                world.user_badges[badge.id] = badge
                row.user_badge_id = badge.id
        world.enrollments[(user_id, lo.id)] = row
