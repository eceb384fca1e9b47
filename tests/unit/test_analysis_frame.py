"""The tidy frame, and `synthetic_results`: runner-shaped results with known true curves.

The other `test_analysis_*` modules build their frames with `synthetic_results`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dlvsml.analysis.frame import failures, tidy

Curve = Callable[[np.ndarray], np.ndarray]
SIZES = (25, 50, 100, 200, 400, 800, 1600)


def classical_curve(n: np.ndarray) -> np.ndarray:
    return 0.9 - 0.5 * np.power(n, -0.3)


def neural_curve(n: np.ndarray) -> np.ndarray:
    return 0.97 - 2.0 * np.power(n, -0.5)


def synthetic_results(
    models: dict[str, tuple[str, Curve]],
    dataset: str = "toy",
    modality: str = "tabular",
    sizes: Sequence[int] = SIZES,
    seeds: int = 8,
    noise: float = 0.005,
    rng_seed: int = 0,
    task: str = "binary",
    seconds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """One finished cell per (size, model, seed); score = curve(size) + seed noise.

    Validation scores are the test score plus independent noise, as in a real run. ``seconds``
    maps a family to its fit time (tuning is 10×, cost follows tuning, prediction 1/100).
    """
    rng = np.random.default_rng(rng_seed)
    seconds = seconds or {"classical": 1.0, "neural": 10.0}
    rows = []
    for seed in range(seeds):
        for size in sizes:
            for model, (family, curve) in models.items():
                score = float(curve(np.asarray(float(size))) + rng.normal(0, noise))
                fit = seconds[family] * (1 + 0.1 * rng.random())
                rows.append(
                    {
                        "run_id": f"{dataset}-{size}-{model}-{seed}",
                        "dataset": dataset,
                        "modality": modality,
                        "task": task,
                        "train_size": size,
                        "model": model,
                        "family": family,
                        "seed": seed,
                        "status": "finished",
                        "metric": "balanced_accuracy" if task != "regression" else "rmse",
                        "validation_score": score + rng.normal(0, noise),
                        "test_balanced_accuracy": score if task != "regression" else np.nan,
                        "test_r2": score if task == "regression" else np.nan,
                        "test_rmse": 1 - score if task == "regression" else np.nan,
                        "fit_seconds": fit,
                        "tuning_seconds": 10 * fit,
                        "predict_seconds_per_1k": fit / 100,
                        "peak_memory_mb": 100 * fit,
                        "cost_usd": 10 * fit / 3600 * 0.1,
                        "failure_reason": None,
                    }
                )
    return pd.DataFrame(rows)


def crossing_pair(**kwargs) -> pd.DataFrame:
    """A classical and a neural model whose curves cross near 108 examples."""
    models = {"gbm": ("classical", classical_curve), "mlp": ("neural", neural_curve)}
    return synthetic_results(models, **kwargs)


def test_tidy_keeps_finished_cells_and_orients_scores() -> None:
    results = crossing_pair(seeds=1, sizes=(50, 100))
    results.loc[0, "status"] = "failed"
    results.loc[0, "failure_reason"] = "out of memory"
    frame = tidy(results)
    assert len(frame) == len(results) - 1
    assert set(frame["score_name"]) == {"balanced_accuracy"}
    assert np.allclose(frame["score"], results["test_balanced_accuracy"].iloc[1:])
    assert failures(results)["reason"].tolist() == ["out of memory"]


def test_regression_scores_on_r2_and_negates_rmse_validation() -> None:
    results = crossing_pair(seeds=1, sizes=(50,), task="regression")
    frame = tidy(results)
    assert set(frame["score_name"]) == {"r2"}
    assert np.allclose(frame["score"], results["test_r2"])
    # Tuned on RMSE (lower is better): the oriented validation score must flip its sign.
    assert np.allclose(frame["validation"], -results["validation_score"])


def test_missing_columns_and_empty_frames_do_not_break_tidy() -> None:
    bare = crossing_pair(seeds=1, sizes=(50,)).drop(columns=["peak_memory_mb", "cost_usd"])
    assert tidy(bare)["cost_usd"].isna().all()
    assert tidy(bare.iloc[:0]).empty
