"""Admin commands: ``python -m credly_sync [--conn-id ID] COMMAND``.

migrate                      create or upgrade the warehouse tables
settings show|validate       print / check the CREDLY integration settings
settings set KEY VALUE       store one setting (validated first)
settings import FILE         store settings from CSV (integration,key,value); all or nothing
mappings import FILE         add or update Credly integration mappings from CSV
mappings export [FILE]       write the mappings as CSV (stdout without FILE)
alm badge-csv export|import FILE
                             Adobe Learning Manager badge.csv <-> Credly templates / ALM badge mappings
status                       rows per table, journal by status and kind, failed and rejected operations
journal retry [KEY ...] [--kind K] [--status failed|rejected]
                             re-open failed / rejected operations once their cause is fixed
holders QUERY [--org ID] [--format table|csv|json] [--all]
                             who holds badges whose template name contains QUERY (warehouse only)
doctor                       check every connection, the warehouse migration and the settings
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy import Engine

from credly_sync.alm_cli import add_alm_commands, run_alm_command
from credly_sync.extract.lms import adapter_class
from credly_sync.extract.lms.docebo import DoceboLms
from credly_sync.health import FAILED, OK, WARNING, Check, credly_token_age, run_checks
from credly_sync.hooks.base import RetryPolicy
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.graph import GraphHook
from credly_sync.profile_exports import ENV_VAR as PROFILE_EXPORTS_ENV
from credly_sync.profile_exports import load_exports
from credly_sync.settings import (
    INTEGRATION,
    SettingsError,
    load_settings,
    read_setting_rows,
    validate_value,
    write_setting,
)
from credly_sync.warehouse.engine import (
    WAREHOUSE_CONN_ID,
    current_revision,
    head_revision,
    migrate,
    warehouse_engine,
)
from credly_sync.warehouse.holders import find_holders
from credly_sync.warehouse.journal import PROBLEM_STATUSES, reopen
from credly_sync.warehouse.mappings import export_mappings, import_mappings, parse_mapping_csv
from credly_sync.warehouse.status import (
    inbox_counts,
    inbox_failures,
    journal_counts,
    journal_failures,
    journal_status_counts,
    table_counts,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m credly_sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--conn-id", default=WAREHOUSE_CONN_ID, help="Airflow connection of the warehouse")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the warehouse tables")

    settings = commands.add_parser("settings", help="integration settings").add_subparsers(
        dest="action", required=True
    )
    settings.add_parser("show")
    settings.add_parser("validate")
    set_parser = settings.add_parser("set")
    set_parser.add_argument("key")
    set_parser.add_argument("value")
    settings.add_parser("import").add_argument("file", type=Path)

    mappings = commands.add_parser("mappings", help="Credly integration mappings").add_subparsers(
        dest="action", required=True
    )
    mappings.add_parser("import").add_argument("file", type=Path)
    mappings.add_parser("export").add_argument("file", type=Path, nargs="?")

    add_alm_commands(commands)
    commands.add_parser("status", help="warehouse counts and journal failures")

    journal = commands.add_parser("journal", help="the operations journal").add_subparsers(
        dest="action", required=True
    )
    retry = journal.add_parser("retry", help="re-open failed / rejected operations (sent by the next run)")
    retry.add_argument("keys", nargs="*", metavar="KEY", help="operation keys (default: all that match)")
    retry.add_argument("--kind", action="append", default=[], help="only operations of this kind")
    retry.add_argument(
        "--status", action="append", choices=PROBLEM_STATUSES, default=[], help="only this status"
    )

    holders = commands.add_parser("holders", help="who holds badges whose template name contains QUERY")
    holders.add_argument("query", help="part of the template name (case-insensitive)")
    holders.add_argument("--org", help="only this Credly organization id")
    holders.add_argument("--format", choices=("table", "csv", "json"), default="table")
    holders.add_argument(
        "--all", action="store_true", help="also revoked, rejected, replaced and expired badges"
    )

    doctor = commands.add_parser("doctor", help="check connections, warehouse migration and settings")
    doctor.add_argument("--credly-conn-id", default="credly_default")
    doctor.add_argument("--lms-conn-id", help="the LMS connection (default: the LMS setting's own)")
    doctor.add_argument("--smtp-conn-id", default="smtp_default")
    doctor.add_argument(
        "--msgraph-conn-id",
        action="append",
        default=[],
        help="Graph connection to check (default: those of CREDLY_SYNC_M365_EXPORTS, else "
        "msgraph_default when it is defined)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # An admin command runs beside Airflow, like the scheduler or `airflow connections get`: in
    # Airflow's "server" context connections are looked up in the metadata database too, not only
    # in the environment and secrets backends (airflow.sdk.execution_time.supervisor).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    if args.command == "doctor":  # before the engine: a broken warehouse is one of its findings
        return _doctor(args)
    engine = warehouse_engine(args.conn_id)
    if args.command == "migrate":
        migrate(engine)
        print(f"warehouse {args.conn_id} is up to date")
        return 0
    if current_revision(engine) != head_revision():
        print(
            f"warehouse {args.conn_id} is at schema revision {current_revision(engine)}, not "
            f"{head_revision()}: run `python -m credly_sync --conn-id {args.conn_id} migrate` first",
            file=sys.stderr,
        )
        return 1
    if args.command == "settings":
        return _settings(engine, args)
    if args.command == "mappings":
        return _mappings(engine, args)
    if args.command == "journal":
        return _retry(engine, args)
    if args.command == "holders":
        return _holders(engine, args)
    if args.command == "alm":
        return run_alm_command(engine, args)
    return _status(engine)


def _settings(engine: Engine, args: argparse.Namespace) -> int:
    try:
        if args.action == "show":
            for key, value in sorted(read_setting_rows(engine).items()):
                print(f"{key} = {value if value is not None else ''}")
        elif args.action == "validate":
            settings = load_settings(engine)
            print(f"settings are valid: {settings}")
        elif args.action == "set":
            write_setting(engine, args.key, args.value)
            print(f"{args.key} = {args.value}")
        else:
            _import_settings(engine, args.file)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _import_settings(engine: Engine, path: Path) -> None:
    with path.open(newline="") as stream:
        rows = [
            (line, row)
            for line, row in enumerate(csv.DictReader(stream), start=2)
            if row["integration"] == INTEGRATION
        ]
    problems = []
    for line, row in rows:
        try:
            validate_value(row["key"], row["value"] or "")
        except SettingsError as exc:
            problems.extend(f"{path}:{line}: {problem}" for problem in exc.problems)
    if problems:
        raise SettingsError(problems)
    for _, row in rows:
        write_setting(engine, row["key"], row["value"] or "")
    print(f"imported {len(rows)} settings from {path}")


def _mappings(engine: Engine, args: argparse.Namespace) -> int:
    if args.action == "export":
        text = export_mappings(engine)
        if args.file:
            args.file.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    with args.file.open(newline="") as stream:
        rows, errors = parse_mapping_csv(stream)
    report = import_mappings(engine, rows)
    rejected = len({error.line for error in errors})  # a row may have several bad cells
    print(f"mappings: {report.inserted} inserted, {report.updated} updated, {rejected} rejected")
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    return 1 if errors else 0


def _status(engine: Engine) -> int:
    print("rows per table:")
    for table, count in table_counts(engine).items():
        print(f"  {table:32} {count}")
    print("journal by status:")
    for status, count in sorted(journal_status_counts(engine).items()):
        print(f"  {status:24} {count}")
    print("journal (kind, status):")
    for (kind, status), count in sorted(journal_counts(engine).items()):
        print(f"  {kind:24} {status:10} {count}")
    problems = journal_failures(engine)
    print(f"failed and rejected operations (newest {len(problems)}):")
    for problem in problems:
        print(
            f"  {problem['status']:8} {problem['op_key']} (attempts {problem['attempts']}): "
            f"{problem['last_error']}"
        )
    if problems:
        print("fix the cause, then: python -m credly_sync journal retry --status failed (or a KEY, --kind K)")
    _inbox_status(engine)
    return 0


def _inbox_status(engine: Engine) -> None:
    print("webhook inbox (source, status):")
    for (source, status), count in sorted(inbox_counts(engine).items()):
        print(f"  {source:24} {status:10} {count}")
    failed = inbox_failures(engine)
    print(f"failed webhook events (newest {len(failed)}; the batch syncs apply what they were about):")
    for event in failed:
        print(
            f"  {event['source']} {event['event_type']} {event['event_id']} "
            f"(attempts {event['attempts']}): {event['last_error']}"
        )


def _retry(engine: Engine, args: argparse.Namespace) -> int:
    if not (args.keys or args.kind or args.status):
        print("name operation keys, --kind or --status: nothing was re-opened", file=sys.stderr)
        return 1
    with engine.begin() as connection:
        count = reopen(
            connection,
            op_keys=args.keys,
            kinds=args.kind,
            statuses=args.status or PROBLEM_STATUSES,
        )
    print(f"re-opened {count} operation(s); the next run of their DAG sends them")
    return 0


HOLDER_FIELDS = ("badge", "holder", "email", "state", "issued", "expires", "organization_id", "badge_id")


def _holders(engine: Engine, args: argparse.Namespace) -> int:
    """Answered from the badge_holders table that the sync DAGs keep current: no API call."""
    found = find_holders(engine, args.query, organization_id=args.org, current_only=not args.all)
    rows = [
        {
            "badge": row["badge_template_name"],
            "holder": row["issued_to"] or "",
            "email": row["recipient_email"],
            "state": row["state"],
            "issued": _day(row["issued_at"]),
            "expires": _day(row["expires_at"]),
            "organization_id": row["organization_id"],
            "badge_id": row["badge_id"],
        }
        for row in found
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=HOLDER_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        shown = HOLDER_FIELDS[:6]
        widths = {f: max([len(f), *(len(str(r[f])) for r in rows)]) for f in shown}
        print("  ".join(f.ljust(widths[f]) for f in shown).rstrip())
        for row in rows:
            print("  ".join(str(row[f]).ljust(widths[f]) for f in shown).rstrip())
        print(f"{len(rows)} holder(s) of badges matching {args.query!r}")
    return 0


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else ""


# One attempt and a short timeout: the doctor reports an outage, it does not wait it out.
DOCTOR_RETRY = RetryPolicy(max_attempts=1, timeout=10.0)
LEVEL_MARKS = {OK: "ok", WARNING: "WARNING", FAILED: "FAILED"}


def _doctor(args: argparse.Namespace) -> int:
    """Every connection, the warehouse and the settings, one line each; exit 1 on a failure."""
    checks: list[tuple[str, Any]] = [
        (f"warehouse {args.conn_id}", lambda: _check_warehouse(args.conn_id)),
        (args.credly_conn_id, lambda: _check_credly(args.credly_conn_id)),
        _lms_check(args.conn_id, args.lms_conn_id),
        (args.smtp_conn_id, lambda: _check_api(SmtpHook(args.smtp_conn_id), name=args.smtp_conn_id)),
    ]
    for graph_conn_id in _graph_conn_ids(args.msgraph_conn_id):
        checks.append(
            (graph_conn_id, lambda c=graph_conn_id: _check_api(GraphHook(c, retry=DOCTOR_RETRY), name=c))
        )
    results = run_checks(checks)
    width = max(len(check.name) for check in results)
    print("credly-sync doctor")
    for check in results:
        print(f"  {LEVEL_MARKS[check.level]:8} {check.name:{width}}  {check.detail}")
    failed = sum(check.level == FAILED for check in results)
    warned = sum(check.level == WARNING for check in results)
    print(f"{failed} failed, {warned} warning(s), {len(results) - failed - warned} ok")
    return 1 if failed else 0


def _lms_check(warehouse_conn_id: str, conn_id: str | None) -> tuple[str, Any]:
    """The check of the LMS connection: the LMS the settings name (Docebo when they cannot be
    read: the warehouse check reports why)."""
    try:
        lms = load_settings(warehouse_engine(warehouse_conn_id)).lms
    except Exception:
        lms = DoceboLms.name
    adapter = adapter_class(lms)
    conn_id = conn_id or adapter.default_conn_id
    return conn_id, lambda: _check_api(adapter.hook_class(conn_id, retry=DOCTOR_RETRY), name=conn_id)


def _check_warehouse(conn_id: str) -> list[Check]:
    engine = warehouse_engine(conn_id)
    name = f"warehouse {conn_id}"
    current, head = current_revision(engine), head_revision()
    if current != head:
        return [
            Check(
                name,
                FAILED,
                f"{engine.dialect.name}, schema revision {current}, not {head}: run "
                f"`python -m credly_sync --conn-id {conn_id} migrate`",
            )
        ]
    results = [Check(name, OK, f"{engine.dialect.name}, schema revision {current} (current)")]
    try:
        settings = load_settings(engine)
    except SettingsError as exc:
        problems = "; ".join(exc.problems)
        return [*results, Check("settings", FAILED, f"{problems} (`python -m credly_sync settings set`)")]
    return [*results, Check("settings", OK, f"valid: {settings}")]


def _check_credly(conn_id: str) -> list[Check]:
    hook = CredlyHook(conn_id, retry=DOCTOR_RETRY)
    connected = _check_api(hook, name=conn_id)
    age = credly_token_age(conn_id, hook.get_connection(conn_id).extra_dejson)
    return [connected, Check(f"{conn_id} token", age.level, age.message)]


def _check_api(hook: Any, *, name: str) -> Check:
    """The hook's own connection test (the Airflow UI's "Test" button)."""
    ok, message = hook.test_connection()
    return Check(name, OK if ok else FAILED, message)


def _graph_conn_ids(given: list[str]) -> list[str]:
    if given:
        return given
    if os.environ.get(PROFILE_EXPORTS_ENV):
        return sorted({export.msgraph_conn_id for export in load_exports()})
    try:
        BaseHook.get_connection(GraphHook.default_conn_name)
    except AirflowNotFoundException:
        return []  # Microsoft 365 export not set up: nothing to check
    return [GraphHook.default_conn_name]
