"""What each webhook source sends, and how a body becomes inbox events.

One :class:`WebhookSource` per sender, in :data:`SOURCES` (the URL path names it). A parser
checks the body's shape only: nothing a sender says is trusted, processing re-reads every
event from the source's API before acting. A parser raises :class:`BadPayload` (answered 422,
nothing stored) for anything it cannot store whole.

Adding a source (Adobe Learning Manager): write its parser, add one entry to ``SOURCES`` and
a secret under the same name in the ``credly_sync_webhooks`` connection's extra; the event DAG
routes a source's events by :attr:`WebhookSource.direction`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credly_sync.hooks import docebo_unconfirmed as docebo_shapes
from credly_sync.warehouse.inbox import InboxEvent

LMS_TO_CREDLY, CREDLY_TO_LMS = "lms_to_credly", "credly_to_lms"
MAX_ID_LENGTH = 200  # event_id holds 255: room for a grouped message's "/<index>"
CREDLY_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]*")  # a UUID; the id goes into a URL path

# Credly (credly-api.md §5.10, §9): the slim body; the types Docebo Connect subscribes to.
CREDLY_BADGE_EVENTS = ("badge.created", "badge.deleted", "badge.state.changed")
CREDLY_TEMPLATE_EVENTS = ("badge_template.changed", "badge_template.deleted")
CREDLY_EVENTS = CREDLY_BADGE_EVENTS + CREDLY_TEMPLATE_EVENTS

# Docebo (lms-apis.md §1.7): "Learner completed course", "Certification awarded / revoked /
# updated", and learning plan completions; codes other than the course one are unconfirmed.
DOCEBO_EVENTS = (
    docebo_shapes.EVENT_COURSE_COMPLETED,
    docebo_shapes.EVENT_CERTIFICATION_AWARDED,
    docebo_shapes.EVENT_CERTIFICATION_UPDATED,
    docebo_shapes.EVENT_CERTIFICATION_REVOKED,
    docebo_shapes.EVENT_LEARNING_PLAN_COMPLETED,
)
DOCEBO_MAX_GROUP = 25  # "events of one type are grouped, up to 25 per message"
DOCEBO_COMMON_FIELDS = ("message_id", "webhook_id", "original_domain", "event", "fired_by_batch_action")


class BadPayload(ValueError):
    """The body cannot be stored: the message says why (it goes back to the sender)."""


@dataclass(frozen=True)
class WebhookSource:
    """A sender: its name (URL path and secret key), how large a body may be, which sync its
    events feed, and its parser."""

    name: str
    max_body_bytes: int
    direction: str
    parse: Callable[[Any], list[InboxEvent]]


def parse_credly(body: Any) -> list[InboxEvent]:
    """``{"id", "organization_id", "event_type", "occurred_at"}``: one event per body."""
    if not isinstance(body, dict):
        raise BadPayload("expected a JSON object with id, organization_id, event_type, occurred_at")
    event_id = _text(body, "id")
    if not CREDLY_ID.fullmatch(event_id):
        raise BadPayload("id: expected a Credly event id (letters, digits and -)")
    _text(body, "organization_id")
    _text(body, "occurred_at")
    event_type = _text(body, "event_type")
    if event_type not in CREDLY_EVENTS:
        raise BadPayload(f"unknown event_type {event_type!r}; accepted: {', '.join(CREDLY_EVENTS)}")
    return [InboxEvent("credly", event_id, event_type, body)]


def parse_docebo(body: Any) -> list[InboxEvent]:
    """A message with one ``payload`` or a group of ``payloads`` (up to 25, one event type):
    one inbox event per payload, keyed by the message id (and its place in the group)."""
    if not isinstance(body, dict):
        raise BadPayload("expected a JSON object with message_id, event and payload or payloads")
    message_id = _text(body, "message_id", numbers=True)
    event = _text(body, "event")
    if event not in DOCEBO_EVENTS:
        raise BadPayload(f"unknown event {event!r}; accepted: {', '.join(DOCEBO_EVENTS)}")
    single, group = body.get("payload"), body.get("payloads")
    if (single is None) == (group is None):
        raise BadPayload("expected exactly one of payload (an object) or payloads (a list)")
    if group is not None:
        if not isinstance(group, list) or not 1 <= len(group) <= DOCEBO_MAX_GROUP:
            raise BadPayload(f"payloads: expected a list of 1 to {DOCEBO_MAX_GROUP} objects")
        payloads = group
    else:
        payloads = [single]
    common = {key: body[key] for key in DOCEBO_COMMON_FIELDS if key in body}
    events = []
    for index, payload in enumerate(payloads):
        where = f"payloads[{index}]" if group is not None else "payload"
        _check_docebo_payload(event, payload, where)
        event_id = f"{message_id}/{index}" if group is not None else message_id
        events.append(InboxEvent("docebo", event_id, event, {**common, "payload": payload}))
    return events


def _check_docebo_payload(event: str, payload: Any, where: str) -> None:
    if not isinstance(payload, dict):
        raise BadPayload(f"{where}: expected an object")
    required = ["user_id"]
    if event == docebo_shapes.EVENT_COURSE_COMPLETED:
        required.append("course_id")
    elif event == docebo_shapes.EVENT_LEARNING_PLAN_COMPLETED:
        required.append("learning_plan_id")
    for name in required:
        if not _whole_number(payload.get(name)):
            raise BadPayload(f"{where}.{name}: expected a whole number")


def _text(body: dict[str, Any], name: str, *, numbers: bool = False) -> str:
    value = body.get(name)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadPayload(f"{name}: expected a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise BadPayload(f"{name}: longer than {MAX_ID_LENGTH} characters")
    return value


def _whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


#: The senders, by URL path name. Adobe Learning Manager becomes one more entry here.
SOURCES: dict[str, WebhookSource] = {
    "credly": WebhookSource("credly", 16 * 1024, CREDLY_TO_LMS, parse_credly),
    "docebo": WebhookSource("docebo", 256 * 1024, LMS_TO_CREDLY, parse_docebo),
}
