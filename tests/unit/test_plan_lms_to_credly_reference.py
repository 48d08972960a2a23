"""The column-wise LMS -> Credly planner against a row-by-row reference, on random worlds.

The reference is the planner as it was written first (one Python loop over the rows, one
Timestamp per value): small enough to read, too slow at scale. Both must give the same
operations, in the same order, for every world.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from credly_sync.planning import lms_to_credly as planner
from credly_sync.planning.frames import frame, records
from credly_sync.planning.lms_to_credly import (
    DESIRED_COLUMNS,
    FLOW_NAMES,
    ISSUED_COLUMNS,
    LEDGER_COLUMNS,
    SUPPORTS_EXPIRY,
    IssuePolicy,
    Operation,
    plan_lms_to_credly,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def reference_plan(
    desired: pd.DataFrame, issued: pd.DataFrame, ledger: pd.DataFrame, policy: IssuePolicy, now: datetime
) -> list[Operation]:
    desired = planner._latest_certification_awards(planner._prepared(desired))
    ledger = ledger[list(LEDGER_COLUMNS)]
    holding = planner._held_badges(issued, ledger, desired[["lms_user_id", "email"]].drop_duplicates())
    valid, _ = planner._split_valid_learners(desired[~desired["revoked"]])
    earned = valid.sort_values(["completed_at", "object_type", "object_id"], kind="stable").drop_duplicates(
        ["lms_user_id", "badge_template_id"], keep="first"
    )
    operations = []
    for row in records(earned.merge(holding, on=["lms_user_id", "badge_template_id"], how="left")):
        if row["badge_id"] is None:
            operations.append(_issue(row, policy, now))
        elif row["ours"] and row["lms_expires_at"] is not None and not _same_day(row):
            operations.append(_replace(row, policy))
    if policy.sync_revocation:
        pair = ["lms_user_id", "badge_template_id"]
        lost = planner._without(desired[desired["revoked"]], desired.loc[~desired["revoked"], pair], pair)
        lost = lost.drop_duplicates([*pair, "object_type", "object_id"])
        for row in records(lost.merge(holding, on=pair, how="inner")):
            tied = row["issued_for"] == f"{row['object_type']}:{row['object_id']}"
            dated = row["issued_for"] is None and row["completed_at"] is not None  # not a reset
            if row["ours"] and (tied or dated):
                operations.append(_revoke(row, policy))
    return list({op.op_key: op for op in operations}.values())


def _same_day(row: dict[str, Any]) -> bool:
    b = row["expires_at"]
    if b is None or pd.isna(b):
        return False
    return pd.Timestamp(row["lms_expires_at"]).date() == pd.Timestamp(b).date()


def _time(moment: Any) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S +0000")


def _own_expiry(row: dict[str, Any]) -> str | None:
    if row["lms_expires_at"] is None:
        return None
    if row["lms_expires_date_only"]:
        return pd.Timestamp(row["lms_expires_at"]).strftime("%Y-%m-%d 12:00:00 +0000")
    return _time(row["lms_expires_at"])


def _evidence(row: dict[str, Any], policy: IssuePolicy) -> list[dict[str, Any]]:
    name = row["object_name"] or row["object_id"]
    flow = FLOW_NAMES[row["object_type"]]
    description = f"{policy.lms_name} {flow}: {name} ({row['object_type']} {row['object_id']})"
    return [{"type": "IdEvidence", "title": policy.evidence_title, "description": description}]


def _issue(row: dict[str, Any], policy: IssuePolicy, now: datetime) -> Operation:
    if row["lms_expires_at"] is not None or row["object_type"] in SUPPORTS_EXPIRY:
        expires = _own_expiry(row)
    elif policy.default_expiration_days:
        expires = _time(pd.Timestamp(now) + timedelta(days=policy.default_expiration_days))
    else:
        expires = None
    completed = pd.Timestamp(row["completed_at"]).strftime("%Y%m%dT%H%M%S")
    user = str(row["lms_user_id"])
    badge = {
        "recipient_email": row["email"],
        "issued_to_first_name": row["first_name"],
        "issued_to_last_name": row["last_name"],
        "badge_template_id": row["badge_template_id"],
        "issued_at": _time(row["completed_at"]),
        "issuer_earner_id": user,
        "expires_at": expires,
        "evidence": _evidence(row, policy),
    }
    learning_object = {"type": row["object_type"], "id": str(row["object_id"])}
    key = f"issue:{row['badge_template_id']}:{user}:{completed}"
    return Operation(key, "issue", user, {"badge": badge, "learning_object": learning_object})


def _replace(row: dict[str, Any], policy: IssuePolicy) -> Operation:
    user = str(row["lms_user_id"])
    badge = {
        "badge_template_id": row["badge_template_id"],
        "issued_at": _time(row["completed_at"]),
        "issuer_earner_id": user,
        "expires_at": _own_expiry(row),
        "evidence": _evidence(row, policy),
    }
    payload = {
        "badge_id": row["badge_id"],
        "recipient_email": row["badge_email"],
        "badge": badge,
        "learning_object": {"type": row["object_type"], "id": str(row["object_id"])},
    }
    key = f"replace:{row['badge_id']}:{pd.Timestamp(row['lms_expires_at']).strftime('%Y%m%d')}"
    return Operation(key, "replace", user, payload)


def _revoke(row: dict[str, Any], policy: IssuePolicy) -> Operation:
    reason = f"{policy.lms_name} {FLOW_NAMES[row['object_type']]} {row['object_id']} was revoked or reset"
    payload = {
        "badge_id": row["badge_id"],
        "badge_template_id": row["badge_template_id"],
        "recipient_email": row["badge_email"],
        "reason": reason,
    }
    return Operation(f"revoke:{row['badge_id']}", "revoke", str(row["lms_user_id"]), payload)


# --- random worlds ----------------------------------------------------------------------------------

TIMES = ("2026-05-01T09:30:00Z", "2026-05-01 09:30:00", "2026-04-30T23:59:59.900+02:00", "2025-12-31")
EXPIRIES = (None, "0000-00-00", "0000-00-00 00:00:00", "", "2027-03-01", "2027-03-01T23:30:00-05:00")
BADGE_EXPIRIES = (None, "2027-03-01T12:00:00Z", "2027-03-02T01:00:00.000Z", "2026-01-01T00:00:00Z")


def random_world(rng: random.Random) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    users = [str(10_000 + i) for i in range(rng.randint(1, 5))]
    spellings = ("l{}@example.com", "l{}@example.com", "L{}@Example.com ", "bad", None)
    email = {}
    for user in users:
        spelling = rng.choice(spellings)
        email[user] = spelling.format(user) if spelling else None
    objects = [("course", "42"), ("course", "43"), ("learning_plan", "LP-1"), ("certification", "CERT-1")]
    objects += [("certification", "CERT-2")] * 2
    revoked_share = rng.choice([0.1, 0.5, 0.9])
    desired = []
    for _ in range(rng.randint(0, 40)):
        user, (kind, object_id) = rng.choice(users), rng.choice(objects)
        revoked = rng.random() < revoked_share
        desired.append(
            {
                "lms_user_id": user,
                "email": email[user],
                "first_name": rng.choice(["Ada", " ", None, "Émile"]),
                "last_name": rng.choice(["Lovelace", "", "Zola"]),
                "object_type": kind,
                "object_id": object_id,
                "object_name": rng.choice(["Cloud Basics", "", None]),
                "badge_template_id": rng.choice(["t1", "t2", "t3"]),
                "completed_at": None if revoked and rng.random() < 0.5 else rng.choice(TIMES),
                "lms_expires_at": rng.choice(EXPIRIES),
                "revoked": revoked,
            }
        )
    issued, ledger = [], []
    for index in range(rng.randint(0, 2 * len(desired))):
        # mostly a badge of a learner and template the LMS names, so that every rule is reached
        row = rng.choice(desired) if desired and rng.random() < 0.85 else None
        user = row["lms_user_id"] if row else rng.choice(users)
        badge = {
            "badge_id": f"b{index}",
            "badge_template_id": row["badge_template_id"] if row else rng.choice(["t1", "t2", "t3"]),
            "recipient_email": rng.choice([email[user] or "x@example.com", "other@example.com"]),
            "issuer_earner_id": rng.choice([user, user, None, "99"]),
            "state": rng.choice(["pending", "accepted", "rejected", "revoked", "replaced"]),
            "issued_at": "2026-01-01T00:00:00Z",
            "expires_at": rng.choice(BADGE_EXPIRIES),
        }
        issued.append(badge)
        if rng.random() < 0.4:
            kind, object_id = rng.choice([*objects, (None, None)])
            ledger.append(
                {
                    "credly_badge_id": badge["badge_id"],
                    "lms_user_id": user,
                    "badge_template_id": badge["badge_template_id"],
                    "learning_object_type": kind,
                    "learning_object_id": object_id,
                }
            )
    return frame(desired, DESIRED_COLUMNS), frame(issued, ISSUED_COLUMNS), frame(ledger, LEDGER_COLUMNS)


@pytest.mark.parametrize("seed", range(60))
def test_the_column_wise_plan_equals_the_row_by_row_reference(seed: int) -> None:
    rng = random.Random(seed)
    desired, issued, ledger = random_world(rng)
    policy = IssuePolicy(
        sync_revocation=rng.random() < 0.8,
        default_expiration_days=rng.choice([None, 0, 30]),
        evidence_title="Issued by credly-sync",
    )
    expected = reference_plan(desired, issued, ledger, policy, NOW)
    assert plan_lms_to_credly(desired, issued, ledger, policy, NOW).operations == expected
