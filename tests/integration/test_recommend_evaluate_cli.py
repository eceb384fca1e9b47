"""`dlvsml recommend --evaluate/--evidence` and the report's recommender check on a real suite.

The commands run in-process (typer's runner) in the suite's folder: a subprocess would spend
most of its time importing torch and MLflow again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dlvsml.cli import app
from dlvsml.recommender.evaluate import STRATEGIES
from tests.conftest import SUITE_NAME


@pytest.fixture
def suite(finished_suite: Path) -> Path:
    return finished_suite


@pytest.fixture
def cli(suite: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `dlvsml ARGS...` in the suite's folder, against its own stores."""
    monkeypatch.chdir(suite)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DLVSML_CACHE", str(suite / "cache"))
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_evaluate_prints_one_row_per_strategy_from_the_real_store(cli) -> None:
    payload = json.loads(cli("recommend", "--evaluate", "spec.yaml", "--json").stdout)
    assert payload["spec"] == SUITE_NAME
    assert payload["datasets"] == ["breast_cancer", "wine"]
    assert [row["strategy"] for row in payload["summary"]] == list(STRATEGIES)
    assert all(row["n"] == 6 for row in payload["summary"])  # 2 datasets × 3 sizes
    for row in payload["summary"]:
        assert 0 <= row["agreement"] <= 1 and row["mean_regret"] >= 0
    cells = payload["cells"]
    assert {cell["facts_from"] for cell in cells} == {"profile"}
    assert {cell["winner"] for cell in cells} <= {"classical", "neural", "either"}

    table = cli("recommend", "--evaluate", "spec.yaml")
    assert f"recommender check on '{SUITE_NAME}'" in table.stdout and "always deep" in table.stdout


def test_evidence_thresholds_carry_the_spec_name(cli) -> None:
    args = ("recommend", "--modality", "tabular", "--n-samples", "60")
    payload = json.loads(cli(*args, "--evidence", "spec.yaml", "--json").stdout)
    assert payload["evidence"]["spec"] == SUITE_NAME
    assert "dl_min_samples_tabular" in payload["evidence"]["thresholds"]
    use = payload["thresholds_used"]["dl_min_samples_tabular"]
    assert use["origin"] == "evidence" and SUITE_NAME in use["source"]

    assert "literature defaults" in cli(*args).stdout


def test_report_has_the_recommender_check(cli, suite: Path) -> None:
    cli("report", "spec.yaml", "--bootstrap", "0")
    html = (suite / "reports" / SUITE_NAME / "index.html").read_text()
    assert "Recommender check" in html and "rules + evidence" in html
