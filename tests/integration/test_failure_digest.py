"""The failure digest against a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from credly_sync.operators.notifications import FailureDigestOperator
from credly_sync.planning.operations import Operation
from credly_sync.warehouse.journal import Outcome, record_operations, record_outcomes
from credly_sync.warehouse.schema import operation_journal
from include.simulators.smtp import MailSink
from tests.fixtures.warehouse import load_sample_settings


@pytest.fixture
def configured(warehouse: Engine) -> Engine:
    return load_sample_settings(warehouse)


def problems(engine: Engine, run_id: str, *outcomes: tuple[str, str, str, str]) -> None:
    """Journal (key, kind, status, reason) rows as closed by an apply task."""
    with engine.begin() as connection:
        record_operations(
            connection,
            [
                Operation(key, kind, key.split(":")[2], {"badge": {"recipient_email": "x@example.com"}})
                for key, kind, _, _ in outcomes
            ],
            run_id,
        )
        record_outcomes(
            connection, [Outcome(key, status, last_error=reason) for key, _, status, reason in outcomes]
        )


def reported(engine: Engine) -> dict[str, bool]:
    with engine.connect() as connection:
        return {r.op_key: r.reported_at is not None for r in connection.execute(select(operation_journal))}


def digest(run_id: str) -> dict:
    return FailureDigestOperator(task_id="digest", kinds=["issue", "revoke"]).execute({"run_id": run_id})


def test_one_digest_lists_new_failures_and_rejections_once(configured: Engine, smtp_sink: MailSink) -> None:
    problems(
        configured,
        "r1",
        ("issue:t1:10001:x", "issue", "rejected", "422: Badge template is archived and cannot issue badges"),
        ("revoke:b2:10002", "revoke", "failed", "503 Service Unavailable (gave up after 5 attempts)"),
        ("issue:t1:10003:x", "issue", "applied", ""),
        ("external_training_create:10004:b4", "external_training_create", "failed", "not this DAG's"),
    )
    summary = digest("r1")
    assert summary == {"sent": 1, "failed": 1, "rejected": 1}, "counts only: no address in XCom"
    [mail] = smtp_sink.messages
    assert mail["To"] == "lms-admin@example.com"
    assert mail["Subject"] == "credly-sync: 1 failed and 1 rejected operations (r1)"
    body = mail.get_body(("html",)).get_content()
    for text in (
        "issue:t1:10001:x",
        "archived and cannot issue",
        "revoke:b2:10002",
        "10002",
        "gave up after 5",
    ):
        assert text in body
    assert "10003" not in body and "external_training_create" not in body
    assert "x@example.com" not in body, "reasons only: payloads stay in the journal"
    assert "journal retry" in body

    assert digest("r2") == {"sent": 0, "failed": 0, "rejected": 0}
    assert len(smtp_sink.messages) == 1, "no second mail for the same failures"


def test_a_refused_digest_is_sent_by_the_next_run(configured: Engine, smtp_sink: MailSink) -> None:
    problems(configured, "r1", ("issue:t1:10001:x", "issue", "rejected", "422: invalid e-mail"))
    smtp_sink.refuse = True
    with pytest.raises(Exception, match="554"):
        digest("r1")
    assert reported(configured) == {"issue:t1:10001:x": False}
    with configured.connect() as connection:
        assert connection.execute(select(operation_journal.c.claimed_by)).scalar_one() is None

    smtp_sink.refuse = False
    problems(configured, "r2", ("issue:t1:10005:x", "issue", "failed", "timeout (gave up after 5 attempts)"))
    assert digest("r2")["sent"] == 1
    [mail] = smtp_sink.messages
    body = mail.get_body(("html",)).get_content()
    assert "issue:t1:10001:x" in body and "issue:t1:10005:x" in body
    assert reported(configured) == {"issue:t1:10001:x": True, "issue:t1:10005:x": True}
