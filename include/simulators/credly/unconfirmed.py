"""Every choice this simulator makes where Credly's behaviour is **unconfirmed**.

reference/credly-api.md marks these points as unconfirmed; each constant or function below
is the simulator's pick, kept together so that a better source changes one line here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# --- Paging (§3) -------------------------------------------------------------------------
# Default page size 50 is confirmed; the ``per`` parameter and its maximum are not.
# A larger ``per`` is clamped to the maximum rather than refused.
DEFAULT_PER = 50
MAX_PER = 100
# The high-volume search (§5.3) pages with the same ``page``/``per`` parameters, larger pages.
HIGH_VOLUME_DEFAULT_PER = 100
HIGH_VOLUME_MAX_PER = 1000
# ``next_page_url`` is absolute and keeps every query parameter of the request (filter, sort,
# per, dates); only ``page`` changes. A robust client should not rely on this.
NEXT_PAGE_URL_KEEPS_QUERY = True
# Without ``sort`` lists come in creation order (oldest first), which keeps paging stable.

# --- Filters and sort (§4) -----------------------------------------------------------------
# Unknown filter or sort keys are refused with 422 (the real API may ignore them; refusing
# surfaces client typos in tests).
TEMPLATE_SORT_KEYS = ("name", "created_at", "updated_at", "state")
BADGE_SORT_KEYS = (
    "issued_at",
    "updated_at",
    "created_at",
    "state_updated_at",
    "expires_at",
    "recipient_email",
)
# Issued-badge filters beyond state/query/recipient_email/badge_template_id/public are
# unconfirmed: ``issuer_earner_id`` and the ``*_min``/``*_max`` date ranges below.
BADGE_DATE_FILTER_FIELDS = ("issued_at", "updated_at", "created_at", "state_updated_at")
TEMPLATE_DATE_FILTER_FIELDS = ("created_at", "updated_at")
# The high-volume search's ``start_date``/``end_date`` bound ``updated_at`` (incremental loads).
HIGH_VOLUME_DATE_FIELD = "updated_at"

# --- Badges (§5.4-5.7, §6, §8) --------------------------------------------------------------
# States that hold a badge for the duplicate rule: a revoked or replaced badge does not block a
# new issue of the same template.
HOLDING_STATES = ("pending", "accepted", "rejected")
# The replaced badge's state is the literal ``replaced``; the old badge gets
# ``replacement_badge_id``, the new one ``replaces_badge_id``.
REPLACED_STATE = "replaced"
# Revoking an already revoked badge answers 200 with the badge (idempotent); revoking or
# replacing a replaced badge, and replacing a revoked one, is refused with 422.
REVOKE_STATUS = 200
# Only ``active`` templates issue; ``archived`` (confirmed) and ``draft`` (unconfirmed) refuse.
ISSUING_TEMPLATE_STATES = ("active",)
# ``GET /badges/{id}`` (one issued badge) is served; the reference table does not list it.
# ``POST /badges/batch`` issues items in order; the first refusal answers 422 naming the item
# (``badges[3]: User already has this badge``) and the items before it stay issued.
BATCH_MAX = 100
# An unknown ``badge_template_id`` in an issue or replace body is a 422, not a 404.

# --- Organisations and tokens (§2, §7) --------------------------------------------------------
# A valid token with the id of another *known* organisation in the path gives 403; an id no
# organisation has gives 404.

# --- Error wording (§7) ---------------------------------------------------------------------
# Only the substring "already has this badge" is confirmed (NTI matches it).
DUPLICATE_MESSAGE = "User already has this badge"
INVALID_TOKEN_MESSAGE = "Invalid or expired authorization token"
FOREIGN_ORGANIZATION_MESSAGE = "Authorization token is not valid for this organization"
UNKNOWN_ORGANIZATION_MESSAGE = "Organization not found"
TEMPLATE_NOT_ISSUING_MESSAGE = "Badge template is {state} and cannot issue badges"
MISSING_FIELD_MESSAGE = "{field} is required"
# 429 (rate limit) comes from fault injection only, with a ``Retry-After`` in seconds.
STATUS_MESSAGES = {
    400: "Bad request",
    401: INVALID_TOKEN_MESSAGE,
    403: FOREIGN_ORGANIZATION_MESSAGE,
    404: "Not found",
    422: "Unprocessable entity",
    429: "Rate limit exceeded, retry later",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

# --- Webhooks (§9) --------------------------------------------------------------------------
# Retry schedule: wait ``base * factor ** (attempt - 1)`` seconds after each failed attempt,
# up to ``max_attempts`` attempts (Credly retries for 25 days; tests use tiny intervals).
WEBHOOK_RETRY_BASE = 5.0
WEBHOOK_RETRY_FACTOR = 2.0
WEBHOOK_MAX_ATTEMPTS = 10
WEBHOOK_TIMEOUT = 5.0

# --- Timestamps ----------------------------------------------------------------------------
# Filters and bodies accept ISO 8601 (``Z`` or offset), the docs' ``2014-04-01 09:41:00 -0500``,
# ``YYYY-MM-DD HH:MM:SS`` (UTC) and ``YYYY-MM-DD``. A date-only ``*_max`` covers the whole day.
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACED_OFFSET = re.compile(r"^(.*\d)\s+([+-]\d{2}):?(\d{2})$")


def parse_timestamp(text: str, *, end_of_day: bool = False) -> datetime:
    """A timezone-aware UTC datetime from any accepted format; ``ValueError`` otherwise."""
    text = text.strip()
    if _DATE_ONLY.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1, microseconds=-1) if end_of_day else day
    spaced = _SPACED_OFFSET.match(text)
    if spaced:
        text = f"{spaced.group(1)}{spaced.group(2)}:{spaced.group(3)}"
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
