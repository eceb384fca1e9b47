"""The facts the recommender reasons with: from the user's flags, a dataset profile, or both.

Every fact but ``modality`` may be unknown (``None``); a rule that needs an unknown fact does not
fire, so a recommendation from three flags is weaker than one from a profiled dataset, never wrong
for lack of a fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dlvsml.errors import DlvsmlError

Modality = Literal["tabular", "image", "text"]
Task = Literal["binary", "multiclass", "regression"]
Interpretability = Literal["required", "preferred", "none"]


class Facts(BaseModel):
    """What is known about the problem; ``None`` means unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modality: Modality
    task: Task | None = None
    n_samples: int | None = Field(default=None, ge=1, description="labelled examples at hand")
    n_features: int | None = Field(default=None, ge=1)
    n_classes: int | None = Field(default=None, ge=2, description="None for regression")
    imbalance_ratio: float | None = Field(default=None, ge=1, description="largest/smallest class")
    missing_ratio: float | None = Field(default=None, ge=0, le=1)
    categorical_share: float | None = Field(default=None, ge=0, le=1)
    skewness_mean_abs: float | None = Field(default=None, ge=0)
    skewness_max_abs: float | None = Field(default=None, ge=0)
    kurtosis_mean_abs: float | None = Field(default=None, ge=0)
    kurtosis_max_abs: float | None = Field(default=None, ge=0)
    words_mean: float | None = Field(default=None, ge=0, description="mean words per text")
    image_pixels: int | None = Field(default=None, ge=1, description="height × width")
    interpretability: Interpretability | None = None
    gpu: bool | None = None
    train_time_budget_minutes: float | None = Field(default=None, gt=0)
    latency_budget_ms: float | None = Field(default=None, gt=0, description="per prediction")
    pretrained_available: bool | None = Field(
        default=None, description="a pretrained model exists for the domain"
    )
    data_growth_expected: bool | None = None
    measured_classical_win_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of measured comparisons of this modality and size regime won by the "
        "best classical model (ties count half); set from evidence",
    )


FACT_NAMES: tuple[str, ...] = tuple(Facts.model_fields)

# Profile fields (see `dlvsml.data.profile_dataset`) that are facts under the same name.
_SAME_NAME = (
    "modality",
    "task",
    "n_features",
    "n_classes",
    "imbalance_ratio",
    "missing_ratio",
    "categorical_share",
    "skewness_mean_abs",
    "skewness_max_abs",
    "kurtosis_mean_abs",
    "kurtosis_max_abs",
    "words_mean",
)


def make_facts(values: Mapping[str, Any]) -> Facts:
    """Validate ``values`` as facts; a bad value raises `DlvsmlError` naming the field and what
    it accepts, e.g. ``make_facts({"modality": "audio"})``."""
    try:
        return Facts.model_validate(dict(values))
    except ValidationError as exc:
        raise DlvsmlError(f"invalid facts: {_describe(exc)}") from None


def facts_from_profile(profile: Mapping[str, Any]) -> Facts:
    """Facts of a profiled dataset (``profile_dataset`` output); fields the recommender does not
    use (``mfe.*``, pixel statistics, ...) are left out."""
    values = {name: profile[name] for name in _SAME_NAME if profile.get(name) is not None}
    if profile.get("n_rows") is not None:
        values["n_samples"] = profile["n_rows"]
    if profile.get("height") and profile.get("width"):
        values["image_pixels"] = int(profile["height"]) * int(profile["width"])
    return make_facts(values)


def merge(profile_facts: Facts, overrides: Mapping[str, Any]) -> Facts:
    """``profile_facts`` with every non-``None`` override in its place: what the user says beats
    what profiling measured (e.g. the data will grow to 10× the sample profiled)."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return make_facts({**profile_facts.model_dump(), **given})


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(facts)"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown fact {field!r} (facts are: {', '.join(FACT_NAMES)})")
        elif error["type"] == "missing":
            problems.append(f"{field!r} is required")
        else:
            problems.append(f"{field!r}: {error['msg']} (got {error.get('input')!r})")
    return "; ".join(problems)
