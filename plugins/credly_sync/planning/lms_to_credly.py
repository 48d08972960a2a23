"""LMS completions, learning plans and certifications -> Credly badges (issue, revoke, replace).

Rules (Docebo Connect for Credly, 'Docebo to Credly synchronization recipes'):

* one badge per learner and template: when several learning objects map to the same template,
  the earliest completion earns it;
* a learner *holds* a template while a badge of it is pending, accepted or rejected (Credly's
  duplicate rule); a revoked or replaced badge does not count, so a new completion issues again;
* issue when the learner holds no badge of the template; ``issued_at`` is the completion time,
  ``issuer_earner_id`` the LMS user id, evidence titled EVIDENCE_TITLE names the flow;
* expiry: an object that supports expiry (a certification) gives its own expiry, or none when it
  is "always valid"; only objects without an expiry property (courses, learning plans) use
  today + CREDLY_DEFAULT_EXPIRATION_DAYS (none when blank). A date-only expiry is sent at noon
  UTC so that its calendar date is the same in every time zone. Of several awards of one
  certification (an expired one and its renewal) the latest wins;
* a badge is *this package's* when the ledger holds it, or when its ``issuer_earner_id`` is the
  learner's LMS id and its e-mail the learner's: other issuers set earner ids of their own, so
  an earner id alone proves nothing. Another system's badge is never revoked or replaced;
* revoke (only with SYNC_REVOCATION) when the run *read* the award or completion as revoked or
  reset, and the held badge is this package's for that learning object (a badge the ledger
  says another object earned is kept). Nothing is revoked for what the run did not read;
* replace when an LMS object with an expiry (a certification) was renewed or its expiry changed
  and the held badge, issued by this package, carries another expiry: replacing keeps history;
* learners without a first or last name or with an invalid e-mail are reported and not issued;
  revoking needs neither names nor a valid e-mail.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from credly_sync.planning.frames import date_only, frame, records, utc_times
from credly_sync.warehouse.journal import Operation

DESIRED_COLUMNS = (
    "lms_user_id",
    "email",
    "first_name",
    "last_name",
    "object_type",  # course | learning_plan | certification
    "object_id",
    "object_name",
    "badge_template_id",
    "completed_at",
    "lms_expires_at",
    "revoked",
)
ISSUED_COLUMNS = (
    "badge_id",
    "badge_template_id",
    "recipient_email",
    "issuer_earner_id",
    "state",
    "issued_at",
    "expires_at",
)
LEDGER_COLUMNS = (
    "credly_badge_id",
    "lms_user_id",
    "badge_template_id",
    "learning_object_type",
    "learning_object_id",
)
HOLDING_STATES = ("pending", "accepted", "rejected")
ISSUE, REVOKE, REPLACE = "issue", "revoke", "replace"
KINDS = (ISSUE, REVOKE, REPLACE)
SUPPORTS_EXPIRY = ("certification",)  # LMS objects with an expiry property of their own
MASS_REVOCATION_MIN, MASS_REVOCATION_SHARE = 10, 0.02
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
FLOW_NAMES = {
    "course": "course completion",
    "learning_plan": "learning plan completion",
    "certification": "certification award",
}


@dataclass(frozen=True)
class IssuePolicy:
    """The settings that shape what is sent."""

    sync_revocation: bool
    default_expiration_days: int | None
    evidence_title: str
    lms_name: str = "Docebo"


@dataclass(frozen=True)
class LmsToCredlyPlan:
    operations: list[Operation] = field(default_factory=list)
    rejected_learners: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {ISSUE: 0, REVOKE: 0, REPLACE: 0}
        for op in self.operations:
            counts[op.kind] += 1
        return {**counts, "rejected_learners": len(self.rejected_learners)}


class MassRevocationError(ValueError):
    """A plan would revoke more badges than a run may without an explicit go-ahead."""


def plan_lms_to_credly(
    desired: pd.DataFrame, issued: pd.DataFrame, ledger: pd.DataFrame, policy: IssuePolicy, now: datetime
) -> LmsToCredlyPlan:
    """Compare LMS achievements with the badges in Credly and the ledger of badges issued here."""
    desired = _latest_certification_awards(_prepared(desired))
    ledger = ledger[list(LEDGER_COLUMNS)]
    learners = desired[["lms_user_id", "email"]].drop_duplicates()
    holding = _held_badges(issued, ledger, learners)
    valid, rejected = _split_valid_learners(desired[~desired["revoked"]])
    earned = valid.sort_values(["completed_at", "object_type", "object_id"], kind="stable").drop_duplicates(
        ["lms_user_id", "badge_template_id"], keep="first"
    )
    operations: list[Operation] = []
    earned_held = earned.merge(holding, on=["lms_user_id", "badge_template_id"], how="left")
    for row in records(earned_held):
        if row["badge_id"] is None:
            operations.append(_issue(row, policy, now))
        elif (
            row["ours"]
            and row["lms_expires_at"] is not None
            and not _same_day(row["lms_expires_at"], row["expires_at"])
        ):
            operations.append(_replace(row, policy))
    if policy.sync_revocation:
        still_earned = desired.loc[~desired["revoked"], ["lms_user_id", "badge_template_id"]]
        lost = _without(desired[desired["revoked"]], still_earned, ["lms_user_id", "badge_template_id"])
        lost = lost.drop_duplicates(["lms_user_id", "badge_template_id", "object_type", "object_id"])
        for row in records(lost.merge(holding, on=["lms_user_id", "badge_template_id"], how="inner")):
            issued_for_this = row["issued_for"] in (None, f"{row['object_type']}:{row['object_id']}")
            if row["ours"] and issued_for_this:
                operations.append(_revoke(row, policy))
    operations = list({op.op_key: op for op in operations}.values())
    return LmsToCredlyPlan(operations=operations, rejected_learners=records(rejected))


def check_revocation_share(plan: LmsToCredlyPlan, badges_held: int, *, allowed: bool) -> None:
    """Refuse a plan that revokes more than max(10, 2 %) of the badges held, unless ``allowed``:
    a wrong window, setting or mapping must not strip learners of their badges in bulk."""
    revocations = sum(op.kind == REVOKE for op in plan.operations)
    limit = max(MASS_REVOCATION_MIN, math.floor(badges_held * MASS_REVOCATION_SHARE))
    if revocations > limit and not allowed:
        raise MassRevocationError(
            f"the plan would revoke {revocations} of {badges_held} badges held, more than the "
            f"{limit} a run may revoke (max({MASS_REVOCATION_MIN}, {MASS_REVOCATION_SHARE:.0%})); nothing "
            "was journaled. Check the mappings, SYNC_REVOCATION and the LMS data; if these revocations "
            "are right, trigger the run with the param allow_mass_revocation=true"
        )


def _prepared(desired: pd.DataFrame) -> pd.DataFrame:
    """Typed achievements: UTC times (LMS zero dates as null), text ids, boolean ``revoked``."""
    return desired.assign(
        lms_user_id=desired["lms_user_id"].astype(str),
        object_id=desired["object_id"].astype(str),
        completed_at=utc_times(desired["completed_at"]),
        lms_expires_at=utc_times(desired["lms_expires_at"]),
        lms_expires_date_only=date_only(desired["lms_expires_at"]),
        revoked=desired["revoked"].fillna(False).astype(bool),
    )


def _latest_certification_awards(desired: pd.DataFrame) -> pd.DataFrame:
    """One row per learner and certification: the latest award (an expired award and its
    renewal both stay in the LMS; the renewal decides)."""
    is_award = desired["object_type"].eq("certification")
    awards = desired[is_award].sort_values(
        ["completed_at", "lms_expires_at"], kind="stable", na_position="first"
    )
    latest = awards.drop_duplicates(["lms_user_id", "object_id", "badge_template_id"], keep="last")
    return pd.concat([desired[~is_award], latest]).sort_index(kind="stable")


def _split_valid_learners(desired: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    problems = pd.Series("", index=desired.index)
    for column in ("first_name", "last_name"):
        blank = desired[column].fillna("").astype(str).str.strip().eq("")
        problems = problems.where(~blank, problems + f"missing {column.replace('_', ' ')}; ")
    bad_email = ~desired["email"].fillna("").astype(str).str.match(EMAIL)
    problems = problems.where(~bad_email, problems + "invalid e-mail; ")
    bad = problems.ne("")
    rejected = desired.loc[
        bad, ["lms_user_id", "email", "object_type", "object_id", "badge_template_id"]
    ].assign(reason=problems[bad].str.rstrip("; "))
    return desired[~bad], rejected.drop_duplicates(["lms_user_id", "badge_template_id"])


def _held_badges(issued: pd.DataFrame, ledger: pd.DataFrame, learners: pd.DataFrame) -> pd.DataFrame:
    """One held badge per (LMS user, template) and whether this package issued it: by the ledger,
    or by ``issuer_earner_id`` = the learner's LMS id *and* the learner's e-mail (ours); else by
    e-mail alone (issued by someone else)."""
    columns = [
        "lms_user_id",
        "badge_template_id",
        "badge_id",
        "badge_email",
        "expires_at",
        "ours",
        "issued_for",
    ]
    held = issued[issued["state"].isin(HOLDING_STATES)]
    if held.empty:
        return frame([], columns)
    held = held.assign(badge_email=held["recipient_email"], email_key=_email_keys(held["recipient_email"]))
    learners = learners.assign(email_key=_email_keys(learners["email"]))[["lms_user_id", "email_key"]]
    by_ledger = held.merge(
        ledger.rename(columns={"credly_badge_id": "badge_id"}), on=["badge_id", "badge_template_id"]
    )
    by_ledger = by_ledger.assign(ours=True, issued_for=_issued_for(by_ledger))
    by_earner_id = held[held["issuer_earner_id"].notna()].assign(
        lms_user_id=lambda df: df["issuer_earner_id"].astype(str)
    )
    by_earner_id = by_earner_id.merge(learners, on=["lms_user_id", "email_key"]).assign(ours=True)
    by_email = held.merge(learners, on="email_key").assign(ours=False)
    matched = pd.concat([by_ledger, by_earner_id, by_email], ignore_index=True)
    matched = matched.assign(lms_user_id=matched["lms_user_id"].astype(str))
    return (
        matched.assign(expires_at=utc_times(matched["expires_at"]))[columns]
        .sort_values("ours", ascending=False, kind="stable")
        .drop_duplicates(["lms_user_id", "badge_template_id"])
    )


def _email_keys(emails: pd.Series) -> pd.Series:
    return emails.fillna("").astype(str).str.strip().str.lower()


def _without(df: pd.DataFrame, other: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Rows of ``df`` whose ``on`` values do not occur in ``other``."""
    merged = df.merge(other[on].drop_duplicates(), on=on, how="left", indicator=True)
    return merged[merged["_merge"].eq("left_only")].drop(columns="_merge")


