"""One cluster (cluster.py) for every test here: starting its processes costs a minute or two of
the two CI cores, so the Celery scenario and the browser check share it, in that order."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.distributed.cluster import PG, Cluster


def _require_tools() -> None:
    missing = [tool for tool in ("psql", "redis-server") if not shutil.which(tool)]
    try:
        subprocess.run(
            ["psql", "-h", PG["host"], "-U", PG["login"], "-qc", "SELECT 1"], check=True, capture_output=True
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        missing.append("PostgreSQL on 127.0.0.1:5432")
    if missing:
        message = f"the distributed test needs {', '.join(missing)} (`make test-deps` installs the tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_tools()
    running = Cluster(home=tmp_path_factory.mktemp("cluster"))
    try:
        running.start()
        yield running
    finally:
        running.stop()
