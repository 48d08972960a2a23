"""Airflow plugin: the "Credly sync" monitoring page (``/credly-sync/``, in the UI's navigation).

The only module of the project Airflow's plugin manager imports (``.airflowignore`` keeps it out
of the ``credly_sync`` package, whose modules it would re-import under bare names); the page
itself lives in ``credly_sync.webui``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from credly_sync.webui.app import URL_PREFIX, app


class CredlySyncUiPlugin(AirflowPlugin):
    name = "credly_sync_ui"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Credly sync"}]
    external_views = [
        {
            "name": "Credly sync",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "credly-sync",
            "category": "browse",
        }
    ]
