"""Leave-one-dataset-out check of the recommender on a frame whose winners are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlvsml.errors import DlvsmlError
from dlvsml.recommender.evaluate import agreement, evaluate, regret
from tests.unit.test_analysis_frame import synthetic_results

SIZES = (100, 1000, 5000)
IMAGE = {
    "modality": "image",
    "task": "binary",
    "n_rows": 20_000,
    "n_features": 784,
    "n_classes": 2,
    "imbalance_ratio": 1.0,
    "height": 28,
    "width": 28,
}


def _classical(n: np.ndarray) -> np.ndarray:
    return 0.80 + 0.02 * np.log10(n)


def _neural(n: np.ndarray) -> np.ndarray:
    # gap = -0.10 + 0.04·log10(n): -0.02 at 100, +0.02 at 1,000, +0.048 at 5,000; crosses at 316
    return 0.70 + 0.06 * np.log10(n)


def _suite(names: tuple[str, ...] = ("a", "b", "c")) -> pd.DataFrame:
    models = {"gbm": ("classical", _classical), "cnn": ("neural", _neural)}
    frames = [
        synthetic_results(models, dataset=name, modality="image", sizes=SIZES, seeds=2, noise=0)
        for name in names
    ]
    return pd.concat(frames, ignore_index=True)


def test_each_strategy_gets_the_agreement_and_regret_the_known_winners_imply() -> None:
    result = evaluate(_suite(), profiles={name: IMAGE for name in "abc"}, spec_name="known")
    winners = result.cells.drop_duplicates(["dataset", "train_size"])
    assert winners.groupby("train_size")["winner"].first().to_dict() == {
        100: "classical",
        1000: "neural",
        5000: "neural",
    }
    summary = result.summary.set_index("strategy")
    # Evidence (crossover ~316 from the two other datasets) says deep from 1,000 on: all right.
    assert summary.loc["rules + evidence", "agreement"] == pytest.approx(1.0)
    assert summary.loc["rules + evidence", "mean_regret"] == pytest.approx(0.0, abs=1e-12)
    # Literature thresholds: classical at 100, try_both at 1,000 (+2 deep vs +1 classical below
    # 5,000), deep at 5,000.
    assert summary.loc["rules (literature thresholds)", "agreement"] == pytest.approx(2.5 / 3)
    assert summary.loc["rules (literature thresholds)", "try_both_share"] == pytest.approx(1 / 3)
    assert summary.loc["rules (literature thresholds)", "mean_regret"] == pytest.approx(0.0)
    assert summary.loc["always classical", "agreement"] == pytest.approx(1 / 3)
    gap_5000 = 0.04 * np.log10(5000) - 0.1
    assert summary.loc["always classical", "mean_regret"] == pytest.approx((0.02 + gap_5000) / 3)
    assert summary.loc["always classical", "max_regret"] == pytest.approx(gap_5000)
    assert summary.loc["always deep", "agreement"] == pytest.approx(2 / 3)
    assert summary.loc["always deep", "mean_regret"] == pytest.approx(0.02 / 3)
    assert summary["n"].tolist() == [9, 9, 9, 9]
    assert set(result.cells["facts_from"]) == {"profile"}
    assert result.datasets == ("a", "b", "c")


def test_the_held_out_dataset_never_informs_its_own_evidence() -> None:
    # Only "a" crosses; "b" never does. Held out, "a" sees only "b": no crossover up to 5,000,
    # so the threshold is 10,000 and 1,000 and 5,000 stay try_both (+2 deep vs +1 classical).
    frame = _suite(("a",))
    models = {"gbm": ("classical", _classical), "cnn": ("neural", lambda n: _classical(n) - 0.05)}
    never = synthetic_results(models, dataset="b", modality="image", sizes=SIZES, seeds=2, noise=0)
    result = evaluate(pd.concat([frame, never]), profiles={"a": IMAGE, "b": IMAGE})
    cells = result.cells[(result.cells["strategy"] == "rules + evidence")]
    verdicts = cells[cells["dataset"] == "a"].set_index("train_size")["verdict"].to_dict()
    assert verdicts == {100: "classical", 1000: "try_both", 5000: "try_both"}


def test_ties_within_tolerance_agree_with_any_verdict() -> None:
    assert agreement("deep", "either") == agreement("classical", "either") == 1.0
    assert agreement("try_both", "neural") == 0.5
    assert agreement("classical", "neural") == 0.0
    cell = {"classical": 0.8, "neural": 0.9}
    assert regret("classical", cell) == pytest.approx(0.1)
    assert regret("try_both", cell) == 0.0 and regret("deep", cell) == 0.0


def test_datasets_that_cannot_be_profiled_are_judged_on_the_results_alone() -> None:
    result = evaluate(_suite(("a", "b")))  # synthetic frames carry no dataset_uri
    assert result.cells["facts_from"].str.startswith("results only").all()
    assert len(result.summary) == 4


def test_one_dataset_is_not_enough() -> None:
    with pytest.raises(DlvsmlError, match="at least 2 datasets"):
        evaluate(_suite(("a",)))
