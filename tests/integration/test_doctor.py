"""``python -m credly_sync doctor`` and the Credly token's age, against the simulators."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from credly_sync.cli import main
from credly_sync.health import FAILED, OK, WARNING, credly_token_age
from credly_sync.hooks.credly import CredlyHook
from credly_sync.warehouse.engine import downgrade
from tests.fixtures.warehouse import load_sample_settings


def _with_extra(conn_env: str, monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    connection = json.loads(os.environ[conn_env])
    connection.update(changes)
    monkeypatch.setenv(conn_env, json.dumps(connection))


def _line(out: str, name: str) -> str:
    """The doctor's line for check ``name`` (a line is: level, name, detail)."""
    return next(text for text in out.splitlines() if text[11:].startswith(name + " "))


def _token_created(days_ago: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def everything(
    warehouse: Engine, credly_connection: str, docebo_connection: str, smtp_sink: object
) -> Engine:
    load_sample_settings(warehouse)
    return warehouse


def test_token_age_levels() -> None:
    today = date(2026, 12, 1)
    assert credly_token_age("c", {"token_created": "2026-07-01"}, today).level == OK
    near = credly_token_age("c", {"token_created": "2026-06-10"}, today)  # ends 2026-12-07
    assert (near.level, near.expires) == (WARNING, date(2026, 12, 7))
    assert "in 6 days" in near.message and "'c'" in near.message
    assert credly_token_age("c", {"token_created": "2026-05-01"}, today).level == FAILED
    assert credly_token_age("c", {"token_created": "1st of May"}, today).level == FAILED
    unknown = credly_token_age("c", {}, today)
    assert unknown.level == WARNING and "token_created" in unknown.message


def test_doctor_all_well_then_names_what_to_fix(
    everything: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_extra("AIRFLOW_CONN_CREDLY_DEFAULT", monkeypatch, extra={"token_created": _token_created(10)})
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "0 failed, 0 warning(s), 6 ok" in out, out
    assert "Connected to Credly organization" in out and "Connected to Docebo" in out

    # the token nears its end, Docebo's secret is wrong, the settings lost a required key
    _with_extra("AIRFLOW_CONN_CREDLY_DEFAULT", monkeypatch, extra={"token_created": _token_created(170)})
    _with_extra("AIRFLOW_CONN_DOCEBO_DEFAULT", monkeypatch, password="wrong-secret")
    with everything.begin() as connection:
        connection.exec_driver_sql("DELETE FROM integration_settings WHERE key = 'NOTIFICATION_MAIL_ID'")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert _line(out, "credly_default").split()[0] == "ok"
    assert _line(out, "credly_default token").split()[0] == "WARNING"
    assert "in 10 days" in _line(out, "credly_default token")
    assert _line(out, "docebo_default").split()[0] == "FAILED"
    assert "connection 'docebo_default'" in _line(out, "docebo_default")
    assert "wrong-secret" not in out
    assert _line(out, "settings").split()[0] == "FAILED"
    assert "NOTIFICATION_MAIL_ID" in _line(out, "settings")


def test_doctor_reports_an_old_warehouse_and_a_credly_401(
    everything: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    downgrade(everything, "0002")
    _with_extra("AIRFLOW_CONN_CREDLY_DEFAULT", monkeypatch, password="expired-token")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert _line(out, "warehouse credly_sync_warehouse").split()[0] == "FAILED"
    assert "migrate" in _line(out, "warehouse credly_sync_warehouse")
    assert _line(out, "credly_default").split()[0] == "FAILED"
    assert "connection 'credly_default'" in _line(out, "credly_default")
    assert "expired-token" not in out


def test_hook_warns_in_the_log_and_sends_no_token_created_header(
    credly_sim: object,
    credly_connection: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _with_extra("AIRFLOW_CONN_CREDLY_DEFAULT", monkeypatch, extra={"token_created": _token_created(175)})
    hook = CredlyHook(credly_connection)
    list(hook.iter_badge_templates())
    logged = capsys.readouterr()
    assert "connection 'credly_default'" in logged.out + logged.err
    assert "in 5 days" in logged.out + logged.err
    assert "token_created" not in hook.session.headers


def test_doctor_checks_the_connection_of_the_lms_the_settings_name(
    everything: Engine,
    alm_connection: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["settings", "set", "LMS", "ALM"])
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert _line(out, alm_connection).split()[0] == "ok"
    assert "docebo_default" not in out

    _with_extra("AIRFLOW_CONN_ALM_DEFAULT", monkeypatch, password="wrong-alm-secret")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert _line(out, alm_connection).split()[0] == "FAILED" and "wrong-alm-secret" not in out
