"""HTML of the "Credly sync" page: plain server-side markup, no script, every value escaped.

Numbers carry ``data-*`` attributes (``data-count="journal-total"``, ``data-kind``/``data-status``)
so a browser check can read them without parsing the layout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from credly_sync.warehouse.journal import PROBLEM_STATUSES

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2933}
h1{margin:0 0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #d9e2ec}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d9e2ec;padding:.25rem .6rem;
text-align:left;vertical-align:top}th{background:#f0f4f8}td.n{text-align:right}
.banner{padding:.6rem 1rem;border-radius:4px;margin:1rem 0}.ok{background:#e3f9e5}
.warning{background:#fffbea;border:1px solid #f0b429}.failed{background:#ffe3e3;border:1px solid #e12d39}
.muted{color:#627d98}form{margin:.5rem 0}input,select{padding:.2rem}
"""


def render_page(
    *,
    user: str,
    summary: Mapping[str, Any],
    problems: Sequence[Mapping[str, Any]],
    problem_total: int,
    waiting: Sequence[Mapping[str, Any]],
    filters: Mapping[str, str],
    holders_query: str,
    holders: Sequence[Mapping[str, Any]] | None,
    this_run: Mapping[str, Any] | None,
) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Credly sync</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Credly sync</h1>",
        f"<p class='muted'>Signed in as {escape(user)}. Everything here is read from the warehouse "
        "and Airflow's run history; <code>python -m credly_sync status</code> shows the same.</p>",
        _token(summary["credly_token"]),
    ]
    if this_run:
        parts.append(_this_run(this_run))
    parts += [
        _last_syncs(summary["last_sync"]),
        _journal(summary["journal"], summary["journal_total"]),
        _problems(problems, problem_total, filters, sorted({kind for kind, _ in summary["journal"]})),
        _waiting(waiting, summary["waiting"]),
        _holders(holders_query, holders),
        "</body></html>",
    ]
    return "".join(parts)


def _token(token: Mapping[str, Any]) -> str:
    return f"<div class='banner {escape(token['level'])}' id='credly-token'>{escape(token['message'])}</div>"


def _counts_table(counts: Mapping[tuple[str, str], int], total_name: str) -> str:
    if not counts:
        return f"<p class='muted'><b data-count='{escape(total_name)}'>0</b> operations</p>"
    statuses = sorted({journal_status for _, journal_status in counts})
    kinds = sorted({kind for kind, _ in counts})
    head = "".join(f"<th>{escape(s)}</th>" for s in statuses)
    rows = []
    for kind in kinds:
        cells = "".join(
            f"<td class='n' data-kind='{escape(kind)}' data-status='{escape(s)}'>"
            f"{counts.get((kind, s), 0)}</td>"
            for s in statuses
        )
        rows.append(f"<tr><th>{escape(kind)}</th>{cells}</tr>")
    total = sum(counts.values())
    return (
        f"<table data-counts='{escape(total_name)}'><tr><th>kind</th>{head}</tr>{''.join(rows)}</table>"
        f"<p>total: <b data-count='{escape(total_name)}'>{total}</b></p>"
    )


def _this_run(run: Mapping[str, Any]) -> str:
    title = f"{run['dag_id']} / {run['run_id']}" if run["dag_id"] else run["run_id"]
    return (
        f"<h2 id='this-run'>Run {escape(title)}</h2><p>Operations this run journaled "
        "(planned) and where they stand now:</p>" + _counts_table(run["counts"], "this-run-total")
    )


def _last_syncs(last: Mapping[str, Mapping[str, Any] | None]) -> str:
    parts = ["<h2 id='last-sync'>Last successful sync per direction</h2>"]
    for dag_id, run in last.items():
        if not run:
            parts.append(f"<h3>{escape(dag_id)}</h3><p class='muted'>no successful run yet</p>")
            continue
        link = f"../dags/{quote(dag_id)}/runs/{quote(run['run_id'], safe='')}"
        flags = (
            ", ".join(f"{key}={value}" for key, value in sorted(run["conf"].items()) if value)
            or "incremental"
        )
        # a manual run has no data interval: its window is the one the run itself chose
        window = f"window {run['interval_start']} .. {run['interval_end']}, " if run["interval_start"] else ""
        run_id = escape(run["run_id"])
        parts.append(
            f"<h3>{escape(dag_id)}</h3><p data-dag-id='{escape(dag_id)}' data-run-id='{run_id}'>"
            f"<a target='_top' href='{escape(link)}'>{run_id}</a> ({escape(run['run_type'])}, "
            f"{escape(flags)}): {escape(window)}finished {escape(str(run['finished']))}</p>"
            + _counts_table(run["counts"], f"last-{dag_id}")
        )
    return "".join(parts)


