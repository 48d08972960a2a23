"""make demo's summary (scripts/demo/summary.py) on a warehouse filled by the journal and inbox
functions, on SQLite and PostgreSQL, with mail received by the SMTP sink and a real log file."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, func, select

from credly_sync.warehouse.inbox import InboxEvent, mark_processed, store_events
from credly_sync.warehouse.journal import Operation, Outcome, record_operations, record_outcomes
from credly_sync.warehouse.schema import event_inbox
from include.simulators.smtp import start_sink
from scripts.demo.console import Console
from scripts.demo.runs import RunRecord
from scripts.demo.summary import describe_run, failure_lines, read_mail, run_operations, warehouse_lines


def journal(warehouse: Engine, run_id: str, *keys: str, kind: str = "issue") -> None:
    with warehouse.begin() as connection:
        record_operations(connection, [Operation(key, kind, key) for key in keys], run_id)


def close(warehouse: Engine, *outcomes: Outcome) -> None:
    with warehouse.begin() as connection:
        record_outcomes(connection, outcomes)


def send_mail(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "credly-sync@localhost", "admin@example.com", subject
    message.set_content("body")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)


def test_a_run_is_told_by_its_figures_its_journaled_operations_and_its_mail(
    warehouse: Engine, tmp_path: Path
) -> None:
    journal(warehouse, "run-0", "dropdown:1", kind="dropdown_add")  # another run's: not counted
    journal(warehouse, "run-1", "issue:a", "issue:b", "issue:c")
    journal(warehouse, "run-1", "revoke:d", kind="revoke")
    close(warehouse, Outcome("issue:a", "applied"), Outcome("issue:b", "rejected", last_error="archived"))
    close(warehouse, Outcome("revoke:d", "applied"))
    controller, _ = start_sink(maildir=tmp_path / "mail")
    try:
        send_mail(controller.port, "credly-sync: 1 rejected operation")
    finally:
        controller.stop()
    record = RunRecord(
        "lms_to_credly",
        "run-1",
        "success",
        12.4,
        conf={"full_reconcile": True},
        figures={"plan_badges": {"achievements": 69, "issue": 3}, "issue_badges": {"operations": 3}},
    )

    lines = describe_run(
        record,
        run_operations(warehouse, "run-1"),
        read_mail((tmp_path / "mail").glob("*.eml")),
        root=tmp_path,
    )

    assert lines == [
        "lms_to_credly full_reconcile=True: ok in 12 s",
        "     read 69 completions and certification awards",
        "     operations: issue applied 1, issue pending 1, issue rejected 1, revoke applied 1",
        "     mail to admin@example.com: 'credly-sync: 1 rejected operation' -> mail/0001.eml",
    ]


def test_a_run_that_planned_nothing_and_figures_an_operator_no_longer_reports(warehouse: Engine) -> None:
    journal(warehouse, "run-0", "issue:a")
    record = RunRecord("credly_templates", "run-1", "success", 3.0, figures={"sync_template_table": {"x": 1}})

    assert describe_run(record, run_operations(warehouse, "run-1")) == [
        "credly_templates: ok in 3 s",
        "     operations: none planned (nothing to change)",
    ]
    assert run_operations(warehouse, None) == {}


def test_the_warehouse_lines_count_the_whole_journal_and_inbox(warehouse: Engine) -> None:
    journal(warehouse, "run-1", "issue:a", "issue:b")
    journal(warehouse, "run-2", "revoke:c", kind="revoke")
    close(warehouse, Outcome("issue:a", "applied"), Outcome("revoke:c", "failed", last_error="503"))
    with warehouse.begin() as connection:
        store_events(
            connection, [InboxEvent("docebo", f"m-{n}", "course.enrollment.completed", {}) for n in (1, 2)]
        )
    with warehouse.connect() as connection:
        first = connection.execute(select(func.min(event_inbox.c.id))).scalar_one()
    mark_processed(warehouse, [first])

    assert warehouse_lines(warehouse) == [
        "journal: 3 operations (1 applied, 1 failed, 1 pending)",
        "webhook inbox: 1 processed, 1 received",
    ]


def test_a_failed_run_shows_its_failing_task_and_the_error_lines_of_its_own_command(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    log.write_text("2026-12-02T00:00:00Z [error    ] an earlier command's error\n")
    offset = log.stat().st_size
    with log.open("a") as stream:
        stream.write(
            "2026-12-02T00:00:01Z [info     ] [DAG TEST] starting task_id=sync_template_table\n"
            "2026-12-02T00:00:02Z [error    ] Task failed with exception     [task]\n"
            "Traceback (most recent call last):\n"
            '  File "templates.py", line 80, in execute\n'
            "credly_sync.hooks.base.AuthenticationError: GET badge_templates -> 401: fix credly_default\n"
            "2026-12-02T00:00:03Z [info     ] Task instance state updated\n"
        )
    record = RunRecord(
        "credly_templates",
        "run-1",
        "stopped at the first failed attempt",
        31.0,
        tasks={"sync_template_table": "up_for_retry", "mail_deletion_notices": "upstream_failed"},
    )

    lines = describe_run(record, {}) + failure_lines(
        record, Console(log).relevant_lines(offset), ".airflow/demo.log"
    )

    assert lines == [
        "credly_templates: FAILED after 31 s (stopped at the first failed attempt)",
        "failed task(s) of credly_templates: sync_template_table",
        "last relevant log lines:",
        "  2026-12-02T00:00:02Z [error    ] Task failed with exception     [task]",
        "  credly_sync.hooks.base.AuthenticationError: GET badge_templates -> 401: fix credly_default",
        "full log: .airflow/demo.log",
    ]
