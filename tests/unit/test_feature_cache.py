"""`FeatureMemo`: a tuning cell's trials share featurisers fitted on its fixed data, exactly."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from dlvsml.metrics import predict
from dlvsml.models import ModelContext, fit_estimator, get_model
from dlvsml.models.pipeline import FEATURE_MEMO_ENV, FeatureMemo, ModelPipeline


def _table(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(size=n)),
            "colour": rng.choice(["red", "green", "blue", None], size=n).astype(object),
        }
    )
    y = ((frame["x"] + (frame["colour"] == "red")) > 0.5).to_numpy().astype(np.int64)
    return frame, y


def _images(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    return digits.images[:n].astype(np.uint8), digits.target[:n]


def _texts(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    words = [["great", "fun", "lovely", "best"], ["awful", "dull", "worst", "boring"]]
    filler = ["the", "film", "was", "a", "plot", "and", "very"]
    y = rng.integers(0, 2, size=n)
    texts = [
        " ".join(rng.choice(filler, 4).tolist() + rng.choice(words[label], 2).tolist())
        for label in y
    ]
    return np.array(texts, dtype=object), y


DATA = {"tabular": _table, "image": _images, "text": _texts}
# (modality, model, learner params that change from trial to trial)
CASES = [
    ("text", "linear", [{"model__C": 1.0}, {"model__C": 10.0}]),
    ("image", "knn", [{"model__n_neighbors": 3}, {"model__n_neighbors": 7}]),
    (
        "tabular",
        "xgboost",
        [{"model__estimator__learning_rate": 0.3}, {"model__estimator__learning_rate": 0.1}],
    ),
    (
        "tabular",
        "lightgbm",
        [{"model__estimator__num_leaves": 7}, {"model__estimator__num_leaves": 15}],
    ),
    ("text", "svm", [{"model__estimator__C": 1.0}, {"model__estimator__C": 3.0}]),
]
FEATURES = {"image": {"features__kind": "hog"}, "text": {"features__max_features": 500}}
CHEAP = {
    "model__n_estimators": 30,
    "model__estimator__n_estimators": 30,
    "model__early_stopping_rounds": 5,
}


def _cell(modality: str):
    X, y = DATA[modality]()
    cut = int(0.7 * len(y))
    part = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
    rows = np.arange(len(y))
    task = "multiclass" if modality == "image" else "binary"
    context = ModelContext(modality=modality, task=task, n_classes=len(np.unique(y)))
    return context, part(rows[:cut]), y[:cut], part(rows[cut:]), y[cut:]


def _build(model: str, context: ModelContext, params: dict):
    spec = get_model(model)
    features = FEATURES.get(context.modality, {})
    return spec.build({**spec.defaults, **CHEAP, **features, **params}, context)


def _trial(memo: FeatureMemo | None, model: str, cell, params: dict):
    """One trial as `dlvsml.tuning` runs it: fit with the validation split, predict on it."""
    context, X, y, X_val, y_val = cell
    estimator = _build(model, context, params)
    if memo is None:
        fit_estimator(estimator, X, y, (X_val, y_val))
        return estimator, predict(estimator, X_val, context.task, context.n_classes)
    estimator = memo.fit(estimator, X, y, (X_val, y_val))
    found, features = memo.featurised(estimator, X_val)
    return estimator, predict(found, features, context.task, context.n_classes)


@pytest.mark.parametrize(("modality", "model", "trials"), CASES, ids=[c[1] for c in CASES])
def test_trials_predict_exactly_as_without_the_memo(modality, model, trials) -> None:
    cell = _cell(modality)
    memo = FeatureMemo(max_bytes=64 << 20)
    for params in trials:
        unmemoised, plain = _trial(None, model, cell, params)
        fitted, memoised = _trial(memo, model, cell, params)
        np.testing.assert_array_equal(memoised.y_pred, plain.y_pred)
        np.testing.assert_array_equal(memoised.proba, plain.proba)
        # A normal fitted pipeline: its own methods give what the unmemoised one's give.
        X_val = cell[3]
        np.testing.assert_array_equal(fitted.predict(X_val), unmemoised.predict(X_val))
        proba = fitted.predict_proba(X_val)
        np.testing.assert_array_equal(proba, unmemoised.predict_proba(X_val))
    assert (memo.misses, memo.hits, len(memo)) == (1, len(trials) - 1, 1)


def test_different_featuriser_params_get_their_own_entry() -> None:
    cell = _cell("text")
    memo = FeatureMemo(max_bytes=64 << 20)
    first, _ = _trial(memo, "linear", cell, {"features__max_features": 50})
    other, _ = _trial(memo, "linear", cell, {"features__max_features": 100})
    again, _ = _trial(memo, "linear", cell, {"features__max_features": 50, "model__C": 3.0})
    assert (memo.misses, memo.hits, len(memo)) == (2, 1, 2)
    assert other["features"] is not first["features"]
    assert again["features"] is first["features"]  # fitted once, shared, not refitted
    assert len(other["features"].transform(cell[3][:1]).nonzero()[1]) > 0


def test_no_featuriser_is_refitted_in_place_across_trials(monkeypatch) -> None:
    """Fresh fits go to clones; the one fitted featuriser is shared and never fitted again.
    A trial's fit time still counts the featurisation it reused."""
    context, X, y, X_val, y_val = _cell("image")
    featuriser = type(_build("knn", context, {})["features"])
    fitted: list[int] = []
    for method in ("fit", "fit_transform"):
        original = getattr(featuriser, method)

        def counting(self, *args, _original=original, **kwargs):
            fitted.append(id(self))
            time.sleep(0.05)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(featuriser, method, counting)
    memo = FeatureMemo(max_bytes=64 << 20)
    built = [_build("knn", context, {"model__n_neighbors": k}) for k in (3, 5, 9)]
    originals = [pipeline["features"] for pipeline in built]
    trials, seconds = [], []
    for pipeline in built:
        trials.append(memo.fit(pipeline, X, y, (X_val, y_val)))
        seconds.append(memo.fit_seconds)
    assert min(seconds) >= 0.05 and memo.hits == 2
    shared = trials[0]["features"]
    assert set(fitted) == {id(shared)}  # one object fitted, a clone...
    assert all(shared is not original for original in originals)
    assert all(trial["features"] is shared for trial in trials)  # ...shared by every trial
    assert len({id(trial["model"]) for trial in trials}) == 3  # each trial its own learner


