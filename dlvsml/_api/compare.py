"""``dlvsml.compare``: the spec the CLI would run, built from Python objects, run the same way."""

from __future__ import annotations

import hashlib
import numbers
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dlvsml._api.comparison import Comparison
from dlvsml._api.inputs import check_modality, source_uri
from dlvsml.data.roles import with_roles
from dlvsml.errors import DataError, SpecError

if TYPE_CHECKING:
    from dlvsml.spec import ExperimentSpec

DEFAULT_TRAIN_SIZES = (100, 300, 1000)


def compare(
    data: Any,
    target: str | None = None,
    *,
    modality: str | None = None,
    train_sizes: Iterable[int | float | str] | str = DEFAULT_TRAIN_SIZES,
    models: str | Iterable[str] = "all",
    budget: int | dict[str, float] | None = None,
    seeds: int | Iterable[int] = (0,),
    name: str | None = None,
    tracking_uri: str | None = None,
    workers: int = 1,
    progress: bool = True,
    roles: dict[str, str] | None = None,
    **spec_fields: Any,
) -> Comparison:
    """Tune and test classical and neural models on ``data`` at each train size; compare them.

    ``data`` is a DataFrame (with ``target`` naming its label column), an ``(X, y)`` pair
    (``X`` N×D for a table, N×H×W[×C] for images), ``(texts, labels)``, or a source URI such
    as ``"builtin:digits"``. ``budget`` is trials per model and cell (an int) or a dict
    ``{"trials": 5, "seconds": 30}``; ``seeds`` a count or a list. Other fields of an
    experiment spec (``metric``, ``split``, ``device``, ``cell_timeout``, ...) pass through.
    ``roles`` overrides column roles of a table, e.g. ``{"comment": "text", "id": "drop"}``.

    Results go to MLflow like ``dlvsml run``'s (``tracking_uri``, else ``MLFLOW_TRACKING_URI``,
    else ``./mlflow.db``) under the spec name ``compare-<hash of the data>`` unless ``name`` is
    given; calling again with the same data skips every cell already finished.

    >>> import dlvsml
    >>> result = dlvsml.compare(
    ...     "builtin:breast_cancer", train_sizes=[40, 80], models=["linear", "mlp"],
    ...     budget={"trials": 2, "seconds": 3}, progress=False,
    ... )  # doctest: +SKIP
    >>> result.leaderboard()  # doctest: +SKIP
    """
    check_modality(modality)
    uri = with_roles(source_uri(data, target, modality, name=name), roles)
    spec = comparison_spec(
        uri,
        train_sizes=train_sizes,
        models=models,
        budget=budget,
        seeds=seeds,
        name=name,
        tracking_uri=tracking_uri,
        **spec_fields,
    )
    return run_comparison(spec, modality, workers=workers, progress=progress)


def run_comparison(
    spec: ExperimentSpec, modality: str | None, *, workers: int = 1, progress: bool = True
) -> Comparison:
    """Run ``spec``'s cells as ``dlvsml run`` would (finished cells are skipped) after checking
    that its data are of ``modality`` when one was asked for."""
    from dlvsml.run.plan import plan_cells
    from dlvsml.run.suite import run_spec

    plan = plan_cells(spec)
    found = {cell.modality for cell in plan.cells} | {s.cell.modality for s in plan.skipped}
    if modality is not None and found != {modality}:
        raise DataError(f"{spec.datasets[0]} holds {', '.join(sorted(found))} data, not {modality}")
    summary = run_spec(spec, workers=workers, progress=progress and _progress_can_render())
    keys = tuple(cell.key for cell in plan.cells) + tuple(s.cell.key for s in plan.skipped)
    return Comparison(spec, summary, keys)


def _progress_can_render() -> bool:
    """rich draws live progress in Jupyter through ipywidgets only; without it every refresh
    warns. Then say so once and run without the bar."""
    from rich.console import Console

    if not Console().is_jupyter:
        return True
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        warnings.warn(
            "install ipywidgets to see dlvsml's progress in Jupyter (pip install ipywidgets)",
            stacklevel=3,
        )
        return False
    return True


def comparison_spec(
    uri: str,
    *,
    train_sizes: Any = DEFAULT_TRAIN_SIZES,
    models: Any = "all",
    budget: Any = None,
    seeds: Any = (0,),
    name: str | None = None,
    tracking_uri: str | None = None,
    **spec_fields: Any,
) -> ExperimentSpec:
    """The `ExperimentSpec` ``compare`` runs: one dataset, validated as a spec file would be.

    >>> comparison_spec("builtin:digits", train_sizes=[50], models="linear").models
    ['linear']
    """
    from dlvsml.spec import parse_spec

    taken = sorted(set(spec_fields) & {"name", "datasets", "train_sizes", "models", "seeds"})
    if taken:
        raise SpecError(f"{taken[0]!r} is set by compare() itself; remove it from the options")
    raw: dict[str, Any] = {
        "name": name or default_name(uri),
        "datasets": [uri],
        "train_sizes": _sizes(train_sizes),
        "models": _models(models),
        "seeds": _seeds(seeds),
        **spec_fields,
    }
    if budget is not None:
        raw["budget"] = _budget(budget)
    if tracking_uri is not None:
        raw["tracking_uri"] = tracking_uri
    return parse_spec(raw, source="compare()")


def default_name(uri: str) -> str:
    """``compare-<8 hex>`` from the data's URI: the same data, the same MLflow experiment.

    >>> default_name("builtin:digits")
    'compare-87343234'
    """
    return "compare-" + hashlib.sha256(uri.encode()).hexdigest()[:8]


def _sizes(train_sizes: Any) -> Any:
    if isinstance(train_sizes, str):
        return train_sizes
    if isinstance(train_sizes, numbers.Number):
        return [_plain(train_sizes)]
    return [_plain(size) for size in _iterable(train_sizes, "train_sizes")]


def _models(models: Any) -> Any:
    if isinstance(models, str):
        return models if models == "all" else [models]
    return [str(model) for model in _iterable(models, "models")]


def _seeds(seeds: Any) -> Any:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return int(seeds)
    return [_plain(seed) for seed in _iterable(seeds, "seeds")]


def _budget(budget: Any) -> Any:
    if isinstance(budget, numbers.Integral) and not isinstance(budget, bool):
        return {"trials": int(budget)}
    if isinstance(budget, dict):
        return {key: _plain(value) for key, value in budget.items()}
    if hasattr(budget, "model_dump"):  # a spec.Budget
        return budget.model_dump()
    raise SpecError(
        f"budget={budget!r} is not a budget; give trials per model and cell (budget=5) or a dict "
        "such as {'trials': 5, 'seconds': 30}"
    )


def _iterable(value: Any, field: str) -> list[Any]:
    try:
        return list(value)
    except TypeError:
        raise SpecError(f"{field}={value!r} is not a list") from None


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, which the spec's validation accepts."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value