def _journal(counts: Mapping[tuple[str, str], int], total: int) -> str:
    return "<h2 id='journal'>Journal by kind and status</h2>" + _counts_table(counts, "journal-total")


def _operations(rows: Iterable[Mapping[str, Any]], *, reason: bool) -> str:
    head = "<tr><th>operation</th><th>kind</th><th>target</th><th>status</th><th>attempts</th>"
    head += "<th>reason</th>" if reason else ""
    head += "<th>planned by</th><th>updated</th></tr>"
    body = []
    for row in rows:
        cells = [row["op_key"], row["kind"], row["target"], row["status"], row["attempts"]]
        if reason:
            cells.append(row["last_error"] or "")
        cells += [row["dag_run_id"] or "", str(row["updated_at"])[:19]]
        body.append("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>" if body else "<p class='muted'>none</p>"


def _problems(
    rows: Sequence[Mapping[str, Any]], total: int, filters: Mapping[str, str], kinds: Sequence[str]
) -> str:
    status_options = "".join(
        f"<option value='{s}'{' selected' if filters['status'] == s else ''}>"
        f"{s or 'failed or rejected'}</option>"
        for s in ("", *PROBLEM_STATUSES)
    )
    kind_options = "".join(
        f"<option value='{escape(k)}'{' selected' if filters['kind'] == k else ''}>"
        f"{escape(k) or 'any kind'}</option>"
        for k in ("", *kinds)
    )
    form = (
        "<form method='get' action='#problems'>"
        f"<select name='status'>{status_options}</select> <select name='kind'>{kind_options}</select> "
        f"<input name='q' placeholder='key, target or reason' value='{escape(filters['q'])}'> "
        "<button>Filter</button></form>"
    )
    shown = f"showing {len(rows)} of " if len(rows) < total else ""
    return (
        "<h2 id='problems'>Failed and rejected operations</h2>"
        "<p class='muted'>Fix the cause, then "
        "<code>python -m credly_sync journal retry --status failed</code> "
        "(or a key, <code>--kind K</code>); the next run sends them.</p>"
        f"{form}<p>{shown}<b data-count='problems'>{total}</b> matching</p>" + _operations(rows, reason=True)
    )


def _waiting(rows: Sequence[Mapping[str, Any]], total: int) -> str:
    return (
        f"<h2 id='waiting'>Operations waiting</h2><p><b data-count='waiting'>{total}</b> pending (sent by "
        "the next run of their DAG; the oldest first, with the reason of the last attempt):</p>"
        + _operations(rows, reason=True)
    )


def _holders(query: str, rows: Sequence[Mapping[str, Any]] | None) -> str:
    form = (
        "<form method='get' action='#holders'>"
        f"<input name='holders' placeholder='badge name contains' value='{escape(query)}'> "
        "<button>Search holders</button></form>"
    )
    parts = ["<h2 id='holders'>Badge holders</h2>", form]
    if rows is not None:
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(value or ''))}</td>"
                for value in (
                    row["badge_template_name"],
                    row["issued_to"],
                    row["recipient_email"],
                    row["state"],
                    str(row["issued_at"] or "")[:10],
                    str(row["expires_at"] or "")[:10],
                )
            )
            + "</tr>"
            for row in rows
        )
        parts.append(
            f"<p><b data-count='holders'>{len(rows)}</b> current holder(s) of badges matching "
            f"{escape(query)!r}</p>"
        )
        if body:
            parts.append(
                "<table><tr><th>badge</th><th>holder</th><th>e-mail</th><th>state</th><th>issued</th>"
                f"<th>expires</th></tr>{body}</table>"
            )
    return "".join(parts)


def page_url(base: str, **params: str) -> str:
    """The page's address with query parameters (for operator extra links)."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{base.rstrip('/')}/credly-sync/" + (f"?{query}" if query else "")
