"""Models: a registry of tunable classical and neural estimators."""

from dlvsml.models.registry import (
    ModelContext,
    ModelSpec,
    all_models,
    fit_estimator,
    get_model,
    models_for,
    register,
)

__all__ = [
    "ModelContext",
    "ModelSpec",
    "all_models",
    "fit_estimator",
    "get_model",
    "models_for",
    "register",
]
