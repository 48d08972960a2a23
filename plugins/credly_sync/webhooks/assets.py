"""The Asset event the intake emits, from inside the API server.

A plugin app runs in the API server process, which holds a metadata-database session factory,
so it records the event the way the API server's own ``POST /api/v2/assets/events`` does
(``asset_manager.register_asset_change`` with ``source_is_api=True``; source
``airflow-core/src/airflow/api_fastapi/core_api/routes/public/assets.py``, 3.3.2): no token,
no HTTP round trip. Airflow-internal API: should it change, the intake logs a warning and the
event DAG's one-minute schedule still picks every event up.
"""

from __future__ import annotations

import logging
from typing import Any

from credly_sync.assets import WEBHOOK_INBOX

log = logging.getLogger(__name__)


def emit_inbox_event(extra: dict[str, Any]) -> bool:
    """Record an Asset event on the inbox asset; False if the asset is not known yet (the
    event DAG has not been parsed)."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetModel).where(
            AssetModel.name == WEBHOOK_INBOX.name, AssetModel.uri == WEBHOOK_INBOX.uri
        )
        model = session.scalar(query)
        if model is None:
            log.warning("asset %s is not registered yet: the event DAG's schedule runs", WEBHOOK_INBOX.name)
            return False
        asset_manager.register_asset_change(asset=model, extra=extra, source_is_api=True, session=session)
    return True
