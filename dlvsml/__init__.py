"""dlvsml: measure whether traditional ML or deep learning wins on your data.

The notebook API (imported on first use, so ``import dlvsml`` stays fast):

>>> import dlvsml
>>> dlvsml.load("builtin:iris").task
'multiclass'
>>> dlvsml.recommend(modality="tabular", n_samples=500).verdict
'classical'

``dlvsml.compare(data, target, ...)`` tunes and tests classical and neural models at several
train sizes and returns a `Comparison` (leaderboard, learning curves, crossover, report).

Layers, bottom to top (``tests/unit/test_layering.py`` enforces them): a module imports its own
layer and the layers below, never one above, and no import cycle exists.

1. foundations: ``errors``, ``faults``, ``sqlite``, ``records`` (cells, trials and results as
   plain data), ``metrics``, ``guard`` (did a model beat the dummy), ``cell_plots``, ``lifetime``,
   ``stale_trials``;
2. ``data``: sources, datasets, splits, profiles, caches;
3. ``models``: the registry (a leaf), the families, the catalogue that looks them up;
4. ``spec``: experiment specs (validates model names through the catalogue);
5. ``stores`` (Optuna storage), ``tuning`` (a study per cell), ``tracking`` (the one door to
   MLflow: records in, results frames out);
6. ``run``: planning cells, running one cell, executors, a suite, progress;
7. ``analysis``: pure functions over results frames, and the report;
8. ``recommender``: facts, rules, evidence from analysis, advice;
9. ``_api`` (the notebook API) and ``dashboard``;
10. ``cli`` and this package's lazy top level.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dlvsml.errors import DataError, DlvsmlError, ModelError, SpecError, TrackingError

try:
    __version__ = version("dlvsml")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

_LAZY = {
    "compare": "dlvsml._api.compare",
    "Comparison": "dlvsml._api.comparison",
    "load": "dlvsml._api.advice",
    "recommend": "dlvsml._api.advice",
}

__all__ = [
    "Comparison",
    "DataError",
    "DlvsmlError",
    "ModelError",
    "SpecError",
    "TrackingError",
    "__version__",
    "compare",
    "load",
    "recommend",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dlvsml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
