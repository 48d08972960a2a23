"""The "Credly sync" page: a FastAPI app the api-server mounts at ``/credly-sync`` (plugin
``credly_sync_ui``). It reads the warehouse and Airflow's own run history, never an API.

Airflow adds no authentication to a plugin app (airflow-3.md §14), so every route resolves the
caller from the Airflow JWT itself, exactly as the core API does: the ``Authorization: Bearer``
header, else the UI's ``_token`` cookie; then the auth manager must allow reading the sync DAGs.
A browser without a session is sent to Airflow's login page and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import Engine

from credly_sync.health import credly_token_age
from credly_sync.runs import CREDLY_TO_LMS, LMS_TO_CREDLY
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, current_revision, head_revision
from credly_sync.warehouse.holders import find_holders
from credly_sync.warehouse.journal import OPEN_STATUS, PROBLEM_STATUSES
from credly_sync.warehouse.monitoring import (
    journal_problems,
    run_operation_counts,
    waiting_operations,
    watermarks,
)
from credly_sync.warehouse.status import journal_counts
from credly_sync.webui.render import render_page

URL_PREFIX = "/credly-sync"
DIRECTIONS = (LMS_TO_CREDLY, CREDLY_TO_LMS)
CREDLY_CONN_ID = "credly_default"

app = FastAPI(title="Credly sync", docs_url=None, redoc_url=None, openapi_url=None)


class LoginRequired(Exception):
    """No valid Airflow session: HTML callers are redirected to the login page."""


async def airflow_user(request: Request) -> Any:
    """The authenticated Airflow user allowed to read the sync DAGs, or 401 / 403."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials if scheme.lower() == "bearer" else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    try:
        user = await resolve_user_from_token(token)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED or not token:
            raise LoginRequired(exc.detail) from None
        raise
    manager = get_auth_manager()
    for dag_id in DIRECTIONS:
        allowed = manager.is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
        )
        if not allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not read the runs of {dag_id}")
    return user


User = Annotated[Any, Depends(airflow_user)]


@app.exception_handler(LoginRequired)
async def _login(request: Request, exc: LoginRequired) -> Any:
    if request.url.path.rstrip("/").endswith("/api/summary") or "text/html" not in request.headers.get(
        "accept", ""
    ):
        return JSONResponse({"detail": str(exc) or "Not authenticated"}, status.HTTP_401_UNAUTHORIZED)
    from airflow.api_fastapi.app import get_auth_manager

    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(get_auth_manager().get_url_login(next_url=here), status.HTTP_303_SEE_OTHER)


@app.get("/", response_class=HTMLResponse)
def page(
    user: User,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    kind: str | None = None,
    q: str | None = None,
    holders: str | None = None,
    run_id: str | None = None,
    dag_id: str | None = None,
) -> HTMLResponse:
    statuses = (status_filter,) if status_filter in PROBLEM_STATUSES else PROBLEM_STATUSES
    with _warehouse() as engine:
        summary = _summary(engine)
        problem_total, problems = journal_problems(engine, statuses=statuses, kind=kind or None, text=q)
        _, waiting = waiting_operations(engine)
        found = find_holders(engine, holders) if holders and holders.strip() else None
        this_run = run_operation_counts(engine, [run_id]).get(run_id, {}) if run_id else None
    html = render_page(
        user=getattr(user, "get_name", lambda: "")(),
        summary=summary,
        problems=problems,
        problem_total=problem_total,
        waiting=waiting,
        filters={"status": status_filter or "", "kind": kind or "", "q": q or ""},
        holders_query=holders or "",
        holders=found,
        this_run={"dag_id": dag_id or "", "run_id": run_id, "counts": this_run} if run_id else None,
    )
    return HTMLResponse(html)


@app.get("/api/summary")
def summary(user: User) -> dict[str, Any]:
    """The page's numbers as JSON (what the browser check compares with the warehouse)."""
    with _warehouse() as engine:
        data = _summary(engine)
    data["journal"] = [{"kind": k, "status": s, "count": n} for (k, s), n in sorted(data["journal"].items())]
    for sync in data["last_sync"].values():
        if sync:
            sync["counts"] = [
                {"kind": k, "status": s, "count": n} for (k, s), n in sorted(sync["counts"].items())
            ]
    return data


def _summary(engine: Engine) -> dict[str, Any]:
    counts = journal_counts(engine)
    by_status: dict[str, int] = {}
    for (_, journal_status), count in counts.items():
        by_status[journal_status] = by_status.get(journal_status, 0) + count
    last = _last_successful_runs()
    per_run = run_operation_counts(engine, [run["run_id"] for run in last.values() if run])
    for run in last.values():
        if run:
            run["counts"] = per_run.get(run["run_id"], {})
    return {
        "journal": counts,
        "journal_total": sum(counts.values()),
        "by_status": by_status,
        "waiting": by_status.get(OPEN_STATUS, 0),
        "failed": by_status.get("failed", 0),
        "rejected": by_status.get("rejected", 0),
        "last_sync": last,
        "watermarks": {stream: _iso(value) for stream, value in watermarks(engine).items()},
        "credly_token": _token_age(),
    }


def _last_successful_runs() -> dict[str, dict[str, Any] | None]:
    """Per sync DAG its newest successful run, from Airflow's metadata database (the api-server
    may read it; a task may not)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    found: dict[str, dict[str, Any] | None] = {}
    with create_session() as session:
        for dag_id in DIRECTIONS:
            run = session.scalars(
                select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.state == DagRunState.SUCCESS)
                .order_by(DagRun.end_date.desc())
                .limit(1)
            ).first()
            found[dag_id] = (
                {
                    "run_id": run.run_id,
                    "run_type": str(run.run_type),
                    "interval_start": _iso(run.data_interval_start),
                    "interval_end": _iso(run.data_interval_end),
                    "finished": _iso(run.end_date),
                    "conf": dict(run.conf or {}),
                }
                if run
                else None
            )
    return found


def _token_age() -> dict[str, Any]:
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        extra = Connection.get_connection_from_secrets(CREDLY_CONN_ID).extra_dejson
    except AirflowNotFoundException:
        return {"conn_id": CREDLY_CONN_ID, "level": "failed", "message": f"no connection '{CREDLY_CONN_ID}'"}
    age = credly_token_age(CREDLY_CONN_ID, extra)
    return {
        "conn_id": age.conn_id,
        "level": age.level,
        "message": age.message,
        "expires": age.expires.isoformat() if age.expires else None,
    }


@contextmanager
def _warehouse() -> Iterator[Engine]:
    """The warehouse engine through Airflow's server-side connection look-up (environment,
    secrets backends, metadata database); disposed after the request."""
    from airflow.models.connection import Connection

    hook = Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID).get_hook()
    engine = hook.get_sqlalchemy_engine()
    try:
        if current_revision(engine) != head_revision():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the warehouse ({WAREHOUSE_CONN_ID}) is at schema revision {current_revision(engine)}, "
                f"not {head_revision()}: run `python -m credly_sync migrate`",
            )
        yield engine
    finally:
        engine.dispose()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
