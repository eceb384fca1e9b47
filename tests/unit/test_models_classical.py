"""Classical models learn from raw data of every modality, reproducibly, and tune cleanly."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from dlvsml.models import ModelContext, fit_estimator, models_for
from dlvsml.models.features import ImageFeatures, TabularFeatures, TextFeatures
from tests.conftest import SHARED_DATA

CLASSICAL = {spec.name: spec for spec in models_for("tabular", "binary", family="classical")}
CLASSICAL.update({s.name: s for s in models_for("text", "binary", family="classical")})


def _split(X, y, stratify: bool = True):
    """Fixed split: 60% train, 15% validation (early stopping), 25% test."""
    strat = y if stratify else None
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=strat
    )
    strat = y_rest if stratify else None
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.2, random_state=0, stratify=strat
    )
    return X_train, y_train, (X_val, y_val), X_test, y_test


def _digits():
    digits = load_digits()
    return "image", "multiclass", digits.images.astype(np.uint8), digits.target


def _breast_cancer():
    data = load_breast_cancer(as_frame=True)
    return "tabular", "binary", data.data, data.target.to_numpy()


def _sms_spam():
    path = SHARED_DATA / "text" / "sms_spam.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    frame = pd.read_csv(path).sample(n=1000, random_state=0)
    return "text", "binary", frame["text"].to_numpy(dtype=object), frame["label"].to_numpy()


def _california():
    path = SHARED_DATA / "tabular" / "california_housing.parquet"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    frame = pd.read_parquet(path).sample(n=2000, random_state=0)
    return "tabular", "regression", frame.drop(columns="target"), frame["target"].to_numpy()


# Dataset → the score a model must reach (balanced accuracy, or R²) and the dummy's ceiling.
DATASETS = {
    "digits": (_digits, 0.85),
    "breast_cancer": (_breast_cancer, 0.88),
    "sms_spam": (_sms_spam, 0.80),
    "california": (_california, 0.45),
}
_LOADED: dict = {}


def _dataset(name: str):
    if name not in _LOADED:
        _LOADED[name] = DATASETS[name][0]()
    return _LOADED[name]


def _score(task: str, y_true, y_pred) -> float:
    if task == "regression":
        return r2_score(y_true, y_pred)
    return balanced_accuracy_score(y_true, y_pred)


def _fit_default(spec, modality, task, X, y, seed=0):
    X_train, y_train, validation, X_test, y_test = _split(X, y, stratify=task != "regression")
    context = ModelContext(modality=modality, task=task, seed=seed, n_threads=1, device="cpu")
    model = spec.build(spec.defaults, context)
    fit_estimator(model, X_train, y_train, validation)
    return model, X_train, y_train, X_test, y_test


LEARNING_CASES = [
    pytest.param(model, data, id=f"{model}-{data}")
    for model, spec in CLASSICAL.items()
    for data in DATASETS
    if {"digits": "image", "sms_spam": "text"}.get(data, "tabular") in spec.modalities
]


@pytest.mark.parametrize(("model_name", "data_name"), LEARNING_CASES)
def test_model_beats_dummy_on_real_data(model_name: str, data_name: str) -> None:
    modality, task, X, y = _dataset(data_name)
    model, _, y_train, X_test, y_test = _fit_default(CLASSICAL[model_name], modality, task, X, y)
    dummy_class = DummyRegressor() if task == "regression" else DummyClassifier()
    dummy = dummy_class.fit(np.zeros((len(y_train), 1)), y_train)
    dummy_score = _score(task, y_test, dummy.predict(np.zeros((len(y_test), 1))))
    score = _score(task, y_test, model.predict(X_test))
    floor = DATASETS[data_name][1]
    print(f"{model_name} {data_name}: {score:.3f} (dummy {dummy_score:.3f})")
    assert score >= floor, f"{model_name} on {data_name}: {score:.3f} < {floor}"
    assert score >= dummy_score + 0.3


@pytest.mark.parametrize("model_name", sorted(CLASSICAL))
def test_same_seed_gives_identical_predictions(model_name: str) -> None:
    modality, task, X, y = _dataset("breast_cancer")
    spec = CLASSICAL[model_name]
    first, *_, X_test, _ = _fit_default(spec, modality, task, X, y, seed=3)
    second, *_, _, _ = _fit_default(spec, modality, task, X, y, seed=3)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


def _trees_used(model) -> int:
    booster = model[-1].estimator_
    if hasattr(booster, "get_booster"):
        return booster.get_booster().num_boosted_rounds()
    return booster.booster_.num_trees()


@pytest.mark.parametrize("model_name", ["xgboost", "lightgbm"])
def test_validation_data_stops_boosting_early(model_name: str) -> None:
    """With labels 30% flipped, the validation loss turns up long before 400 rounds."""
    modality, task, X, y = _dataset("breast_cancer")
    noisy = np.where(np.random.default_rng(0).random(len(y)) < 0.3, 1 - y, y)
    X_train, y_train, validation, _, _ = _split(X, noisy)
    spec = CLASSICAL[model_name]
    context = ModelContext(modality=modality, task=task, seed=0, n_threads=1, device="cpu")
    booster = {"n_estimators": 400, "learning_rate": 0.3}
    params = {**spec.defaults, **{f"model__estimator__{k}": v for k, v in booster.items()}}
    stopped = fit_estimator(spec.build(params, context), X_train, y_train, validation)
    full = fit_estimator(spec.build(params, context), X_train, y_train)
    assert _trees_used(stopped) < 400 - params["model__early_stopping_rounds"] // 2
    assert _trees_used(full) == 400


def _messy_table(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """String and category columns with missing values; the label depends on both kinds."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(np.array(["red", "green", "blue", None], dtype=object), n_rows)
    size = rng.normal(size=n_rows)
    frame = pd.DataFrame(
        {
            "colour": pd.array(colour, dtype="str"),
            "size": np.where(rng.random(n_rows) < 0.1, np.nan, size),
            "shop": pd.Categorical(rng.choice(["a", "b"], n_rows)),
            "noise": rng.integers(0, 5, n_rows),
        }
    )
    label = (colour == "red") | (size > 0.8)
    return frame, np.where(label, "yes", "no")


