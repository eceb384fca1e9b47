"""Models: a registry of tunable classical and neural estimators.

Layers, each importing only those below it: `registry` (records and `register`), the families
(`features`, `pipeline`, `classical`; `neural/` whose `specs` registers the nets and whose
estimators load torch only when built), then `catalogue` (look-ups over every family).
"""

from dlvsml.models.catalogue import all_models, get_model, models_for
from dlvsml.models.pipeline import fit_estimator
from dlvsml.models.registry import ModelContext, ModelSpec, register

__all__ = [
    "ModelContext",
    "ModelSpec",
    "all_models",
    "fit_estimator",
    "get_model",
    "models_for",
    "register",
]
