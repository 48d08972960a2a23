"""Adobe Learning Manager shapes with no reliable public source (reference/lms-apis.md §2).

UNCONFIRMED: every name below marked "invented" was chosen for this simulator and must be
checked against a real ALM account (the API reference at ``<host>/docs/primeapi/v2/``) before
production. The client side mirrors this module in
``plugins/credly_sync/hooks/alm_unconfirmed.py``; change both together.

Invented here:

* error body of every non-429 API error (the 429 body ``{"message":"429 Too many requests"}``
  is documented, §2.3)::

      {"source": {"info": "User 42 not found"}, "status": "NOT_FOUND", "title": "NOT_FOUND"}

* OAuth error body: ``{"error": "invalid_grant", "error_description": "..."}`` (400 / 401).
* ``GET /oauth/token/check`` answer: ``{"client_id", "scope", "expires_in", "account_id"}``
  (never the token itself); an unknown or expired token gets 401 with the OAuth error body.
* refresh answer: the same four keys as the token answer (``access_token``, ``refresh_token``,
  ``expires_in`` = seconds left, ``token_type``).
* attributes of a user (``email``, ``name``, ``state`` ACTIVE, ``userType``, ``uniqueId``); a
  learning object's name only in ``localizedMetadata[].name``; an enrollment's ``state``
  (``ENROLLED`` / ``STARTED`` / ``COMPLETED``); a user badge's id for a badge attached to a
  learning object (``{userId}_{badgeId}_LO_{loNumber}_1``) and ``modelType`` ``learningObject``.
* a learning object's ``relationships.badge`` (the badge its completion achieves).
* the admin-wide enrollment list ``GET /enrollments`` (the documented list is per user,
  ``/users/{id}/enrollments``), with ``filter.loTypes`` (documented name) and the invented
  filters ``filter.states`` and ``filter.dateCompletedFrom``.
* ``externalBadgeId`` / ``externalBadgeProvider`` as badge attributes in API answers (they are
  documented as badge.csv columns only, §2.8).
* webhook details: every event of one change in one request (mixed event names allowed), no
  signature, ``userId`` a number; a ``CERTIFICATION_COMPLETED`` event without ``hasPassed`` (as
  in the samples of ``webhooks-usage-guide.md``); the trigger events of a new webhook default
  to every event here (ALM asks the admin to pick them).

Strict and helpful forms. Where a choice is between a helpful and a strict form, the **strict**
one (the least helpful plausible server) is the default; the helpful one is served only with
``strict=False`` (``build_simulator(..., strict=False)``, ``--helpful``, ``PUT /_admin/strict``,
``alm_sim.set_strict(False)``). The hook must be right under the strict form.

* ``Authorization``: strict accepts only ``oauth <token>`` (the form the rate-limit page shows);
  helpful also ``Bearer <token>``.
* ``Accept``: strict answers 406 to anything but ``application/vnd.api+json`` (``*/*`` and a
  missing header included); helpful also takes ``*/*``, ``application/json`` or none.
* page size: strict serves 10 items when ``page[limit]`` is absent (the default is not
  documented); helpful 100. Either way a limit above 100 (above 10 with ``include``) is
  refused with 400.
* ``links.next``: strict is an absolute URL that keeps only ``page[limit]`` and ``page[cursor]``
  (the filters, ``include`` and ``sort`` of the first request are dropped); helpful keeps the
  whole query. ``links.next`` is absent on the last page.
* order: strict lists newest first (by creation, completion or achievement) unless a documented
  ``sort`` is sent (``dateEnrolled`` on enrollments, ``dateAchieved`` on user badges).
* unconfirmed filters (``filter.states``, ``filter.dateCompletedFrom`` on ``/enrollments``,
  ``filter.ids`` and ``filter.email`` on ``/users``): strict ignores and counts them
  (``GET /_admin/ignored_filters``); helpful applies them. Documented filters
  (``filter.loTypes``) are applied in both modes.
* badge external fields: strict leaves ``externalBadgeId`` / ``externalBadgeProvider`` out of
  badge answers (a client must get them from the badge.csv it migrated); helpful includes them.
* an enrollment's ``dateCompleted`` before completion: strict leaves the attribute out;
  helpful sends ``null``.
* webhook times: strict sends ``timestamp`` and ``dateCompleted`` as epoch milliseconds
  (``webhooks.md``'s first sample); helpful as ISO text (the envelope sample).
* a completion of an object whose badge is ``Retired`` still achieves it (strict: the client
  must check the badge's state); helpful grants no retired badge.
"""

from __future__ import annotations

from typing import Any

JSON_API = "application/vnd.api+json"
AUTH_SCHEME = "oauth"  # documented in the rate-limit page's example
HELPFUL_AUTH_SCHEMES = ("oauth", "bearer")
HELPFUL_ACCEPTS = ("*/*", "application/json", "")

STRICT_PAGE_SIZE = 10
HELPFUL_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # documented
MAX_PAGE_SIZE_WITH_INCLUDE = 10  # documented

ENROLLMENTS_PATH = "/enrollments"  # invented: the admin-wide enrollment list
STATES_FILTER = "filter.states"
COMPLETED_FROM_FILTER = "filter.dateCompletedFrom"
USER_IDS_FILTER = "filter.ids"
USER_EMAIL_FILTER = "filter.email"
UNCONFIRMED_ENROLLMENT_FILTERS = (STATES_FILTER, COMPLETED_FROM_FILTER)
UNCONFIRMED_USER_FILTERS = (USER_IDS_FILTER, USER_EMAIL_FILTER)

ENROLLED, STARTED, COMPLETED = "ENROLLED", "STARTED", "COMPLETED"
USER_BADGE_LO_MODEL = "learningObject"
EXTERNAL_BADGE_ID = "externalBadgeId"
EXTERNAL_BADGE_PROVIDER = "externalBadgeProvider"

ACCOUNT_ID = 1234  # the account id of webhook envelopes and token checks
SCOPE = "admin:read,admin:write"

# Webhook delivery (documented, webhooks-usage-guide.md): 5 s doubling to a 5-minute cap, then
# every 5 minutes for 7 days; connect timeout 10 s, socket timeout 5 s; "Clients can respond
# with an HTTP 202 Accepted" (whether other 2xx acknowledge is not said).
WEBHOOK_RETRY_BASE = 5.0
WEBHOOK_RETRY_FACTOR = 2.0
WEBHOOK_RETRY_CAP = 300.0
WEBHOOK_MAX_ATTEMPTS = 6 + 7 * 24 * 12  # the doubling steps, then every 5 min for 7 days
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_CONNECT_TIMEOUT = 10.0
WEBHOOK_ACCEPTED = (200, 202)

STATUS_NAMES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """The invented error envelope (the documented 429 body for 429), also for fault injection."""
    if status == 429:
        return {"message": "429 Too many requests"}
    name = STATUS_NAMES.get(status, "ERROR")
    return {"source": {"info": message or name}, "status": name, "title": name}
