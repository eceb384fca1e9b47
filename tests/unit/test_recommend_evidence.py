"""Evidence: measured crossover sizes replace the "enough data for DL" thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlvsml.analysis import crossovers, tidy
from dlvsml.recommender import make_facts, recommend
from dlvsml.recommender.evidence import derive_evidence
from tests.unit.test_analysis_frame import (
    classical_curve,
    crossing_pair,
    synthetic_results,
)


def _behind(n: np.ndarray) -> np.ndarray:
    return classical_curve(n) - 0.05


def _ahead(n: np.ndarray) -> np.ndarray:
    return classical_curve(n) + 0.05


def _pair(neural, dataset: str, modality: str = "image", **kwargs) -> pd.DataFrame:
    models = {"gbm": ("classical", classical_curve), "net": ("neural", neural)}
    return synthetic_results(models, dataset=dataset, modality=modality, seeds=3, **kwargs)


def test_a_measured_crossover_becomes_the_threshold_and_flips_the_verdict() -> None:
    results = crossing_pair(modality="image", seeds=3)
    expected = crossovers(tidy(results), n_boot=0)["crossover_size"].iloc[0]
    assert 90 < expected < 130  # the synthetic curves cross near 108

    evidence = derive_evidence(results, "measured")
    assert evidence.thresholds == {"dl_min_samples_image": pytest.approx(expected)}
    (item,) = evidence.used
    assert (item.modality, item.datasets, item.spec_name) == ("image", ("toy",), "measured")
    assert item.default == 5000 and "median crossover size of 1 datasets" in item.basis

    facts = make_facts({"modality": "image", "n_samples": 1500})
    literature = recommend(facts)
    measured = recommend(facts, thresholds=evidence.thresholds, evidence_source=evidence.source)
    assert literature.verdict == "try_both"  # +2 deep (image) vs +1 classical (below 5,000)
    assert measured.verdict == "deep"  # +2 deep (image) +2 deep (above the measured crossover)
    use = measured.thresholds_used["dl_min_samples_image"]
    assert (use.origin, use.value) == ("evidence", pytest.approx(expected))
    assert use.source == "measured in suite 'measured'"
    assert literature.thresholds_used["dl_min_samples_image"].to_dict() == {
        "value": 5000.0,
        "origin": "default",
        "source": None,
    }


def test_neural_ahead_everywhere_sets_the_threshold_to_the_smallest_size() -> None:
    evidence = derive_evidence(_pair(_ahead, "easy", sizes=(200, 400, 800)), "s")
    assert evidence.thresholds == {"dl_min_samples_image": 200.0}


def test_no_crossing_keeps_a_default_beyond_the_range_or_doubles_the_largest_size() -> None:
    small = derive_evidence(_pair(_behind, "hard", sizes=(100, 200, 400)), "s")
    assert small.thresholds == {"dl_min_samples_image": 5000.0}  # not contradicted: kept
    assert "does not contradict" in small.used[0].basis

    large = derive_evidence(_pair(_behind, "hard", sizes=(2000, 4000, 8000)), "s")
    assert large.thresholds == {"dl_min_samples_image": 16000.0}  # 5,000 is contradicted
    assert "contradicted" in large.used[0].basis


def test_the_median_counts_datasets_that_never_crossed_as_beyond_the_range() -> None:
    crossing = crossing_pair(modality="image", seeds=3, dataset="crossing")
    size = crossovers(tidy(crossing), n_boot=0)["crossover_size"].iloc[0]
    three = pd.concat([crossing, _pair(_ahead, "easy"), _pair(_behind, "hard")])
    # values: 25 (neural ahead from the smallest size), ~108, beyond -> median ~108
    assert derive_evidence(three, "s").thresholds["dl_min_samples_image"] == pytest.approx(size)
    two = pd.concat([crossing, _pair(_behind, "hard")])
    # values: ~108, beyond -> the median is beyond the range; 5,000 > 1,600 is kept
    assert derive_evidence(two, "s").thresholds["dl_min_samples_image"] == 5000.0


def test_thresholds_are_per_modality_and_win_rates_per_regime() -> None:
    results = pd.concat(
        [
            crossing_pair(modality="image", seeds=3, dataset="pics", sizes=(25, 50, 200, 1600)),
            _pair(_behind, "table", modality="tabular", sizes=(100, 2000)),
        ]
    )
    evidence = derive_evidence(results, "s")
    assert set(evidence.thresholds) == {"dl_min_samples_image", "dl_min_samples_tabular"}
    assert evidence.thresholds["dl_min_samples_tabular"] == 50_000.0
    rates = evidence.win_rates.set_index(["modality", "regime"])["classical_win_rate"]
    assert rates[("tabular", "small")] == 1.0 and rates[("tabular", "medium")] == 1.0
    # image (crossing near 108): classical ahead at 25 and 50, neural at 200 (small regime)
    # and at 1,600 (medium)
    assert rates[("image", "small")] == pytest.approx(2 / 3) and rates[("image", "medium")] == 0.0
    assert evidence.to_dict()["used"][0]["spec"] == "s"


def test_no_finished_results_give_no_evidence() -> None:
    results = crossing_pair(seeds=1, sizes=(50,)).assign(status="failed")
    evidence = derive_evidence(results, "s")
    assert evidence.thresholds == {} and evidence.used == ()


def test_a_one_sided_measured_regime_becomes_a_fact_that_tips_the_verdict() -> None:
    hard = [_pair(_behind, name, sizes=(2000, 4000, 8000)) for name in ("h1", "h2")]
    evidence = derive_evidence(pd.concat(hard), "s")
    facts = make_facts({"modality": "image", "n_samples": 6000})
    # Literature: +2 deep (image) +2 deep (above 5,000); measured threshold 16,000 turns the
    # second into +1 classical, and the measured lead of classical (6 of 6 medium cells) adds 3.
    assert recommend(facts).verdict == "deep"
    informed = evidence.facts_for(facts)
    assert informed.measured_classical_win_rate == 1.0
    result = recommend(informed, thresholds=evidence.thresholds)
    assert result.verdict == "classical"
    assert "measured_classical_lead" in [rule.id for rule in result.trace]


def test_no_win_rate_fact_outside_the_measured_regimes_or_modalities() -> None:
    evidence = derive_evidence(_pair(_behind, "h", sizes=(2000, 4000, 8000)), "s")
    for values in (
        {"modality": "image", "n_samples": 500},  # small regime: not measured
        {"modality": "image", "n_samples": 50_000},  # large regime: not measured
        {"modality": "text", "n_samples": 5000},  # another modality
        {"modality": "image"},  # size unknown
    ):
        facts = make_facts(values)
        assert evidence.facts_for(facts) == facts
    few = derive_evidence(_pair(_behind, "h", sizes=(2000, 4000)), "s")  # 2 cells < MIN_CELLS
    facts = make_facts({"modality": "image", "n_samples": 3000})
    assert few.facts_for(facts) == facts
