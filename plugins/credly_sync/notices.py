"""The texts of the e-mails sent to NOTIFICATION_MAIL_ID (pure: no sending here)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any


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
