"""Adobe Learning Manager shapes the AlmHook relies on WITHOUT a public source (lms-apis.md §2).

UNCONFIRMED: every name in this module marked "invented" was chosen for the local simulator
(``include/simulators/alm/unconfirmed.py`` mirrors it) and must be checked against a real ALM
account before production. Correct them here, in one place; the hook only calls these names.

Confirmed (dev manual, rate-limit page), kept here so every wire name is in one place:
``Accept: application/vnd.api+json``, ``/oauth/token/refresh`` with ``client_id``,
``client_secret``, ``refresh_token``, ``/oauth/token/check``, ``page[limit]`` / ``page[cursor]``
and ``links.next``, ``filter.loTypes``, ``sort=dateAchieved`` on user badges, the 429 body
``{"message": ...}`` and a fractional ``retry-after``.
"""

from __future__ import annotations

from typing import Any

JSON_API = "application/vnd.api+json"
API_PREFIX = "primeapi/v2"
REFRESH_PATH = "oauth/token/refresh"
CHECK_PATH = "oauth/token/check"
# The rate-limit page's example sends "oauth <token>"; whether "Bearer" works is unconfirmed.
AUTH_SCHEME = "oauth"
REFRESH_TOKEN_EXTRA = "refresh_token"  # the connection extra that holds the refresh token

MAX_PAGE_SIZE = 100  # documented
LIMIT, CURSOR = "page[limit]", "page[cursor]"
LO_TYPES_FILTER = "filter.loTypes"  # documented
USER_BADGES_SORT = "dateAchieved"  # documented

# invented: the admin-wide enrollment list (the documented one is per user) and its filters
ENROLLMENTS_PATH = "enrollments"
STATES_FILTER = "filter.states"
COMPLETED_FROM_FILTER = "filter.dateCompletedFrom"
COMPLETED_STATE = "COMPLETED"
# invented: user list filters
USER_IDS_FILTER = "filter.ids"
USER_EMAIL_FILTER = "filter.email"

# invented: where a learning object names the badge its completion achieves
LO_BADGE_RELATIONSHIP = "badge"
# documented relationships (dev manual)
ENROLLMENT_LEARNER = "learner"
ENROLLMENT_OBJECT = "learningObject"
ENROLLMENT_BADGE = "learnerBadge"
USER_BADGE_BADGE = "badge"
USER_BADGE_MODEL = "model"

# invented as API attributes (documented as badge.csv columns only, §2.8); strict servers
# leave them out, so the badge.csv mapping is the fallback
EXTERNAL_BADGE_ID = "externalBadgeId"
EXTERNAL_BADGE_PROVIDER = "externalBadgeProvider"
CREDLY_PROVIDER = "Credly"


def error_text(body: Any) -> str | None:
    """The message of an ALM error body: invented ``{"source": {"info"}, "status", "title"}``;
    the documented 429 body ``{"message"}``; OAuth's ``error_description`` / ``error``."""
    if not isinstance(body, dict):
        return None
    source = body.get("source")
    if isinstance(source, dict) and source.get("info"):
        return str(source["info"])
    for key in ("message", "error_description", "title", "error"):
        if body.get(key):
            return str(body[key])
    return None


def lo_name(resource: dict[str, Any]) -> str | None:
    """A learning object's name: invented to live in ``localizedMetadata[].name`` (en-US first)."""
    metadata = (resource.get("attributes") or {}).get("localizedMetadata") or []
    names = [m for m in metadata if isinstance(m, dict) and m.get("name")]
    english = [m for m in names if str(m.get("locale", "")).lower().startswith("en")]
    return str((english or names)[0]["name"]) if names else None


# --- webhooks (lms-apis.md §2.7; webhooks.md, webhooks-usage-guide.md) -------------------------
# Documented: the envelope {"accountId", "events": [{"eventId", "eventName", "timestamp",
# "eventInfo", "data": {"userId", "loId", "loInstanceId", "loType", "enrollmentSource",
# "dateCompleted", "hasPassed"}}]}, several events per request, the completion event names
# (learner actions; "_BATCH" when an admin, manager or the platform acts), times as ISO text or
# epoch milliseconds, de-duplication by eventId.
WEBHOOK_ACCOUNT, WEBHOOK_EVENTS = "accountId", "events"
EVENT_ID, EVENT_NAME, EVENT_TIME, EVENT_DATA = "eventId", "eventName", "timestamp", "data"
EVENT_USER, EVENT_OBJECT, EVENT_OBJECT_TYPE = "userId", "loId", "loType"
EVENT_COMPLETED_AT = "dateCompleted"
_COMPLETED_PREFIX = {"COURSE": "course", "LEARNING_PATH": "learningProgram", "CERTIFICATION": "certification"}
#: the completion events the intake accepts -> the loType of their learning object
COMPLETION_EVENTS = {
    f"{prefix}_COMPLETED{batch}": lo_type
    for prefix, lo_type in _COMPLETED_PREFIX.items()
    for batch in ("", "_BATCH")
}
# UNCONFIRMED (chosen for the intake, check against a real account):
# * how many events one request carries (an admin's mass completion): not documented; the intake
#   takes bodies up to WEBHOOK_MAX_BODY_BYTES (some 5,000 completion events);
# * userId is a number in every sample; a string of digits (the API's form of ids) is taken too;
# * loId "<loType>:<digits>" as in every sample (dev manual: ids look like "course:12345678");
# * Basic and Signature authentication are not used (how a signature is computed is not
#   described): the intake's own secret is in the URL path, the webhook's authentication None.
WEBHOOK_MAX_BODY_BYTES = 2 * 1024 * 1024
