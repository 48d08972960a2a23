"""The operator extra link "Credly sync": from a plan or apply task to the monitoring page,
opened on what the task's run journaled."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.configuration import conf

from credly_sync.webui.render import page_url


class CredlySyncPageLink(BaseOperatorLink):
    """Computed by the worker when the task ends and kept in XCom (Airflow 3 extra links)."""

    name = "Credly sync"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # [api] base_url is the public address of the api-server; unset, a path the browser resolves
        base = conf.get("api", "base_url", fallback="") or ""
        return page_url(base, dag_id=ti_key.dag_id, run_id=ti_key.run_id) + "#this-run"
