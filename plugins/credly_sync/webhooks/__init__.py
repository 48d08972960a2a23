"""Real time: the webhook intake (an Airflow 3 plugin app, see :mod:`.app`) and the sources it
accepts (:mod:`.sources`). Processing lives in the ``credly_sync_events`` DAG."""
