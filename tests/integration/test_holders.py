"""The badge holders table, its BI view and ``python -m credly_sync holders``, on SQLite and
PostgreSQL, with a known data set."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from credly_sync.cli import main
from credly_sync.warehouse.holders import upsert_holders

ORG, OTHER_ORG = "org-1", "org-2"


def badge(badge_id: str, template: str, email: str, state: str, **fields: object) -> dict[str, object]:
    return {
        "badge_id": badge_id,
        "badge_template_id": f"t-{template[:4].lower()}",
        "badge_template_name": template,
        "recipient_email": email,
        "issued_to": email.split("@")[0].title(),
        "state": state,
        "public": True,
        "issued_at": "2026-02-01T09:00:00.000Z",
        "expires_at": None,
        "updated_at": "2026-02-02T09:00:00.000Z",
        "badge_url": f"https://www.credly.com/badges/{badge_id}",
        **fields,
    }


KNOWN = pd.DataFrame(
    [
        badge("b1", "Project Management Professional", "ada@contoso.com", "accepted"),
        badge(
            "b2",
            "Project Management Basics",
            "grace@contoso.com",
            "pending",
            expires_at="2099-01-01T00:00:00Z",
        ),
        badge("b3", "Project Management Professional", "alan@contoso.com", "revoked"),
        badge(
            "b4",
            "Project Management Professional",
            "ken@contoso.com",
            "accepted",
            expires_at="2020-01-01T00:00:00Z",
        ),
        badge("b5", "Cloud Basics", "ada@contoso.com", "accepted"),
    ]
)


@pytest.fixture
def holders(warehouse: Engine) -> Engine:
    with warehouse.begin() as connection:
        upsert_holders(connection, KNOWN, ORG, complete=True)
        upsert_holders(
            connection,
            pd.DataFrame([badge("x1", "Project Management Pro", "zed@x.org", "accepted")]),
            OTHER_ORG,
        )
    return warehouse


def test_upsert_is_idempotent_updates_changes_and_removes_deleted_badges(holders: Engine) -> None:
    with holders.begin() as connection:
        again = upsert_holders(connection, KNOWN, ORG, complete=True)
        assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
        changed = KNOWN[KNOWN["badge_id"] != "b5"].copy()
        changed.loc[changed["badge_id"] == "b2", "state"] = "accepted"
        write = upsert_holders(connection, changed, ORG, complete=True)
        assert (write.inserted, write.updated, write.deleted) == (0, 1, 1)
        partial = upsert_holders(connection, changed.head(1), ORG)  # an LMS sync sees a few templates
        assert (partial.inserted, partial.updated, partial.deleted) == (0, 0, 0)
    with holders.connect() as connection:
        rows = connection.execute(text("SELECT badge_id, state FROM badge_holders ORDER BY badge_id")).all()
    assert [tuple(r) for r in rows] == [
        ("b1", "accepted"),
        ("b2", "accepted"),
        ("b3", "revoked"),
        ("b4", "accepted"),
        ("x1", "accepted"),
    ]


def test_the_view_tells_bi_tools_who_holds_a_badge_now(holders: Engine) -> None:
    query = text(
        "SELECT holder_email, is_current FROM badge_holders_view"
        " WHERE organization_id = :org ORDER BY badge_url"
    )
    with holders.connect() as connection:
        rows = [tuple(r) for r in connection.execute(query, {"org": ORG})]
    assert rows == [
        ("ada@contoso.com", 1),
        ("grace@contoso.com", 0),  # pending: not accepted yet
        ("alan@contoso.com", 0),
        ("ken@contoso.com", 0),  # expired
        ("ada@contoso.com", 1),
    ]


def test_holders_command_lists_current_holders_in_each_format(
    holders: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["holders", "project MANAGEMENT", "--org", ORG]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "badge                            holder  email              state     issued      expires",
        "Project Management Basics        Grace   grace@contoso.com  pending   2026-02-01  2099-01-01",
        "Project Management Professional  Ada     ada@contoso.com    accepted  2026-02-01",
        "2 holder(s) of badges matching 'project MANAGEMENT'",
    ]

    assert main(["holders", "management professional", "--format", "csv", "--all"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["email"], r["state"], r["expires"], r["organization_id"]) for r in rows] == [
        ("ada@contoso.com", "accepted", "", ORG),
        ("alan@contoso.com", "revoked", "", ORG),
        ("ken@contoso.com", "accepted", "2020-01-01", ORG),
    ]

    assert main(["holders", "management pro", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {(r["badge_id"], r["organization_id"]) for r in found} == {("b1", ORG), ("x1", OTHER_ORG)}

    assert main(["holders", "50%_off"]) == 0, "LIKE wildcards in the query are plain text"
    assert capsys.readouterr().out.splitlines()[-1] == "0 holder(s) of badges matching '50%_off'"
