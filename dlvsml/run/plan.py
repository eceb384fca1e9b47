"""Expand a spec into cells: dataset × budget × train size × model × seed, each with a stable key.

A cell key hashes everything that changes what a cell computes (data fingerprint, size, model,
seed, budget, metric, split settings), so it names the cell everywhere: the MLflow tag the runner
resumes from and the Optuna study that holds its trials. Change the data or the budget and the
key changes; re-run the same spec and nothing is recomputed. With several budgets, a dataset's
cells come smallest budget first, and each names the cell it continues (same dataset, size, model
and seed at the next smaller budget), whose finished trials seed its study.

Example::

    plan = plan_cells(load_spec("experiments/quick.yaml"))
    [cell.label for cell in plan.cells][:2]  # ['breast_cancer/100/linear/0', ...]
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dlvsml.data import (
    Dataset,
    load_dataset,
    resolve_train_sizes,
    test_split,
)
from dlvsml.errors import SpecError
from dlvsml.metrics import resolve_metric
from dlvsml.models import ModelSpec, get_model, models_for
from dlvsml.records import Cell, Plan, SkippedCell
from dlvsml.spec import ExperimentSpec


def plan_cells(spec: ExperimentSpec) -> Plan:
    """Every cell of a spec, in dataset, budget, seed, size, model order; loads each dataset
    once."""
    cells: list[Cell] = []
    skipped: list[SkippedCell] = []
    for uri in spec.datasets:
        dataset = load_dataset(uri)
        pool, _ = test_split(
            dataset.y, dataset.task, fraction=spec.split.test_fraction, cap=spec.split.test_cap
        )
        sizes, too_large = _sizes(spec, dataset, len(pool))
        models = _models(spec, dataset)
        for budget in range(len(spec.all_budgets)):
            for seed in spec.seeds:
                for size in sorted([*sizes, *too_large]):
                    for model in models:
                        cell = _cell(spec, uri, dataset, size, model, seed, budget)
                        reason = _refusal(model, size, len(pool))
                        if reason:
                            skipped.append(SkippedCell(cell, reason))
                        else:
                            cells.append(cell)
    if skipped and not cells:  # e.g. every size above every pool: a mistake, not a plan
        raise SpecError(
            f"no cell of the spec can run: {skipped[0].reason} ({skipped[0].cell.label}); "
            "use smaller train_sizes, a fraction such as 0.5, or 'max'"
        )
    return Plan(cells, skipped)


def _sizes(spec: ExperimentSpec, dataset: Dataset, pool_size: int) -> tuple[list[int], list[int]]:
    """Sizes that fit the pool, and counts too large for this dataset (skipped, not an error:
    one spec covers datasets of very different sizes)."""
    if spec.train_sizes == "lcdb":
        return _resolve(spec.train_sizes, dataset, pool_size), []
    too_large = sorted({s for s in spec.train_sizes if isinstance(s, int) and s > pool_size})
    fitting = [s for s in spec.train_sizes if not (isinstance(s, int) and s > pool_size)]
    return (_resolve(fitting, dataset, pool_size) if fitting else []), too_large


def _resolve(sizes: Any, dataset: Dataset, pool_size: int) -> list[int]:
    resolved = resolve_train_sizes(sizes, pool_size, n_classes=dataset.n_classes)
    return [int(size) for size in resolved]


def _refusal(model: ModelSpec, size: int, pool_size: int) -> str | None:
    if size > pool_size:
        return f"train size {size} exceeds the {pool_size} rows left after the test split"
    if model.max_train_size is not None and size > model.max_train_size:
        return f"{model.name} refuses train sizes above {model.max_train_size} (it scales badly)"
    return None


def cell_key(
    spec: ExperimentSpec,
    fingerprint: str,
    task: str,
    train_size: int,
    model: str,
    seed: int,
    budget: int = 0,
) -> str:
    """A 12-hex-digit hash of what the cell computes (``budget``: position in the spec's
    budgets; a spec with one budget hashes it as it always did)."""
    payload = {
        "fingerprint": fingerprint,
        "train_size": int(train_size),
        "model": model,
        "seed": int(seed),
        "budget": spec.all_budgets[budget].model_dump(),
        "metric": resolve_metric(spec.metric, task),
        "split": spec.split.model_dump(),
    }
    return _digest(json.dumps(payload, sort_keys=True).encode())


def _cell(
    spec: ExperimentSpec,
    uri: str,
    dataset: Dataset,
    size: int,
    model: ModelSpec,
    seed: int,
    budget: int = 0,
) -> Cell:
    def key(at: int) -> str:
        return cell_key(spec, dataset.fingerprint, dataset.task, size, model.name, seed, at)

    several = len(spec.all_budgets) > 1
    return Cell(
        key=key(budget),
        dataset_uri=uri,
        dataset=dataset.name,
        fingerprint=dataset.fingerprint,
        modality=dataset.modality,
        task=dataset.task,
        train_size=size,
        model=model.name,
        family=model.family,
        seed=seed,
        budget=budget,
        budget_label=spec.all_budgets[budget].label if several else "",
        continues=key(budget - 1) if budget > 0 else None,
    )


def _models(spec: ExperimentSpec, dataset: Dataset) -> list[ModelSpec]:
    if spec.models == "all":
        return models_for(dataset.modality, dataset.task)
    chosen = [get_model(name) for name in spec.models]
    fitting = [m for m in chosen if m.supports(dataset.modality, dataset.task)]
    if not fitting:
        usable = [m.name for m in models_for(dataset.modality, dataset.task)]
        raise SpecError(
            f"no model of {spec.models} supports {dataset.name} ({dataset.modality}, "
            f"{dataset.task}); add one of {usable}"
        )
    return fitting


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]