@pytest.mark.parametrize("model_name", sorted(CLASSICAL))
def test_messy_dataframe_with_string_labels(model_name: str) -> None:
    X_train, y_train = _messy_table(400, seed=0)
    X_test, y_test = _messy_table(200, seed=1)
    X_test.loc[:4, "colour"] = "purple"  # a level never seen in training
    spec = CLASSICAL[model_name]
    context = ModelContext(modality="tabular", task="binary", seed=0, n_threads=1, device="cpu")
    model = fit_estimator(spec.build(spec.defaults, context), X_train, y_train, (X_test, y_test))
    assert list(model.classes_) == ["no", "yes"]
    assert set(model.predict(X_test)) <= {"no", "yes"}
    assert np.mean(model.predict(X_test) == y_test) >= 0.8


def _small(data_name: str, n_rows: int = 240):
    modality, task, X, y = _dataset(data_name)
    rows = np.random.default_rng(0).permutation(len(y))[:n_rows]
    X = X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]
    return modality, task, X, y[rows]


def _trees(spec, n_trees: int) -> dict[str, int]:
    """The ensemble size setting, under whichever name the model's defaults use."""
    names = ("model__n_estimators", "model__estimator__n_estimators")
    return {name: n_trees for name in names if name in spec.defaults}


SEARCH_CASES = [
    pytest.param(model, data, id=f"{model}-{data}")
    for model, spec in CLASSICAL.items()
    for data in ("digits", "breast_cancer", "sms_spam", "california")
    if {"digits": "image", "sms_spam": "text"}.get(data, "tabular") in spec.modalities
]


@pytest.mark.parametrize(("model_name", "data_name"), SEARCH_CASES)
def test_search_space_samples_buildable_params(model_name: str, data_name: str) -> None:
    """Three trials (HOG forced once for images) each build and fit a model that predicts."""
    modality, task, X, y = _small(data_name)
    spec = CLASSICAL[model_name]
    X_train, y_train, validation, X_test, y_test = _split(X, y, stratify=False)
    context = ModelContext(
        modality=modality, task=task, seed=0, n_threads=1, device="cpu", train_size=len(y_train)
    )

    def objective(trial: optuna.Trial) -> float:
        params = spec.search_space(trial, context)
        assert set(params) <= set(spec.defaults), "defaults must name every searched parameter"
        model = spec.build({**params, **_trees(spec, 100)}, context)
        fit_estimator(model, X_train, y_train, validation)
        return _score(task, y_test, model.predict(X_test))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    if modality == "image":
        study.enqueue_trial({"features__kind": "hog"})
    study.optimize(objective, n_trials=3, catch=())
    assert len(study.trials) == 3
    assert all(np.isfinite(t.value) for t in study.trials)


