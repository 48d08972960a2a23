"""The texts of the e-mails sent to NOTIFICATION_MAIL_ID (pure: no sending here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from credly_sync.warehouse.journal import JournalEntry


def template_deletion_notice(deleted: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """Subject and HTML body listing deleted templates and the mappings they deactivated.

    ``deleted`` holds the payloads of ``notify_template_deleted`` operations.
    """
    count = len(deleted)
    subject = f"credly-sync: {count} Credly badge template{'s' if count != 1 else ''} deleted"
    template_items = "".join(
        f"<li>{escape(str(d['badge_template_name']))} ({escape(str(d['badge_template_id']))})</li>"
        for d in deleted
    )
    mapping_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(m.get(column) or ''))}</td>"
            for column in (
                "id",
                "badge_template_id",
                "badge_template_name",
                "learning_plan_id",
                "certification_code",
            )
        )
        + "</tr>"
        for d in deleted
        for m in d["deactivated_mappings"]
    )
    mappings_part = (
        "<p>These Credly integration mappings used them and were deactivated (IsActive = false):</p>"
        "<table><tr><th>mapping id</th><th>badge template id</th><th>badge template name</th>"
        f"<th>learning plan id</th><th>certification code</th></tr>{mapping_rows}</table>"
        if mapping_rows
        else "<p>No active Credly integration mapping used them.</p>"
    )
    body = (
        "<p>These badge templates were deleted in Credly and removed from the Credly Badge Templates "
        f"lookup table:</p><ul>{template_items}</ul>{mappings_part}"
    )
    return subject, body


def failure_digest(problems: Sequence[JournalEntry], run: str) -> tuple[str, str]:
    """Subject and HTML body listing failed and rejected operations (key, kind, target, reason).

    ``problems`` are journal entries; their payloads are left out (only the stored reason is
    shown), so nothing beyond what the journal's reason says reaches the mail.
    """
    counts = Counter(entry.status for entry in problems)
    parts = [f"{counts[status]} {status}" for status in ("failed", "rejected") if counts[status]]
    subject = f"credly-sync: {' and '.join(parts)} operation{'s' if len(problems) != 1 else ''} ({run})"
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(value))}</td>"
            for value in (
                entry.status,
                entry.kind,
                entry.target,
                entry.op_key,
                entry.attempts,
                entry.last_error or "",
            )
        )
        + "</tr>"
        for entry in problems
    )
    body = (
        f"<p>These operations of {escape(run)} were not applied and will not be sent again by "
        "themselves. <b>rejected</b>: the API refused the operation (fix the data or the template "
        "in Credly or the LMS); <b>failed</b>: it kept failing for a transient reason (outage, "
        "timeouts) until the attempt limit.</p>"
        "<table><tr><th>status</th><th>kind</th><th>target</th><th>operation key</th>"
        f"<th>attempts</th><th>reason</th></tr>{rows}</table>"
        "<p>Once the cause is fixed, send them again with "
        "<code>python -m credly_sync journal retry --status failed</code> (or <code>--kind KIND</code>, "
        "or the operation key); <code>python -m credly_sync status</code> lists what is open.</p>"
    )
    return subject, body
