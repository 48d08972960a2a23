"""Airflow Assets that link the DAGs of this package."""

from airflow.sdk import Asset

#: Updated by the credly_templates DAG; the LMS dropdown DAG runs when it changes.
BADGE_TEMPLATES_TABLE = Asset(
    name="credly_badge_templates", uri="credly-sync://warehouse/credly_badge_templates"
)

#: Updated by the webhook intake (in the API server) when it stores new events; the event DAG
#: runs when it changes (and every minute, in case a notification was lost).
WEBHOOK_INBOX = Asset(name="credly_sync_event_inbox", uri="credly-sync://warehouse/event_inbox")
