"""Credly badges -> LMS external training and certification awards (create, update, delete; award,
update, revoke).

Rules (Docebo Connect for Credly, 'Credly to Docebo synchronization recipes'):

* only badges of templates with an *active* mapping count; a template is imported as external
  training when one of its active mappings says so, and awards every certification code its
  active mappings name. Turning a mapping off stops syncing it, it does not undo what was done;
* the recipient e-mail finds the LMS user (case-insensitively). A badge without exactly one
  LMS user is skipped; those that would have given credit are reported, never sent;
* badges issued by this package (LMS -> Credly) are skipped, see ``_attach_users``;
* a badge gives credit while it is *live*: pending or accepted (rejected only with
  ``ImportPolicy.credit_rejected_badges``) and not replaced. A badge is replaced when it
  names a replacement, another badge names it in ``replaces_badge_id``, or its state is
  ``replaced`` (Credly fills the links and the state inconsistently, so any one counts, and a
  replacement wins over a ``revoked`` state so that the LMS record is updated, not churned);
* external training: one per live badge, carrying its Credly badge id; created when missing,
  updated when a field differs. The one of a badge replaced by a badge of the same template
  moves to the replacement (update); that of a badge revoked, rejected, replaced by another
  template (or by a badge this direction does not sync) is deleted. External training whose
  badge is not among the synced badges is left alone: the planner cannot tell a badge deleted
  in Credly from one outside its scope;
* certifications, per LMS user and certification code: the latest live badge is awarded with
  its dates; an award already held (not revoked) with other dates is updated, with the same
  dates (compared by day) left alone. With no live badge left and a badge revoked, rejected or
  replaced away, the held awards are revoked; without a held award nothing happens. While a
  badge issued by this package still stands for that user and code, the LMS is the source of
  the certification and this direction leaves it alone (otherwise the two directions would
  overwrite each other's dates);
* every Docebo date takes the badge's date: ``issued_at`` and ``expires_at`` (by UTC day).

Operation keys carry the badge and, for changes, the target values, so the journal never
repeats an applied operation but a later real change (another badge, other dates) is planned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from credly_sync.planning.frames import records, utc_times
from credly_sync.planning.lms_to_credly import HOLDING_STATES
from credly_sync.planning.operations import Operation

BADGE_COLUMNS = (
    "badge_id",
    "badge_template_id",
    "badge_template_name",  # Credly's name; the mapping's name is used when missing
    "recipient_email",
    "issuer_earner_id",
    "state",  # pending | accepted | rejected | revoked | replaced
    "issued_at",
    "expires_at",
    "replaces_badge_id",
    "replacement_badge_id",
    "badge_url",
)
MAPPING_COLUMNS = (
    "badge_template_id",
    "badge_template_name",
    "import_as_external_training",
    "certification_code",
    "is_active",
)
LMS_USER_COLUMNS = ("lms_user_id", "email")
EXTERNAL_TRAINING_COLUMNS = (
    "external_training_id",
    "lms_user_id",
    "credly_badge_id",  # the badge it was made from; rows without one are not ours and ignored
    "title",
    "institute",
    "date",
    "expires_at",
    "link",
)
AWARD_COLUMNS = (
    "award_id",
    "lms_user_id",
    "certification_code",
    "issued_at",
    "expires_at",
    "state",  # active | expired | revoked
)

EXTERNAL_TRAINING_CREATE = "external_training_create"
EXTERNAL_TRAINING_UPDATE = "external_training_update"
EXTERNAL_TRAINING_DELETE = "external_training_delete"
CERTIFICATION_AWARD = "certification_award"
CERTIFICATION_UPDATE = "certification_update"
CERTIFICATION_REVOKE = "certification_revoke"
KINDS = (
    EXTERNAL_TRAINING_CREATE,
    EXTERNAL_TRAINING_UPDATE,
    EXTERNAL_TRAINING_DELETE,
    CERTIFICATION_AWARD,
    CERTIFICATION_UPDATE,
    CERTIFICATION_REVOKE,
)
CREDITED_STATES = ("pending", "accepted")
REVOKED_AWARD = "revoked"
NO_USER = "no LMS user with this e-mail"
NO_EMAIL = "no recipient e-mail"
SEVERAL_USERS = "several LMS users have this e-mail"
EXTERNAL_TRAINING_FIELDS = ("title", "institute", "date", "expires_at", "link")


@dataclass(frozen=True)
class ImportPolicy:
    """The settings that shape what the LMS receives."""

    institute_name: str  # EXTERNAL_TRAINING_INSTITUTE_NAME
    credit_rejected_badges: bool = False  # an earner who declined a badge gets no LMS credit


@dataclass(frozen=True)
class CredlyToLmsPlan:
    operations: list[Operation] = field(default_factory=list)
    unmatched_badges: list[dict[str, Any]] = field(default_factory=list)  # badge_id, email, reason...
    own_badges: list[str] = field(default_factory=list)  # ids of badges issued by this package

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for op in self.operations:
            counts[op.kind] += 1
        return {**counts, "unmatched_badges": len(self.unmatched_badges), "own_badges": len(self.own_badges)}


def plan_credly_to_lms(
    badges: pd.DataFrame,
    mappings: pd.DataFrame,
    lms_users: pd.DataFrame,
    external_trainings: pd.DataFrame,
    certification_awards: pd.DataFrame,
    ledger: pd.DataFrame,
    policy: ImportPolicy,
) -> CredlyToLmsPlan:
    """Compare Credly's badges (BADGE_COLUMNS) of the mapped templates with the LMS's external
    training (EXTERNAL_TRAINING_COLUMNS) and certification awards (AWARD_COLUMNS), given the
    mappings (MAPPING_COLUMNS), the LMS users (LMS_USER_COLUMNS) and the ledger of badges this
    package issued (``credly_badge_id``, optionally ``lms_user_id``)."""
    active = _active_mappings(mappings)
    prepared = _prepare_badges(badges, active, policy)
    prepared = _attach_users(prepared, lms_users, ledger)
    operations = _external_training_operations(
        prepared[prepared["badge_template_id"].isin(active["external_training_templates"])],
        _prepare_external_trainings(external_trainings),
        policy,
    )
    operations += _certification_operations(
        prepared, active["certifications"], _prepare_awards(certification_awards)
    )
    unmatched = prepared[prepared["problem"].notna() & prepared["live"]]
    return CredlyToLmsPlan(
        operations=operations,
        unmatched_badges=records(
            unmatched[["badge_id", "recipient_email", "badge_template_id", "state", "problem"]].rename(
                columns={"problem": "reason"}
            )
        ),
        own_badges=sorted(prepared.loc[prepared["ours"], "badge_id"]),
    )


# --- inputs -------------------------------------------------------------------------------------


def _active_mappings(mappings: pd.DataFrame) -> dict[str, Any]:
    active = mappings[_flags(mappings["is_active"])].assign(
        badge_template_id=lambda df: _ids(df["badge_template_id"]),
        certification_code=lambda df: _texts(df["certification_code"]),
        badge_template_name=lambda df: _texts(df["badge_template_name"]),
    )
    certifications = (
        active.loc[active["certification_code"].notna(), ["badge_template_id", "certification_code"]]
        .drop_duplicates()
        .reset_index(drop=True)
    )
    names = active[active["badge_template_name"].notna()].drop_duplicates("badge_template_id")
    return {
        "templates": set(active["badge_template_id"]),
        "external_training_templates": set(
            active.loc[_flags(active["import_as_external_training"]), "badge_template_id"]
        ),
        "certifications": certifications,
        "names": dict(zip(names["badge_template_id"], names["badge_template_name"], strict=True)),
    }


def _prepare_badges(badges: pd.DataFrame, active: dict[str, Any], policy: ImportPolicy) -> pd.DataFrame:
    """Badges of actively mapped templates, normalised, with ``successor`` and ``live``."""
    badges = badges.assign(
        badge_id=_ids(badges["badge_id"]),
        badge_template_id=_ids(badges["badge_template_id"]),
        replaces_badge_id=_ids(badges["replaces_badge_id"]),
        replacement_badge_id=_ids(badges["replacement_badge_id"]),
    )
    badges = badges[badges["badge_id"].notna()].drop_duplicates("badge_id", keep="last")  # paging overlaps
    successors = _successors(badges)
    badges = badges[badges["badge_template_id"].isin(active["templates"])].reset_index(drop=True)
    state = badges["state"].fillna("").astype(str).str.strip().str.lower()
    credited = CREDITED_STATES + (("rejected",) if policy.credit_rejected_badges else ())
    successor = badges["badge_id"].map(successors)
    replaced = successor.notna() | state.eq("replaced")
    name = _texts(badges["badge_template_name"])
    mapped_name = badges["badge_template_id"].map(active["names"])
    return badges.assign(
        state=state,
        badge_template_name=name.where(name.notna(), mapped_name).fillna(badges["badge_template_id"]),
        email_key=badges["recipient_email"].fillna("").astype(str).str.strip().str.lower(),
        issuer_earner_id=_ids(badges["issuer_earner_id"]),
        issued_at=_utc(badges["issued_at"]),
        expires_at=_utc(badges["expires_at"]),
        badge_url=_texts(badges["badge_url"]),
        successor=successor.astype(object).where(successor.notna(), None),
        replaced=replaced,
        live=state.isin(credited) & ~replaced,
    )


def _successors(badges: pd.DataFrame) -> dict[str, str]:
    """Replaced badge id -> replacement id, from either side of the link."""
    named_by_new = badges[badges["replaces_badge_id"].notna()]
    named_by_old = badges[badges["replacement_badge_id"].notna()]
    return {
        **dict(zip(named_by_new["replaces_badge_id"], named_by_new["badge_id"], strict=True)),
        **dict(zip(named_by_old["badge_id"], named_by_old["replacement_badge_id"], strict=True)),
    }


def _attach_users(badges: pd.DataFrame, lms_users: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Add ``lms_user_id``, ``ours`` (issued by this package), ``problem`` and ``eligible``.

    A badge is this package's when the ledger holds its id *or* its ``issuer_earner_id`` is the
    id of the LMS user its e-mail finds. The earner-id check is the recipe's own rule and needs
    no warehouse: it still holds when the ledger was lost or reset, or when a run issued the
    badge but crashed before recording it. The ledger check covers what the earner id cannot:
    a learner whose LMS e-mail changed (the badge's e-mail now finds another user, or none), and
    a badge whose earner id was dropped or changed in Credly. Any non-empty earner id is not
    enough on its own: other issuers in the organisation set their own.
    """
    users = lms_users.assign(
        email_key=lms_users["email"].fillna("").astype(str).str.strip().str.lower(),
        lms_user_id=_ids(lms_users["lms_user_id"]),
    )
    users = users[users["email_key"].ne("") & users["lms_user_id"].notna()]
    users = users[["email_key", "lms_user_id"]].drop_duplicates()
    matches = badges[["badge_id", "email_key", "issuer_earner_id"]].merge(users, on="email_key")
    user_count = badges["badge_id"].map(matches.groupby("badge_id")["lms_user_id"].nunique()).fillna(0)
    single = matches.drop_duplicates("badge_id")
    by_email = badges["badge_id"].map(dict(zip(single["badge_id"], single["lms_user_id"], strict=True)))
    own = matches[matches["issuer_earner_id"].eq(matches["lms_user_id"])]
    by_earner_id = badges["badge_id"].map(dict(zip(own["badge_id"], own["lms_user_id"], strict=True)))
    ledger_ids = _ids(ledger["credly_badge_id"])
    ledger_users = (
        _ids(ledger["lms_user_id"]) if "lms_user_id" in ledger else pd.Series(None, index=ledger.index)
    )
    by_ledger = badges["badge_id"].map(
        dict(zip(ledger_ids[ledger_users.notna()], ledger_users[ledger_users.notna()], strict=True))
    )
    ours = by_earner_id.notna() | badges["badge_id"].isin(set(ledger_ids.dropna()))
    user = by_earner_id.where(by_earner_id.notna(), by_ledger)
    user = user.where(user.notna(), by_email.where(user_count.eq(1)))
    problem = pd.Series(None, index=badges.index, dtype=object)
    problem = problem.mask(user_count.eq(0), NO_USER).mask(badges["email_key"].eq(""), NO_EMAIL)
    problem = problem.mask(user_count.gt(1), SEVERAL_USERS).mask(ours, None)
    return badges.assign(
        lms_user_id=user.astype(object).where(user.notna(), None),
        ours=ours,
        problem=problem,
        eligible=~ours & problem.isna(),
    )


