"""Resume: SIGKILL a real `dlvsml run` mid-suite; the re-run redoes nothing that FINISHED."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from dlvsml.run.plan import plan_cells
from dlvsml.spec import load_spec
from tests.conftest import dlvsml_exe, run_cli

SPEC = """\
name: resumable
datasets: [builtin:breast_cancer]
train_sizes: [40, 80, 120, 160]
models: [linear]
seeds: [0, 1, 2]
budget: {trials: 3}
"""
RERUN_SECONDS = 600
FINISHED_CELLS = """
SELECT count(*) FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid
WHERE tags.key = 'kind' AND tags.value = 'cell' AND runs.status = 'FINISHED'
"""


def _finished_cells(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute(FINISHED_CELLS).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet, or locked for a moment
        return 0


def _cell_runs(client: MlflowClient) -> dict[str, list]:
    experiment = client.get_experiment_by_name("resumable")
    runs: dict[str, list] = {}
    for run in client.search_runs([experiment.experiment_id], "tags.kind = 'cell'"):
        runs.setdefault(run.data.tags["cell_key"], []).append(run)
    return runs


def test_killed_suite_resumes_without_recomputing(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    database = tmp_path / "mlflow.db"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    process = subprocess.Popen(
        [dlvsml_exe(), "run", "spec.yaml", "--json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 480
    while _finished_cells(database) < 1 and process.poll() is None:
        assert time.monotonic() < deadline, "no cell finished within 8 minutes"
        time.sleep(0.05)
    assert process.poll() is None, "the suite ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    client = MlflowClient(f"sqlite:///{database}")
    before = _cell_runs(client)
    done_before = {
        key: (run.info.run_id, run.info.start_time, run.info.end_time)
        for key, runs in before.items()
        for run in runs
        if run.info.status == "FINISHED"
    }
    interrupted = {
        run.info.run_id for runs in before.values() for run in runs if run.info.status == "RUNNING"
    }
    planned = {cell.key for cell in plan_cells(load_spec(tmp_path / "spec.yaml")).cells}
    assert 1 <= len(done_before) < len(planned) == 12

    try:  # generous for a loaded machine: a resume that hangs never ends
        rerun = run_cli(
            "run", "spec.yaml", "--json", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": ""},
            timeout=RERUN_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr if isinstance(exc.stderr, str) else repr(exc.stderr)
        pytest.fail(f"the re-run did not end within {RERUN_SECONDS} s; it said: {stderr[-3000:]}")
    assert rerun.returncode == 0, rerun.stderr
    assert "waiting for trials" not in rerun.stderr  # the killed trial was failed at once

    after = _cell_runs(client)
    assert set(after) == planned
    for key, runs in after.items():
        finished = [run for run in runs if run.info.status == "FINISHED"]
        assert len(finished) == 1, f"cell {key} finished {len(finished)} times"
        if key in done_before:
            run = finished[0]
            assert (run.info.run_id, run.info.start_time, run.info.end_time) == done_before[key]
    for run_id in interrupted:  # the cell that was running when killed: marked, then redone
        stale = client.get_run(run_id)
        assert stale.info.status == "FAILED"
        assert stale.data.tags["failure_reason"].startswith("interrupted")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    for key in planned:  # no trial was recomputed either: each study holds its budget
        study = optuna.load_study(study_name=key, storage=storage)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(complete) == 3
