"""Classical models (scikit-learn, XGBoost, LightGBM) registered by name.

Each model is a `ModelPipeline`: a featuriser for the modality (`dlvsml.models.features`), then
the learner, so it takes the same raw data as every other model. Search spaces are written next
to each model with their sources; `defaults` is a sound untuned configuration (tuning's trial 0)
and names every parameter any modality's search space can ask for.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

import optuna
from sklearn.base import BaseEstimator

from dlvsml.models.features import (
    FEATURE_DEFAULTS,
    KernelScaler,
    Style,
    feature_space,
    featuriser,
)
from dlvsml.models.pipeline import (
    CalibratedClassifier,
    EarlyStoppingClassifier,
    EarlyStoppingRegressor,
    ModelPipeline,
)
from dlvsml.models.registry import ModelContext, ModelSpec, register

ALL_TASKS = frozenset({"binary", "multiclass", "regression"})
Params = Mapping[str, Any]


def _pipeline(
    params: Params, ctx: ModelContext, style: Style, learner: BaseEstimator, kernel: bool = False
) -> ModelPipeline:
    steps = [("features", featuriser(params, ctx.modality, style))]
    if kernel:
        steps.append(("kernel_scale", KernelScaler()))
    return ModelPipeline([*steps, ("model", learner)])


def _classifies(ctx: ModelContext) -> bool:
    return ctx.task != "regression"


def _threads(ctx: ModelContext) -> int:
    return max(1, int(ctx.n_threads))


def _spec(
    name: str,
    modalities: set[str],
    space: Callable[[optuna.Trial, ModelContext], dict[str, Any]],
    style: Style,
    build: Callable[[Params, ModelContext], BaseEstimator],
    defaults: dict[str, Any],
    description: str,
    max_train_size: int | None = None,
) -> ModelSpec:
    """Register a model whose search space is its featuriser's space plus its own."""
    all_defaults = {**FEATURE_DEFAULTS, **defaults}

    def search_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
        return {**feature_space(trial, ctx.modality, style), **space(trial, ctx)}

    def build_with_defaults(params: Params, ctx: ModelContext) -> BaseEstimator:
        return build({**all_defaults, **params}, ctx)

    return register(
        ModelSpec(
            name=name,
            family="classical",
            modalities=frozenset(modalities),
            tasks=ALL_TASKS,
            search_space=search_space,
            build=build_with_defaults,
            defaults=all_defaults,
            description=description,
            max_train_size=max_train_size,
        )
    )


# --- linear: logistic regression / ridge ------------------------------------------------------
# Space: TabZilla 2023 (McElfresh et al.) and Hsu, Chang & Lin's log-scale C grid, narrowed.


def _linear_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    if _classifies(ctx):
        return {"C": trial.suggest_float("C", 1e-4, 1e3, log=True)}
    return {"alpha": trial.suggest_float("alpha", 1e-3, 1e4, log=True)}


def _linear_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression, Ridge

    if _classifies(ctx):
        learner = LogisticRegression(C=params["C"], max_iter=2000, random_state=ctx.seed)
    else:
        learner = Ridge(alpha=params["alpha"], random_state=ctx.seed)
    return _pipeline(params, ctx, "scaled", learner)


_spec(
    "linear",
    {"tabular", "image", "text"},
    _linear_space,
    "scaled",
    _linear_build,
    # TF-IDF rows have unit norm, so C=1 underfits small text sets; 10 suits every modality.
    {"C": 10.0, "alpha": 1.0},
    "Logistic regression / ridge on one-hot + scaled, pixel/HOG or TF-IDF features",
)


# --- random forest and extra trees --------------------------------------------------------------
# Space: Grinsztajn et al. 2022 ("Why do tree-based models still outperform deep learning on
# tabular data?", appendix A.3), with max_depth widened and n_estimators fixed as there.


def _forest_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "max_depth": trial.suggest_categorical("max_depth", [None, 4, 8, 16]),
        "max_features_split": trial.suggest_categorical(
            "max_features_split", ["sqrt", "log2", 0.3, 0.6]
        ),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 50, log=True),
        "bootstrap": trial.suggest_categorical("bootstrap", [True, False]),
    }


