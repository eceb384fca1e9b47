"""The learning guard on real data: a random target is flagged ``no_signal`` everywhere (MLflow,
``dlvsml results``, the report), while the real target of the same features is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from tests.conftest import run_cli, run_spec_in

SPEC = """\
name: guard
datasets: [{files}]
train_sizes: [100, 200]
models: [linear, random_forest]
seeds: 1
budget: {{trials: 3, seconds: 20}}
"""


@pytest.fixture(scope="module")
def guarded_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast_cancer's features twice: with its real target, and with that target permuted."""
    folder = tmp_path_factory.mktemp("guard")
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    real = features.assign(label=target.to_numpy())
    noise = real.assign(label=np.random.default_rng(0).permutation(target.to_numpy()))
    real.to_csv(folder / "real.csv", index=False)
    noise.to_csv(folder / "noise.csv", index=False)
    files = ", ".join(f"'file:{folder / n}.csv?target=label'" for n in ("real", "noise"))
    (folder / "spec.yaml").write_text(SPEC.format(files=files))
    assert run_spec_in(folder).failed == []
    return folder


def _results(folder: Path) -> pd.DataFrame:
    result = run_cli("results", "spec.yaml", "--json", cwd=folder, env={"MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 0, result.stderr
    return pd.DataFrame(json.loads(result.stdout))


@pytest.mark.slow
def test_random_target_is_flagged_and_real_target_is_not(guarded_suite: Path) -> None:
    frame = _results(guarded_suite)
    assert len(frame) == 8
    noise = frame[frame["dataset"] == "noise"]
    real = frame[frame["dataset"] == "real"]
    # a permutation test at 5 % can let a noise cell through now and then; most are flagged
    assert noise["no_signal"].sum() >= 3, noise[["train_size", "model", "validation_score"]]
    assert not real["no_signal"].any(), real[["train_size", "model", "validation_score"]]
    # the dummy (priors) scores chance on balanced accuracy, and is logged to MLflow
    assert np.allclose(frame["dummy_validation_score"], 0.5)
    wide = {"MLFLOW_TRACKING_URI": "", "COLUMNS": "250"}
    table = run_cli("results", "spec.yaml", cwd=guarded_suite, env=wide)
    assert "no signal" in table.stdout


@pytest.mark.slow
def test_report_says_no_model_learned_instead_of_a_tie(guarded_suite: Path) -> None:
    result = run_cli(
        "report", "spec.yaml", "--json", "--bootstrap", "20",
        cwd=guarded_suite, env={"MLFLOW_TRACKING_URI": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    unlearned = json.loads(result.stdout)["summary"]["head_to_head"]["no_model_learned"]
    flags = _results(guarded_suite).groupby(["dataset", "train_size"])["no_signal"].all()
    expected = {key for key, flagged in flags.items() if flagged}
    assert expected and {dataset for dataset, _ in expected} == {"noise"}
    assert {(row["dataset"], row["train_size"]) for row in unlearned} == expected
    html_run = run_cli(
        "report", "spec.yaml", "--bootstrap", "20", cwd=guarded_suite,
        env={"MLFLOW_TRACKING_URI": ""},
    )  # fmt: skip
    assert html_run.returncode == 0, html_run.stderr
    html = (guarded_suite / "reports" / "guard" / "index.html").read_text()
    assert "No model learned" in html
    assert all(f"noise {size} rows" in html for _, size in expected)
