"""The admin command line against a real warehouse (through the Airflow connection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credly_sync.cli import main
from credly_sync.settings import read_setting_rows
from credly_sync.warehouse.journal import (
    Operation,
    Outcome,
    open_operation_keys,
    record_operations,
    record_outcomes,
)
from credly_sync.warehouse.mappings import export_mappings
from tests.unit.test_mapping_csv import HEADER, T1, T2

SAMPLE = Path(__file__).resolve().parents[2] / "include" / "sample"


def test_settings_import_is_all_or_nothing_and_names_each_bad_row(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "settings.csv"
    bad.write_text(
        "integration,key,value\nCREDLY,SYNC_REVOCATION,false\nCREDLY,BATCH_SYNC_START_DATE,2026-13-01\n"
        "CREDLY,CREDLY_INTEGRATION_MASTER,moodle\n"
    )
    assert main(["settings", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: BATCH_SYNC_START_DATE = '2026-13-01'" in err
    assert f"{bad}:4: CREDLY_INTEGRATION_MASTER = 'moodle'" in err
    assert read_setting_rows(warehouse) == {}

    assert main(["settings", "import", str(SAMPLE / "settings.csv")]) == 0
    assert main(["settings", "validate"]) == 0
    assert main(["settings", "set", "SYNC_REVOCATION", "False"]) == 1
    assert read_setting_rows(warehouse)["SYNC_REVOCATION"] == "true"


def test_mappings_import_keeps_good_rows_and_reports_bad_ones(
    warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mappings.csv"
    source.write_text(HEADER + f"{T1},Cloud,,true,,true\n{T2},Data,7,maybe,,true\nt-3,Ops,LP-7,false,,true\n")
    assert main(["mappings", "import", str(source)]) == 1
    captured = capsys.readouterr()
    assert "1 inserted, 0 updated, 2 rejected" in captured.out
    assert f"{source}: line 3, column import_as_external_training: 'maybe'" in captured.err
    assert (
        f"{source}: line 4, column badge_template_id: 't-3' is not a Credly badge template id" in captured.err
    )
    assert (
        f"{source}: line 4, column learning_plan_id: 'LP-7' is not a Docebo learning plan id" in captured.err
    )
    assert export_mappings(warehouse) == HEADER + f"{T1},Cloud,,true,,true\n"
    assert main(["mappings", "import", str(SAMPLE / "mappings.csv")]) == 0, "the sample is valid"

    exported = tmp_path / "out.csv"
    assert main(["mappings", "export", str(exported)]) == 0
    assert exported.read_text() == export_mappings(warehouse)


def test_status_prints_counts_and_failures(warehouse: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "import", str(SAMPLE / "settings.csv")]) == 0
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "integration_settings             8" in out
    assert "failed and rejected operations (newest 0):" in out


def test_status_lists_problems_and_journal_retry_reopens_them(
    warehouse: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["issue:t1:1:x", "issue:t1:2:x", "revoke:b3", "revoke:b4"]
    with warehouse.begin() as connection:
        record_operations(connection, [Operation(k, k.split(":")[0], "u", {}) for k in keys], "r1")
        record_outcomes(
            connection,
            [
                Outcome(keys[0], "rejected", last_error="422: template archived"),
                Outcome(keys[1], "failed", last_error="503 (gave up after 5 attempts)"),
                Outcome(keys[2], "failed", last_error="timeout (gave up after 5 attempts)"),
            ],
        )
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "  failed                   2\n" in out and "  rejected                 1\n" in out
    assert "  pending                  1\n" in out
    assert f"rejected {keys[0]} (attempts 0): 422: template archived" in out
    assert f"failed   {keys[2]} (attempts 0): timeout (gave up after 5 attempts)" in out

    assert main(["journal", "retry"]) == 1, "re-opening everything needs to be asked for"
    assert main(["journal", "retry", "--status", "failed", "--kind", "issue"]) == 0
    assert "re-opened 1 operation(s)" in capsys.readouterr().out
    assert main(["journal", "retry", keys[0]]) == 0
    assert open_operation_keys(warehouse, ["issue", "revoke"]) == [keys[0], keys[1], keys[3]]


def test_commands_on_an_unmigrated_warehouse_say_to_migrate_first(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = {"conn_type": "sqlite", "host": sqlite_engine.url.database}
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY_WAREHOUSE", json.dumps(connection))
    assert main(["--conn-id", "empty_warehouse", "status"]) == 1
    assert "run `python -m credly_sync --conn-id empty_warehouse migrate` first" in capsys.readouterr().err
    assert main(["--conn-id", "empty_warehouse", "migrate"]) == 0
    assert main(["--conn-id", "empty_warehouse", "status"]) == 0
