"""Airflow plugin: mounts the credly-sync webhook intake on the API server at ``/credly-sync``.

Webhook URLs: ``https://<airflow>/credly-sync-intake/webhooks/credly/<secret>``,
``.../webhooks/docebo/<secret>`` and ``.../webhooks/alm/<secret>`` (or the secret in the
``X-Credly-Sync-Secret`` header); the secrets are in the ``credly_sync_webhooks`` connection.
See credly_sync/webhooks/app.py.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from credly_sync.webhooks.app import create_app


class CredlySyncWebhooksPlugin(AirflowPlugin):
    name = "credly_sync_webhooks"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": "/credly-sync-intake", "name": "credly-sync webhooks"}
    ]
