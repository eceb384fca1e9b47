"""`Comparison.recommend()` and `dlvsml recommend --data URI --evidence SPEC` of the same
comparison give the same recommendation: verdict, facts (the measured classical win rate
included), thresholds and trace, because both go through `dlvsml.recommender.advise`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dlvsml
from dlvsml.cli import app

DATASET = "builtin:breast_cancer"
SETTINGS = {
    "train_sizes": [30, 60, 90],  # three small-regime cells: enough for a measured win rate
    "models": ["linear", "mlp"],
    "budget": {"trials": 1, "seconds": 2},
    "seeds": [0],
}
SPEC_YAML = """\
name: parity
datasets: [{dataset}]
train_sizes: [30, 60, 90]
models: [linear, mlp]
budget: {{trials: 1, seconds: 2}}
seeds: [0]
tracking_uri: sqlite:///{folder}/mlflow.db
optuna_storage: sqlite:///{folder}/optuna.db
"""


def test_api_and_cli_recommend_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    comparison = dlvsml.compare(
        DATASET,
        name="parity",
        tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
        optuna_storage=f"sqlite:///{tmp_path}/optuna.db",
        progress=False,
        **SETTINGS,
    )
    assert len(comparison.results) == 6, comparison.summary
    from_api = json.loads(json.dumps(comparison.recommend().to_dict()))

    (tmp_path / "spec.yaml").write_text(SPEC_YAML.format(dataset=DATASET, folder=tmp_path))
    args = ["recommend", "--data", DATASET, "--evidence", "spec.yaml", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)

    assert from_api["facts"].get("measured_classical_win_rate") is not None
    assert from_api["thresholds_used"]["dl_min_samples_tabular"]["origin"] == "evidence"
    assert from_cli["verdict"] == from_api["verdict"]
    assert from_cli["facts"] == from_api["facts"]
    assert {key: from_cli[key] for key in from_api} == from_api
