"""Docebo shapes with no reliable public source (reference/lms-apis.md §1.4, §1.6, §1.7).

UNCONFIRMED: every path, body, field name, status and event code below was invented for this
simulator and must be checked against a real tenant's API browser (``<platform>/api-browser/``).
The client side mirrors this module in ``plugins/credly_sync/hooks/docebo_unconfirmed.py``;
change both together.

Invented here:

* error body (all non-OAuth errors, 429 included)::

      {"name": "Bad Request", "message": "issued_on: must be a date YYYY-MM-DD",
       "code": 0, "status": 400, "field": "issued_on"}

  ``field`` only on validation errors; 409 for a duplicate certification award.
* completion-date filters on ``GET /learn/v1/enrollments``: ``completed_from`` / ``completed_to``
  (inclusive, ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``); the same two plus ``status[]`` on
  ``GET /learningplan/v1/learningplans/enrollments``; ``user_id[]`` on the external training list.
* certification awards: ``GET/POST /learn/v1/certification/awards`` (filters ``user_id[]``,
  ``id_cert[]``, ``status[]``), ``PUT/DELETE /learn/v1/certification/awards/{award_id}``
  (DELETE revokes; the award stays listed with status ``revoked``). Body::

      {"id_cert": 3, "user_id": 10001, "issued_on": "2026-03-01", "expires_on": "2027-03-01",
       "source": "Credly", "external_link": "https://www.credly.com/badges/…"}

* external training writes: ``POST /learn/v1/external_training``,
  ``PUT/DELETE /learn/v1/external_training/{external_training_id}``. Body::

      {"user_id": 10001, "title": "Cloud Basics", "provider": "Credly", "training_type": "badge",
       "date_from": "2026-03-01", "expiration_date": "2027-03-01", "certificate_url": "https://…",
       "credits": 0, "score": 0}

* course additional field (dropdown) writes: ``POST /learn/v1/courses/field``
  ``{"type": "dropdown", "name": "Credly Badge Template"}``; options in the field's ``options``
  list (``[{"id": 17, "label": "…"}]``); ``POST /learn/v1/courses/field/{field_id}/options``
  ``{"label": "…"}`` (the server assigns ``id``); ``PUT``/``DELETE`` on
  ``…/options/{element_id}``; a course's value: ``PUT /learn/v1/courses/{id_course}/field/{field_id}``
  ``{"value": 17}``, ``DELETE`` resets it; course reads carry
  ``additional_fields: [{"id": 5, "value": 17}]``.
* webhook event codes other than ``course.enrollment.completed``.

Strict and helpful forms. Where a choice is between a helpful and a strict form, the **strict**
one (the least helpful plausible server) is the default; the helpful one is served only with
``strict=False`` (``build_simulator(..., strict=False)``, ``--helpful``, ``PUT /_admin/strict``,
``docebo_sim.set_strict(False)``). The hooks must be right under the strict form.

* filters the reference does not confirm on a confirmed list (§1.5): ``completed_from`` /
  ``completed_to`` on course and learning-plan enrollments, ``status[]`` on learning-plan
  enrollments, ``user_id[]`` on the external training list. Strict: ignored (the list comes
  back as if they had not been sent) and counted per name (``GET /_admin/ignored_filters``).
  Helpful: applied. The invented endpoints above (awards) serve their invented filters in both
  modes: they are part of the invented shape the client mirrors. A query parameter a route
  does not know at all is ignored (as any server would) and counted in both modes.
* empty dates: Docebo answers ``0000-00-00`` for an empty date (findings-2026-12, ingestr
  cleans them). Strict: ``0000-00-00`` for date fields (an always-valid award's
  ``expires_on``, external training's ``expiration_date``) and ``0000-00-00 00:00:00`` for
  datetime fields (``course_complete_date``, ``enroll_begin_date``, ``enroll_end_date`` of
  course enrollments, ``enrollment_completion_date`` of learning-plan enrollments). Helpful:
  ``null``. Webhook payloads keep the documented ``null`` (§1.7).
* ``search_text`` on ``GET /manage/v1/user`` is a fuzzy search (findings-2026-12): strict, a
  case-insensitive substring of the e-mail, username, first or last name (``ann@x.com`` also
  finds ``joann@x.com``). Helpful: the e-mail or username equals it (case-insensitive).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

COMPLETED_FROM = "completed_from"
COMPLETED_TO = "completed_to"
UNCONFIRMED_ENROLLMENT_FILTERS = (COMPLETED_FROM, COMPLETED_TO)
# Awards changed since a time (inclusive, ``YYYY-MM-DD HH:MM:SS``): invented like the rest of the
# awards endpoint; served in the helpful mode only (strict: ignored and counted).
AWARD_UPDATED_FROM = "updated_from"
UNCONFIRMED_AWARD_FILTERS = (AWARD_UPDATED_FROM,)
UNCONFIRMED_LP_ENROLLMENT_FILTERS = ("status[]", COMPLETED_FROM, COMPLETED_TO)
UNCONFIRMED_EXTERNAL_TRAINING_FILTERS = ("user_id[]",)
EMPTY_DATE = "0000-00-00"
EMPTY_DATETIME = "0000-00-00 00:00:00"
DUPLICATE_AWARD_STATUS = 409

AWARDS_PATH = "/learn/v1/certification/awards"
EXTERNAL_TRAINING_PATH = "/learn/v1/external_training"
COURSE_FIELDS_PATH = "/learn/v1/courses/field"

EVENT_COURSE_COMPLETED = "course.enrollment.completed"  # confirmed (§1.7)
EVENT_CERTIFICATION_AWARDED = "certification.awarded"
EVENT_CERTIFICATION_UPDATED = "certification.updated"
EVENT_CERTIFICATION_REVOKED = "certification.revoked"
EVENT_LEARNING_PLAN_COMPLETED = "learningplan.enrollment.completed"

WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_RETRY_BASE = 1.0
WEBHOOK_RETRY_FACTOR = 2.0
WEBHOOK_TIMEOUT = 5.0  # §1.7: no 200 within 5 s counts as failed


def empty_date(value: str | None, strict: bool, *, with_time: bool) -> str | None:
    """A date field as answered: strict turns an empty one into Docebo's zero date."""
    if value is not None or not strict:
        return value
    return EMPTY_DATETIME if with_time else EMPTY_DATE


def user_matches(
    needle: str, email: str, username: str, first_name: str, last_name: str, strict: bool
) -> bool:
    """Whether ``search_text`` (lower case) finds this user: fuzzy when strict, exact otherwise."""
    if not strict:
        return needle in (email.lower(), username.lower())
    return any(needle in text.lower() for text in (email, username, f"{first_name} {last_name}"))


def error_body(status: int, message: str | None = None, field: str | None = None) -> dict[str, Any]:
    """The invented error envelope, used for every API error and by fault injection."""
    try:
        name = HTTPStatus(status).phrase
    except ValueError:
        name = "Error"
    body: dict[str, Any] = {"name": name, "message": message or name, "code": 0, "status": status}
    if field:
        body["field"] = field
    return body
