"""The Ray executor on a real local Ray instance: the same records as a local run, and resume.

Ray starts inside `dlvsml run --executor ray` (2 CPUs here: the machine's cores), runs a
linear model and an MLP at two sizes, and MLflow must hold what a run on this machine's
processes holds: the same cells, the same best parameters, the same test scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from dlvsml.run.executors import ExecutorOptions
from dlvsml.run.suite import run_spec
from dlvsml.spec import load_spec
from dlvsml.tracking import results_frame
from tests.conftest import run_cli

pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'dlvsml[ray]')")

SPEC = {
    "name": "scale_ray",
    "datasets": ["builtin:breast_cancer"],
    "train_sizes": [40, 80],
    "models": ["linear", "mlp"],
    "budget": {"trials": 2},  # no seconds: a time limit would make the nets' epochs vary
}
COMPARED = ["best_params", "validation_score", "test_balanced_accuracy", "test_log_loss"]


def _store(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def _records(uri: str):
    frame = results_frame("scale_ray", uri).set_index("run_name").sort_index()
    return frame[["status", "n_trials", *COMPARED]]


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "scale_ray.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def test_ray_run_records_what_a_local_run_records_and_resumes(
    tmp_path: Path, spec_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    on_ray, on_processes = tmp_path / "ray", tmp_path / "processes"
    on_ray.mkdir(), on_processes.mkdir()

    done = run_cli("run", str(spec_file), "--executor", "ray", "--json", cwd=on_ray, timeout=400)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["failed"] == [] and len(summary["finished"]) == 4

    monkeypatch.chdir(on_processes)
    local = run_spec(load_spec(spec_file), workers=2, progress=False)
    assert local.failed == [] and len(local.finished) == 4

    ray_records, local_records = _records(_store(on_ray)), _records(_store(on_processes))
    assert list(ray_records.index) == [
        "breast_cancer/40/linear/0",
        "breast_cancer/40/mlp/0",
        "breast_cancer/80/linear/0",
        "breast_cancer/80/mlp/0",
    ]
    assert set(ray_records["status"]) == {"finished"} and set(ray_records["n_trials"]) == {2.0}
    assert ray_records.equals(local_records), f"\n{ray_records}\n!=\n{local_records}"

    # Resume: a cell whose run failed is the only one the Ray executor runs again; its study
    # already holds both trials, so it runs none and refits the best.
    client = MlflowClient(_store(on_ray))
    frame = results_frame("scale_ray", _store(on_ray))
    cell = frame.query("run_name == 'breast_cancer/80/linear/0'")
    client.set_terminated(cell["run_id"].iloc[0], "FAILED")
    monkeypatch.chdir(on_ray)
    options = ExecutorOptions(cpus_per_cell=1)
    again = run_spec(load_spec(spec_file), executor="ray", options=options, progress=False)
    assert again.already_done == 3 and again.finished == ["breast_cancer/80/linear/0"]
    resumed = _records(_store(on_ray))
    assert resumed.equals(ray_records)
