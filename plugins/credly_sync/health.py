"""Health checks: the Credly token's age and ``python -m credly_sync doctor``.

Credly authorization tokens last 180 days (findings-2026-12.md) and the API does not say how old
the one in a connection is, so the connection records it: ``token_created`` (``YYYY-MM-DD``) in
the extra of ``credly_default``. The hook warns in the task log, the monitoring page shows it and
``doctor`` reports it, each from :func:`credly_token_age`, from 14 days before the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

TOKEN_CREATED_EXTRA = "token_created"
TOKEN_LIFETIME = timedelta(days=180)
TOKEN_WARNING = timedelta(days=14)

OK, WARNING, FAILED = "ok", "warning", "failed"


@dataclass(frozen=True)
class TokenAge:
    """How long the Credly token of ``conn_id`` has left; ``level`` is ok, warning or failed."""

    conn_id: str
    created: date | None
    level: str
    message: str

    @property
    def expires(self) -> date | None:
        return self.created + TOKEN_LIFETIME if self.created else None


def credly_token_age(conn_id: str, extra: Mapping[str, Any] | None, today: date | None = None) -> TokenAge:
    """Read ``token_created`` from a Credly connection's extra and judge the token's age."""
    today = today or datetime.now(UTC).date()
    raw = (extra or {}).get(TOKEN_CREATED_EXTRA)
    if not raw:
        return TokenAge(
            conn_id,
            None,
            WARNING,
            f"connection '{conn_id}' does not say when its Credly token was created: add "
            f'"{TOKEN_CREATED_EXTRA}": "YYYY-MM-DD" to its extra to be warned before the 180-day end',
        )
    try:
        created = date.fromisoformat(str(raw)[:10])
    except ValueError:
        return TokenAge(
            conn_id,
            None,
            FAILED,
            f"connection '{conn_id}': extra {TOKEN_CREATED_EXTRA}={raw!r} is not a YYYY-MM-DD date",
        )
    expires = created + TOKEN_LIFETIME
    left = (expires - today).days
    if left < 0:
        level, state = FAILED, f"expired on {expires} ({-left} days ago)"
    elif left <= TOKEN_WARNING.days:
        level, state = WARNING, f"expires on {expires}, in {left} days"
    else:
        level, state = OK, f"expires on {expires}, in {left} days"
    message = f"the Credly token of connection '{conn_id}' (created {created}) {state}"
    if level != OK:
        message += (
            f": create a new token in Credly, put it in the connection's password and set "
            f"{TOKEN_CREATED_EXTRA} to today"
        )
    return TokenAge(conn_id, created, level, message)


@dataclass(frozen=True)
class Check:
    """One line of ``doctor``: what was checked, its level and what to do about it."""

    name: str
    level: str
    detail: str


def run_checks(checks: Iterable[tuple[str, Callable[[], Check | list[Check]]]]) -> list[Check]:
    """Run every check; one that raises is a failed line naming the error, never an abort."""
    results: list[Check] = []
    for name, check in checks:
        try:
            outcome = check()
        except Exception as exc:
            outcome = Check(name, FAILED, f"{type(exc).__name__}: {exc}")
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results
