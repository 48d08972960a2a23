"""Reading request bodies: every refusal names the field at fault (400)."""

from __future__ import annotations

from typing import Any

from include.simulators.docebo.records import DATETIME, DAY, ApiRefusal


def required_int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or value is None:
        raise ApiRefusal(400, f"{name}: is required and must be an integer", name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiRefusal(400, f"{name}: must be an integer", name) from None


def required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiRefusal(400, f"{name}: is required and must be a non-empty string", name)
    return value.strip()


def optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiRefusal(400, f"{name}: must be a string", name)
    return value


def day(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    """A ``YYYY-MM-DD`` date (a datetime's day part is accepted)."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not DATETIME.match(value):
        raise ApiRefusal(400, f"{name}: must be a date YYYY-MM-DD", name)
    return value[:10]


def number(body: dict[str, Any], name: str, default: float = 0) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiRefusal(400, f"{name}: must be a number", name)
    return value


def date_bound(value: str | None, name: str, *, upper: bool) -> str | None:
    """A filter bound as a full datetime; a bare upper day includes that whole day."""
    if value is None:
        return None
    if not DATETIME.match(value):
        raise ApiRefusal(400, f"{name}: must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", name)
    if DAY.match(value):
        return f"{value} 23:59:59" if upper else f"{value} 00:00:00"
    return value
