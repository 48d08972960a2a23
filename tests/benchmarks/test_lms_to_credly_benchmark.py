"""Smoke test of ``benchmarks/lms_to_credly.py``: a tiny world, both runs, the table printed.
No timing is asserted; the figures of a real run are the script's business."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_a_tiny_world_and_prints_its_table(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "lms_to_credly.py"),
        "--learners=60",
        "--templates=3",
        "--completions=90",
        "--workers=2",
        "--warehouse=sqlite",
        f"--out={tmp_path}",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("LMS -> Credly benchmark", "batch apply", "rerun plan", "API calls by endpoint"):
        assert text in done.stdout
    assert "rerun writes nothing: yes" in done.stdout
    [result] = tmp_path.glob("lms_to_credly-*.json")
    runs = json.loads(result.read_text())["runs"]
    issued = runs["batch"]["needed_writes"]["badges created (issue + replace)"]
    assert issued == runs["batch"]["plan"]["summary"]["issue"] > 0
    assert list(tmp_path.glob("*.db")) == [], "the SQLite warehouse is removed"
