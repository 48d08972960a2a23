"""LMS -> Credly benchmark: a batch sync (full reconcile) and its rerun at scale.

Starts the Credly and Docebo simulators as separate processes (their GIL does not slow the
client), seeds 100k learners / 10 templates / ~300k completions, wires the routes (course
dropdown -> template, learning plans and certification codes in the mappings table), then runs
``PlanLmsToCredlyOperator`` and the apply operators directly, twice, and prints per phase: wall
time, peak RSS, API calls by endpoint against the minimum (read pages + one write per needed
change). JSON goes to ``benchmarks/out/``.

    .venv/bin/python benchmarks/lms_to_credly.py --quick
    .venv/bin/python benchmarks/lms_to_credly.py                      # 100k / 10 / ~300k
    .venv/bin/python benchmarks/lms_to_credly.py --warehouse sqlite --workers 16

Not a test: nothing is asserted except that the rerun writes nothing (reported, not raised).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import resource
import secrets
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
for path in (ROOT, ROOT / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from include.processes import free_port, port_open  # noqa: E402 -- after the path set-up above

BATCH_SYNC_START_DATE = "2025-01-01"
COMPLETION_DAYS = 300  # completions fall in [BATCH_SYNC_START_DATE, + 300 days)
SEED = 7
PG_SERVER = {"host": "127.0.0.1", "port": 5432, "login": "postgres"}
PG_DATABASE = "credly_sync_bench"
BENCHMARK_CALLS_PER_HOUR = 10_000_000
COURSE_SHARE, AWARD_SHARE = 0.85, 0.10  # learning plan completions follow from the course ones
DOCEBO_PAGE = 200  # DoceboHook's default page_size
CREDLY_PAGE = 100  # what the plan operator's CredlyHook(per_page=100) asks for (``per`` is unconfirmed)
# Simulator credentials, only for the processes this script starts.
CREDLY_ORG, DOCEBO_CLIENT = "bench-org", "bench-client"

log = logging.getLogger("benchmark")


# --- simulators ---------------------------------------------------------------------------------


def serve(name: str, argv: list[str]) -> None:
    """``lms_to_credly.py _serve credly|docebo ARGS``: a simulator without uvicorn's access log
    (one log line per request would cost the simulator more than the request)."""
    import uvicorn

    module = __import__(f"include.simulators.{name}.__main__", fromlist=["build_app", "add_arguments"])
    parser = argparse.ArgumentParser(prog=f"{name} simulator")
    parser.add_argument("--port", type=int, required=True)
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    uvicorn.run(
        module.build_app(args), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


class Simulator:
    """One simulator process on a free loopback port."""

    def __init__(self, name: str, args: list[str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_path.open("wb")
        command = [sys.executable, str(Path(__file__).resolve()), "_serve", name, "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, *args], cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {name} simulator did not start; see {log_path}")
            time.sleep(0.1)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/_admin/{path}", timeout=600, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def calls(self) -> dict[str, int]:
        return self.admin("GET", "calls")

    def reset_calls(self) -> None:
        self.admin("DELETE", "calls")

    def cpu_seconds(self) -> float:
        """User + system CPU of the simulator process so far (Linux; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmRSS") / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log_file.close()


# --- memory -------------------------------------------------------------------------------------


def _status_kb(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so each phase gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    peak = _status_kb("self", "VmHWM")
    if not peak:  # not Linux: the whole process's peak
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024


# --- timing of the steps inside the operators -----------------------------------------------------


class StepTimer:
    """Wraps module functions to add up their wall time (thread-seconds when run on threads) and,
    for the plan's steps (one after the other on the main thread), the client's RSS and peak RSS
    when the step ends: where the plan phase's peak comes from."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.memory: dict[str, dict[str, float]] = {}

    def wrap(self, owner: Any, attribute: str, label: str, *, memory: bool = False) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.counts[label] += 1
                if memory:
                    self.memory[label] = {
                        "rss_mb_after": round(_status_kb("self", "VmRSS") / 1024),
                        "peak_mb_after": round(peak_rss_mb()),
                    }

        setattr(owner, attribute, timed)

    def take(self) -> dict[str, dict[str, float]]:
        result = {
            label: {"seconds": round(self.seconds[label], 2), "calls": self.counts[label]}
            | self.memory.get(label, {})
            for label in self.seconds
        }
        self.seconds.clear()
        self.counts.clear()
        self.memory.clear()
        return result


def instrument(timer: StepTimer) -> None:
    from credly_sync.operators import apply, badges, lms_to_credly

    plan_op = lms_to_credly.PlanLmsToCredlyOperator
    timer.wrap(lms_to_credly, "read_lms_to_credly", "extract (Docebo + Credly reads)", memory=True)
    timer.wrap(lms_to_credly, "plan_lms_to_credly", "plan (pandas)", memory=True)
    timer.wrap(lms_to_credly, "record_operations", "journal (record_operations)", memory=True)
    timer.wrap(lms_to_credly, "replace_course_templates", "journal (course templates)")
    timer.wrap(plan_op, "_partitions", "partitions (open_operations)")
    timer.wrap(apply, "claimable_keys", "apply: read open operations")
    timer.wrap(apply, "claim_operations", "apply: claim chunks (journal)")
    timer.wrap(apply, "record_outcomes", "apply: record outcomes (journal)")
    for operator in (badges.IssueBadgesOperator, badges.RevokeBadgesOperator, badges.ReplaceBadgesOperator):
        timer.wrap(operator, "record_effects", "apply: record effects (ledger)")
    timer.wrap(apply, "wait", "apply: main thread waiting for calls")  # idle; the rest is its DB work
    for operator in (badges.IssueBadgesOperator, badges.RevokeBadgesOperator, badges.ReplaceBadgesOperator):
        timer.wrap(operator, "apply_one", "apply: HTTP call [threads]")


# --- the world ----------------------------------------------------------------------------------


def route_split(templates: int) -> dict[str, int]:
    """Templates per route: a fifth to learning plans, a fifth to certifications, the rest courses."""
    if templates < 3:
        raise SystemExit("--templates must be at least 3 (one per route)")
    plans = certs = max(1, round(templates * 0.2))
    return {"course": templates - plans - certs, "learning_plan": plans, "certification": certs}


class World:
    """Simulators, connections and the warehouse of one benchmark."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.split = route_split(args.templates)
        self.credly_token = secrets.token_hex(16)  # hex: an argparse value must not start with '-'
        self.docebo_secret = secrets.token_hex(16)
        self.simulators: list[Simulator] = []
        self.database_created = False
        self.sqlite_path = args.out / f"bench-warehouse-{os.getpid()}.db"
        self.pg_database = args.pg_database

    # --- lifecycle

    def start(self) -> None:
        self.args.out.mkdir(parents=True, exist_ok=True)
        self.credly = self._simulator(
            "credly", ["--org", CREDLY_ORG, "--token", self.credly_token, "--seed", str(SEED)]
        )
        self.docebo = self._simulator(
            "docebo", ["--client-id", DOCEBO_CLIENT, "--client-secret", self.docebo_secret]
        )
        os.environ["AIRFLOW_CONN_CREDLY_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": self.credly.url, "login": CREDLY_ORG, "password": self.credly_token}
        )
        os.environ["AIRFLOW_CONN_DOCEBO_DEFAULT"] = json.dumps(
            {
                "conn_type": "http",
                "host": self.docebo.url,
                "login": DOCEBO_CLIENT,
                "password": self.docebo_secret,
            }
        )
        os.environ["AIRFLOW_CONN_CREDLY_SYNC_WAREHOUSE"] = json.dumps(self._warehouse_connection())

    def _simulator(self, name: str, args: list[str]) -> Simulator:
        simulator = Simulator(name, args, self.args.out / f"{name}-simulator.log")
        self.simulators.append(simulator)
        log.info("%s simulator on %s (pid %d)", name, simulator.url, simulator.process.pid)
        return simulator

    def _warehouse_connection(self) -> dict[str, Any]:
        if self.args.warehouse == "sqlite":
            self.sqlite_path.unlink(missing_ok=True)
            return {"conn_type": "sqlite", "host": str(self.sqlite_path)}
        from sqlalchemy import create_engine, text

        server = create_engine(
            "postgresql+psycopg://{login}@{host}:{port}/postgres".format(**PG_SERVER),
            isolation_level="AUTOCOMMIT",
        )
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {self.pg_database}"))
        server.dispose()
        self.database_created = True
        return {"conn_type": "postgres", **PG_SERVER, "schema": self.pg_database}

    def stop(self) -> None:
        for simulator in self.simulators:
            simulator.stop()
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
        if self.args.keep_warehouse:
            return
        if self.database_created:
            from sqlalchemy import create_engine, text

            server = create_engine(
                "postgresql+psycopg://{login}@{host}:{port}/postgres".format(**PG_SERVER),
                isolation_level="AUTOCOMMIT",
            )
            with server.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)"))
            server.dispose()
        self.sqlite_path.unlink(missing_ok=True)

    # --- seeding and wiring

    def seed(self) -> dict[str, Any]:
        args, split = self.args, self.split
        names = [f"Benchmark Badge {index + 1:02d}" for index in range(args.templates)]
        self.template_names = names
        for name in names:
            self.credly.admin("POST", "templates", json={"name": name})
        courses = split["course"]
        sizes = {
            "seed": SEED,
            "learners": args.learners,
            "courses": courses,
            "learning_plans": split["learning_plan"],
            "certifications": split["certification"],
            "completions": round(args.completions * COURSE_SHARE),
            "awards": round(args.completions * AWARD_SHARE),
            "start": BATCH_SYNC_START_DATE,
            "days": COMPLETION_DAYS,
        }
        started = time.perf_counter()
        counts = self.docebo.admin("POST", "seed", json=sizes)
        log.info("Docebo world %s built in %.1f s: %s", sizes, time.perf_counter() - started, counts)
        return {"docebo_seed": sizes, "docebo_counts": counts}

    def wire(self) -> dict[str, Any]:
        """Warehouse, settings, the template table and dropdown (as the credly_templates and
        credly_lms_dropdown DAGs do), each course's dropdown value, the mappings."""
        from sqlalchemy import insert

        from credly_sync.hooks.docebo import DoceboHook
        from credly_sync.operators.dropdown import ApplyCourseDropdownOperator, PlanCourseDropdownOperator
        from credly_sync.operators.templates import SyncBadgeTemplatesOperator
        from credly_sync.settings import load_settings, write_setting
        from credly_sync.warehouse.engine import migrate, warehouse_engine
        from credly_sync.warehouse.schema import credly_integration_mappings
        from credly_sync.warehouse.templates import read_template_table

        self.engine = engine = warehouse_engine()
        migrate(engine)
        with (ROOT / "include" / "sample" / "settings.csv").open() as stream:
            for row in csv.DictReader(stream):
                write_setting(engine, row["key"], row["value"] or "")
        write_setting(engine, "BATCH_SYNC_START_DATE", BATCH_SYNC_START_DATE)
        context = {"run_id": "benchmark_setup", "params": {}}
        SyncBadgeTemplatesOperator(task_id="sync_templates").execute(context)
        PlanCourseDropdownOperator(task_id="plan_dropdown").execute(context)
        ApplyCourseDropdownOperator(task_id="apply_dropdown").execute(context)

        by_name = read_template_table(engine).set_index("badge_template_name")
        template_ids = [by_name.loc[name, "badge_template_id"] for name in self.template_names]
        course_count, plans = self.split["course"], self.split["learning_plan"]
        routes = {
            "course": template_ids[:course_count],
            "learning_plan": template_ids[course_count : course_count + plans],
            "certification": template_ids[course_count + plans :],
        }
        docebo = DoceboHook()
        field = docebo.find_dropdown_field(load_settings(engine).course_additional_field)
        assert field is not None, "the dropdown DAG steps did not create the course field"
        self.course_ids = [101 + index for index in range(course_count)]
        for course_id, template_id in zip(self.course_ids, routes["course"], strict=True):
            element = int(by_name.set_index("badge_template_id").loc[template_id, "dropdown_element_id"])
            docebo.set_course_field_value(course_id, field.field_id, element)
        self.plan_ids = [501 + index for index in range(plans)]
        self.cert_ids = [901 + index for index in range(self.split["certification"])]
        rows = [
            {"badge_template_id": t, "learning_plan_id": str(p), "certification_code": None}
            for p, t in zip(self.plan_ids, routes["learning_plan"], strict=True)
        ] + [
            {"badge_template_id": t, "learning_plan_id": None, "certification_code": f"CERT-{index + 1:03d}"}
            for index, t in enumerate(routes["certification"])
        ]
        with engine.begin() as connection:
            connection.execute(insert(credly_integration_mappings), rows)
        self.template_ids = template_ids
        return routes

    # --- census: what the lists hold, read with page size 1 (before the counted phases)

    def census(self, window_end: datetime) -> dict[str, int]:
        from include.simulators.docebo.unconfirmed import AWARDS_PATH, COMPLETED_FROM, COMPLETED_TO

        form = {
            "client_id": DOCEBO_CLIENT,
            "client_secret": self.docebo_secret,
            "grant_type": "client_credentials",
        }
        token = requests.post(f"{self.docebo.url}/oauth2/token", data=form, timeout=30).json()["access_token"]
        docebo = requests.Session()
        docebo.headers["Authorization"] = f"Bearer {token}"
        window = {
            COMPLETED_FROM: f"{BATCH_SYNC_START_DATE} 00:00:00",
            COMPLETED_TO: (window_end - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"),
        }

        def count(path: str, **params: Any) -> int:
            response = docebo.get(f"{self.docebo.url}{path}", params={**params, "page_size": 1}, timeout=600)
            response.raise_for_status()
            return int(response.json()["data"]["count"])

        credly = requests.Session()
        credly.auth = (self.credly_token, "")
        templates = ",".join(self.template_ids)

        def badges(extra: str = "", per: int = 1, field: str = "total_count") -> int:
            response = credly.get(
                f"{self.credly.url}/v1/organizations/{CREDLY_ORG}/badges",
                params={"filter": f"badge_template_id::{templates}{extra}", "per": per},
                timeout=600,
            )
            response.raise_for_status()
            return int(response.json()["metadata"][field])

        return {
            "users": count("/manage/v1/user"),
            "course_fields": count("/learn/v1/courses/field"),
            "courses": count("/learn/v1/courses"),
            "course_completions": count(
                "/learn/v1/enrollments",
                **{"id_course[]": self.course_ids, "status[]": ["completed"]},
                **window,
            ),
            # a full reconcile reads every enrollment of the mapped courses: resets are revoked
            "course_enrollments": count("/learn/v1/enrollments", **{"id_course[]": self.course_ids}),
            "learning_plan_completions": count(
                "/learningplan/v1/learningplans/enrollments",
                **{"learning_plan_id[]": self.plan_ids, "status[]": ["completed"]},
                **window,
            ),
            "certifications": count("/learn/v1/certification"),
            "certification_awards": count(AWARDS_PATH, **{"id_cert[]": self.cert_ids}),
            "credly_badges": badges(),
            "credly_revoked": badges("|state::revoked"),
            # what Credly serves when asked for the plan's page size (the documented one is 50)
            "credly_page": badges(per=CREDLY_PAGE, field="per"),
        }


# --- phases -------------------------------------------------------------------------------------


class TaskInstanceStub:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@contextmanager
def phase(world: World, timer: StepTimer, record: dict[str, Any]) -> Iterator[None]:
    for simulator in world.simulators:
        simulator.reset_calls()
    timer.take()
    exact_peak = reset_peak_rss()
    record["rss_mb_at_start"] = round(_status_kb("self", "VmRSS") / 1024)
    started, cpu_started = time.perf_counter(), time.process_time()
    simulator_cpu = {sim.name: sim.cpu_seconds() for sim in world.simulators}
    try:
        yield
    finally:
        record["wall_seconds"] = round(time.perf_counter() - started, 2)
        record["cpu_seconds"] = round(time.process_time() - cpu_started, 2)  # the client, all threads
        record["peak_rss_mb"] = round(peak_rss_mb(), 1)
        record["peak_rss_is_per_phase"] = exact_peak
        record["steps"] = timer.take()
        record["calls"] = {sim.name: sim.calls() for sim in world.simulators}
        record["simulator_rss_mb"] = {sim.name: round(sim.rss_mb(), 1) for sim in world.simulators}
        record["simulator_cpu_seconds"] = {
            sim.name: round(sim.cpu_seconds() - simulator_cpu[sim.name], 2) for sim in world.simulators
        }
        record["load_average"] = [round(load, 2) for load in os.getloadavg()]


def run_sync(world: World, timer: StepTimer, run_id: str, window_end: datetime) -> dict[str, Any]:
    """One lms_to_credly DAG run with full_reconcile: plan, then issue (per partition), revoke, replace."""
    from airflow.sdk.exceptions import AirflowException

    from credly_sync.operators.badges import IssueBadgesOperator, ReplaceBadgesOperator, RevokeBadgesOperator
    from credly_sync.operators.lms_to_credly import PlanLmsToCredlyOperator

    ti = TaskInstanceStub()
    context: dict[str, Any] = {
        "run_id": run_id,
        "params": {"full_reconcile": True, "dry_run": False},
        "data_interval_start": window_end - timedelta(hours=1),
        "data_interval_end": window_end,
        "logical_date": window_end - timedelta(hours=1),
        "ti": ti,
    }
    before = world.census(window_end)
    result: dict[str, Any] = {"census_before": before, "plan": {}, "apply": {}}
    print(f"[{run_id}] plan: extract, plan, journal ...", flush=True)
    with phase(world, timer, result["plan"]):
        partitions = PlanLmsToCredlyOperator(task_id="plan_badges").execute(context)
    result["plan"]["summary"] = {k: v for k, v in ti.xcom["summary"].items() if not isinstance(v, list)}
    result["plan"]["partitions"] = len(partitions)
    print(f"[{run_id}] plan: {result['plan']['summary']} in {result['plan']['wall_seconds']} s", flush=True)
    print(f"[{run_id}] apply: {len(partitions)} issue partition(s), revoke, replace ...", flush=True)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    with phase(world, timer, result["apply"]):
        operators: list[Any] = [
            IssueBadgesOperator(task_id="issue_badges", max_workers=world.args.workers, partition=partition)
            for partition in partitions
        ]
        operators += [
            RevokeBadgesOperator(task_id="revoke_badges"),
            ReplaceBadgesOperator(task_id="replace_badges"),
        ]
        for operator in operators:
            try:
                summary = operator.execute(context)
                outcomes.update(summary["outcomes"])
            except AirflowException as exc:
                failures.append(str(exc))
    result["apply"]["outcomes"] = dict(outcomes)
    result["apply"]["failures"] = failures
    after = world.census(window_end)
    result["census_after"] = after
    result["needed_writes"] = {
        "badges created (issue + replace)": after["credly_badges"] - before["credly_badges"],
        "badges revoked": after["credly_revoked"] - before["credly_revoked"],
    }
    result["minimum"] = minimum_calls(world, before, result["needed_writes"])
    print(f"[{run_id}] apply: {dict(outcomes)} in {result['apply']['wall_seconds']} s", flush=True)
    return result


def minimum_calls(world: World, census: dict[str, int], writes: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per simulator and endpoint: the pages of every list a full reconcile needs at the page size
    the server serves (an empty list is still one call) plus one write per badge that had to
    change."""
    from include.simulators.docebo.unconfirmed import AWARDS_PATH

    def pages(rows: int, size: int) -> int:
        return max(1, math.ceil(rows / size))

    docebo = {
        "POST /oauth2/token": 1,
        "GET /learn/v1/courses/field": pages(census["course_fields"], DOCEBO_PAGE),
        "GET /learn/v1/courses": pages(census["courses"], DOCEBO_PAGE),
        "GET /learn/v1/enrollments": pages(census["course_enrollments"], DOCEBO_PAGE),
        "GET /learningplan/v1/learningplans/enrollments": pages(
            census["learning_plan_completions"], DOCEBO_PAGE
        ),
        "GET /learn/v1/certification": pages(census["certifications"], DOCEBO_PAGE),
        f"GET {AWARDS_PATH}": pages(census["certification_awards"], DOCEBO_PAGE),
        # no id filter on the user list: paging it beats one GET per learner at this size
        "GET /manage/v1/user": pages(census["users"], DOCEBO_PAGE),
    }
    prefix = "/v1/organizations/{organization_id}"
    credly = {
        f"GET {prefix}/badges": pages(census["credly_badges"], census["credly_page"]),
        f"POST {prefix}/badges": writes["badges created (issue + replace)"],
        f"PUT {prefix}/badges/{{badge_id}}/revoke": writes["badges revoked"],
    }
    return {"docebo": docebo, "credly": {k: v for k, v in credly.items() if v or k.startswith("GET")}}


# --- report -------------------------------------------------------------------------------------


def report(config: dict[str, Any], runs: dict[str, dict[str, Any]]) -> str:
    lines = [
        "",
        "LMS -> Credly benchmark  "
        f"(learners {config['learners']:,}, templates {config['templates']}, "
        f"warehouse {config['warehouse']}, workers {config['workers']})",
        "route split: "
        + ", ".join(f"{route} {count} template(s)" for route, count in config["split"].items())
        + f"; Docebo world: {config['docebo_counts']}",
    ]
    census = runs["batch"]["census_before"]
    routes = ("course_completions", "learning_plan_completions", "certification_awards")
    lines.append(
        "completions in the window: "
        + ", ".join(f"{route.replace('_', ' ')} {census[route]:,}" for route in routes)
        + f" = {sum(census[route] for route in routes):,}"
    )
    lines.append("")
    header = f"{'phase':<22}{'wall s':>10}{'peak RSS MB':>13}{'calls':>10}{'min calls':>11}{'excess':>9}"
    lines += [header, "-" * len(header)]
    for name, run in runs.items():
        for step in ("plan", "apply"):
            phase_record = run[step]
            calls = sum(sum(c.values()) for c in phase_record["calls"].values())
            minimum = _phase_minimum(run["minimum"], step)
            lines.append(
                f"{name + ' ' + step:<22}{phase_record['wall_seconds']:>10.1f}"
                f"{phase_record['peak_rss_mb']:>13.0f}{calls:>10,}{minimum:>11,}{calls - minimum:>9,}"
            )
        total = run["plan"]["wall_seconds"] + run["apply"]["wall_seconds"]
        lines.append(f"{name + ' total':<22}{total:>10.1f}")
    for name, run in runs.items():
        lines += ["", f"{name}: API calls by endpoint (actual / minimum)"]
        for simulator in ("docebo", "credly"):
            actual: dict[str, int] = defaultdict(int)
            for step in ("plan", "apply"):
                for key, value in run[step]["calls"][simulator].items():
                    actual[key] += value
            minimum = run["minimum"][simulator]
            for key in sorted(set(actual) | set(minimum)):
                flag = "" if actual.get(key, 0) == minimum.get(key, 0) else "   <-"
                lines.append(
                    f"  {simulator:<7}{key:<62}{actual.get(key, 0):>9,} / {minimum.get(key, 0):>9,}{flag}"
                )
        lines.append(f"  plan summary: {run['plan']['summary']}")
        lines.append(
            f"  apply outcomes: {run['apply']['outcomes']}; failures: {len(run['apply']['failures'])}"
        )
        lines.append(f"  needed writes (from Credly's state): {run['needed_writes']}")
        for step in ("plan", "apply"):
            steps = ", ".join(
                f"{k} {v['seconds']} s"
                + (
                    f" (RSS after {v['rss_mb_after']} MB, peak {v['peak_mb_after']} MB)"
                    if "rss_mb_after" in v
                    else ""
                )
                for k, v in run[step]["steps"].items()
            )
            lines.append(f"  {step} steps: {steps}")
        sims = run["apply"]["simulator_rss_mb"]
        lines.append(f"  simulator RSS after apply (MB): {sims}")
        for step in ("plan", "apply"):
            lines.append(
                f"  {step}: client RSS at start {run[step]['rss_mb_at_start']} MB; "
                f"CPU s: client {run[step]['cpu_seconds']}, simulators "
                f"{run[step]['simulator_cpu_seconds']}; load average at its end {run[step]['load_average']}"
            )
    rerun_writes = {
        k: v
        for k, v in runs.get("rerun", {}).get("apply", {}).get("calls", {}).get("credly", {}).items()
        if not k.startswith("GET ")
    }
    if "rerun" in runs:
        lines.append("")
        lines.append("rerun writes nothing: " + ("yes" if not rerun_writes else f"NO: {rerun_writes}"))
    return "\n".join(lines)


def summary_lines(runs: dict[str, dict[str, Any]]) -> list[str]:
    """One line per phase (the batch sync, then its rerun), to compare runs: the completions that
    earn a badge (one per learner and template; later completions of an earned template and
    learning plans that repeat their courses are not counted), client CPU seconds of the plan
    step (extract + plan + journal, all threads), the client's peak RSS over plan and apply,
    badges written per second of apply (issued, replaced or revoked), API calls above the
    minimum (plan + apply) and the writes of the rerun."""
    rerun_writes = _writes(runs["rerun"]) if "rerun" in runs else 0
    # completions that earn a badge (one per learner and template): what the batch sync issues
    completions = runs["batch"]["plan"]["summary"]["issue"]
    lines = []
    for name, run in runs.items():
        written = sum(run["needed_writes"].values())
        seconds = run["apply"]["wall_seconds"]
        calls = sum(
            sum(endpoints.values()) for step in ("plan", "apply") for endpoints in run[step]["calls"].values()
        )
        minimum = sum(sum(endpoints.values()) for endpoints in run["minimum"].values())
        lines.append(
            f"batch {'sync' if name == 'batch' else name}: completions={completions} "
            f"plan_cpu_s={run['plan']['cpu_seconds']:.1f} "
            f"peak_rss_mb={max(run['plan']['peak_rss_mb'], run['apply']['peak_rss_mb']):.0f} "
            f"apply_badges_per_s={(written / seconds if written and seconds else 0):.0f} "
            f"calls_over_minimum={calls - minimum} rerun_writes={rerun_writes}"
        )
    return lines


def _writes(run: dict[str, Any]) -> int:
    """Write calls (anything but a read) a run made to Credly."""
    calls = run["apply"]["calls"]["credly"]
    return sum(n for endpoint, n in calls.items() if not endpoint.startswith("GET "))


def _phase_minimum(minimum: dict[str, dict[str, int]], step: str) -> int:
    """Reads belong to the plan phase, writes to the apply phase."""
    total = 0
    for endpoints in minimum.values():
        for key, value in endpoints.items():
            is_read = key.startswith("GET ") or key == "POST /oauth2/token"
            total += value if is_read == (step == "plan") else 0
    return total


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--completions", type=int, default=300_000, help="target across the three routes")
    parser.add_argument("--workers", type=int, default=8, help="apply concurrency (the DAG uses 8)")
    parser.add_argument("--warehouse", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true", help="2k learners, 6k completions: a smoke run")
    parser.add_argument("--no-rerun", action="store_true", help="only the batch sync")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON, logs (default benchmarks/out)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the client here")
    parser.add_argument(
        "--pg-database",
        default=PG_DATABASE,
        help="PostgreSQL database created (dropped first if it exists) and dropped afterwards",
    )
    parser.add_argument("--keep-warehouse", action="store_true", help="keep the database / SQLite file")
    parser.add_argument("--verbose", action="store_true", help="Airflow's INFO logs on the console too")
    args = parser.parse_args(argv)
    if not args.pg_database.isidentifier():
        parser.error("--pg-database must be a plain identifier")
    if args.quick:
        args.learners, args.completions = 2_000, 6_000
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["_serve"]:
        serve(argv[1], argv[2:])
        return 0
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW_HOME", str(OUT / "airflow-home"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    if not args.verbose:  # operators log progress every 200 badges; the log file keeps it all
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    log_path = out / f"lms_to_credly-{stamp}.log"
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(log_path)],
        force=True,
    )
    print(f"log: {log_path}", flush=True)
    world = World(args)
    timer = StepTimer()
    profiler = None
    try:
        world.start()
        seeded = world.seed()
        routes = world.wire()
        instrument(timer)
        config = {
            "learners": args.learners,
            "templates": args.templates,
            "completions_target": args.completions,
            "workers": args.workers,
            "warehouse": args.warehouse,
            "split": world.split,
            "routes": routes,
            **seeded,
            "page_sizes": {"docebo": DOCEBO_PAGE, "credly": CREDLY_PAGE},
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        }
        window_end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        # the simulator has no hourly limit: a budget of Docebo's 1000 calls would reschedule the
        # batch sync or its rerun (rightly, against a real Docebo) and leave nothing to time
        from credly_sync.settings import write_setting

        write_setting(world.engine, "LMS_API_CALLS_PER_HOUR", str(BENCHMARK_CALLS_PER_HOUR))
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        runs = {"batch": run_sync(world, timer, "batch_sync", window_end)}
        if not args.no_rerun:
            runs["rerun"] = run_sync(world, timer, "rerun", window_end)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        config["process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        text = report(config, runs)
        print(text, flush=True)
        out_file = out / f"lms_to_credly-{stamp}.json"
        out_file.write_text(json.dumps({"config": config, "runs": runs}, indent=2, default=str))
        print(f"\nJSON: {out_file}", flush=True)
        print("\n".join(summary_lines(runs)), flush=True)
    finally:
        world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
