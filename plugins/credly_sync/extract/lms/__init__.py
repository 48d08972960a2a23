"""The LMS seam: what every learning management system adapter gives the sync.

The planners, the journal, the ledger and the Credly apply operators are one for every LMS;
an adapter only reads (and, where the LMS takes them, writes back). It gives:

* :meth:`LmsAdapter.achievements`: the achievements of a window that earn Credly badges
  (``ACHIEVEMENT_COLUMNS``: who, which learning object, which template, when, revoked or not);
* :meth:`LmsAdapter.learners`: e-mail and names of learners by LMS id;
* :meth:`LmsAdapter.write_back`: the Credly -> LMS side (external training, certification
  awards), or None when the LMS takes no write-back.

A third LMS is one adapter module here (with its hook in ``hooks/``), one entry in
:data:`ADAPTERS` and one simulator; the LMS setting names it.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Self

import pandas as pd

from credly_sync.planning.lms_to_credly import DESIRED_COLUMNS
from credly_sync.runs import SyncWindow, lms_streams

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from credly_sync.hooks.base import ApiHttpHook, CallBudget
    from credly_sync.settings import IntegrationSettings

log = logging.getLogger(__name__)
LEARNER_COLUMNS = ("lms_user_id", "email", "first_name", "last_name")
ACHIEVEMENT_COLUMNS = tuple(c for c in DESIRED_COLUMNS if c not in LEARNER_COLUMNS[1:])

#: LMS setting value -> ``module:class`` of its adapter (imported when chosen).
ADAPTERS = {
    "DOCEBO": "credly_sync.extract.lms.docebo:DoceboLms",
    "ALM": "credly_sync.extract.lms.alm:AlmLms",
}


@dataclass(frozen=True)
class AchievementQuery:
    """What an LMS -> Credly run asks of the LMS.

    :param window: the run's window.
    :param engine: the warehouse (for an adapter's own tables, e.g. ALM's imported badge.csv).
    :param settings: the integration settings.
    :param mappings: the usable active rows of credly_integration_mappings.
    :param templates: the Credly Badge Templates lookup table.
    :param synced_award_ids: award ids credly_to_lms made (they came from Credly: never read back).
    """

    window: SyncWindow
    engine: Engine
    settings: IntegrationSettings
    mappings: pd.DataFrame
    templates: pd.DataFrame
    synced_award_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Achievements:
    """An adapter's answer: ``rows`` in ACHIEVEMENT_COLUMNS, and ``course_templates`` (course id
    -> template id) when the LMS selects templates on its courses (kept in the warehouse)."""

    rows: pd.DataFrame
    course_templates: dict[str, str] | None = None
    problems: list[str] = field(default_factory=list)


class LmsAdapter(ABC):
    """One LMS, read through its hook. ``learners`` / ``earners`` narrow every read to the LMS
    users with these ids / e-mails (the event DAG's runs)."""

    name: ClassVar[str]  # the LMS setting's value
    title: ClassVar[str]  # shown in evidence and logs
    hook_class: ClassVar[type[ApiHttpHook]]
    default_conn_id: ClassVar[str]
    stream_prefix: ClassVar[str]  # of the watermark streams

    def __init__(self, hook: ApiHttpHook, learners: Collection[str] | None = None) -> None:
        self.hook = hook
        self.scope = None if learners is None else sorted({str(u) for u in learners})

    @classmethod
    def connect(
        cls,
        conn_id: str | None = None,
        *,
        learners: Collection[str] | None = None,
        earners: Collection[str] | None = None,
        budget: CallBudget | None = None,
    ) -> Self:
        """The adapter on connection ``conn_id`` (None: ``default_conn_id``), its calls paced by
        ``budget``."""
        hook = cls.scoped_hook(conn_id or cls.default_conn_id, learners, earners)
        hook.budget = budget
        return cls(hook, learners)

    @classmethod
    def scoped_hook(
        cls, conn_id: str, learners: Collection[str] | None, earners: Collection[str] | None
    ) -> ApiHttpHook:
        """The hook the reads go through; an adapter whose hook narrows the reads to
        ``learners`` / ``earners`` returns such a hook (the default narrows nothing: the
        adapter reads by ``self.scope``)."""
        return cls.hook_class(conn_id)

    @abstractmethod
    def achievements(self, query: AchievementQuery) -> Achievements:
        """The window's achievements that earn a badge (and, on a full reconcile, the revoked)."""

    @abstractmethod
    def learners(self, user_ids: Iterable[str]) -> pd.DataFrame:
        """LEARNER_COLUMNS of these LMS users (those that no longer exist left out)."""

    def write_back(self) -> LmsWriteBack | None:
        """The Credly -> LMS side, or None: the LMS takes no write-back."""
        return None

    @classmethod
    def streams(cls) -> tuple[str, ...]:
        return lms_streams(cls.stream_prefix)


class LmsWriteBack(ABC):
    """What credly_to_lms reads from an LMS that takes Credly badges back."""

    @abstractmethod
    def users_by_email(self, emails: Iterable[object]) -> pd.DataFrame:
        """LMS_USER_COLUMNS of the users whose e-mail is one of ``emails`` (case-insensitive)."""

    @abstractmethod
    def certification_ids(self, codes: Iterable[str]) -> dict[str, int]:
        """Certification code -> LMS certification id, for the codes that exist."""

    @abstractmethod
    def external_trainings(self, user_ids: Iterable[str]) -> pd.DataFrame:
        """EXTERNAL_TRAINING_COLUMNS of these users that link to a Credly badge."""

    @abstractmethod
    def certification_awards(self, user_ids: Iterable[str], ids_by_code: dict[str, int]) -> pd.DataFrame:
        """AWARD_COLUMNS of these users for the mapped certifications, in any status."""


def adapter_class(lms: str) -> type[LmsAdapter]:
    """The adapter class of an LMS setting value (``DOCEBO``, ``ALM``)."""
    try:
        module, name = ADAPTERS[lms].split(":")
    except KeyError:
        raise ValueError(f"LMS {lms!r} has no adapter; known: {', '.join(ADAPTERS)}") from None
    return getattr(importlib.import_module(module), name)


# --- shared by the adapters ---------------------------------------------------------------------


def templates_by(mappings: pd.DataFrame, column: str) -> dict[str, list[str]]:
    """A mapping column's value (learning plan id, certification code, ...) -> the badge
    template ids it maps to (one object may map to several templates)."""
    if mappings.empty or column not in mappings:
        return {}
    rows = mappings[mappings[column].notna()]
    templates: dict[str, list[str]] = {}
    for key, template in zip(rows[column].astype(str), rows["badge_template_id"], strict=True):
        if template not in templates.setdefault(key, []):
            templates[key].append(template)
    return templates


def per_template(achievements: pd.DataFrame, templates: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """One row per achievement and template its object maps to (a mapping may name several)."""
    chosen = achievements["object_id"].map(lambda object_id: list(templates.get(object_id, ())))
    exploded = achievements.assign(badge_template_id=chosen).explode("badge_template_id")
    return exploded[exploded["badge_template_id"].notna()].reset_index(drop=True)


def completions_in_window(enrollments: pd.DataFrame, window: SyncWindow, what: str) -> pd.DataFrame:
    """Enrollments (``status`` ``completed`` or another) as achievements: completions inside the
    window; on a full reconcile, enrollments read in another status as ``revoked`` (reset).
    Completions without a date are reported, not used."""
    completed = enrollments["status"].eq("completed")
    when = pd.to_datetime(enrollments["completed_at"], utc=True, format="ISO8601")
    undated = completed & when.isna()
    if undated.any():
        log.warning("%d completed %s have no completion date and are left out", int(undated.sum()), what)
    in_window = (when >= window.start) & (when < window.end)
    earned = enrollments[completed & in_window].assign(revoked=False)
    reset = enrollments[~completed & window.full].assign(revoked=True, completed_at=None)
    both = pd.concat([earned, reset], ignore_index=True).assign(lms_expires_at=None)
    return both[list(ACHIEVEMENT_COLUMNS)].reset_index(drop=True)
