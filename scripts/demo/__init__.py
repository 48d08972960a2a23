"""``make demo`` and ``make ui``: a local credly-sync on the simulators, for a first look.

Run them through the Makefile (it sets the environment below); ``python -m scripts.demo`` and
``python -m scripts.demo.ui`` work too, with the same defaults. Modules: ``console`` (terminal
and log file), ``processes`` (background processes), ``world`` (the demo's Airflow home,
warehouse, connections and simulators), ``runs`` (``airflow dags test`` and what a run left in
the metadata database), ``summary`` (what a run did, in a few lines), ``webhook`` (one event
end to end), ``ui`` (the Airflow UI on the demo data).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the Makefile exports; set here too so the modules run without it. Airflow reads its
# configuration when first imported, so this runs before any module imports airflow.
ENVIRONMENT = {
    "AIRFLOW_HOME": str(ROOT / ".airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}",
}
for _name, _value in ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
for _path in (str(ROOT), str(ROOT / "plugins")):
    if _path not in sys.path:
        sys.path.append(_path)


def as_admin_process() -> None:
    """Read connections from the metadata database too, as the credly_sync CLI does (admin code
    beside Airflow); child processes do not inherit it (``console.child_env``)."""
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
