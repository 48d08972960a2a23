"""Incremental hour benchmark: what one hourly run costs at scale, for each sync direction.

Builds the world of ``lms_to_credly.py`` (simulators in their own processes, 100k learners,
~300k completions before the hour, the routes wired) plus a 300k-row ledger, then runs the
hourly plan and apply operators of ``lms_to_credly`` and ``credly_to_lms`` for an hour with 10
new completions (or 10 badges issued in Credly) and for a quiet hour, and prints per run the
calls by endpoint, the share of the LMS budget (LMS_API_CALLS_PER_HOUR), client CPU seconds and
peak RSS, ending with one line per run:

    incremental hour <dag> <case>: docebo_calls=N credly_calls=N budget_share_pct=P cpu_s=S peak_rss_mb=M

The Docebo simulator runs in its helpful mode by default (the unconfirmed date filters are
served, as a tenant that has them would); ``--strict`` measures a server that ignores them.

    .venv/bin/python benchmarks/incremental.py            # 100k learners / 300k ledger
    .venv/bin/python benchmarks/incremental.py --quick    # 2k learners: a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("batch_benchmark", HERE / "lms_to_credly.py")
batch = importlib.util.module_from_spec(_spec)  # the batch benchmark's world and simulators
sys.modules["batch_benchmark"] = batch
_spec.loader.exec_module(batch)  # type: ignore[union-attr]

from include.simulators.common.people import learner  # noqa: E402 (the batch module sets sys.path)

NEW = 10
HOUR_END = datetime(2026, 1, 1, 12, tzinfo=UTC)  # after every seeded completion (2025)
LEDGER_CHUNK = 10_000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def seed_ledger(world: Any, rows: int) -> None:
    """A ledger of ``rows`` badges issued here earlier (what a 300k batch sync leaves)."""
    from credly_sync.warehouse.schema import issued_badge_ledger

    learners = world.args.learners
    for start in range(0, rows, LEDGER_CHUNK):
        batch_rows = [
            {
                "credly_badge_id": str(uuid.uuid4()),
                "lms_user_id": str(10001 + index % learners),
                "learning_object_type": "course",
                "learning_object_id": str(world.course_ids[index % len(world.course_ids)]),
                "badge_template_id": world.template_ids[index % len(world.template_ids)],
                "recipient_email": f"ledger{index}@example.com",
                "state": "issued",
            }
            for index in range(start, min(rows, start + LEDGER_CHUNK))
        ]
        with world.engine.begin() as connection:
            connection.execute(issued_badge_ledger.insert(), batch_rows)


def hourly_context(end: datetime, run_id: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "params": {"full_reconcile": False, "dry_run": False},
        "data_interval_start": end - timedelta(hours=1),
        "data_interval_end": end,
        "logical_date": end - timedelta(hours=1),
        "ti": batch.TaskInstanceStub(),
    }


def measure(world: Any, dag: str, case: str, run: Callable[[], None]) -> dict[str, Any]:
    """Calls, client CPU and peak RSS of one hourly run (``run`` executes its operators)."""
    for simulator in world.simulators:
        simulator.reset_calls()
    batch.reset_peak_rss()
    started = cpu_seconds()
    run()
    record = {
        "dag": dag,
        "case": case,
        "cpu_s": round(cpu_seconds() - started, 2),
        "peak_rss_mb": round(batch.peak_rss_mb(), 1),
        "calls": {simulator.name: simulator.calls() for simulator in world.simulators},
    }
    record["docebo_calls"] = sum(record["calls"]["docebo"].values())
    record["credly_calls"] = sum(record["calls"]["credly"].values())
    return record


def lms_hour(world: Any, end: datetime, case: str) -> dict[str, Any]:
    from credly_sync.operators.badges import IssueBadgesOperator
    from credly_sync.operators.lms_to_credly import PlanLmsToCredlyOperator

    if case == "new":
        hour = end - timedelta(hours=1)
        completions = [
            {
                "user_id": learner(world.args.learners - 1 - index).user_id,
                "course_id": world.course_ids[index % len(world.course_ids)],
                "completed_at": (hour + timedelta(minutes=5 * index)).strftime("%Y-%m-%d %H:%M:%S"),
            }
            for index in range(NEW)
        ]
        world.docebo.admin("POST", "enrollments/complete", json={"completions": completions})
    context = hourly_context(end, f"lms_to_credly_{case}")

    def run() -> None:
        partitions = PlanLmsToCredlyOperator(task_id="plan_badges").execute(context)
        for partition in partitions:
            IssueBadgesOperator(task_id="issue_badges", partition=partition).execute(context)

    return measure(world, "lms_to_credly", case, run)


def credly_hour(world: Any, end: datetime, case: str, template_id: str) -> dict[str, Any]:
    from credly_sync.operators.credly_to_lms import ApplyExternalTrainingOperator, PlanCredlyToLmsOperator

    if case == "new":
        session = requests.Session()
        session.auth = (world.credly_token, "")
        for index in range(NEW):
            person = learner(world.args.learners - 1 - NEW - index)  # not the LMS case's learners
            session.post(
                f"{world.credly.url}/v1/organizations/{batch.CREDLY_ORG}/badges",
                json={
                    "recipient_email": person.email,
                    "issued_to_first_name": person.first_name,
                    "issued_to_last_name": person.last_name,
                    "badge_template_id": template_id,
                    "issued_at": "2026-01-01 09:00:00 +0000",
                },
                timeout=60,
            ).raise_for_status()
    context = hourly_context(end, f"credly_to_lms_{case}")

    def run() -> None:
        PlanCredlyToLmsOperator(task_id="plan_credly_to_lms").execute(context)
        ApplyExternalTrainingOperator(task_id="apply_external_training").execute(context)

    return measure(world, "credly_to_lms", case, run)


def report(record: dict[str, Any], budget: int) -> str:
    lines = [f"{record['dag']} {record['case']}:"]
    for name, calls in record["calls"].items():
        for endpoint, count in sorted(calls.items()):
            lines.append(f"  {name:7} {count:6d}  {endpoint}")
    share = 100.0 * record["docebo_calls"] / budget
    lines.append(
        f"incremental hour {record['dag']} {record['case']}: docebo_calls={record['docebo_calls']} "
        f"credly_calls={record['credly_calls']} budget_share_pct={share:.1f} cpu_s={record['cpu_s']} "
        f"peak_rss_mb={record['peak_rss_mb']}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k learners, 6k completions")
    parser.add_argument("--strict", action="store_true", help="Docebo ignores the unconfirmed filters")
    parser.add_argument("--ledger", type=int, default=300_000)
    own, rest = parser.parse_known_args(argv)
    args = batch.parse_args([*rest, *(["--quick"] if own.quick else [])])
    ledger_rows = min(own.ledger, 6_000) if own.quick else own.ledger
    world = batch.World(args)
    try:
        world.start()
        world.seed()
        world.wire()
        world.docebo.admin("PUT", "strict", json={"strict": own.strict})
        seed_ledger(world, ledger_rows)
        from credly_sync.settings import load_settings
        from credly_sync.warehouse.schema import credly_integration_mappings

        imported = world.template_ids[0]
        with world.engine.begin() as connection:
            connection.execute(
                credly_integration_mappings.insert().values(
                    badge_template_id=imported, import_as_external_training=True
                )
            )
        budget = load_settings(world.engine).lms_api_calls_per_hour
        print(
            f"world: {args.learners} learners, ledger {ledger_rows} rows, Docebo "
            f"{'strict' if own.strict else 'helpful'}; LMS budget {budget} calls an hour",
            flush=True,
        )
        # Credly stamps badges with the real clock: its hours are the current and the next one
        now_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        runs = [
            lms_hour(world, HOUR_END, "new"),
            lms_hour(world, HOUR_END + timedelta(hours=1), "quiet"),
            credly_hour(world, now_hour, "new", imported),
            credly_hour(world, now_hour + timedelta(hours=1), "quiet", imported),
        ]
        for record in runs:
            print(report(record, budget), flush=True)
        print("\n".join(report(record, budget).splitlines()[-1] for record in runs))
    finally:
        world.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        batch.serve(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main(sys.argv[1:]))
