"""The ``filter=key::value|key::value`` and ``sort=key|-key`` syntax of §4, as predicates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from include.simulators.common.refusal import ApiRefusal
from include.simulators.credly.records import Badge, Template, iso
from include.simulators.credly.unconfirmed import (
    BADGE_DATE_FILTER_FIELDS,
    TEMPLATE_DATE_FILTER_FIELDS,
    parse_timestamp,
)

Predicate = Callable[[Any], bool]


def parse_filter(text: str | None) -> dict[str, str]:
    """``state::active|query::archery`` -> ``{"state": "active", "query": "archery"}``."""
    conditions: dict[str, str] = {}
    for part in (text or "").split("|"):
        if not part.strip():
            continue
        key, separator, value = part.partition("::")
        if not separator:
            raise ApiRefusal(422, f"Invalid filter condition {part!r}: expected key::value")
        conditions[key.strip()] = value.strip()
    return conditions


def parse_sort(text: str | None, allowed: Sequence[str]) -> list[tuple[str, bool]]:
    """``name|-created_at`` -> ``[("name", False), ("created_at", True)]`` (True = descending)."""
    keys: list[tuple[str, bool]] = []
    for part in (text or "").split("|"):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        key = part.lstrip("-")
        if key not in allowed:
            raise ApiRefusal(422, f"Unknown sort key {key!r}; use one of {', '.join(allowed)}")
        keys.append((key, descending))
    return keys


def sort_records(records: list[Any], keys: list[tuple[str, bool]]) -> list[Any]:
    """Stable multi-key sort; ``None`` sorts before any value."""
    for key, descending in reversed(keys):
        records.sort(key=lambda record: _sort_value(getattr(record, key)), reverse=descending)
    return records


def template_predicate(conditions: dict[str, str]) -> Predicate:
    """One function that tells whether a template meets every condition."""
    checks: list[Predicate] = []
    for key, value in conditions.items():
        if key == "state":
            checks.append(_member("state", parse_filter_values(value)))
        elif key == "name":
            checks.append(_name_check(value))
        elif key == "query":
            needle = value.lower()
            checks.append(lambda t, n=needle: n in t.name.lower() or n in t.description.lower())
        elif key == "public":
            checks.append(_flag("public", value))
        elif key in ("skills", "reporting_tags"):
            wanted = {item.lower() for item in parse_filter_values(value)}
            checks.append(lambda t, k=key, w=wanted: bool(w & {x.lower() for x in getattr(t, k)}))
        elif _date_field(key, TEMPLATE_DATE_FILTER_FIELDS):
            checks.append(_date_check(key, value))
        else:
            raise ApiRefusal(422, f"Unknown badge template filter {key!r}")
    return _all(checks)


def badge_predicate(conditions: dict[str, str], templates: Mapping[str, Template]) -> Predicate:
    """One function that tells whether an issued badge meets every condition; ``templates``
    resolves a badge's template for ``badge_templates[reporting_tags]``."""
    checks: list[Predicate] = []
    for key, value in conditions.items():
        if key in ("state", "badge_template_id", "issuer_earner_id"):
            checks.append(_member(key, parse_filter_values(value)))
        elif key in ("recipient_email", "recipient_email_all"):
            emails = {email.lower() for email in parse_filter_values(value)}
            checks.append(lambda b, e=emails: b.recipient_email.lower() in e)
        elif key == "query":
            needle = value.lower()
            checks.append(lambda b, n=needle: n in _badge_text(b))
        elif key == "public":
            checks.append(_flag("public", value))
        elif key == "badge_templates[reporting_tags]":
            tags = {tag.lower() for tag in parse_filter_values(value)}
            checks.append(lambda b, t=tags: bool(t & _template_tags(templates.get(b.badge_template_id))))
        elif _date_field(key, BADGE_DATE_FILTER_FIELDS):
            checks.append(_date_check(key, value))
        else:
            raise ApiRefusal(422, f"Unknown issued badge filter {key!r}")
    return _all(checks)


def filter_records(records: Iterable[Template | Badge], predicate: Predicate) -> list[Any]:
    return [record for record in records if predicate(record)]


def parse_filter_values(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _member(attribute: str, allowed: list[str]) -> Predicate:
    allowed_set = set(allowed)
    return lambda record: getattr(record, attribute) in allowed_set


def _flag(attribute: str, value: str) -> Predicate:
    if value.lower() not in ("true", "false"):
        raise ApiRefusal(422, f"Filter {attribute} takes true or false, not {value!r}")
    wanted = value.lower() == "true"
    return lambda record: getattr(record, attribute) is wanted


def _name_check(value: str) -> Predicate:
    """Exact when quoted (``name::"Archery"``), otherwise a case-insensitive substring."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        exact = value[1:-1]
        return lambda template: template.name == exact
    needle = value.lower()
    return lambda template: needle in template.name.lower()


def _date_field(key: str, date_fields: Sequence[str]) -> bool:
    base, _, bound = key.rpartition("_")
    return bound in ("min", "max") and base in date_fields


def _date_check(key: str, value: str) -> Predicate:
    """``field >= value`` (``*_min``) or ``field <= value`` (``*_max``) on sortable timestamp text."""
    attribute, _, bound = key.rpartition("_")
    try:
        limit = iso(parse_timestamp(value, end_of_day=bound == "max"))
    except ValueError:
        raise ApiRefusal(422, f"Filter {key} needs a date or ISO 8601 timestamp, not {value!r}") from None
    if bound == "min":
        return lambda record: (getattr(record, attribute) or "") >= limit
    return lambda record: getattr(record, attribute) is not None and getattr(record, attribute) <= limit


def _all(checks: list[Predicate]) -> Predicate:
    return lambda record: all(check(record) for check in checks)


def _template_tags(template: Template | None) -> set[str]:
    return {tag.lower() for tag in template.reporting_tags} if template else set()


def _badge_text(badge: Badge) -> str:
    return f"{badge.issued_to_first_name} {badge.issued_to_last_name} {badge.recipient_email}".lower()


def _sort_value(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else "")
