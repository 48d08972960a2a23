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
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

COMPLETED_FROM = "completed_from"
COMPLETED_TO = "completed_to"
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
