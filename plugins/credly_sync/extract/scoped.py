"""Hooks whose list reads are narrowed to the learners or earners webhook events name.

The event DAG runs the batch syncs' own extract functions (``extract/lms.py``,
``extract/credly_to_lms.py``) through these hooks, so an event is planned from the same inputs
a batch run would read for that learner, fetched from the source's API now, never from the
webhook body. The narrowing uses filters the hooks already send and check on every row
(``id_user[]`` / ``user_id[]`` on Docebo lists, ``recipient_email`` on Credly badges).

The user list the extract functions page through once per run (``iter_users()``) is a few
look-ups here instead: a run with a handful of events must not page a whole tenant's users
(Docebo allows 1,000 calls an hour per IP).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from credly_sync.hooks.base import NotFoundError
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook

EMAIL_CHUNK = 50  # e-mails per Credly filter, as extract/credly_to_lms.py sends them
LOOKUP_LIMIT = 100  # above this many learners one walk of the user list costs fewer calls


class LearnerScopedDoceboHook(DoceboHook):
    """A DoceboHook whose enrollment, learning plan and certification award lists hold only
    ``user_ids`` (a caller's own user filter is narrowed further, never widened)."""

    def __init__(self, docebo_conn_id: str, user_ids: Collection[int], **kwargs: Any) -> None:
        super().__init__(docebo_conn_id, **kwargs)
        self.scope = sorted({int(u) for u in user_ids})

    def iter_users(self, search_text: str | None = None) -> Iterator[dict[str, Any]]:
        """The scoped users, one look-up each (the whole list for a large scope)."""
        if search_text is not None or len(self.scope) > LOOKUP_LIMIT:
            yield from super().iter_users(search_text)
            return
        for user_id in self.scope:
            try:
                yield {**self.get_user(user_id), "user_id": user_id}
            except NotFoundError:
                continue  # an event may name a user deleted since, or none at all

    def _users(self, user_ids: Iterable[int] | None) -> list[int]:
        if user_ids is None:
            return self.scope
        return sorted(set(self.scope) & {int(u) for u in user_ids})

    def iter_enrollments(
        self, *, user_ids: Iterable[int] | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        users = self._users(user_ids)
        return super().iter_enrollments(user_ids=users, **kwargs) if users else iter(())

    def iter_learning_plan_enrollments(
        self, *, user_ids: Iterable[int] | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        users = self._users(user_ids)
        return super().iter_learning_plan_enrollments(user_ids=users, **kwargs) if users else iter(())

    def iter_certification_awards(
        self, *, user_ids: Iterable[int] | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        users = self._users(user_ids)
        return super().iter_certification_awards(user_ids=users, **kwargs) if users else iter(())


class EarnerScopedDoceboHook(DoceboHook):
    """A DoceboHook whose user list holds the users found by these e-mails (Docebo's search is
    fuzzy: the extract function matches the e-mail exactly, as it does on the whole list)."""

    def __init__(self, docebo_conn_id: str, emails: Collection[str], **kwargs: Any) -> None:
        super().__init__(docebo_conn_id, **kwargs)
        self.scope = sorted({e.strip().lower() for e in emails if e and e.strip()})

    def iter_users(self, search_text: str | None = None) -> Iterator[dict[str, Any]]:
        if search_text is not None or len(self.scope) > LOOKUP_LIMIT:
            yield from super().iter_users(search_text)
            return
        seen: set[str] = set()
        for email in self.scope:
            for user in super().iter_users(email):
                if str(user.get("user_id")) not in seen:
                    seen.add(str(user.get("user_id")))
                    yield user


class EarnerScopedCredlyHook(CredlyHook):
    """A CredlyHook whose issued-badge list holds only the badges of ``emails`` (a caller's own
    e-mail filter is kept as it is: it is narrower already)."""

    def __init__(self, credly_conn_id: str, emails: Collection[str], **kwargs: Any) -> None:
        super().__init__(credly_conn_id, **kwargs)
        self.scope = sorted({e.strip().lower() for e in emails if e and e.strip()})

    def iter_badges(self, *, sort: str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        if filters.get("recipient_email") is not None:
            yield from super().iter_badges(sort=sort, **filters)
            return
        for start in range(0, len(self.scope), EMAIL_CHUNK):
            chunk = self.scope[start : start + EMAIL_CHUNK]
            yield from super().iter_badges(sort=sort, recipient_email=chunk, **filters)
