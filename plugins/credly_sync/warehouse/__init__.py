"""The warehouse: lookup tables, journal, ledger and inbox, reached through an Airflow SQL connection."""
