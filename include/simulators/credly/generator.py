"""A seeded Credly world: templates and issued badges for the shared deterministic learners.

Badge ``i`` goes to a learner from :func:`include.simulators.common.people.learner`, so the
Credly and LMS simulators agree on e-mail and ``issuer_earner_id`` (the LMS user id as text).
The same seed and sizes always give the same world; 100k learners and 300k badges take seconds.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from include.simulators.common.people import Learner, learner, seeded_random
from include.simulators.credly.records import Badge, Template

EPOCH = datetime(2024, 1, 1)  # naive UTC: every generated timestamp is EPOCH + an offset
SPAN_SECONDS = 2 * 365 * 24 * 3600
TOPICS = (
    "Python Foundations",
    "Data Engineering",
    "Cloud Architecture",
    "Project Management",
    "Cyber Security",
    "Machine Learning",
    "Agile Practice",
    "Leadership Essentials",
    "SQL Analytics",
    "DevOps Pipelines",
)
TEMPLATE_STATE_WEIGHTS = {"active": 0.85, "archived": 0.10, "draft": 0.05}
BADGE_STATE_WEIGHTS = {"accepted": 0.70, "pending": 0.20, "rejected": 0.03, "revoked": 0.07}


def generate_templates(seed: int, count: int) -> list[Template]:
    """``count`` templates; the first is always active so a small world can issue."""
    rng = seeded_random(seed, "templates")
    states = rng.choices(list(TEMPLATE_STATE_WEIGHTS), weights=list(TEMPLATE_STATE_WEIGHTS.values()), k=count)
    templates = []
    for index in range(count):
        created = _stamp(EPOCH + timedelta(days=index % 365, seconds=rng.randrange(86400)))
        topic = TOPICS[index % len(TOPICS)]
        templates.append(
            Template(
                id=_uuid(rng.getrandbits(128)),
                name=f"{topic} Level {index // len(TOPICS) + 1}",
                description=f"Awarded for completing {topic} (level {index // len(TOPICS) + 1}).",
                state="active" if index == 0 else states[index],
                created_at=created,
                updated_at=created,
                state_updated_at=created,
                skills=[topic.split()[0].lower()],
                reporting_tags=[f"tag-{index % 5}"],
                level=("Foundational", "Intermediate", "Advanced")[index % 3],
                time_to_earn=f"{(index % 8 + 1) * 5} hours",
            )
        )
    return templates


def generate_badges(
    seed: int, templates: list[Template], learners: int, count: int, earner_id_share: float = 1.0
) -> list[Badge]:
    """``count`` badges on distinct (learner, template) pairs, in issue order.

    :param earner_id_share: fraction of badges that carry ``issuer_earner_id`` (issued by the
        LMS integration); the rest look issued from the Credly UI.
    """
    pairs = learners * len(templates)
    if count > pairs:
        raise ValueError(
            f"{count} badges need {count} distinct (learner, template) pairs; only {pairs} exist"
        )
    rng = seeded_random(seed, "badges")
    picks = rng.sample(range(pairs), count)
    offsets = sorted(rng.randrange(SPAN_SECONDS) for _ in range(count))
    states = rng.choices(list(BADGE_STATE_WEIGHTS), weights=list(BADGE_STATE_WEIGHTS.values()), k=count)
    people: dict[int, Learner] = {}
    badges = []
    for pick, offset, state in zip(picks, offsets, states, strict=True):
        learner_index, template_index = divmod(pick, len(templates))
        person = people.get(learner_index) or people.setdefault(learner_index, learner(learner_index))
        issued = _stamp(EPOCH + timedelta(seconds=offset))
        changed = _stamp(EPOCH + timedelta(seconds=offset + rng.randrange(1, 14 * 86400)))
        badges.append(
            Badge(
                id=_uuid(rng.getrandbits(128)),
                badge_template_id=templates[template_index].id,
                recipient_email=person.email,
                issued_to_first_name=person.first_name,
                issued_to_last_name=person.last_name,
                issuer_earner_id=str(person.user_id) if rng.random() < earner_id_share else None,
                state=state,
                issued_at=issued,
                expires_at=None,
                created_at=issued,
                updated_at=issued if state == "pending" else changed,
                state_updated_at=issued if state == "pending" else changed,
                revocation_reason="Issued in error" if state == "revoked" else None,
            )
        )
    return badges


def generate_world(
    seed: int, *, templates: int, learners: int, badges: int, earner_id_share: float = 1.0
) -> tuple[list[Template], list[Badge]]:
    """Templates and badges for ``CredlyState.load``."""
    template_records = generate_templates(seed, templates)
    return template_records, generate_badges(seed, template_records, learners, badges, earner_id_share)


def _uuid(bits: int) -> str:
    return str(uuid.UUID(int=bits, version=4))


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"