def _issued_for(ledger_rows: pd.DataFrame) -> pd.Series:
    """``type:id`` of the learning object a ledger badge was issued for (None when unknown)."""
    known = ledger_rows["learning_object_type"].notna() & ledger_rows["learning_object_id"].notna()
    labels = (
        ledger_rows["learning_object_type"].astype(str) + ":" + ledger_rows["learning_object_id"].astype(str)
    )
    return labels.where(known, None)


def _same_day(a: Any, b: Any) -> bool:
    if a is None or b is None or pd.isna(b):
        return a is None and (b is None or pd.isna(b))
    return pd.Timestamp(a).date() == pd.Timestamp(b).date()


def _credly_time(moment: Any) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S +0000")


def _expiry(row: dict[str, Any], policy: IssuePolicy, now: datetime) -> str | None:
    if row["lms_expires_at"] is not None or row["object_type"] in SUPPORTS_EXPIRY:
        return _credly_expiry(row)  # its own expiry, or none for an "always valid" object
    if policy.default_expiration_days:
        return _credly_time(pd.Timestamp(now) + timedelta(days=policy.default_expiration_days))
    return None


def _credly_expiry(row: dict[str, Any]) -> str | None:
    """The LMS object's own expiry; a calendar date at noon UTC, which is that date everywhere
    from UTC-12 to UTC+11 (Credly shows dates in the viewer's zone)."""
    expiry = row["lms_expires_at"]
    if expiry is None:
        return None
    if row["lms_expires_date_only"]:
        return pd.Timestamp(expiry).strftime("%Y-%m-%d 12:00:00 +0000")
    return _credly_time(expiry)


