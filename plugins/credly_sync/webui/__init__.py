"""The "Credly sync" monitoring page in the Airflow UI (registered by ``plugins/credly_sync_ui.py``)."""
