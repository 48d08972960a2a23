"""What each webhook source sends, and how a body becomes inbox events.

One :class:`WebhookSource` per sender, in :data:`SOURCES` (the URL path names it). A parser
checks the body's shape only: nothing a sender says is trusted, processing re-reads every
event from the source's API before acting. A parser raises :class:`BadPayload` (answered 422,
nothing stored) for anything it cannot store whole.

Adding a source (a third LMS): write its parser and its ``learner_ids``, add one entry to
``SOURCES`` and a secret under the same name in the ``credly_sync_webhooks`` connection's
extra; the event DAG routes a source's events by :attr:`WebhookSource.direction` and
:attr:`WebhookSource.lms`, and reads again the learners ``learner_ids`` names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credly_sync.hooks import alm_unconfirmed as alm_shapes
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

# Adobe Learning Manager (lms-apis.md §2.7): the completion events, learner and _BATCH forms;
# wire names and the unconfirmed choices in hooks/alm_unconfirmed.py.
ALM_EVENTS = tuple(alm_shapes.COMPLETION_EVENTS)
ALM_LO_ID = re.compile(r"(?P<type>[A-Za-z]+):[0-9]+")  # "course:12345678"
ALM_TIME = "expected ISO 8601 text or epoch milliseconds"


class BadPayload(ValueError):
    """The body cannot be stored: the message says why (it goes back to the sender)."""


def _no_learners(payload: dict[str, Any]) -> list[str]:
    return []


@dataclass(frozen=True)
class WebhookSource:
    """A sender: its name (URL path and secret key), how large a body may be, which sync its
    events feed, and its parser; for an LMS, its name (``lms``) and ``learner_ids``, the LMS
    user ids a stored event's payload names (the learners processing reads again)."""

    name: str
    max_body_bytes: int
    direction: str
    parse: Callable[[Any], list[InboxEvent]]
    lms: str | None = None
    learner_ids: Callable[[dict[str, Any]], list[str]] = _no_learners


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


def docebo_learner_ids(payload: dict[str, Any]) -> list[str]:
    """The Docebo user a stored event (one payload with its message's fields) names."""
    return [str(payload["payload"]["user_id"])]


def parse_alm(body: Any) -> list[InboxEvent]:
    """``{"accountId", "events": [...]}``: one inbox event per completion event, keyed by its
    ``eventId`` (an id repeated in one body is stored once), each stored with the account id."""
    if not isinstance(body, dict):
        raise BadPayload("expected a JSON object with accountId and events")
    account = body.get(alm_shapes.WEBHOOK_ACCOUNT)
    if not _whole_number(account):
        raise BadPayload(f"{alm_shapes.WEBHOOK_ACCOUNT}: expected a whole number")
    items = body.get(alm_shapes.WEBHOOK_EVENTS)
    if not isinstance(items, list) or not items:
        raise BadPayload(f"{alm_shapes.WEBHOOK_EVENTS}: expected a non-empty list of events")
    events: dict[str, InboxEvent] = {}
    for index, item in enumerate(items):
        where = f"{alm_shapes.WEBHOOK_EVENTS}[{index}]"
        name = _check_alm_event(item, where)
        event_id = _text(item, alm_shapes.EVENT_ID, where=where)
        payload = {alm_shapes.WEBHOOK_ACCOUNT: account, **item}
        events.setdefault(event_id, InboxEvent("alm", event_id, name, payload))
    return list(events.values())


def _check_alm_event(item: Any, where: str) -> str:
    """The event's name, once its shape is checked: a completion event with a time, the
    learner's whole-number id and a learning object id of the event's type."""
    if not isinstance(item, dict):
        raise BadPayload(f"{where}: expected an object")
    name = _text(item, alm_shapes.EVENT_NAME, where=where)
    lo_type = alm_shapes.COMPLETION_EVENTS.get(name)
    if lo_type is None:
        accepted = ", ".join(ALM_EVENTS)
        raise BadPayload(f"{where}.{alm_shapes.EVENT_NAME}: unknown event {name!r}; accepted: {accepted}")
    if not _alm_time(item.get(alm_shapes.EVENT_TIME)):
        raise BadPayload(f"{where}.{alm_shapes.EVENT_TIME}: {ALM_TIME}")
    data = item.get(alm_shapes.EVENT_DATA)
    where = f"{where}.{alm_shapes.EVENT_DATA}"
    if not isinstance(data, dict):
        raise BadPayload(f"{where}: expected an object")
    if not _whole_number(data.get(alm_shapes.EVENT_USER)):
        raise BadPayload(f"{where}.{alm_shapes.EVENT_USER}: expected a whole number")
    lo_id = ALM_LO_ID.fullmatch(_text(data, alm_shapes.EVENT_OBJECT, where=where))
    if lo_id is None or lo_id["type"] != lo_type:
        raise BadPayload(f"{where}.{alm_shapes.EVENT_OBJECT}: expected a {lo_type} id like '{lo_type}:123'")
    if data.get(alm_shapes.EVENT_OBJECT_TYPE, lo_type) != lo_type:
        raise BadPayload(f"{where}.{alm_shapes.EVENT_OBJECT_TYPE}: expected {lo_type!r} for {name}")
    completed = data.get(alm_shapes.EVENT_COMPLETED_AT)
    if completed is not None and not _alm_time(completed):
        raise BadPayload(f"{where}.{alm_shapes.EVENT_COMPLETED_AT}: {ALM_TIME}")
    return name


def alm_learner_ids(payload: dict[str, Any]) -> list[str]:
    """The ALM user a stored event names."""
    return [str(payload[alm_shapes.EVENT_DATA][alm_shapes.EVENT_USER])]


def _alm_time(value: Any) -> bool:
    """ALM sends times as ISO text or as epoch milliseconds (lms-apis.md §2.7): either."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(body: dict[str, Any], name: str, *, numbers: bool = False, where: str = "") -> str:
    value = body.get(name)
    label = f"{where}.{name}" if where else name
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadPayload(f"{label}: expected a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise BadPayload(f"{label}: longer than {MAX_ID_LENGTH} characters")
    return value


def _whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())


#: The senders, by URL path name.
SOURCES: dict[str, WebhookSource] = {
    "credly": WebhookSource("credly", 16 * 1024, CREDLY_TO_LMS, parse_credly),
    "docebo": WebhookSource(
        "docebo", 256 * 1024, LMS_TO_CREDLY, parse_docebo, lms="docebo", learner_ids=docebo_learner_ids
    ),
    "alm": WebhookSource(
        "alm",
        alm_shapes.WEBHOOK_MAX_BODY_BYTES,
        LMS_TO_CREDLY,
        parse_alm,
        lms="alm",
        learner_ids=alm_learner_ids,
    ),
}
