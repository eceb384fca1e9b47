"""A spec with two budgets end to end: cells per budget, and the size × budget map in
`dlvsml report --json`, in the HTML, and on the page a real browser renders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

CHROMIUM = "/usr/bin/chromium"
SPEC = """\
name: two_budgets
datasets: [builtin:breast_cancer]
train_sizes: [40, 80]
models: [linear, mlp]
seeds: [0]
budgets: [{trials: 1, seconds: 3}, {trials: 2, seconds: 6}]
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("two_budgets")
    (folder / "spec.yaml").write_text(SPEC)
    result = _cli(folder, "run", "spec.yaml", "--json")
    assert result.returncode == 0, result.stderr
    return folder


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=folder, env={"MLFLOW_TRACKING_URI": "", "COLUMNS": "250"})


def test_results_show_each_budget_and_its_flags(suite: Path) -> None:
    result = _cli(suite, "results", "spec.yaml", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 8 and {row["status"] for row in rows} == {"finished"}
    assert {(row["budget"], row["trials_planned"]) for row in rows} == {("1t-3s", 1), ("2t-6s", 2)}
    assert all(row["run_name"].endswith("/" + row["budget"]) for row in rows)
    assert all(isinstance(row["budget_bound"], bool) for row in rows)
    table = _cli(suite, "results", "spec.yaml")
    assert "budget_bound" in table.stdout and "2t-6s" in table.stdout


def test_report_json_has_the_size_by_budget_map(suite: Path) -> None:
    result = _cli(suite, "report", "spec.yaml", "--json", "--bootstrap", "20")
    assert result.returncode == 0, result.stderr
    budget_map = json.loads(result.stdout)["budget_map"]
    squares = {(row["budget"], row["train_size"]): row for row in budget_map["squares"]}
    assert set(squares) == {(b, n) for b in ("1t-3s", "2t-6s") for n in (40, 80)}
    for row in squares.values():
        assert row["winner"] in {"classical", "neural", "tie"} and row["margin"] >= 0
        best = max(row["classical"], row["neural"])
        assert row["margin"] == pytest.approx(best - min(row["classical"], row["neural"]))
    assert [row["budget"] for row in budget_map["crossovers"]] == ["1t-3s", "2t-6s"]


@pytest.mark.browser
def test_report_page_shows_the_map(suite: Path) -> None:
    result = _cli(suite, "report", "spec.yaml", "--bootstrap", "20")
    assert result.returncode == 0, result.stderr
    page = suite / "reports" / "two_budgets" / "index.html"
    assert "Who wins, by train size and budget" in page.read_text()
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", f"--user-data-dir={suite / 'chromium'}", "--window-size=1400,900",
    ]  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    section = dom[dom.index('id="budget-map"') :]
    assert 'alt="size × budget map of breast_cancer" src="data:image/png;base64,' in section
    assert dom.index('id="budget-map"') < dom.index('id="claims"')  # near the top
