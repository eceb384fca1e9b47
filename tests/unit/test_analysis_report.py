"""The HTML report and its JSON numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dlvsml.analysis.report import build_report, report_numbers
from tests.unit.test_analysis_frame import crossing_pair


def _results() -> pd.DataFrame:
    frames = [crossing_pair(dataset=f"d{index}", seeds=3, rng_seed=index) for index in range(3)]
    results = pd.concat(frames, ignore_index=True)
    results.loc[0, ["status", "failure_reason"]] = ["failed", "CUDA out of memory"]
    return results


def test_report_is_self_contained_with_the_verdicts_first(tmp_path: Path) -> None:
    path = build_report(_results(), "synthetic", tmp_path / "report", n_boot=100)
    html = path.read_text(encoding="utf-8")
    assert path.name == "index.html"
    assert '<img alt="learning curves of d0" src="data:image/png;base64,iVBOR' in html
    # The answer first: one verdict row per dataset, before the claims and the curves.
    verdicts = html[html.index('<table class="verdicts">') : html.index("</table>")]
    assert html.index('<table class="verdicts">') < html.index('id="claims"')
    assert [verdicts.count(f'<td class="dataset">d{index}</td>') for index in range(3)] == [1] * 3
    assert verdicts.count("neural ahead") + verdicts.count("classical ahead below") == 3
    assert "Tabular, 3 datasets: neural wins on 3" in html
    claims_at = html.index('id="claims"')
    assert claims_at < html.index("data:image/png;base64,") < html.index('id="curves"')
    assert html.count('class="badge ') >= 8
    assert "CUDA out of memory" in html
    assert "crossed" in html  # the crossover table
    assert "http://" not in html and "https://" not in html  # nothing fetched from outside


def test_report_numbers_are_json(tmp_path: Path) -> None:
    numbers = json.loads(json.dumps(report_numbers(_results(), n_boot=100)))
    assert numbers["summary"]["datasets"] == ["d0", "d1", "d2"]
    head_to_head = numbers["summary"]["head_to_head"]
    assert head_to_head["pairs"] == 21 and head_to_head["datasets_crossed"] == 3
    assert 80 < head_to_head["median_crossover_size"] < 140
    assert {row["status"] for row in numbers["crossovers"]} == {"crossed"}
    assert [row["winner"] for row in numbers["verdicts"]] == ["neural"] * 3
    assert all(
        row["margin_low"] <= row["margin"] <= row["margin_high"] for row in numbers["verdicts"]
    )
    assert len(numbers["claims"]) >= 8 and numbers["failures"][0]["reason"] == "CUDA out of memory"


def test_empty_results_still_give_a_page(tmp_path: Path) -> None:
    html = build_report(_results().iloc[:0], "empty", tmp_path).read_text(encoding="utf-8")
    assert "No finished cells yet" in html
