"""The simulated Credly organisation: templates, issued badges, the event log and the token.

Every change goes through a method here, under one lock, and appends an event; listeners
(the webhook sender) hear each event. Lists are cached per (filter, sort, mode) until the
next change, so paging a large world costs one scan, not one per page. ``mode`` says whether
the unconfirmed helpful forms are served (:mod:`.unconfirmed`) and counts ignored filters.
"""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.strictness import ServerMode
from include.simulators.credly import query
from include.simulators.credly.records import (
    Badge,
    Event,
    Template,
    badge_json,
    from_dict,
    iso,
    template_json,
    to_dict,
)
from include.simulators.credly.unconfirmed import (
    BADGE_SORT_KEYS,
    CONFIRMED_BADGE_FILTERS,
    CONFIRMED_TEMPLATE_FILTERS,
    DUPLICATE_MESSAGE,
    FOREIGN_ORGANIZATION_MESSAGE,
    HOLDING_STATES,
    INVALID_TOKEN_MESSAGE,
    ISSUING_TEMPLATE_STATES,
    MISSING_FIELD_MESSAGE,
    REPLACED_STATE,
    TEMPLATE_NOT_ISSUING_MESSAGE,
    TEMPLATE_SORT_KEYS,
    UNKNOWN_ORGANIZATION_MESSAGE,
    parse_timestamp,
)

ISSUE_REQUIRED = (
    "recipient_email",
    "issued_to_first_name",
    "issued_to_last_name",
    "badge_template_id",
    "issued_at",
)
REPLACE_REQUIRED = ("badge_template_id", "issued_at")
TEMPLATE_FIELDS = (
    "name",
    "description",
    "state",
    "public",
    "allow_duplicate_badges",
    "skills",
    "reporting_tags",
    "level",
    "time_to_earn",
    "badge_expiry_days",
)
TEMPLATE_STATES = ("active", "archived", "draft")
EARNER_STATES = ("pending", "accepted", "rejected")
_CACHE_SIZE = 8


def foreign_organization_id(seed: int) -> str:
    """A second organisation that exists but that the simulator's token may not touch."""
    return str(uuid.UUID(int=random.Random(f"{seed}:foreign").getrandbits(128), version=4))


