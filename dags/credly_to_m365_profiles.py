"""
### Credly -> Microsoft 365 profiles: verified badges on people cards, for Copilot and search

Microsoft's Credly connector for Microsoft 365 Copilot, as a DAG (one per Credly organisation).
Each person's accepted, **public** badges of **active** templates that have not expired go to
their Microsoft 365 profile through a Graph people-data connector (the direct profile API
refuses application permissions): one external item per person holding their
certifications and awards. Earners are matched by e-mail to the **UPN or `mail`** of an
**enabled, licensed** user, case-insensitively; everyone else is counted and listed in the run
summary (XCom, log), never sent.

**Tasks**
1. `ensure_m365_connection`: creates the external connection (`contentCategory: people`) and its
   schema when missing, and logs what an admin must still do once: register the connection as
   a profile source (needs `PeopleSettings.ReadWrite.All`) and add it to the prioritized
   profile sources. The data is visible to everyone in the organisation.
2. `sync_m365_profiles`: reads every template and badge of the organisation (Credly), every user
   (Graph), refreshes the **badge holders** table (`python -m credly_sync holders QUERY`, view
   `badge_holders_view`), then writes the items of new or changed people and deletes the
   items of people with nothing left to show.

**Schedule:** daily at 03:00 UTC (per export: `schedule`, `timezone`). The run on
`full_sync_weekday` (Sunday) is **full**; the others are **incremental**: only people whose
badges changed (`updated_at`, `state_updated_at`, filtered here) since the watermark in
`sync_watermarks`. Only a full run notices a badge that merely expired, or a user who left or
lost the licence. The first run is full. A rerun writes nothing.

**Run the weekly full now:** trigger with `{"full_sync": true}`. There is nothing to backfill:
every run compares the current state.

**Badge -> certification or award:** every badge is a personCertification unless its template is
listed in `award_template_ids` or its name matches `award_name_pattern` (how Microsoft's own
connector splits them is not documented).

**Several organisations:** set `CREDLY_SYNC_M365_EXPORTS` to a JSON list (see the README); each
entry gives a DAG `credly_to_m365_profiles_<name>` with its own Credly connection and Graph
connection id.

**Connections:** `credly_default`, `msgraph_default` (login = client id, password = secret,
extra `tenant_id`; application permissions `User.Read.All`,
`ExternalConnection.ReadWrite.OwnedBy`, `ExternalItem.ReadWrite.OwnedBy`), `credly_sync_warehouse`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronTriggerTimetable

from credly_sync.operators.profiles import (
    PROFILE_PARAMS,
    EnsureProfileConnectionOperator,
    SyncProfilesOperator,
)
from credly_sync.profile_exports import load_exports

for export in load_exports():
    with DAG(
        dag_id=export.dag_id,
        schedule=CronTriggerTimetable(export.schedule, timezone=export.timezone),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params=PROFILE_PARAMS,
        doc_md=__doc__,
        default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=5)},
        tags=["credly-sync", "credly", "microsoft-365", "profiles", *export.extra_tags],
    ) as dag:
        EnsureProfileConnectionOperator(
            task_id="ensure_m365_connection",
            msgraph_conn_id=export.msgraph_conn_id,
            connection_id=export.connection_id,
            connection_name=export.connection_name,
        ) >> SyncProfilesOperator(
            task_id="sync_m365_profiles",
            credly_conn_id=export.credly_conn_id,
            msgraph_conn_id=export.msgraph_conn_id,
            connection_id=export.connection_id,
            watermark_stream=export.watermark_stream,
            award_template_ids=export.award_template_ids,
            award_name_pattern=export.award_name_pattern,
            full_sync_weekday=export.full_sync_weekday,
            timezone=export.timezone,
        )
    globals()[export.dag_id] = dag
