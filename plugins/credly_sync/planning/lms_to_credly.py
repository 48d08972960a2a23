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
  says another object earned is kept; a reset revokes only a badge the ledger ties to that
  object, since an enrollment in progress may never have been completed). Nothing is revoked
  for what the run did not read;
* replace when an LMS object with an expiry (a certification) was renewed or its expiry changed
  and the held badge, issued by this package, carries another expiry: replacing keeps history;
* learners without a first or last name or with an invalid e-mail are reported and not issued;
  revoking needs neither names nor a valid e-mail.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from credly_sync.planning.frames import date_only, frame, records, utc_times
from credly_sync.planning.operations import Operation

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
    "badge": "badge achievement",  # an LMS badge achieved otherwise (an ALM skill level)
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
    """Compare LMS achievements with the badges in Credly and the ledger of badges issued here.

    Whole columns only: the rules select rows with merges and masks, and the texts (keys, times,
    evidence) are built column by column; Python touches each *operation* once, to assemble it.
    """
    desired = _latest_certification_awards(_prepared(desired))
    ledger = ledger[list(LEDGER_COLUMNS)]
    learners = desired[["lms_user_id", "email"]].drop_duplicates()
    holding = _held_badges(issued, ledger, learners)
    valid, rejected = _split_valid_learners(desired[~desired["revoked"]])
    earned = valid.sort_values(["completed_at", "object_type", "object_id"], kind="stable").drop_duplicates(
        ["lms_user_id", "badge_template_id"], keep="first"
    )
    earned_held = earned.merge(holding, on=["lms_user_id", "badge_template_id"], how="left").reset_index(
        drop=True
    )
    to_issue = earned_held["badge_id"].isna()
    to_replace = (
        ~to_issue
        & earned_held["ours"].eq(True)
        & earned_held["lms_expires_at"].notna()
        & ~_same_day(earned_held["lms_expires_at"], earned_held["expires_at"])
    )
    with _collector_paused():
        operations = _in_row_order(
            (to_issue[to_issue].index, _issues(earned_held[to_issue], policy, now)),
            (to_replace[to_replace].index, _replaces(earned_held[to_replace], policy)),
        )
    if policy.sync_revocation:
        still_earned = desired.loc[~desired["revoked"], ["lms_user_id", "badge_template_id"]]
        lost = _without(desired[desired["revoked"]], still_earned, ["lms_user_id", "badge_template_id"])
        lost = lost.drop_duplicates(["lms_user_id", "badge_template_id", "object_type", "object_id"])
        lost_held = lost.merge(holding, on=["lms_user_id", "badge_template_id"], how="inner")
        label = lost_held["object_type"].astype(str) + ":" + lost_held["object_id"].astype(str)
        # a reset (an enrollment read in another status: no completion date) revokes only a badge
        # the ledger ties to that object; a revoked award (dated) any badge of ours not tied elsewhere
        unknown_object = lost_held["issued_for"].isna() & lost_held["completed_at"].notna()
        issued_for_this = lost_held["issued_for"].eq(label) | unknown_object
        with _collector_paused():
            operations += _revokes(lost_held[lost_held["ours"].eq(True) & issued_for_this], policy)
    # one operation per key; the last planned wins, in the place of the first (as a dict keeps)
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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while operations are assembled: it would walk the
    growing heap again and again (a quarter of the plan's CPU at 300k operations), and the
    dicts and lists of a payload hold no reference cycles for it to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _in_row_order(*parts: tuple[pd.Index, list[Operation]]) -> list[Operation]:
    """Operations of several kinds, each list in the order of its row positions, interleaved by
    those positions (the order a row-by-row plan would give)."""
    positions = np.concatenate([np.asarray(index, dtype=np.int64) for index, _ in parts])
    operations = [op for _, ops in parts for op in ops]
    return [operations[i] for i in np.argsort(positions, kind="stable")]


def _values(column: pd.Series) -> list[Any]:
    """A column as Python values, ``None`` where missing."""
    return column.astype(object).where(column.notna(), None).tolist()


def _texts(column: pd.Series) -> pd.Series:
    """A column as text (what an f-string shows), missing values kept missing."""
    return column.astype(object).where(column.isna(), column.astype(str))


def _utc(moments: pd.Series) -> pd.Series:
    """A UTC time column (a column of nothing but missing values comes untyped from a merge)."""
    if isinstance(moments.dtype, pd.DatetimeTZDtype):
        return moments
    return pd.to_datetime(moments, utc=True)


def _same_day(a: pd.Series, b: pd.Series) -> pd.Series:
    """Whether two UTC time columns fall on the same calendar day (both missing: the same)."""
    a, b = _utc(a), _utc(b)
    same = a.dt.floor("D").eq(b.dt.floor("D"))
    return (same & a.notna() & b.notna()) | (a.isna() & b.isna())


def _iso_seconds(moments: pd.Series) -> pd.Series:
    """``YYYY-MM-DDTHH:MM:SS`` of UTC moments (NaT: missing), formatted by numpy in one call."""
    moments = _utc(moments)
    utc = moments.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("s")
    text = pd.Series(np.datetime_as_string(utc.to_numpy(), unit="s"), index=moments.index, dtype=object)
    return text.where(moments.notna(), None)


def _credly_times(moments: pd.Series) -> pd.Series:
    """Credly's time format (UTC) for each moment."""
    return _iso_seconds(moments).str.replace("T", " ", regex=False) + " +0000"


def _credly_time(moment: Any) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S +0000")


def _credly_expiries(rows: pd.DataFrame) -> pd.Series:
    """The LMS object's own expiry, missing when it has none; a calendar date at noon UTC, which is
    that date everywhere from UTC-12 to UTC+11 (Credly shows dates in the viewer's zone)."""
    expiry = rows["lms_expires_at"]
    at_noon = _iso_seconds(expiry).str.slice(0, 10) + " 12:00:00 +0000"
    return _credly_times(expiry).where(~rows["lms_expires_date_only"].astype(bool), at_noon)


def _expiries(rows: pd.DataFrame, policy: IssuePolicy, now: datetime) -> pd.Series:
    """Its own expiry for an object that has one or supports expiry (none when "always valid");
    today + the default days for courses and learning plans (none when blank)."""
    own = rows["lms_expires_at"].notna() | rows["object_type"].isin(SUPPORTS_EXPIRY)
    default = None
    if policy.default_expiration_days and not own.all():
        default = _credly_time(pd.Timestamp(now) + timedelta(days=policy.default_expiration_days))
    return _credly_expiries(rows).where(own, default)


def _flows(rows: pd.DataFrame) -> pd.Series:
    flows = rows["object_type"].map(FLOW_NAMES)
    unknown = flows.isna()
    if unknown.any():
        raise KeyError(rows.loc[unknown, "object_type"].iloc[0])
    return flows


def _evidences(rows: pd.DataFrame, policy: IssuePolicy) -> list[list[dict[str, Any]]]:
    named = rows["object_name"].notna() & _texts(rows["object_name"]).ne("")
    name = _texts(rows["object_name"]).where(named, rows["object_id"])
    descriptions = (
        f"{policy.lms_name} "
        + _flows(rows)
        + ": "
        + name
        + " ("
        + rows["object_type"].astype(str)
        + " "
        + rows["object_id"]
        + ")"
    )
    title = policy.evidence_title
    return [[{"type": "IdEvidence", "title": title, "description": d}] for d in descriptions.tolist()]


def _learning_objects(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"type": kind, "id": object_id}
        for kind, object_id in zip(_values(rows["object_type"]), rows["object_id"].tolist(), strict=True)
    ]


