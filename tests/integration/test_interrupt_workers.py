"""Ctrl-C on `dlvsml run --workers 2`: one line saying how to resume, no traceback, and the
re-run completes the suite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import dlvsml_exe

SPEC = """\
name: interrupted
datasets: [builtin:breast_cancer, builtin:wine]
train_sizes: [30, 60]
models: [linear, random_forest]
budget: {trials: 2}
"""


def _finished_cells(store: Path) -> int:
    """FINISHED cell runs, read with sqlite3: an MlflowClient would race the run's own
    creation of the tables (both would migrate the empty database)."""
    if not store.exists():
        return 0
    query = (
        "select count(*) from runs join tags on tags.run_uuid = runs.run_uuid "
        "where tags.key = 'kind' and tags.value = 'cell' and runs.status = 'FINISHED'"
    )
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute(query).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet, or briefly locked
        return 0


def test_ctrl_c_with_workers_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    command = [dlvsml_exe(), "run", "spec.yaml", "--workers", "2", "--json"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while _finished_cells(tmp_path / "mlflow.db") < 2 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "re-run the same command to resume" in stderr.strip().splitlines()[-1]

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert _finished_cells(tmp_path / "mlflow.db") == 8
