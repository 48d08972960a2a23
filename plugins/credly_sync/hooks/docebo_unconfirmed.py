"""Docebo API shapes the DoceboHook relies on WITHOUT a public source (lms-apis.md §1.6, §1.7).

UNCONFIRMED: every path, parameter, body, status and event code in this module was chosen
for the local simulator (``include/simulators/docebo/unconfirmed.py`` mirrors it) and must be
checked against a real tenant's API browser (``<platform>/api-browser/``) before production.
Correct them here, in one place; the hook only calls these names.

* completion-date filters on course and learning-plan enrollment lists;
* certification awards: list / award / update / revoke, and 409 for "already awarded";
* external training: create / update / delete, the ``user_id[]`` list filter, the body;
* course additional field (dropdown): create, options add / rename / remove (the server assigns
  the element id), a course's value set / reset, where options and values appear in reads;
* the error body ``{"name", "message", "code", "status", "field"?}`` (the hook reads ``message``);
* webhook event codes other than ``course.enrollment.completed``.
"""

from __future__ import annotations

from typing import Any

# Change-time filters (what an incremental run reads; the issue asks to say where none exists):
# * course and learning-plan enrollments: no confirmed "changed since" parameter. Docebo
#   Connect's "Get enrollments" action has an "Updated from" filter (findings-2026-12), whose
#   API parameter is not public; the runs send the completion-date range below and check it on
#   every row. A completion recorded late with an earlier date is caught by the weekly reconcile.
# * certification awards: no date filter is known; ``updated_from`` below is sent (invented), and
#   each award's ``updated_at`` (else ``issued_on``) is checked against the window on the client,
#   so on a server without it every award of the mapped certifications is read.
# * users: no list filter by id is confirmed; few learners are read one by one
#   (``GET /manage/v1/user/{id}``, confirmed), many by paging the list once.
COMPLETED_FROM = "completed_from"
COMPLETED_TO = "completed_to"
LP_STATUS_FILTER = "status[]"

AWARDS_PATH = "learn/v1/certification/awards"
AWARD_USER_FILTER = "user_id[]"
AWARD_CERTIFICATION_FILTER = "id_cert[]"
AWARD_STATUS_FILTER = "status[]"
AWARD_UPDATED_FROM = "updated_from"  # awards changed since (inclusive); a server may ignore it
DUPLICATE_STATUS = 409  # a duplicate create (certification award already held)

EXTERNAL_TRAINING_PATH = "learn/v1/external_training"  # the GET is confirmed, the writes are not
EXTERNAL_TRAINING_USER_FILTER = "user_id[]"

COURSE_FIELDS_PATH = "learn/v1/courses/field"  # the GET is confirmed, the writes are not

EVENT_COURSE_COMPLETED = "course.enrollment.completed"  # confirmed
EVENT_CERTIFICATION_AWARDED = "certification.awarded"
EVENT_CERTIFICATION_UPDATED = "certification.updated"
EVENT_CERTIFICATION_REVOKED = "certification.revoked"
EVENT_LEARNING_PLAN_COMPLETED = "learningplan.enrollment.completed"


def award_path(award_id: int) -> str:
    """PUT updates dates / link; DELETE revokes (the award stays listed as ``revoked``)."""
    return f"{AWARDS_PATH}/{award_id}"


def award_body(
    user_id: int,
    certification_id: int,
    issued_on: str,
    expires_on: str | None,
    source: str | None,
    external_link: str | None,
) -> dict[str, Any]:
    return {
        "id_cert": certification_id,
        "user_id": user_id,
        "issued_on": issued_on,
        "expires_on": expires_on,
        "source": source,
        "external_link": external_link,
    }


def external_training_path(training_id: int) -> str:
    return f"{EXTERNAL_TRAINING_PATH}/{training_id}"


def external_training_body(
    user_id: int,
    title: str,
    institute: str,
    date: str,
    expiration_date: str | None,
    badge_url: str | None,
) -> dict[str, Any]:
    """A badge imported as completed external training: course name, institute, date, expiry,
    link to the badge."""
    return {
        "user_id": user_id,
        "title": title,
        "provider": institute,
        "training_type": "badge",
        "date_from": date,
        "expiration_date": expiration_date,
        "certificate_url": badge_url,
    }


EXTERNAL_TRAINING_ID = "external_training_id"
EXTERNAL_TRAINING_BADGE_URL = "certificate_url"


def field_create_body(name: str) -> dict[str, Any]:
    return {"type": "dropdown", "name": name}


def field_options_path(field_id: int | str) -> str:
    return f"{COURSE_FIELDS_PATH}/{field_id}/options"


def field_option_path(field_id: int | str, element_id: int | str) -> str:
    return f"{COURSE_FIELDS_PATH}/{field_id}/options/{element_id}"


def option_body(label: str) -> dict[str, Any]:
    return {"label": label}


def field_name(item: dict[str, Any]) -> str:
    """The field's name in a ``GET /learn/v1/courses/field`` item (``name.value``, confirmed)."""
    name = item.get("name")
    return str(name.get("value", "")) if isinstance(name, dict) else str(name or "")


def field_options(item: dict[str, Any]) -> list[tuple[int, str]]:
    """``(element_id, label)`` of a dropdown field item (the ``options`` key is invented)."""
    return [(int(option["id"]), str(option["label"])) for option in item.get("options") or []]


def course_value_path(course_id: int | str, field_id: int | str) -> str:
    """PUT ``{"value": element_id}`` sets a course's value; DELETE resets it to the default."""
    return f"learn/v1/courses/{course_id}/field/{field_id}"


def course_value_body(element_id: int) -> dict[str, Any]:
    return {"value": element_id}


def course_field_value(course: dict[str, Any], field_id: int | str) -> int | None:
    """A course's element id for the field (course reads carry ``additional_fields``)."""
    for entry in course.get("additional_fields") or []:
        if str(entry.get("id")) == str(field_id):
            value = entry.get("value")
            return int(value) if value not in (None, "") else None
    return None
