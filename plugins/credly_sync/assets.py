"""Airflow Assets that link the DAGs of this package."""

from airflow.sdk import Asset

#: Updated by the credly_templates DAG; the LMS dropdown DAG runs when it changes.
BADGE_TEMPLATES_TABLE = Asset(
    name="credly_badge_templates", uri="credly-sync://warehouse/credly_badge_templates"
)