def _forest_builder(kind: str) -> Callable[[Params, ModelContext], BaseEstimator]:
    def build(params: Params, ctx: ModelContext) -> BaseEstimator:
        from sklearn import ensemble

        suffix = "Classifier" if _classifies(ctx) else "Regressor"
        learner = getattr(ensemble, kind + suffix)(
            n_estimators=params["n_estimators"],
            max_depth=params["max_depth"],
            max_features=params["max_features_split"],
            min_samples_leaf=params["min_samples_leaf"],
            bootstrap=params["bootstrap"],
            n_jobs=_threads(ctx),
            random_state=ctx.seed,
        )
        return _pipeline(params, ctx, "trees", learner)

    return build


_FOREST_DEFAULTS = {
    "n_estimators": 200,
    "max_depth": None,
    "max_features_split": "sqrt",
    "min_samples_leaf": 1,
}
_spec(
    "random_forest",
    {"tabular", "image"},
    _forest_space,
    "trees",
    _forest_builder("RandomForest"),
    {**_FOREST_DEFAULTS, "bootstrap": True},
    "Random forest (scikit-learn) on ordinal-coded tables or pixel/HOG features",
)
_spec(
    "extra_trees",
    {"tabular", "image"},
    _forest_space,
    "trees",
    _forest_builder("ExtraTrees"),
    {**_FOREST_DEFAULTS, "bootstrap": False},
    "Extremely randomised trees (scikit-learn) on ordinal-coded tables or pixel/HOG features",
)


# --- gradient boosting: XGBoost and LightGBM ----------------------------------------------------


def _xgboost_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Grinsztajn et al. 2022, appendix A.3; learning_rate floor raised from 1e-5 to 1e-3 and
    # n_estimators replaced by early stopping on the validation split.
    return {
        "max_depth": trial.suggest_int("max_depth", 1, 11),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.7, log=True),
        "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 100.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "colsample_bylevel": trial.suggest_float("colsample_bylevel", 0.5, 1.0),
        "gamma": trial.suggest_float("gamma", 1e-8, 7.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1.0, 4.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 100.0, log=True),
    }


def _xgboost_device(ctx: ModelContext) -> str:
    if ctx.device in ("cuda", "cpu"):
        return ctx.device
    if ctx.device == "auto" and importlib.util.find_spec("torch") is not None:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cpu"


def _xgboost_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    import xgboost

    settings = {key: params[key] for key in _XGBOOST_DEFAULTS if key != "early_stopping_rounds"}
    booster_class = xgboost.XGBClassifier if _classifies(ctx) else xgboost.XGBRegressor
    booster = booster_class(
        **settings,
        tree_method="hist",
        device=_xgboost_device(ctx),
        enable_categorical=True,
        early_stopping_rounds=params["early_stopping_rounds"],
        n_jobs=_threads(ctx),
        random_state=ctx.seed,
        verbosity=0,
    )
    wrapper = EarlyStoppingClassifier if _classifies(ctx) else EarlyStoppingRegressor
    learner = wrapper(booster, early_stopping_rounds=params["early_stopping_rounds"])
    return _pipeline(params, ctx, "native", learner)


_XGBOOST_DEFAULTS = {
    "n_estimators": 1000,
    "early_stopping_rounds": 50,
    "max_depth": 6,
    "learning_rate": 0.1,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "colsample_bylevel": 1.0,
    "gamma": 1e-8,
    "reg_lambda": 1.0,
    "reg_alpha": 1e-8,
}
_spec(
    "xgboost",
    {"tabular", "image", "text"},
    _xgboost_space,
    "native",
    _xgboost_build,
    _XGBOOST_DEFAULTS,
    "XGBoost (hist, native categoricals, early stopping; GPU when available)",
)