def _prepare_external_trainings(trainings: pd.DataFrame) -> pd.DataFrame:
    trainings = trainings.assign(
        external_training_id=_ids(trainings["external_training_id"]),
        lms_user_id=_ids(trainings["lms_user_id"]),
        credly_badge_id=_ids(trainings["credly_badge_id"]),
        title=_texts(trainings["title"]),
        institute=_texts(trainings["institute"]),
        link=_texts(trainings["link"]),
        date=_days(trainings["date"]),
        expires_at=_days(trainings["expires_at"]),
    )
    trainings = trainings[trainings["credly_badge_id"].notna()]
    return _sort_by_id(trainings, "external_training_id")


def _prepare_awards(awards: pd.DataFrame) -> pd.DataFrame:
    awards = awards.assign(
        award_id=_ids(awards["award_id"]),
        lms_user_id=_ids(awards["lms_user_id"]),
        certification_code=_texts(awards["certification_code"]),
        issued_at=_days(awards["issued_at"]),
        expires_at=_days(awards["expires_at"]),
        held=awards["state"].fillna("").astype(str).str.strip().str.lower().ne(REVOKED_AWARD),
    )
    return _sort_by_id(awards, "award_id").sort_values("issued_at", kind="stable", na_position="first")


# --- external training --------------------------------------------------------------------------