def _issues(rows: pd.DataFrame, policy: IssuePolicy, now: datetime) -> list[Operation]:
    if rows.empty:
        return []
    if rows["completed_at"].isna().any():  # the key and issued_at need it: never a "nan" key
        raise ValueError("an achievement to issue has no completion time")
    users = rows["lms_user_id"].astype(str)
    completed = _iso_seconds(rows["completed_at"]).str.replace(r"[-:]", "", regex=True)
    keys = f"{ISSUE}:" + _texts(rows["badge_template_id"]) + ":" + users + ":" + completed
    columns = zip(
        keys.tolist(),
        users.tolist(),
        _values(rows["email"]),
        _values(rows["first_name"]),
        _values(rows["last_name"]),
        _values(rows["badge_template_id"]),
        _values(_credly_times(rows["completed_at"])),
        _values(_expiries(rows, policy, now)),
        _evidences(rows, policy),
        _learning_objects(rows),
        strict=True,
    )
    return [
        Operation(
            op_key=key,
            kind=ISSUE,
            target=user,
            payload={
                "badge": {
                    "recipient_email": email,
                    "issued_to_first_name": first,
                    "issued_to_last_name": last,
                    "badge_template_id": template,
                    "issued_at": issued_at,
                    "issuer_earner_id": user,
                    "expires_at": expires_at,
                    "evidence": evidence,
                },
                "learning_object": learning_object,
            },
        )
        for key, user, email, first, last, template, issued_at, expires_at, evidence, learning_object in (
            columns
        )
    ]


def _replaces(rows: pd.DataFrame, policy: IssuePolicy) -> list[Operation]:
    if rows.empty:
        return []
    users = rows["lms_user_id"].astype(str)
    expiry_day = _iso_seconds(rows["lms_expires_at"]).str.slice(0, 10).str.replace("-", "", regex=False)
    keys = f"{REPLACE}:" + _texts(rows["badge_id"]) + ":" + expiry_day
    columns = zip(
        keys.tolist(),
        users.tolist(),
        _values(rows["badge_id"]),
        _values(rows["badge_email"]),
        _values(rows["badge_template_id"]),
        _values(_credly_times(rows["completed_at"])),
        _values(_credly_expiries(rows)),
        _evidences(rows, policy),
        _learning_objects(rows),
        strict=True,
    )
    return [
        Operation(
            op_key=key,
            kind=REPLACE,
            target=user,
            payload={
                "badge_id": badge_id,
                "recipient_email": email,
                "badge": {
                    "badge_template_id": template,
                    "issued_at": issued_at,
                    "issuer_earner_id": user,
                    "expires_at": expires_at,
                    "evidence": evidence,
                },
                "learning_object": learning_object,
            },
        )
        for key, user, badge_id, email, template, issued_at, expires_at, evidence, learning_object in columns
    ]


def _revokes(rows: pd.DataFrame, policy: IssuePolicy) -> list[Operation]:
    if rows.empty:
        return []
    reasons = f"{policy.lms_name} " + _flows(rows) + " " + rows["object_id"] + " was revoked or reset"
    columns = zip(
        (f"{REVOKE}:" + _texts(rows["badge_id"])).tolist(),
        rows["lms_user_id"].astype(str).tolist(),
        _values(rows["badge_id"]),
        _values(rows["badge_template_id"]),
        _values(rows["badge_email"]),
        reasons.tolist(),
        strict=True,
    )
    return [
        Operation(
            op_key=key,
            kind=REVOKE,
            target=user,
            payload={
                "badge_id": badge_id,
                "badge_template_id": template,
                "recipient_email": email,
                "reason": reason,
            },
        )
        for key, user, badge_id, template, email, reason in columns
    ]