@pytest.mark.parametrize(
    "shape",
    [(3, 8, 8), (3, 28, 28), (3, 32, 32, 3), (3, 12, 20)],
    ids=lambda s: "x".join(map(str, s)),
)
def test_hog_handles_grey_colour_and_small_images(shape) -> None:
    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    features = ImageFeatures(kind="hog").fit(images)
    out = features.transform(images)
    # 4 cells along the shorter side, 2×2-cell blocks, 9 orientations.
    assert out.shape[0] == 3 and out.shape[1] >= 3 * 3 * 4 * 9
    assert np.isfinite(out).all() and out.std() > 0
    with pytest.raises(ValueError, match="shape"):
        features.transform(images[:, :-1])


def test_pixels_scale_to_unit_range_for_digits_and_photos() -> None:
    digits = load_digits().images.astype(np.uint8)  # values 0..16
    assert ImageFeatures().fit_transform(digits).max() == pytest.approx(1.0)
    assert ImageFeatures().fit_transform(digits).shape == (len(digits), 64)


def test_text_features_stack_word_and_char_ngrams() -> None:
    texts = np.array(["free prize now", "see you at lunch", None, "win a free prize"], object)
    words = TextFeatures().fit_transform(texts)
    both = TextFeatures(char_ngrams=True).fit_transform(texts)
    assert words.shape[0] == both.shape[0] == 4
    assert both.shape[1] > words.shape[1]
    assert TextFeatures(max_features=3).fit_transform(texts).shape[1] == 3


def test_tabular_features_encode_unseen_and_missing_levels() -> None:
    X_train, _ = _messy_table(200, seed=0)
    X_test, _ = _messy_table(20, seed=1)
    X_test.loc[:4, "colour"] = "purple"
    onehot = TabularFeatures().fit(X_train).transform(X_test)
    assert onehot.dtype == np.float64 and np.isfinite(onehot).all()
    native = TabularFeatures(encoding="native").fit(X_train).transform(X_test)
    assert isinstance(native["colour"].dtype, pd.CategoricalDtype)
    assert native["colour"].iloc[:5].isna().all()  # unseen level becomes missing
    with pytest.raises(ValueError, match="feature names"):
        TabularFeatures().fit(X_train).transform(X_test.rename(columns={"size": "width"}))


def test_context_threads_seed_and_device_reach_the_booster() -> None:
    spec = CLASSICAL["xgboost"]
    context = ModelContext(modality="tabular", task="binary", seed=7, n_threads=2, device="cpu")
    booster = spec.build(spec.defaults, context)[-1].estimator
    params = booster.get_params()
    assert (params["n_jobs"], params["random_state"], params["device"]) == (2, 7, "cpu")
    assert params["tree_method"] == "hist"


def test_xgboost_asks_for_the_gpu_when_torch_sees_one(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    spec = CLASSICAL["xgboost"]
    context = ModelContext(modality="tabular", task="regression", device="auto")
    assert spec.build(spec.defaults, context)[-1].estimator.get_params()["device"] == "cuda"


def test_svm_probabilities_survive_a_class_with_one_example() -> None:
    """Small cells can hold one example of a rare class; calibration must still work."""
    _, _, X, y = _small("breast_cancer", n_rows=80)
    y = y.copy()
    y[0] = 2
    spec = CLASSICAL["svm"]
    context = ModelContext(modality="tabular", task="multiclass", seed=0)
    model = spec.build(spec.defaults, context).fit(X, y)
    proba = model.predict_proba(X)
    assert model.classes_.tolist() == [0, 1, 2]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(model.predict(X) == y) > 0.8


@pytest.mark.parametrize("encoding", ["native", "onehot", "ordinal"])
def test_string_columns_encode_as_their_object_twins(encoding: str) -> None:
    from dlvsml.models.features import TabularFeatures

    rng = np.random.default_rng(0)
    words = rng.choice(["red", "green", "blue", None], size=300).tolist()
    strings = pd.DataFrame({"colour": pd.array(words, dtype="str"), "x": rng.normal(size=300)})
    objects = strings.astype({"colour": object})
    assert isinstance(strings["colour"].dtype, pd.StringDtype)
    fast = TabularFeatures(encoding=encoding).fit(strings[:200]).transform(strings[200:])
    plain = TabularFeatures(encoding=encoding).fit(objects[:200]).transform(objects[200:])
    if encoding == "native":
        assert (fast["colour"].cat.codes == plain["colour"].cat.codes).all()
        assert list(fast["colour"].cat.categories) == list(plain["colour"].cat.categories)
    else:
        np.testing.assert_array_equal(fast, plain)