def _external_training_operations(
    badges: pd.DataFrame, trainings: pd.DataFrame, policy: ImportPolicy
) -> list[Operation]:
    by_id = {row["badge_id"]: row for row in records(badges)}
    desired = {
        row["badge_id"]: {**row, **_training_fields(row, policy)}
        for row in records(badges[badges["eligible"] & badges["live"]])
    }
    operations: list[Operation] = []
    covered: set[str] = set()
    rest = []
    for training in records(trainings):
        badge_id = training["credly_badge_id"]
        wanted = desired.get(badge_id)
        if wanted is None or badge_id in covered or wanted["lms_user_id"] != training["lms_user_id"]:
            rest.append(training)
            continue
        covered.add(badge_id)
        if any(training[name] != wanted[name] for name in EXTERNAL_TRAINING_FIELDS):
            operations.append(_training_update(training, wanted))
    for training in rest:
        badge = by_id.get(training["credly_badge_id"])
        if badge is None or not badge["eligible"]:
            continue  # not a badge this direction syncs: leave it alone
        target, reason = _resolve(badge, by_id)
        wanted = desired.get(target) if target else None
        if badge["lms_user_id"] != training["lms_user_id"]:
            reason = "the badge belongs to another LMS user"
        elif wanted is not None and target not in covered:
            covered.add(target)
            operations.append(_training_update(training, wanted))
            continue
        elif wanted is not None:
            reason = "another external training holds the badge"
        operations.append(_training_delete(training, badge, reason or "the badge gives no credit"))
    for badge_id, wanted in sorted(desired.items(), key=lambda item: (item[1]["lms_user_id"], item[0])):
        if badge_id not in covered:
            operations.append(_training_create(wanted))
    return operations