def test_passthrough_steps_and_plain_estimators() -> None:
    X, y = _images(120)
    X = X.reshape(len(X), -1).astype(float)
    memo = FeatureMemo(max_bytes=64 << 20)
    steps = [("skip", "passthrough"), ("none", None), ("scale", StandardScaler())]
    model = get_model("linear").build(
        {"model__C": 1.0}, ModelContext(modality="tabular", task="binary")
    )
    learner = model.steps[-1][1]
    pipeline = memo.fit(ModelPipeline([*steps, ("model", learner)]), X, y, (X[:30], y[:30]))
    plain = ModelPipeline([*steps, ("model", learner)]).fit(X, y)
    np.testing.assert_array_equal(pipeline.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(pipeline[:-1].transform(X), plain[:-1].transform(X))
    assert [name for name, _ in pipeline.steps] == ["skip", "none", "scale", "model"]
    bare = StandardScaler()  # not a pipeline: fitted as usual, nothing kept
    assert memo.fit(bare, X, y, (X[:30], y[:30])) is bare and hasattr(bare, "mean_")
    assert memo.featurised(bare, X[:30])[0] is bare
    assert len(memo) == 1


def test_the_memo_is_bounded_by_entries_and_bytes() -> None:
    cell = _cell("text")
    memo = FeatureMemo(max_bytes=64 << 20, max_entries=2)
    pipelines = [
        _trial(memo, "linear", cell, {"features__max_features": n})[0] for n in (20, 40, 60)
    ]
    assert len(memo) == 2 and memo.misses == 3
    _trial(
        memo, "linear", cell, {"features__max_features": 20}
    )  # dropped first (least recently used)
    assert memo.misses == 4
    assert memo.featurised(pipelines[2], cell[3])[0] is pipelines[2]["model"]
    assert memo.featurised(pipelines[0], cell[3])[0] is pipelines[0]  # its entry went
    small = FeatureMemo(max_bytes=100)  # no split fits: trials run as without the memo
    _, memoised = _trial(small, "linear", cell, {})
    _, plain = _trial(None, "linear", cell, {})
    np.testing.assert_array_equal(memoised.proba, plain.proba)
    assert len(small) == 0 and small.nbytes == 0


@pytest.mark.parametrize(
    ("setting", "expected"), [("off", 0), ("0", 0), ("", 256 << 20), ("1", 1 << 20)]
)
def test_the_setting_sizes_or_switches_off_the_memo(monkeypatch, setting, expected) -> None:
    monkeypatch.setenv(FEATURE_MEMO_ENV, setting)
    memo = FeatureMemo()
    assert memo.max_bytes == expected
    if expected == 0:
        cell = _cell("text")
        _trial(memo, "linear", cell, {})
        _trial(memo, "linear", cell, {})
        assert len(memo) == 0 and memo.hits == 0


def test_other_data_empties_the_memo() -> None:
    context, X, y, X_val, y_val = _cell("text")
    memo = FeatureMemo(max_bytes=64 << 20)
    _trial(memo, "linear", (context, X, y, X_val, y_val), {})
    _trial(memo, "linear", (context, X.copy(), y, X_val, y_val), {})
    assert (memo.misses, memo.hits, len(memo)) == (2, 0, 1)


def test_a_tuning_study_is_the_same_with_and_without_the_memo(monkeypatch, tmp_path) -> None:
    from dlvsml.records import CellData
    from dlvsml.spec import Budget
    from dlvsml.tuning import tune

    context, X, y, X_val, y_val = _cell("text")
    outcomes = []
    for setting in ("off", ""):
        monkeypatch.setenv(FEATURE_MEMO_ENV, setting)
        outcomes.append(
            tune(
                "memo",
                get_model("linear"),
                context,
                CellData(X, y, X_val, y_val),
                metric="accuracy",
                budget=Budget(trials=6),
                storage=f"sqlite:///{tmp_path / (setting or 'on')}.db",
            )
        )
    off, on = outcomes
    assert on.params == off.params and on.validation_score == off.validation_score
    assert [t.value for t in on.trials] == [t.value for t in off.trials]
    np.testing.assert_array_equal(
        on.estimator.predict_proba(X_val), off.estimator.predict_proba(X_val)
    )
