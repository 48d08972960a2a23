"""The e2e tests share the DAG tests' warehouse set-up."""

from tests.dags.conftest import configured_warehouse

__all__ = ["configured_warehouse"]
