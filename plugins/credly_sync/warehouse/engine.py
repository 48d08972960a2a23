"""The warehouse engine, from any Airflow SQL connection, and its Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import BaseHook
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

WAREHOUSE_CONN_ID = "credly_sync_warehouse"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "credly_sync_alembic_version"


def warehouse_engine(conn_id: str = WAREHOUSE_CONN_ID) -> Engine:
    """A SQLAlchemy engine for the warehouse connection (``sqlite``, ``postgres``, ...)."""
    connection = BaseHook.get_connection(conn_id)
    hook = connection.get_hook()
    if not hasattr(hook, "get_sqlalchemy_engine"):
        raise ValueError(f"connection {conn_id!r} is not an SQL connection (type {connection.conn_type!r})")
    return hook.get_sqlalchemy_engine()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse schema up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
