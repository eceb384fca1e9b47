"""Classical models (scikit-learn, XGBoost, LightGBM) registered by name.

Each model is a `ModelPipeline`: a featuriser for the modality (`dlvsml.models.features`), then
the learner, so it takes the same raw data as every other model. Search spaces are written next
to each model with their sources; `defaults` is a sound untuned configuration (tuning's trial 0)
and names every parameter any modality's search space can ask for. Names are the pipeline's own
(``features__scaling``, ``model__C``, ``model__estimator__max_depth``), so a logged best
configuration rebuilds its model with ``set_params``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # search spaces receive a trial; importing Optuna here would slow `dlvsml models`
    import optuna

ALL_TASKS = frozenset({"binary", "multiclass", "regression"})
Params = Mapping[str, Any]


def _pipeline(
    params: Params, ctx: ModelContext, style: Style, learner: BaseEstimator, kernel: bool = False
) -> ModelPipeline:
    steps = [("features", featuriser(params, ctx.modality, style, ctx.roles))]
    if kernel:
        steps.append(("kernel_scale", KernelScaler()))
    return ModelPipeline([*steps, ("model", learner)], time_limit=ctx.time_limit)


def _classifies(ctx: ModelContext) -> bool:
    return ctx.task != "regression"


def _threads(ctx: ModelContext) -> int:
    return max(1, int(ctx.n_threads))


# The booster inside `EarlyStoppingClassifier` / `EarlyStoppingRegressor`, the pipeline's "model".
_BOOSTER = "model__estimator__"


def _prefixed(prefix: str, params: Params) -> dict[str, Any]:
    """``params`` under a pipeline step: ``{"C": 1}`` -> ``{"model__C": 1}``."""
    return {prefix + key: value for key, value in params.items()}


def _under(prefix: str, params: Params) -> dict[str, Any]:
    """The params of one step, without its prefix (the inverse of `_prefixed`)."""
    return {key[len(prefix) :]: value for key, value in params.items() if key.startswith(prefix)}


def _early_stopping(booster: BaseEstimator, params: Params, ctx: ModelContext) -> BaseEstimator:
    wrapper = EarlyStoppingClassifier if _classifies(ctx) else EarlyStoppingRegressor
    return wrapper(booster, early_stopping_rounds=params["model__early_stopping_rounds"])


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
        return {"model__C": trial.suggest_float("model__C", 1e-4, 1e3, log=True)}
    return {"model__alpha": trial.suggest_float("model__alpha", 1e-3, 1e4, log=True)}


def _linear_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression, Ridge

    if _classifies(ctx):
        learner = LogisticRegression(C=params["model__C"], max_iter=2000, random_state=ctx.seed)
    else:
        learner = Ridge(alpha=params["model__alpha"], random_state=ctx.seed)
    return _pipeline(params, ctx, "scaled", learner)


_spec(
    "linear",
    {"tabular", "image", "text"},
    _linear_space,
    "scaled",
    _linear_build,
    # TF-IDF rows have unit norm, so C=1 underfits small text sets; 10 suits every modality.
    {"model__C": 10.0, "model__alpha": 1.0},
    "Logistic regression / ridge on one-hot + scaled, pixel/HOG or TF-IDF features",
)


# --- random forest and extra trees --------------------------------------------------------------
# Space: Grinsztajn et al. 2022 ("Why do tree-based models still outperform deep learning on
# tabular data?", appendix A.3), with max_depth widened and n_estimators fixed as there.


def _forest_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "model__max_depth": trial.suggest_categorical("model__max_depth", [None, 4, 8, 16]),
        "model__max_features": trial.suggest_categorical(
            "model__max_features", ["sqrt", "log2", 0.3, 0.6]
        ),
        "model__min_samples_leaf": trial.suggest_int("model__min_samples_leaf", 1, 50, log=True),
        "model__bootstrap": trial.suggest_categorical("model__bootstrap", [True, False]),
    }


def _forest_builder(kind: str) -> Callable[[Params, ModelContext], BaseEstimator]:
    def build(params: Params, ctx: ModelContext) -> BaseEstimator:
        from sklearn import ensemble

        suffix = "Classifier" if _classifies(ctx) else "Regressor"
        learner = getattr(ensemble, kind + suffix)(
            n_estimators=params["model__n_estimators"],
            max_depth=params["model__max_depth"],
            max_features=params["model__max_features"],
            min_samples_leaf=params["model__min_samples_leaf"],
            bootstrap=params["model__bootstrap"],
            n_jobs=_threads(ctx),
            random_state=ctx.seed,
        )
        return _pipeline(params, ctx, "trees", learner)

    return build


_FOREST_DEFAULTS = {
    "model__n_estimators": 200,
    "model__max_depth": None,
    "model__max_features": "sqrt",
    "model__min_samples_leaf": 1,
}
_spec(
    "random_forest",
    {"tabular", "image"},
    _forest_space,
    "trees",
    _forest_builder("RandomForest"),
    {**_FOREST_DEFAULTS, "model__bootstrap": True},
    "Random forest (scikit-learn) on ordinal-coded tables or pixel/HOG features",
)
_spec(
    "extra_trees",
    {"tabular", "image"},
    _forest_space,
    "trees",
    _forest_builder("ExtraTrees"),
    {**_FOREST_DEFAULTS, "model__bootstrap": False},
    "Extremely randomised trees (scikit-learn) on ordinal-coded tables or pixel/HOG features",
)


# --- gradient boosting: XGBoost and LightGBM ----------------------------------------------------


def _xgboost_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Grinsztajn et al. 2022, appendix A.3; learning_rate floor raised from 1e-5 to 1e-3 and
    # n_estimators replaced by early stopping on the validation split.
    return _prefixed(
        _BOOSTER,
        {
            "max_depth": trial.suggest_int(_BOOSTER + "max_depth", 1, 11),
            "learning_rate": trial.suggest_float(_BOOSTER + "learning_rate", 1e-3, 0.7, log=True),
            "min_child_weight": trial.suggest_float(
                _BOOSTER + "min_child_weight", 1.0, 100.0, log=True
            ),
            "subsample": trial.suggest_float(_BOOSTER + "subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float(_BOOSTER + "colsample_bytree", 0.5, 1.0),
            "colsample_bylevel": trial.suggest_float(_BOOSTER + "colsample_bylevel", 0.5, 1.0),
            "gamma": trial.suggest_float(_BOOSTER + "gamma", 1e-8, 7.0, log=True),
            "reg_lambda": trial.suggest_float(_BOOSTER + "reg_lambda", 1.0, 4.0, log=True),
            "reg_alpha": trial.suggest_float(_BOOSTER + "reg_alpha", 1e-8, 100.0, log=True),
        },
    )


def _xgboost_device(ctx: ModelContext) -> str:
    if ctx.device in ("cuda", "cpu"):
        return ctx.device
    if ctx.device == "auto" and importlib.util.find_spec("torch") is not None:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cpu"


def _xgboost_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    import xgboost

    booster_class = xgboost.XGBClassifier if _classifies(ctx) else xgboost.XGBRegressor
    booster = booster_class(
        **_under(_BOOSTER, params),
        tree_method="hist",
        device=_xgboost_device(ctx),
        enable_categorical=True,
        early_stopping_rounds=params["model__early_stopping_rounds"],
        n_jobs=_threads(ctx),
        random_state=ctx.seed,
        verbosity=0,
    )
    return _pipeline(params, ctx, "native", _early_stopping(booster, params, ctx))


_XGBOOST_DEFAULTS = {
    "model__early_stopping_rounds": 50,
    **_prefixed(
        _BOOSTER,
        {
            "n_estimators": 1000,
            "max_depth": 6,
            "learning_rate": 0.1,
            "min_child_weight": 1.0,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "colsample_bylevel": 1.0,
            "gamma": 1e-8,
            "reg_lambda": 1.0,
            "reg_alpha": 1e-8,
        },
    ),
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
    return _prefixed(
        _BOOSTER,
        {
            "num_leaves": trial.suggest_int(_BOOSTER + "num_leaves", 2, 256, log=True),
            "learning_rate": trial.suggest_float(_BOOSTER + "learning_rate", 1e-3, 0.3, log=True),
            "min_child_samples": trial.suggest_int(
                _BOOSTER + "min_child_samples", 2, 100, log=True
            ),
            "subsample": trial.suggest_float(_BOOSTER + "subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float(_BOOSTER + "colsample_bytree", 0.5, 1.0),
            "reg_alpha": trial.suggest_float(_BOOSTER + "reg_alpha", 1e-8, 10.0, log=True),
            "reg_lambda": trial.suggest_float(_BOOSTER + "reg_lambda", 1e-8, 10.0, log=True),
        },
    )


def _lightgbm_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    import lightgbm

    booster_class = lightgbm.LGBMClassifier if _classifies(ctx) else lightgbm.LGBMRegressor
    booster = booster_class(
        **_under(_BOOSTER, params),
        subsample_freq=1,
        n_jobs=_threads(ctx),
        random_state=ctx.seed,
        deterministic=True,
        force_row_wise=True,
        verbosity=-1,
    )
    return _pipeline(params, ctx, "native", _early_stopping(booster, params, ctx))


_LIGHTGBM_DEFAULTS = {
    "model__early_stopping_rounds": 50,
    **_prefixed(
        _BOOSTER,
        {
            "n_estimators": 1000,
            "num_leaves": 31,
            "learning_rate": 0.05,
            "min_child_samples": 10,  # LightGBM's 20 cannot split rare words in small cells
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "reg_alpha": 1e-8,
            "reg_lambda": 1e-8,
        },
    ),
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


def _svm_step(ctx: ModelContext) -> str:
    """Where the SVC or SVR sits in the pipeline: in the calibrator or the target scaler."""
    return "model__estimator__" if _classifies(ctx) else "model__regressor__"


def _svm_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    step = _svm_step(ctx)
    params = {"C": trial.suggest_float(step + "C", 1e-2, 1e3, log=True)}
    if ctx.modality != "text":
        params["gamma"] = trial.suggest_float(step + "gamma", 1e-2, 1e2, log=True)
    if not _classifies(ctx):
        params["epsilon"] = trial.suggest_float(step + "epsilon", 1e-3, 1.0, log=True)
    return _prefixed(step, params)


def _svm_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    linear = ctx.modality == "text"
    svm = _under(_svm_step(ctx), params)
    kernel = {"kernel": "linear"} if linear else {"kernel": "rbf", "gamma": svm["gamma"]}
    if _classifies(ctx):
        learner = CalibratedClassifier(
            SVC(C=svm["C"], cache_size=500, **kernel), random_state=ctx.seed
        )
    else:
        # SVR's epsilon is in target units: standardise the target so one range fits all.
        learner = TransformedTargetRegressor(
            regressor=SVR(C=svm["C"], epsilon=svm["epsilon"], cache_size=500, **kernel),
            transformer=StandardScaler(),
        )
    return _pipeline(params, ctx, "scaled", learner, kernel=not linear)


_spec(
    "svm",
    {"tabular", "image", "text"},
    _svm_space,
    "scaled",
    _svm_build,
    {
        **_prefixed("model__estimator__", {"C": 1.0, "gamma": 1.0}),
        **_prefixed("model__regressor__", {"C": 1.0, "gamma": 1.0, "epsilon": 0.1}),
    },
    "Support vector machine: RBF kernel (tabular, image), linear kernel on TF-IDF (text)",
    max_train_size=10_000,
)


# --- k nearest neighbours -----------------------------------------------------------------------
# Space: TabZilla 2023 kNN (n_neighbors, weights, Minkowski p), k capped by the training size.


def _max_neighbors(ctx: ModelContext) -> int:
    return 50 if ctx.train_size is None else max(1, min(50, ctx.train_size // 2))


def _knn_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    k = trial.suggest_int("model__n_neighbors", 1, _max_neighbors(ctx), log=True)
    return {
        "model__n_neighbors": min(k, _max_neighbors(ctx)),  # the defaults' 5 in a tiny cell
        "model__weights": trial.suggest_categorical("model__weights", ["uniform", "distance"]),
        "model__p": trial.suggest_categorical("model__p", [1, 2]),
    }


def _knn_build(params: Params, ctx: ModelContext) -> BaseEstimator:
    from sklearn import neighbors

    learner_class = (
        neighbors.KNeighborsClassifier if _classifies(ctx) else neighbors.KNeighborsRegressor
    )
    learner = learner_class(
        n_neighbors=min(params["model__n_neighbors"], _max_neighbors(ctx)),
        weights=params["model__weights"],
        p=params["model__p"],
        n_jobs=_threads(ctx),
    )
    return _pipeline(params, ctx, "scaled", learner)


_spec(
    "knn",
    {"tabular", "image"},
    _knn_space,
    "scaled",
    _knn_build,
    {"model__n_neighbors": 5, "model__weights": "distance", "model__p": 2},
    "k nearest neighbours on scaled tables or pixel/HOG features",
)