class CredlyState:
    """One organisation's world, safe to use from the server's worker threads."""

    def __init__(
        self,
        organization_id: str,
        token: str,
        *,
        organization_name: str = "Simulated Academy",
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
        strict: bool = True,
    ) -> None:
        self.organization = {"id": organization_id, "name": organization_name, "vanity": "simulated-academy"}
        self.token: str | None = token
        self.foreign_organizations = {foreign_organization_id(seed)}
        self.clock = clock or (lambda: datetime.now(UTC))
        self.seed = seed
        self.lock = threading.RLock()
        self.listeners: list[Callable[[Event], None]] = []
        self.version = 0
        self.mode = ServerMode(strict)
        self.reset()

    @property
    def organization_id(self) -> str:
        return self.organization["id"]

    # --- whole-world operations -------------------------------------------------------------

    def reset(self) -> None:
        """Forget every template, badge and event (the token and listeners stay)."""
        with self.lock:
            self._ids = random.Random(f"{self.seed}:ids")
            self.templates: dict[str, Template] = {}
            self.badges: dict[str, Badge] = {}
            self.events: list[Event] = []
            self.events_by_id: dict[str, Event] = {}
            self._by_email: defaultdict[str, list[str]] = defaultdict(list)
            self._by_earner: defaultdict[str, list[str]] = defaultdict(list)
            self._changed()

    def load(self, templates: list[Template], badges: list[Badge], events: list[Event] | None = None) -> None:
        """Replace the world with these records (a seeded world or a snapshot); no events fire."""
        with self.lock:
            self.reset()
            self.templates = {template.id: template for template in templates}
            self.badges = {badge.id: badge for badge in badges}
            for badge in badges:
                self._index(badge)
            for event in events or []:
                self.events.append(event)
                self.events_by_id[event.id] = event
            self._changed()

    def snapshot(self) -> dict[str, Any]:
        """The whole world as JSON-ready data."""
        with self.lock:
            return {
                "organization": dict(self.organization),
                "templates": [to_dict(template) for template in self.templates.values()],
                "badges": [to_dict(badge) for badge in self.badges.values()],
                "events": [to_dict(event) for event in self.events],
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Load a :meth:`snapshot` (the organisation id of the running simulator is kept)."""
        self.load(
            [from_dict(Template, item) for item in snapshot.get("templates", [])],
            [from_dict(Badge, item) for item in snapshot.get("badges", [])],
            [from_dict(Event, item) for item in snapshot.get("events", [])],
        )

    # --- credentials --------------------------------------------------------------------

    def check_access(self, organization_id: str, presented_token: str | None) -> None:
        """401 for a bad token, 403 for another known organisation, 404 for an unknown one."""
        with self.lock:
            token = self.token
        if token is None or presented_token is None or not secrets.compare_digest(presented_token, token):
            raise ApiRefusal(401, INVALID_TOKEN_MESSAGE)
        if organization_id == self.organization_id:
            return
        if organization_id in self.foreign_organizations:
            raise ApiRefusal(403, FOREIGN_ORGANIZATION_MESSAGE)
        raise ApiRefusal(404, UNKNOWN_ORGANIZATION_MESSAGE)

    def rotate_token(self) -> str:
        """A new token; the old one stops working at once (§2.2)."""
        with self.lock:
            self.token = secrets.token_hex(20)
            return self.token

    def expire_token(self) -> None:
        """No token works until :meth:`set_token` or :meth:`rotate_token`."""
        with self.lock:
            self.token = None

    def set_token(self, token: str) -> None:
        with self.lock:
            self.token = token

    # --- templates (changed by admins in the Credly UI; here through /_admin) ------------------

    def create_template(self, fields: dict[str, Any]) -> Template:
        if not fields.get("name"):
            raise ApiRefusal(422, MISSING_FIELD_MESSAGE.format(field="name"))
        with self.lock:
            now = self._now()
            template = Template(
                id=str(fields.get("id") or self._new_id()),
                name=str(fields["name"]),
                description=str(fields.get("description") or ""),
                state="active",
                created_at=now,
                updated_at=now,
                state_updated_at=now,
            )
            self._apply_template_fields(template, fields)
            if template.id in self.templates:
                raise ApiRefusal(422, f"Badge template {template.id} already exists")
            self.templates[template.id] = template
            self._emit("badge_template.created", "badge_template", self._template_event_body(template))
            return template

    def update_template(self, template_id: str, changes: dict[str, Any]) -> Template:
        with self.lock:
            template = self.template(template_id)
            before_state = template.state
            self._apply_template_fields(template, changes)
            template.updated_at = self._now()
            if template.state != before_state:
                template.state_updated_at = template.updated_at
            self._emit("badge_template.changed", "badge_template", self._template_event_body(template))
            return template

    def delete_template(self, template_id: str) -> None:
        with self.lock:
            template = self.template(template_id)
            del self.templates[template_id]
            self._emit("badge_template.deleted", "badge_template", self._template_event_body(template))

    def template(self, template_id: str) -> Template:
        template = self.templates.get(template_id)
        if template is None:
            raise ApiRefusal(404, f"Badge template {template_id} not found")
        return template

    # --- issued badges --------------------------------------------------------------------

    def badge(self, badge_id: str) -> Badge:
        badge = self.badges.get(badge_id)
        if badge is None:
            raise ApiRefusal(404, f"Badge {badge_id} not found")
        return badge

    def issue(self, body: dict[str, Any]) -> Badge:
        """``POST /badges``: validate, refuse duplicates, store as ``pending``."""
        _require(body, ISSUE_REQUIRED)
        with self.lock:
            template = self._issuing_template(str(body["badge_template_id"]))
            email = str(body["recipient_email"]).strip()
            earner = _optional_text(body.get("issuer_earner_id"))
            self._refuse_duplicate(template, email, earner)
            badge = self._new_badge(template, email, earner, body)
            self.badges[badge.id] = badge
            self._index(badge)
            self._emit("badge.created", "badge", self.badge_json(badge))
            return badge

    def revoke(self, badge_id: str, reason: Any, suppress_email: bool = False) -> Badge:
        """``PUT /badges/{id}/revoke``; revoking a revoked badge changes nothing."""
        if not reason:
            raise ApiRefusal(422, MISSING_FIELD_MESSAGE.format(field="reason"))
        with self.lock:
            badge = self.badge(badge_id)
            if badge.state == "revoked":
                return badge
            if badge.state == REPLACED_STATE:
                raise ApiRefusal(422, "A replaced badge cannot be revoked")
            badge.revocation_reason = str(reason)
            self._set_state(badge, "revoked")
            return badge

    def replace(self, badge_id: str, body: dict[str, Any]) -> Badge:
        """``POST /badges/{id}/replace``: a new pending badge; the old one becomes ``replaced``."""
        _require(body, REPLACE_REQUIRED)
        with self.lock:
            old = self.badge(badge_id)
            if old.state in ("revoked", REPLACED_STATE):
                raise ApiRefusal(422, f"A {old.state} badge cannot be replaced")
            template = self._issuing_template(str(body["badge_template_id"]))
            earner = _optional_text(body.get("issuer_earner_id", old.issuer_earner_id))
            self._refuse_duplicate(template, old.recipient_email, earner, ignore_id=old.id)
            merged = {
                "issued_to_first_name": old.issued_to_first_name,
                "issued_to_last_name": old.issued_to_last_name,
                "locale": old.locale,
                **body,
            }
            new = self._new_badge(template, old.recipient_email, earner, merged)
            new.replaces_badge_id = old.id
            self.badges[new.id] = new
            self._index(new)
            old.replacement_badge_id = new.id
            self._set_state(old, REPLACED_STATE)
            self._emit("badge.created", "badge", self.badge_json(new))
            return new

    def delete_badge(self, badge_id: str) -> None:
        with self.lock:
            badge = self.badge(badge_id)
            del self.badges[badge_id]
            self._by_email[badge.recipient_email.lower()].remove(badge_id)
            if badge.issuer_earner_id:
                self._by_earner[badge.issuer_earner_id].remove(badge_id)
            self._emit("badge.deleted", "badge", self.badge_json(badge))

    def set_earner_state(self, badge_id: str, state: str) -> Badge:
        """The earner accepts or rejects (or a badge goes back to pending)."""
        if state not in EARNER_STATES:
            raise ApiRefusal(422, f"state must be one of {', '.join(EARNER_STATES)}")
        with self.lock:
            badge = self.badge(badge_id)
            if badge.state != state:
                self._set_state(badge, state)
            return badge

    # --- reads ----------------------------------------------------------------------------

    def list_templates(self, conditions: dict[str, str], sort: str | None) -> list[Template]:
        """Templates meeting ``conditions``, sorted; do not mutate the returned list."""
        keys = query.parse_sort(sort, TEMPLATE_SORT_KEYS)
        served = self._served(conditions, CONFIRMED_TEMPLATE_FILTERS)
        predicate = query.template_predicate(served)
        with self.lock:
            return self._cached(
                "templates",
                served,
                sort,
                lambda: query.sort_records(
                    self.in_default_order(query.filter_records(self.templates.values(), predicate)), keys
                ),
            )

    def list_badges(self, conditions: dict[str, str], sort: str | None) -> list[Badge]:
        """Badges meeting ``conditions``, sorted; e-mail and earner filters use an index."""
        keys = query.parse_sort(sort, BADGE_SORT_KEYS)
        served = self._served(conditions, CONFIRMED_BADGE_FILTERS)
        predicate = query.badge_predicate(served, self.templates)
        with self.lock:
            return self._cached(
                "badges",
                served,
                sort,
                lambda: query.sort_records(
                    self.in_default_order(query.filter_records(self._candidates(served), predicate)), keys
                ),
            )

    def in_default_order(self, records: list[Any]) -> list[Any]:
        """The order of a list without ``sort``: strict, newest first; helpful, oldest first.
        ``records`` come in creation order."""
        if not self.mode.strict:
            return records
        return sorted(reversed(records), key=lambda record: record.created_at, reverse=True)

    def badge_json(self, badge: Badge) -> dict[str, Any]:
        return badge_json(badge, self.templates.get(badge.badge_template_id), self.organization)

    def template_json(self, template: Template) -> dict[str, Any]:
        return template_json(template, self.organization)

    def event(self, event_id: str) -> Event:
        event = self.events_by_id.get(event_id)
        if event is None:
            raise ApiRefusal(404, f"Event {event_id} not found")
        return event

    # --- internals ------------------------------------------------------------------------

    def _now(self) -> str:
        return iso(self.clock())

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _changed(self) -> None:
        self.version += 1
        self._cache: OrderedDict[Any, list[Any]] = OrderedDict()

    def _served(self, conditions: dict[str, str], confirmed: tuple[str, ...]) -> dict[str, str]:
        """The conditions this mode applies; strict drops (and counts) every unconfirmed key."""
        if not self.mode.strict:
            return conditions
        self.mode.ignore(key for key in conditions if key not in confirmed)
        return {key: value for key, value in conditions.items() if key in confirmed}

    def _cached(
        self, kind: str, conditions: dict[str, str], sort: str | None, build: Callable[[], list[Any]]
    ) -> list[Any]:
        cache_key = (kind, tuple(sorted(conditions.items())), sort, self.mode.strict)
        if cache_key in self._cache:
            self._cache.move_to_end(cache_key)
            return self._cache[cache_key]
        result = self._cache[cache_key] = build()
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _candidates(self, conditions: dict[str, str]) -> list[Badge]:
        ids: list[str] | None = None
        if "recipient_email" in conditions:
            emails = query.parse_filter_values(conditions["recipient_email"])
            ids = [badge_id for email in emails for badge_id in self._by_email.get(email.lower(), [])]
        elif "issuer_earner_id" in conditions:
            earners = query.parse_filter_values(conditions["issuer_earner_id"])
            ids = [badge_id for earner in earners for badge_id in self._by_earner.get(earner, [])]
        if ids is None:
            return list(self.badges.values())
        unique = dict.fromkeys(ids)  # index lists are in issue order; keep it for ties
        return sorted((self.badges[badge_id] for badge_id in unique), key=lambda badge: badge.created_at)

    def _index(self, badge: Badge) -> None:
        self._by_email[badge.recipient_email.lower()].append(badge.id)
        if badge.issuer_earner_id:
            self._by_earner[badge.issuer_earner_id].append(badge.id)

    def _emit(self, event_type: str, subject_key: str, subject: dict[str, Any]) -> None:
        event = Event(self._new_id(), event_type, self._now(), subject_key, subject)
        self.events.append(event)
        self.events_by_id[event.id] = event
        self._changed()
        for listener in self.listeners:
            listener(event)

    def _set_state(self, badge: Badge, state: str) -> None:
        badge.state = state
        badge.updated_at = badge.state_updated_at = self._now()
        self._emit("badge.state.changed", "badge", self.badge_json(badge))

    def _template_event_body(self, template: Template) -> dict[str, Any]:
        """The ``badge_template`` object of a template event (openedx reads these fields)."""
        full = self.template_json(template)
        keys = ("id", "name", "state", "description", "image_url", "updated_at")
        return {**{key: full[key] for key in keys}, "owner": {"id": self.organization_id}}

    def _apply_template_fields(self, template: Template, fields: dict[str, Any]) -> None:
        unknown = set(fields) - set(TEMPLATE_FIELDS) - {"id"}
        if unknown:
            raise ApiRefusal(422, f"Unknown template fields: {', '.join(sorted(unknown))}")
        if "state" in fields and fields["state"] not in TEMPLATE_STATES:
            raise ApiRefusal(422, f"state must be one of {', '.join(TEMPLATE_STATES)}")
        for name in TEMPLATE_FIELDS:
            if name in fields:
                setattr(template, name, fields[name])

    def _issuing_template(self, template_id: str) -> Template:
        template = self.templates.get(template_id)
        if template is None:
            raise ApiRefusal(422, f"Badge template {template_id} not found")
        if template.state not in ISSUING_TEMPLATE_STATES:
            raise ApiRefusal(422, TEMPLATE_NOT_ISSUING_MESSAGE.format(state=template.state))
        return template

    def _refuse_duplicate(
        self, template: Template, email: str, earner: str | None, ignore_id: str | None = None
    ) -> None:
        """§8: same template and the same e-mail or issuer_earner_id, unless duplicates are allowed."""
        if template.allow_duplicate_badges:
            return
        ids = set(self._by_email.get(email.lower(), []))
        if earner:
            ids.update(self._by_earner.get(earner, []))
        for badge_id in ids - {ignore_id}:
            badge = self.badges[badge_id]
            if badge.badge_template_id == template.id and badge.state in HOLDING_STATES:
                raise ApiRefusal(422, DUPLICATE_MESSAGE)

    def _new_badge(self, template: Template, email: str, earner: str | None, body: dict[str, Any]) -> Badge:
        issued_at = _timestamp(body["issued_at"], "issued_at")
        now = self._now()
        return Badge(
            id=self._new_id(),
            badge_template_id=template.id,
            recipient_email=email,
            issued_to_first_name=str(body["issued_to_first_name"]),
            issued_to_last_name=str(body["issued_to_last_name"]),
            issued_to_middle_name=_optional_text(body.get("issued_to_middle_name")),
            issuer_earner_id=earner,
            state="pending",
            issued_at=iso(issued_at),
            expires_at=_expiry(body.get("expires_at"), issued_at, template),
            created_at=now,
            updated_at=now,
            state_updated_at=now,
            locale=str(body.get("locale") or "en"),
            suppress_badge_notification_email=bool(body.get("suppress_badge_notification_email", False)),
            country_name=_optional_text(body.get("country_name")),
            state_or_province=_optional_text(body.get("state_or_province")),
            evidence=list(body.get("evidence") or []),
        )


def _require(body: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ApiRefusal(422, MISSING_FIELD_MESSAGE.format(field=name))


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _timestamp(value: Any, name: str) -> datetime:
    try:
        return parse_timestamp(str(value))
    except ValueError:
        raise ApiRefusal(422, f"{name} is not a valid timestamp: {value!r}") from None


def _expiry(value: Any, issued_at: datetime, template: Template) -> str | None:
    """``None`` -> the template's default lifetime (none unless set), ``False`` -> never."""
    if value is False:
        return None
    if value is None:
        if template.badge_expiry_days is None:
            return None
        return iso(issued_at + timedelta(days=template.badge_expiry_days))
    return iso(_timestamp(value, "expires_at"))
