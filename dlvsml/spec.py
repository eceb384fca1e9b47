"""Experiment specs: what to compare, at which sizes, with which budget (YAML, validated).

Example ``experiments/quick.yaml``::

    name: quick
    datasets: [builtin:breast_cancer, builtin:digits, builtin:fine_foods]
    train_sizes: [100, 300, 1000]
    models: all
    seeds: [0]
    budget: {trials: 4, seconds: 60}

``budgets: [{trials: 4, seconds: 10}, {trials: 10, seconds: 60}]`` makes the budget an axis:
every cell exists once per budget, smallest first, and a larger budget continues the study of the
next smaller one (see `dlvsml.tuning.study.tune`'s ``continues``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dlvsml.errors import DlvsmlError, SpecError

Metric = Literal[
    "auto", "accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2"
]
TrainSize = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, le=1)] | Literal["max"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Strict):
    """Tuning budget per model per cell; the same for every model of a cell."""

    trials: Annotated[int, Field(gt=0)] | None = 10
    seconds: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> Budget:
        if self.trials is None and self.seconds is None:
            raise ValueError("give trials, seconds, or both")
        return self

    def covers(self, other: Budget) -> bool:
        """Whether this budget is at least ``other`` on both limits (None is no limit)."""
        return _at_least(self.trials, other.trials) and _at_least(self.seconds, other.seconds)

    @property
    def label(self) -> str:
        """Short and readable, for cell labels and the budget map: ``4t-10s``, ``10t``, ``60s``."""
        parts = [
            f"{self.trials}t" if self.trials else "",
            f"{self.seconds:g}s" if self.seconds else "",
        ]
        return "-".join(part for part in parts if part)


def _at_least(limit: float | None, other: float | None) -> bool:
    return limit is None or (other is not None and limit >= other)


class Split(_Strict):
    """How each dataset is split: a fixed test split, and validation carved from each subsample."""

    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    test_cap: Annotated[int, Field(gt=0)] | None = 5000
    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2


class Prices(_Strict):
    """Hourly prices used for cost estimates (defaults: typical on-demand cloud prices, USD)."""

    cpu_hour: Annotated[float, Field(ge=0)] = 0.10
    gpu_hour: Annotated[float, Field(ge=0)] = 2.50


class ExperimentSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
    description: str = ""
    datasets: Annotated[list[str], Field(min_length=1)]
    train_sizes: Literal["lcdb"] | Annotated[list[TrainSize], Field(min_length=1)]
    models: Literal["all"] | Annotated[list[str], Field(min_length=1)] = "all"
    seeds: Annotated[list[int], Field(min_length=1)] = [0]
    budget: Budget = Budget()
    # Several budgets, smallest first: the budget becomes an axis (cells per budget).
    budgets: Annotated[list[Budget], Field(min_length=1)] | None = None
    metric: Metric = "auto"
    split: Split = Split()
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cell_timeout: Annotated[float, Field(gt=0)] | None = None
    # Address space (MB) a cell may add to its process; past it allocations fail (MemoryError).
    cell_memory_mb: Annotated[float, Field(gt=0)] | None = None
    tracking_uri: str | None = None
    optuna_storage: str | None = None
    prices: Prices = Prices()

    @field_validator("seeds", mode="before")
    @classmethod
    def _count_means_range(cls, value: Any) -> Any:
        """``seeds: 3`` is short for ``seeds: [0, 1, 2]``."""
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("a seed count must be at least 1")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("seeds must be unique")
        return value

    @field_validator("budgets")
    @classmethod
    def _ascending_budgets(cls, value: list[Budget] | None) -> list[Budget] | None:
        """Each budget at least the one before on both limits, so a larger one can continue the
        smaller one's study and the map's budget axis has an order."""
        for smaller, larger in zip(value or [], (value or [])[1:], strict=False):
            if larger == smaller or not larger.covers(smaller):
                raise ValueError(
                    f"budgets go from smallest to largest, each at least the one before in trials "
                    f"and seconds ({larger.label} after {smaller.label}); reorder or drop one"
                )
        return value

    @model_validator(mode="after")
    def _budget_or_budgets(self) -> ExperimentSpec:
        if self.budgets is not None and "budget" in self.model_fields_set:
            raise ValueError("give budget (one) or budgets (several), not both")
        return self

    @property
    def all_budgets(self) -> list[Budget]:
        """The budgets cells are planned for: ``budgets``, else the one ``budget``."""
        return list(self.budgets) if self.budgets else [self.budget]

    @field_validator("datasets", mode="before")
    @classmethod
    def _entries_with_roles(cls, value: Any) -> Any:
        """``{uri: file:t.csv, roles: {comment: text}}`` is short for ``file:t.csv?roles=...``."""
        if not isinstance(value, list):
            return value
        return [_dataset_entry(entry) for entry in value]

    @field_validator("datasets")
    @classmethod
    def _uris_have_scheme(cls, value: list[str]) -> list[str]:
        for uri in value:
            if ":" not in uri:
                raise ValueError(
                    f"{uri!r} is not a source URI; write SCHEME:WHERE, e.g. builtin:digits or "
                    "file:data.csv?target=label"
                )
        return value


def _dataset_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    unknown = sorted(set(entry) - {"uri", "roles"})
    if unknown or not isinstance(entry.get("uri"), str):
        raise ValueError(
            "a dataset entry is a URI, or a mapping with uri: and roles: {COLUMN: ROLE}"
            + (f" (unknown keys: {', '.join(map(str, unknown))})" if unknown else "")
        )
    from dlvsml.data.roles import with_roles

    try:
        return with_roles(entry["uri"], entry.get("roles"))
    except DlvsmlError as exc:
        raise ValueError(str(exc)) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec file; every problem names the file and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file (check the path)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: not valid YAML{at}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping with keys such as name, datasets, ...")
    return parse_spec(raw, source=str(path))


def parse_spec(raw: dict[str, Any], source: str = "<spec>") -> ExperimentSpec:
    """Validate a spec given as a dict (the Python API builds one without a file)."""
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{source}: {_describe(exc)}") from None
    _check_models(spec, source)
    return spec


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        field = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part)) or "(top)"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(ExperimentSpec.model_fields)
            problems.append(f"unknown field {field!r} (allowed: {allowed})")
        else:
            problems.append(f"field {field!r}: {error['msg']} (got {error.get('input')!r})")
    more = len(exc.errors()) - 3
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _is_union_tag(part: Any) -> bool:
    # pydantic puts the tried union member ('int', 'list[...]', 'literal[...]') in the location.
    return isinstance(part, str) and (
        part in {"int", "float", "str"} or "[" in part or part.startswith("constrained")
    )


def _check_models(spec: ExperimentSpec, source: str) -> None:
    if spec.models == "all":
        return
    from dlvsml.models import all_models

    known = all_models()
    unknown = [name for name in spec.models if name not in known]
    if unknown:
        raise SpecError(
            f"{source}: field 'models': unknown model {unknown[0]!r}; "
            f"allowed: all, or a list of {', '.join(sorted(known))}"
        )