def _lightgbm_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # TabZilla 2023 / Optuna's LightGBM tuner ranges, with early stopping for the tree count.
    return {
        "num_leaves": trial.suggest_int("num_leaves", 2, 256, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
    }


def _lightgbm_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    import lightgbm

    settings = {key: params[key] for key in _LIGHTGBM_DEFAULTS if key != "early_stopping_rounds"}
    booster_class = lightgbm.LGBMClassifier if _classifies(ctx) else lightgbm.LGBMRegressor
    booster = booster_class(
        **settings,
        subsample_freq=1,
        n_jobs=_threads(ctx),
        random_state=ctx.seed,
        deterministic=True,
        force_row_wise=True,
        verbosity=-1,
    )
    wrapper = EarlyStoppingClassifier if _classifies(ctx) else EarlyStoppingRegressor
    learner = wrapper(booster, early_stopping_rounds=params["early_stopping_rounds"])
    return _pipeline(params, ctx, "native", learner)


_LIGHTGBM_DEFAULTS = {
    "n_estimators": 1000,
    "early_stopping_rounds": 50,
    "num_leaves": 31,
    "learning_rate": 0.05,
    "min_child_samples": 10,  # LightGBM's 20 cannot split rare words in small cells
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_alpha": 1e-8,
    "reg_lambda": 1e-8,
}
_spec(
    "lightgbm",
    {"tabular", "image", "text"},
    _lightgbm_space,
    "native",
    _lightgbm_build,
    _LIGHTGBM_DEFAULTS,
    "LightGBM (native categoricals, early stopping)",
)


# --- support vector machines --------------------------------------------------------------------
# Space: Hsu, Chang & Lin, "A Practical Guide to Support Vector Classification" (log grids of C
# and gamma), narrowed; gamma is relative to sklearn's "scale" thanks to `KernelScaler`. Text
# uses a linear kernel on TF-IDF (Joachims 1998). Kernel SVMs are quadratic in rows, hence the
# size cap; probabilities come from Platt scaling on cross-validated margins.


def _svm_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    params = {"C": trial.suggest_float("C", 1e-2, 1e3, log=True)}
    if ctx.modality != "text":
        params["gamma"] = trial.suggest_float("gamma", 1e-2, 1e2, log=True)
    if not _classifies(ctx):
        params["epsilon"] = trial.suggest_float("epsilon", 1e-3, 1.0, log=True)
    return params


def _svm_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    linear = ctx.modality == "text"
    kernel = {"kernel": "linear"} if linear else {"kernel": "rbf", "gamma": params["gamma"]}
    if _classifies(ctx):
        learner = CalibratedClassifier(
            SVC(C=params["C"], cache_size=500, **kernel), random_state=ctx.seed
        )
    else:
        # SVR's epsilon is in target units: standardise the target so one range fits all.
        learner = TransformedTargetRegressor(
            regressor=SVR(C=params["C"], epsilon=params["epsilon"], cache_size=500, **kernel),
            transformer=StandardScaler(),
        )
    return _pipeline(params, ctx, "scaled", learner, kernel=not linear)


_spec(
    "svm",
    {"tabular", "image", "text"},
    _svm_space,
    "scaled",
    _svm_build,
    {"C": 1.0, "gamma": 1.0, "epsilon": 0.1},
    "Support vector machine: RBF kernel (tabular, image), linear kernel on TF-IDF (text)",
    max_train_size=10_000,
)


# --- k nearest neighbours -----------------------------------------------------------------------
# Space: TabZilla 2023 kNN (n_neighbors, weights, Minkowski p), k capped by the training size.


def _max_neighbors(ctx: ModelContext) -> int:
    return 50 if ctx.train_size is None else max(1, min(50, ctx.train_size // 2))


def _knn_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, _max_neighbors(ctx), log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }


def _knn_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn import neighbors

    learner_class = (
        neighbors.KNeighborsClassifier if _classifies(ctx) else neighbors.KNeighborsRegressor
    )
    learner = learner_class(
        n_neighbors=min(params["n_neighbors"], _max_neighbors(ctx)),
        weights=params["weights"],
        p=params["p"],
        n_jobs=_threads(ctx),
    )
    return _pipeline(params, ctx, "scaled", learner)


_spec(
    "knn",
    {"tabular", "image"},
    _knn_space,
    "scaled",
    _knn_build,
    {"n_neighbors": 5, "weights": "distance", "p": 2},
    "k nearest neighbours on scaled tables or pixel/HOG features",
)
