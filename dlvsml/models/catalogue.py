"""Look-ups over every model dlvsml can tune: `all_models`, `get_model`, `models_for`.

Importing this module registers the built-in families (as `dlvsml.data.loading` does for
sources). Neither family imports torch to register: the neural specs load their nets when
built, so listing and validating model names stays cheap.
"""

from __future__ import annotations

from dlvsml.errors import ModelError
from dlvsml.models import classical  # noqa: F401  (registers the classical models)
from dlvsml.models.neural import specs  # noqa: F401  (registers the nets, without torch)
from dlvsml.models.registry import REGISTRY, Family, ModelSpec


def all_models() -> dict[str, ModelSpec]:
    """Every registered model, by name."""
    return dict(REGISTRY)


def get_model(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise ModelError(
            f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))} "
            "(see `dlvsml models`)"
        )
    return REGISTRY[name]


def models_for(modality: str, task: str, family: Family | None = None) -> list[ModelSpec]:
    """Models that apply to a modality and task, classical first, in registration order."""
    found = [
        m
        for m in REGISTRY.values()
        if m.supports(modality, task) and (family is None or m.family == family)
    ]
    return sorted(found, key=lambda m: m.family != "classical")