def _evidence(row: dict[str, Any], policy: IssuePolicy) -> list[dict[str, Any]]:
    flow = FLOW_NAMES[row["object_type"]]
    return [
        {
            "type": "IdEvidence",
            "title": policy.evidence_title,
            "description": f"{policy.lms_name} {flow}: {row['object_name'] or row['object_id']} "
            f"({row['object_type']} {row['object_id']})",
        }
    ]


def _issue(row: dict[str, Any], policy: IssuePolicy, now: datetime) -> Operation:
    completed = pd.Timestamp(row["completed_at"]).strftime("%Y%m%dT%H%M%S")
    return Operation(
        op_key=f"{ISSUE}:{row['badge_template_id']}:{row['lms_user_id']}:{completed}",
        kind=ISSUE,
        target=str(row["lms_user_id"]),
        payload={
            "badge": {
                "recipient_email": row["email"],
                "issued_to_first_name": row["first_name"],
                "issued_to_last_name": row["last_name"],
                "badge_template_id": row["badge_template_id"],
                "issued_at": _credly_time(row["completed_at"]),
                "issuer_earner_id": str(row["lms_user_id"]),
                "expires_at": _expiry(row, policy, now),
                "evidence": _evidence(row, policy),
            },
            "learning_object": {"type": row["object_type"], "id": str(row["object_id"])},
        },
    )


def _replace(row: dict[str, Any], policy: IssuePolicy) -> Operation:
    expiry = _credly_expiry(row)
    return Operation(
        op_key=f"{REPLACE}:{row['badge_id']}:{pd.Timestamp(row['lms_expires_at']).strftime('%Y%m%d')}",
        kind=REPLACE,
        target=str(row["lms_user_id"]),
        payload={
            "badge_id": row["badge_id"],
            "recipient_email": row["badge_email"],
            "badge": {
                "badge_template_id": row["badge_template_id"],
                "issued_at": _credly_time(row["completed_at"]),
                "issuer_earner_id": str(row["lms_user_id"]),
                "expires_at": expiry,
                "evidence": _evidence(row, policy),
            },
            "learning_object": {"type": row["object_type"], "id": str(row["object_id"])},
        },
    )


def _revoke(row: dict[str, Any], policy: IssuePolicy) -> Operation:
    flow = FLOW_NAMES[row["object_type"]]
    return Operation(
        op_key=f"{REVOKE}:{row['badge_id']}",
        kind=REVOKE,
        target=str(row["lms_user_id"]),
        payload={
            "badge_id": row["badge_id"],
            "badge_template_id": row["badge_template_id"],
            "recipient_email": row["badge_email"],
            "reason": f"{policy.lms_name} {flow} {row['object_id']} was revoked or reset",
        },
    )
