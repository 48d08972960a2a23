"""A seeded Docebo world: learners (shared with the Credly simulator), courses, learning plans,
certifications, course completions spread over a date range, and certification awards.

The same arguments give the same world; each part draws from its own seeded generator. Sized
for benchmarks: 100k learners and 300k completions build in a few seconds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from include.simulators.common.people import learner, seeded_random
from include.simulators.docebo.records import (
    Award,
    Certification,
    Course,
    Enrollment,
    LearningPlan,
    LpEnrollment,
    User,
)
from include.simulators.docebo.world import World

TOPICS = ("Cloud", "Security", "Data", "Networking", "Leadership", "Python", "Finance", "Safety")
LEVELS = ("Basics", "Practitioner", "Advanced", "Expert")
FIRST_COURSE_ID = 101
FIRST_PLAN_ID = 501
FIRST_CERT_ID = 901
CERT_DURATIONS = (None, 12, 24)  # months; None = always valid


def generate_world(
    seed: int = 0,
    *,
    learners: int = 20,
    courses: int = 5,
    learning_plans: int = 2,
    certifications: int = 2,
    completions: int = 40,
    awards: int | None = None,
    start: str = "2025-01-01",
    days: int = 365,
) -> World:
    """A world of this size; completions (distinct learner/course pairs) and awards (default:
    a tenth of the completions) are capped by the pairs available."""
    world = World()
    for index in range(learners):
        person = learner(index)
        world.users[person.user_id] = User(
            person.user_id, person.email.split("@")[0], person.email, person.first_name, person.last_name
        )
    for index in range(courses):
        course_id = FIRST_COURSE_ID + index
        name = f"{TOPICS[index % len(TOPICS)]} {LEVELS[(index // len(TOPICS)) % len(LEVELS)]}"
        world.courses[course_id] = Course(course_id, f"C-{index + 1:04d}", f"{name} {index + 1}")
    _plans(world, seed, learning_plans)
    for index in range(certifications):
        cert_id = FIRST_CERT_ID + index
        duration = CERT_DURATIONS[index % len(CERT_DURATIONS)]
        world.certifications[cert_id] = Certification(
            cert_id, f"CERT-{index + 1:03d}", f"Certified {TOPICS[index % len(TOPICS)]}", duration
        )
    origin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    _enrollments(world, seed, completions, origin, days)
    _lp_enrollments(world)
    _awards(world, seed, completions // 10 if awards is None else awards, origin, days)
    world.next_id = 1_000_001
    return world


def _plans(world: World, seed: int, count: int) -> None:
    rng = seeded_random(seed, "docebo-plans")
    course_ids = list(world.courses)
    for index in range(count if course_ids else 0):
        plan_id = FIRST_PLAN_ID + index
        members = sorted(rng.sample(course_ids, min(len(course_ids), rng.randint(2, 4))))
        world.learning_plans[plan_id] = LearningPlan(
            plan_id, f"LP-{index + 1:03d}", f"Learning path {index + 1}", members
        )


def _enrollments(world: World, seed: int, completions: int, origin: datetime, days: int) -> None:
    """``completions`` completed pairs and a quarter as many in progress, dated in the range;
    the learner enrolled 1-30 days before. Date texts are precomputed: strftime per row is slow."""
    rng = seeded_random(seed, "docebo-enrollments")
    user_ids, course_ids = list(world.users), list(world.courses)
    pairs = len(user_ids) * len(course_ids)
    completed = min(completions, pairs)
    drawn = rng.sample(range(pairs), min(pairs, completed + completed // 4))
    day_texts = [(origin + timedelta(days=d - 30)).strftime("%Y-%m-%d") for d in range(days + 30)]
    clock_texts = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    span, width, random = days * 86400, len(course_ids), rng.random
    for position, pair in enumerate(drawn):
        user_id, course_id = user_ids[pair // width], course_ids[pair % width]
        day, second = divmod(int(random() * span), 86400)
        clock = clock_texts[second]
        enrolled = f"{day_texts[day + 30 - 1 - int(random() * 30)]} {clock}"
        if position < completed:
            done, score = f"{day_texts[day + 30]} {clock}", 60 + int(random() * 41)
            world.enrollments[(user_id, course_id)] = Enrollment(
                user_id, course_id, "completed", enrolled, done, score
            )
        else:
            world.enrollments[(user_id, course_id)] = Enrollment(user_id, course_id, "in_progress", enrolled)


def _lp_enrollments(world: World) -> None:
    """A learner with a plan's course is enrolled in the plan; all its courses done = completed."""
    by_user: dict[int, dict[int, Enrollment]] = defaultdict(dict)
    for (user_id, course_id), enrollment in world.enrollments.items():
        by_user[user_id][course_id] = enrollment
    for plan in world.learning_plans.values():
        for user_id, taken in by_user.items():
            rows = [taken[c] for c in plan.course_ids if c in taken]
            if not rows:
                continue
            enrolled = min(row.enrolled_at for row in rows)
            if len(rows) == len(plan.course_ids) and all(row.completed_at for row in rows):
                completed = max(row.completed_at for row in rows if row.completed_at)
                world.lp_enrollments[(user_id, plan.learning_plan_id)] = LpEnrollment(
                    user_id, plan.learning_plan_id, "completed", enrolled, completed
                )
            else:
                world.lp_enrollments[(user_id, plan.learning_plan_id)] = LpEnrollment(
                    user_id, plan.learning_plan_id, "in_progress", enrolled
                )


def _awards(world: World, seed: int, count: int, origin: datetime, days: int) -> None:
    rng = seeded_random(seed, "docebo-awards")
    user_ids, cert_ids = list(world.users), list(world.certifications)
    pairs = len(user_ids) * len(cert_ids)
    for award_id, pair in enumerate(rng.sample(range(pairs), min(count, pairs)), start=1):
        user_id, cert = user_ids[pair // len(cert_ids)], world.certifications[cert_ids[pair % len(cert_ids)]]
        issued = origin + timedelta(days=rng.randrange(days))
        expires = issued + timedelta(days=30 * cert.duration_months) if cert.duration_months else None
        world.awards[award_id] = Award(
            award_id,
            cert.id_cert,
            user_id,
            issued.strftime("%Y-%m-%d"),
            expires.strftime("%Y-%m-%d") if expires else None,
            updated_at=issued.strftime("%Y-%m-%d %H:%M:%S"),
        )
