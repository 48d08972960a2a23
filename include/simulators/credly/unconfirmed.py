"""Every choice this simulator makes where Credly's behaviour is **unconfirmed**.

reference/credly-api.md marks these points as unconfirmed; each constant or function below
is the simulator's pick, kept together so that a better source changes one line here.

Where a choice is between a helpful and a strict form, the **strict** one (the least helpful
plausible server) is the default and the helpful one is served only with ``strict=False``
(``build_simulator(..., strict=False)``, ``--helpful``, ``PUT /_admin/strict``). The hooks must
be right under the strict form; the helpful one is for tests that need a feature to exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# --- Paging (§3) -------------------------------------------------------------------------
# Default page size 50 is confirmed (every documented list shows ``per: 50``); the ``per``
# parameter and its maximum are not (findings-2026-12: "never assume a size"). A larger
# ``per`` is clamped, not refused.
DEFAULT_PER = 50
# Strict: a page never holds more than the documented 50. Helpful: up to 100.
STRICT_MAX_PER = 50
HELPFUL_MAX_PER = 100
# The high-volume search (§5.3) documents no page size at all. Strict: the same 50 as every
# documented list (default and maximum). Helpful: 100 by default, up to 1000.
HIGH_VOLUME_STRICT_PER = 50
HIGH_VOLUME_HELPFUL_DEFAULT_PER = 100
HIGH_VOLUME_HELPFUL_MAX_PER = 1000
# ``next_page_url`` / ``previous_page_url`` are absolute. Strict: they carry ``page`` only and
# drop filter, sort, per and dates (block_acclaim re-appends its filter and sort, which
# suggests the real links may lack them): a client must re-send its own query with the page.
# Helpful: they keep every query parameter of the request and change only ``page``.
# Lists without ``sort``: strict, newest first (created_at descending, so a badge issued while
# a client pages shifts the later pages); helpful, oldest first (creation order, stable paging).
# The event feed (``GET /events``) follows the same rule.


def page_sizes(strict: bool, *, high_volume: bool = False) -> tuple[int, int]:
    """``(default per, maximum per)`` of a list in this mode."""
    if high_volume:
        if strict:
            return HIGH_VOLUME_STRICT_PER, HIGH_VOLUME_STRICT_PER
        return HIGH_VOLUME_HELPFUL_DEFAULT_PER, HIGH_VOLUME_HELPFUL_MAX_PER
    return DEFAULT_PER, STRICT_MAX_PER if strict else HELPFUL_MAX_PER


# --- Filters and sort (§4) -----------------------------------------------------------------
# Confirmed filter keys are served in both modes. Strict: any other key is ignored (the list
# comes back as if it had not been sent) and counted per key (``GET /_admin/ignored_filters``).
# Helpful: the unconfirmed keys below are applied, and a key that is neither confirmed nor
# listed here is refused with 422 (surfaces client typos).
# Templates (docs): ``recommendation_ids``, ``owner_id`` and ``collection_id`` are documented
# but not modelled here, so they are handled like unknown keys.
TEMPLATE_DATE_FILTER_FIELDS = ("created_at", "updated_at")
CONFIRMED_TEMPLATE_FILTERS = (
    "query",
    "name",
    "public",
    "reporting_tags",
    "skills",
    "state",
    *(f"{field}_{bound}" for field in TEMPLATE_DATE_FILTER_FIELDS for bound in ("min", "max")),
)
# Issued badges: the keys §4 lists from production clients. ``recipient_email_all`` matches
# ``recipient_email`` (a simulated earner has one address).
CONFIRMED_BADGE_FILTERS = (
    "state",
    "query",
    "recipient_email",
    "recipient_email_all",
    "badge_template_id",
    "public",
    "badge_templates[reporting_tags]",
)
# Unconfirmed (§4, §8, findings: "no date filter for /badges was found anywhere"), so served
# only in helpful mode: ``issuer_earner_id`` and every ``*_min``/``*_max`` date range below.
BADGE_DATE_FILTER_FIELDS = ("issued_at", "updated_at", "created_at", "state_updated_at")
# The high-volume search's ``start_date``/``end_date`` (used by one client, not in the docs):
# strict, ignored and counted like a filter key; helpful, they bound ``updated_at``.
HIGH_VOLUME_DATE_PARAMETERS = ("start_date", "end_date")
HIGH_VOLUME_DATE_FIELD = "updated_at"
# The full list of sort keys is unconfirmed; these are served in both modes and any other key
# is refused with 422 (a client that sorts on an unserved key hears about it).
TEMPLATE_SORT_KEYS = ("name", "created_at", "updated_at", "state")
BADGE_SORT_KEYS = (
    "issued_at",
    "updated_at",
    "created_at",
    "state_updated_at",
    "expires_at",
    "recipient_email",
)

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
# ``GET /badges/{id}`` is in no Credly text (findings-2026-12: a third party marks it "modelled").
# Strict: it answers 404 ``{"data": {"message": "Not found"}}`` for every id, as an unknown
# path would. Helpful: it answers the badge.
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
