"""`dlvsml report` on a real (tiny) suite: the HTML a person opens, the numbers, the MLflow copy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SUITE_CELLS, SUITE_NAME, SUITE_SPEC, run_cli

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def suite(finished_suite: Path) -> Path:
    return finished_suite


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=folder, env={"MLFLOW_TRACKING_URI": ""})


def test_report_writes_html_and_logs_it_to_mlflow(suite: Path) -> None:
    result = _cli(suite, "report", "spec.yaml", "--bootstrap", "50")
    assert result.returncode == 0, result.stderr
    page = suite / "reports" / SUITE_NAME / "index.html"
    html = page.read_text()
    assert "Claims put to the test" in html
    assert html.count('src="data:image/png;base64,') >= 2  # learning curves, one per dataset
    assert "breast_cancer" in html and "wine" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained

    client = MlflowClient(f"sqlite:///{suite / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(SUITE_NAME)
    reports = client.search_runs([experiment.experiment_id], "tags.kind = 'report'")
    assert reports, "the report was not logged to MLflow"
    logged = [item.path for item in client.list_artifacts(reports[0].info.run_id, "report")]
    assert "report/index.html" in logged


def test_report_numbers_are_regenerated_identically_from_the_store(suite: Path) -> None:
    first = _cli(suite, "report", "spec.yaml", "--json", "--bootstrap", "50")
    second = _cli(suite, "report", "spec.yaml", "--json", "--bootstrap", "50")
    assert first.returncode == 0, first.stderr
    numbers = json.loads(first.stdout)
    assert first.stdout == second.stdout
    assert numbers["summary"]["n_finished_cells"] == SUITE_CELLS
    assert {row["dataset"] for row in numbers["crossovers"]} == {"breast_cancer", "wine"}
    assert {row["key"] for row in numbers["claims"]} >= {"small_data", "training_time"}
    assert all(
        row["verdict"] in {"supported", "contradicted", "inconclusive"} for row in numbers["claims"]
    )


def test_report_without_runs_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SUITE_SPEC.replace(SUITE_NAME, "never_run"))
    result = _cli(tmp_path, "report", "spec.yaml")
    assert result.returncode == 2
    assert "dlvsml run spec.yaml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.browser
def test_report_first_screen_shows_the_verdicts_claims_and_a_learning_curve(suite: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    page = suite / "reports" / SUITE_NAME / "index.html"
    if not page.exists():
        assert _cli(suite, "report", "spec.yaml", "--bootstrap", "50").returncode == 0
    shot = suite / "report-first-screen.png"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", f"--user-data-dir={suite / 'chromium'}", "--window-size=1400,900",
    ]  # fmt: skip
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    print(f"report screenshot: {shot}")
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    # The answer comes first: the verdict table, one row per dataset, before anything else.
    table_at = dom.index('<table class="verdicts">')
    table = dom[table_at : dom.index("</table>", table_at)]
    assert table.count('<tr class="winner-') == 2, table  # breast_cancer and wine
    assert "breast_cancer" in table and "wine" in table
    assert table_at < dom.index("<nav")
    claims_at = dom.index("Claims put to the test")
    figure_at = dom.index("data:image/png;base64,")
    assert claims_at < 20_000 and figure_at < dom.index("Learning curves", claims_at)
