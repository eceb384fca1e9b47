"""`dlvsml.compare` on a DataFrame, image arrays, texts and a URI agrees with `dlvsml run` of the
equivalent spec: same cell keys, same test scores, the same records in MLflow; and it resumes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer, load_digits

import dlvsml
from dlvsml.run.plan import plan_cells
from dlvsml.spec import load_spec
from dlvsml.tracking import results_frame
from tests.conftest import SHARED_DATA, run_cli

SETTINGS = {
    "train_sizes": [30, 60],
    "models": ["linear", "cnn", "fasttext", "mlp"],  # each dataset gets linear and its net
    "budget": {"trials": 1, "seconds": 2},
    "seeds": [0],
}
SPEC_YAML = """\
name: {name}
datasets: {datasets}
train_sizes: [30, 60]
models: [linear, cnn, fasttext, mlp]
budget: {{trials: 1, seconds: 2}}
seeds: [0]
"""
# Nets stop when their seconds run out, so on shared cores their scores depend on the machine's
# load; the linear model's do not, and must be equal to the last digit in a CLI run.
EXACT = "linear"


def _texts() -> tuple[list[str], np.ndarray]:
    """300 labelled texts: SMS spam from ../shared/data, else the builtin food reviews."""
    path = SHARED_DATA / "text" / "sms_spam.csv.gz"
    if path.is_file():
        sample = pd.read_csv(path).sample(300, random_state=0)
        return sample["text"].tolist(), sample["label_name"].to_numpy()
    reviews = dlvsml.load("builtin:fine_foods")
    return list(reviews.X[:300]), reviews.y[:300]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """A working directory with its own MLflow store and dlvsml cache for the whole module."""
    root = tmp_path_factory.mktemp("api")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("DLVSML_CACHE", str(root / "cache"))
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        yield root


@pytest.fixture(scope="module")
def comparisons(store: Path) -> dict[str, dlvsml.Comparison]:
    digits = load_digits()
    inputs = {
        "frame": (load_breast_cancer(as_frame=True).frame, "target"),
        "images": ((digits.images.astype(np.uint8), digits.target), None),
        "texts": (_texts(), None),
        "uri": ("builtin:iris", None),
    }
    return {
        kind: dlvsml.compare(data, target, progress=False, **SETTINGS)
        for kind, (data, target) in inputs.items()
    }


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["cell_key", "dataset", "train_size", "model", "family", "seed", "status"]
    return frame[[*columns, *sorted(c for c in frame if c.startswith("test_"))]]


def test_each_kind_ran_its_modality(comparisons: dict[str, dlvsml.Comparison]) -> None:
    expected = {"frame": "tabular", "images": "image", "texts": "text", "uri": "tabular"}
    for kind, comparison in comparisons.items():
        results = comparison.results
        assert set(results["modality"]) == {expected[kind]}, kind
        assert len(results) == 4 and not comparison.summary.failed, (kind, comparison.summary)
        assert sorted(set(results["family"])) == ["classical", "neural"]
        assert set(comparison.leaderboard()["train_size"]) == {60}


def test_spec_equals_the_yaml_spec(comparisons: dict[str, dlvsml.Comparison], store: Path) -> None:
    for comparison in comparisons.values():
        path = store / f"{comparison.spec.name}.yaml"
        datasets = json.dumps(comparison.spec.datasets)
        path.write_text(SPEC_YAML.format(name=comparison.spec.name, datasets=datasets))
        assert load_spec(path) == comparison.spec


def test_frames_agree_with_the_mlflow_records(
    comparisons: dict[str, dlvsml.Comparison], store: Path
) -> None:
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    for comparison in comparisons.values():
        experiment = client.get_experiment_by_name(comparison.spec.name)
        runs = client.search_runs([experiment.experiment_id], "tags.kind = 'cell'")
        recorded = {
            run.data.tags["cell_key"]: run.data.metrics["test_balanced_accuracy"] for run in runs
        }
        results = comparison.results.set_index("cell_key")
        assert recorded == results["test_balanced_accuracy"].to_dict()
        board = comparison.leaderboard()
        at_60 = results[results["train_size"] == 60].set_index("model")["score"]
        assert board.set_index("model")["score"].to_dict() == at_60.to_dict()


def test_cli_run_of_the_same_spec_gives_the_same_cells(
    comparisons: dict[str, dlvsml.Comparison], store: Path, tmp_path: Path
) -> None:
    datasets = json.dumps([comparison.dataset_uri for comparison in comparisons.values()])
    spec_text = SPEC_YAML.format(name="cli", datasets=datasets)
    (tmp_path / "spec.yaml").write_text(spec_text)
    api = _cells(pd.concat([c.records for c in comparisons.values()])).set_index("cell_key")
    planned = plan_cells(load_spec(tmp_path / "spec.yaml")).cells
    assert sorted(cell.key for cell in planned) == sorted(api.index)

    # The CLI runs the deterministic model only (a cell's key does not depend on the list).
    (tmp_path / "spec.yaml").write_text(
        spec_text.replace("[linear, cnn, fasttext, mlp]", f"[{EXACT}]")
    )
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'cli.db'}"}
    done = run_cli("run", "spec.yaml", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["failed"] == []
    cli = _cells(results_frame("cli", env["MLFLOW_TRACKING_URI"])).set_index("cell_key")
    assert len(cli) == 8 and set(cli["model"]) == {EXACT}
    pd.testing.assert_frame_equal(cli, api.loc[cli.index])


def test_same_data_again_resumes(
    comparisons: dict[str, dlvsml.Comparison], capfd: pytest.CaptureFixture
) -> None:
    first = comparisons["frame"]
    again = dlvsml.compare(load_breast_cancer(as_frame=True).frame, "target", **SETTINGS)
    assert again.spec == first.spec
    assert again.summary.already_done == 4 and again.summary.finished == []
    pd.testing.assert_frame_equal(again.results, first.results)
    # progress=True, not in a terminal: no bar redrawn line after line
    assert capfd.readouterr().err.count("\n") <= 3