def _resolve(badge: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> tuple[str | None, str | None]:
    """Follow replacements of the same template to the badge that now stands for ``badge``:
    (its id, None) when that badge is live, else (None, why there is no credit)."""
    seen = set()
    while badge["badge_id"] not in seen:
        seen.add(badge["badge_id"])
        successor_id = badge["successor"]
        if successor_id is None:
            if badge["live"]:
                return badge["badge_id"], None
            if badge["replaced"]:
                return None, "the badge was replaced by a badge of another template"
            return None, f"the badge was {badge['state'] or 'withdrawn'}"
        successor = by_id.get(successor_id)
        if successor is None or successor["badge_template_id"] != badge["badge_template_id"]:
            return None, "the badge was replaced by a badge of another template"
        if not successor["eligible"] or successor["lms_user_id"] != badge["lms_user_id"]:
            return None, "the badge was replaced by a badge this sync does not import"
        badge = successor
    return None, "the badge's replacements form a cycle"


def _training_fields(badge: dict[str, Any], policy: ImportPolicy) -> dict[str, Any]:
    return {
        "title": badge["badge_template_name"],
        "institute": policy.institute_name,
        "date": _day(badge["issued_at"]),
        "expires_at": _day(badge["expires_at"]),
        "link": badge["badge_url"],
    }


def _training_payload(wanted: dict[str, Any]) -> dict[str, Any]:
    return {
        "lms_user_id": wanted["lms_user_id"],
        "credly_badge_id": wanted["badge_id"],
        "badge_template_id": wanted["badge_template_id"],
        "badge_template_name": wanted["badge_template_name"],
        **{name: wanted[name] for name in EXTERNAL_TRAINING_FIELDS},
    }


def _training_create(wanted: dict[str, Any]) -> Operation:
    return Operation(
        op_key=f"{EXTERNAL_TRAINING_CREATE}:{wanted['lms_user_id']}:{wanted['badge_id']}",
        kind=EXTERNAL_TRAINING_CREATE,
        target=wanted["lms_user_id"],
        payload=_training_payload(wanted),
    )


def _training_update(training: dict[str, Any], wanted: dict[str, Any]) -> Operation:
    digest = _digest(wanted["title"], wanted["institute"], wanted["link"])
    dates = f"{_compact(wanted['date'])}:{_compact(wanted['expires_at'])}"
    return Operation(
        op_key=f"{EXTERNAL_TRAINING_UPDATE}:{training['external_training_id']}:{wanted['badge_id']}:"
        f"{dates}:{digest}",
        kind=EXTERNAL_TRAINING_UPDATE,
        target=wanted["lms_user_id"],
        payload={
            "external_training_id": training["external_training_id"],
            "previous_credly_badge_id": training["credly_badge_id"],
            **_training_payload(wanted),
        },
    )


def _training_delete(training: dict[str, Any], badge: dict[str, Any], reason: str) -> Operation:
    return Operation(
        op_key=f"{EXTERNAL_TRAINING_DELETE}:{training['external_training_id']}",
        kind=EXTERNAL_TRAINING_DELETE,
        target=training["lms_user_id"],
        payload={
            "lms_user_id": training["lms_user_id"],
            "external_training_id": training["external_training_id"],
            "credly_badge_id": training["credly_badge_id"],
            "badge_template_id": badge["badge_template_id"],
            "reason": reason,
        },
    )


# --- certifications -----------------------------------------------------------------------------


def _certification_operations(
    badges: pd.DataFrame, certifications: pd.DataFrame, awards: pd.DataFrame
) -> list[Operation]:
    scoped = badges[badges["lms_user_id"].notna()].merge(certifications, on="badge_template_id")
    pair = ["lms_user_id", "certification_code"]
    lms_owned = scoped.loc[scoped["ours"] & scoped["state"].isin(HOLDING_STATES) & ~scoped["replaced"], pair]
    scoped = _without(scoped[scoped["eligible"]], lms_owned, pair)
    scoped = scoped.sort_values(["issued_at", "badge_id"], kind="stable", na_position="first")
    live = scoped[scoped["live"]].drop_duplicates(pair, keep="last")
    withdrawn = _without(scoped[~scoped["live"]].drop_duplicates(pair, keep="last"), live, pair)
    held = awards.loc[awards["held"], ["award_id", *pair, "issued_at", "expires_at"]]
    current = held.drop_duplicates(pair, keep="last").rename(
        columns={"issued_at": "award_issued_at", "expires_at": "award_expires_at"}
    )
    operations: list[Operation] = []
    for row in records(live.merge(current, on=pair, how="left")):
        issued, expires = _day(row["issued_at"]), _day(row["expires_at"])
        if row["award_id"] is None:
            operations.append(_award(row, issued, expires))
        elif (row["award_issued_at"], row["award_expires_at"]) != (issued, expires):
            operations.append(_award_update(row, issued, expires))
    for row in records(withdrawn.merge(held[["award_id", *pair]], on=pair)):
        operations.append(_award_revoke(row))
    return operations


def _without(df: pd.DataFrame, other: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Rows of ``df`` whose ``on`` values do not occur in ``other``."""
    merged = df.merge(other[on].drop_duplicates(), on=on, how="left", indicator=True)
    return merged[merged["_merge"].eq("left_only")].drop(columns="_merge")


def _award_payload(row: dict[str, Any], issued: str | None, expires: str | None) -> dict[str, Any]:
    return {
        "lms_user_id": row["lms_user_id"],
        "certification_code": row["certification_code"],
        "issued_at": issued,
        "expires_at": expires,
        "credly_badge_id": row["badge_id"],
        "badge_template_id": row["badge_template_id"],
        "badge_template_name": row["badge_template_name"],
        "link": row["badge_url"],
    }


def _award(row: dict[str, Any], issued: str | None, expires: str | None) -> Operation:
    return Operation(
        op_key=f"{CERTIFICATION_AWARD}:{row['lms_user_id']}:{row['certification_code']}:{row['badge_id']}:"
        f"{_compact(issued)}:{_compact(expires)}",
        kind=CERTIFICATION_AWARD,
        target=row["lms_user_id"],
        payload=_award_payload(row, issued, expires),
    )


def _award_update(row: dict[str, Any], issued: str | None, expires: str | None) -> Operation:
    return Operation(
        op_key=f"{CERTIFICATION_UPDATE}:{row['award_id']}:{row['badge_id']}:"
        f"{_compact(issued)}:{_compact(expires)}",
        kind=CERTIFICATION_UPDATE,
        target=row["lms_user_id"],
        payload={
            "award_id": row["award_id"],
            **_award_payload(row, issued, expires),
            "previous_issued_at": row["award_issued_at"],
            "previous_expires_at": row["award_expires_at"],
        },
    )


def _award_revoke(row: dict[str, Any]) -> Operation:
    reason = "replaced" if row["replaced"] else row["state"] or "withdrawn"
    return Operation(
        op_key=f"{CERTIFICATION_REVOKE}:{row['award_id']}",
        kind=CERTIFICATION_REVOKE,
        target=row["lms_user_id"],
        payload={
            "award_id": row["award_id"],
            "lms_user_id": row["lms_user_id"],
            "certification_code": row["certification_code"],
            "credly_badge_id": row["badge_id"],
            "badge_template_id": row["badge_template_id"],
            "reason": f"Credly badge {row['badge_id']}: {reason}",
        },
    )


# --- values -------------------------------------------------------------------------------------


def _ids(values: pd.Series) -> pd.Series:
    """Identifiers as text (``10001`` and ``10001.0`` both become ``"10001"``), missing as None."""
    return pd.Series([_id(value) for value in values], index=values.index, dtype=object)


def _id(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _texts(values: pd.Series) -> pd.Series:
    """Text with surrounding blanks removed; missing or blank as None."""
    return pd.Series([_text(value) for value in values], index=values.index, dtype=object)


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _flags(values: pd.Series) -> pd.Series:
    """Booleans from bools or the lookup tables' 'true'/'false' text; missing is false."""
    return pd.Series([_flag(value) for value in values], index=values.index, dtype=bool)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is not None and not pd.isna(value) and bool(value)


def _utc(values: pd.Series) -> pd.Series:
    return utc_times(values)


def _days(values: pd.Series) -> pd.Series:
    """ISO days (UTC) as text, missing as None: the precision at which the LMS keeps dates."""
    return pd.Series([_day(value) for value in _utc(values)], index=values.index, dtype=object)


def _day(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _compact(day: str | None) -> str:
    return day.replace("-", "") if day else "none"


def _digest(*values: Any) -> str:
    return hashlib.sha1("\x1f".join("" if v is None else str(v) for v in values).encode()).hexdigest()[:8]


def _sort_by_id(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Numeric ids in numeric order (``9`` before ``10``), then text ids."""
    numeric = pd.to_numeric(df[column], errors="coerce")
    return df.assign(_order=numeric).sort_values(["_order", column], kind="stable").drop(columns="_order")
