"""The simulator's stored records and the JSON shapes the API renders from them (§5)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SITE = "https://sandbox.credly.com"
IMAGE_HOST = "https://images.credly.example"
_USER_NAMESPACE = uuid.UUID("6f1c3a52-5a8e-4d3b-9a51-0c1d2e3f4a5b")


def iso(moment: datetime) -> str:
    """Credly's timestamp format: ``2014-04-01T14:41:00.000Z`` (sorts as text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass(slots=True)
class Template:
    """A badge template; ``badge_expiry_days`` is the template's default badge lifetime."""

    id: str
    name: str
    description: str
    state: str
    created_at: str
    updated_at: str
    state_updated_at: str
    public: bool = True
    allow_duplicate_badges: bool = False
    skills: list[str] = field(default_factory=list)
    reporting_tags: list[str] = field(default_factory=list)
    level: str | None = None
    time_to_earn: str | None = None
    badge_expiry_days: int | None = None


@dataclass(slots=True)
class Badge:
    """An issued badge as stored; optional issue fields default to Credly's defaults."""

    id: str
    badge_template_id: str
    recipient_email: str
    issued_to_first_name: str
    issued_to_last_name: str
    issuer_earner_id: str | None
    state: str
    issued_at: str
    expires_at: str | None
    created_at: str
    updated_at: str
    state_updated_at: str
    issued_to_middle_name: str | None = None
    locale: str = "en"
    public: bool = True
    suppress_badge_notification_email: bool = False
    country_name: str | None = None
    state_or_province: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    replaces_badge_id: str | None = None
    replacement_badge_id: str | None = None
    revocation_reason: str | None = None


@dataclass(slots=True)
class Event:
    """One change: its type, time and the badge or template as it was then."""

    id: str
    event_type: str
    occurred_at: str
    subject_key: str  # "badge" or "badge_template"
    subject: dict[str, Any]


def to_dict(record: Template | Badge | Event) -> dict[str, Any]:
    return asdict(record)


def from_dict(kind: type[Template] | type[Badge] | type[Event], data: dict[str, Any]) -> Any:
    """A record from its snapshot dict, ignoring keys the record does not have."""
    names = {item.name for item in fields(kind)}
    return kind(**{key: value for key, value in data.items() if key in names})


def user_id_for(email: str) -> str:
    """The Credly user id of an e-mail address (stable, so worlds line up)."""
    return str(uuid.uuid5(_USER_NAMESPACE, email.lower()))


def template_json(template: Template, organization: dict[str, str]) -> dict[str, Any]:
    """The template fields of §5.1."""
    return {
        "id": template.id,
        "name": template.name,
        "description": template.description,
        "state": template.state,
        "public": template.public,
        "image_url": f"{IMAGE_HOST}/templates/{template.id}/image.png",
        "url": f"{SITE}/org/{organization['vanity']}/badge/{_slug(template.name)}",
        "vanity_slug": _slug(template.name),
        "skills": list(template.skills),
        "reporting_tags": list(template.reporting_tags),
        "allow_duplicate_badges": template.allow_duplicate_badges,
        "owner": {"type": "Organization", "id": organization["id"], "name": organization["name"]},
        "badge_template_activities": [],
        "level": template.level,
        "time_to_earn": template.time_to_earn,
        "recipient_type": "User",
        "state_updated_at": template.state_updated_at,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


def template_summary(template: Template | None, template_id: str) -> dict[str, Any]:
    """The ``badge_template`` object nested in a badge (just the id once deleted)."""
    if template is None:
        return {"id": template_id}
    return {
        "id": template.id,
        "name": template.name,
        "description": template.description,
        "state": template.state,
        "image_url": f"{IMAGE_HOST}/templates/{template.id}/image.png",
        "allow_duplicate_badges": template.allow_duplicate_badges,
    }


def badge_json(badge: Badge, template: Template | None, organization: dict[str, str]) -> dict[str, Any]:
    """The issued-badge fields of §5.2."""
    return {
        "id": badge.id,
        "state": badge.state,
        "recipient_email": badge.recipient_email,
        "issued_to": f"{badge.issued_to_first_name} {badge.issued_to_last_name}",
        "issued_to_first_name": badge.issued_to_first_name,
        "issued_to_middle_name": badge.issued_to_middle_name,
        "issued_to_last_name": badge.issued_to_last_name,
        "issuer_earner_id": badge.issuer_earner_id,
        "user": _user(badge),
        "public": badge.public,
        "locale": badge.locale,
        "issued_at": badge.issued_at,
        "issued_at_date": badge.issued_at[:10],
        "expires_at": badge.expires_at,
        "expires_at_date": badge.expires_at[:10] if badge.expires_at else None,
        "created_at": badge.created_at,
        "updated_at": badge.updated_at,
        "state_updated_at": badge.state_updated_at,
        "badge_template": template_summary(template, badge.badge_template_id),
        "issuer": {
            "summary": f"issued by {organization['name']}",
            "entities": [
                {
                    "label": "Issued by",
                    "primary": True,
                    "entity": {
                        "type": "Organization",
                        "id": organization["id"],
                        "name": organization["name"],
                    },
                }
            ],
        },
        "replaces_badge_id": badge.replaces_badge_id,
        "replacement_badge_id": badge.replacement_badge_id,
        "revocation_reason": badge.revocation_reason,
        "evidence": list(badge.evidence),
        "country_name": badge.country_name,
        "state_or_province": badge.state_or_province,
        "suppress_badge_notification_email": badge.suppress_badge_notification_email,
        "image_url": f"{IMAGE_HOST}/badges/{badge.id}/image.png",
        "badge_url": f"{SITE}/badges/{badge.id}",
        "accept_badge_url": f"{SITE}/badges/{badge.id}/accept",
    }


def slim_badge_json(badge: Badge, template: Template | None) -> dict[str, Any]:
    """The high-volume search record of §5.3."""
    summary = {"id": badge.badge_template_id, "name": template.name if template else None}
    return {
        "id": badge.id,
        "state": badge.state,
        "recipient_email": badge.recipient_email,
        "issuer_earner_id": badge.issuer_earner_id,
        "issued_at": badge.issued_at,
        "updated_at": badge.updated_at,
        "state_updated_at": badge.state_updated_at,
        "badge_template": summary,
        "user": {"id": user_id_for(badge.recipient_email)},
    }


def event_json(event: Event, organization_id: str) -> dict[str, Any]:
    """An event as ``GET /events/{id}`` returns it (§5.9)."""
    return {
        "id": event.id,
        "event_type": event.event_type,
        "organization_id": organization_id,
        "occurred_at": event.occurred_at,
        event.subject_key: event.subject,
    }


def _user(badge: Badge) -> dict[str, Any]:
    return {
        "id": user_id_for(badge.recipient_email),
        "email": badge.recipient_email,
        "first_name": badge.issued_to_first_name,
        "last_name": badge.issued_to_last_name,
        "url": f"{SITE}/users/{user_id_for(badge.recipient_email)}",
    }


def _slug(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())
