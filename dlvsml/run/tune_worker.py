"""An extra tuning worker for one cell of a running suite (``dlvsml tune-worker``).

The suite's own task tunes, tests and records each cell; a worker started here on any machine
that reaches the same Optuna storage (PostgreSQL) adds trials to that cell's study, within the
same total budget, and stops when the budget is spent and no trial is left running. It writes
nothing to MLflow: the suite records all the study's trials when the cell finishes.

Example::

    report = tune_worker(load_spec("suite.yaml"), "breast_cancer/80/mlp/0", worker=1)
    report.trials_by_state  # {'COMPLETE': 10}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dlvsml.errors import SpecError
from dlvsml.records import Cell
from dlvsml.run.cell import run_cell
from dlvsml.run.plan import plan_cells
from dlvsml.run.resources import threads_per_worker
from dlvsml.spec import ExperimentSpec
from dlvsml.stores import storage_url


@dataclass
class WorkerReport:
    """What a tuning worker found when the study was full."""

    cell: str
    cell_key: str
    study_storage: str
    status: str
    reason: str | None = None
    trials_by_state: dict[str, int] = field(default_factory=dict)


def find_cell(spec: ExperimentSpec, ref: str) -> Cell:
    """The spec's cell whose key or label (``dataset/size/model/seed``) is ``ref``."""
    cells = plan_cells(spec).cells
    for cell in cells:
        if ref in (cell.key, cell.label):
            return cell
    examples = ", ".join(cell.label for cell in cells[:3])
    raise SpecError(
        f"no cell {ref!r} in spec {spec.name!r}; give a cell key or a label such as {examples}"
    )


def tune_worker(spec: ExperimentSpec, ref: str, worker: int = 1) -> WorkerReport:
    """Tune the cell's study alongside its other workers until the budget is spent."""
    if worker < 1:
        raise SpecError(f"--worker must be at least 1 (0 is the suite's own; got {worker})")
    cell = find_cell(spec, ref)
    result = run_cell(spec, cell, threads_per_worker(1), worker=worker)
    return WorkerReport(
        cell=cell.label,
        cell_key=cell.key,
        study_storage=storage_url(spec),
        status=result.status,
        reason=result.reason,
        trials_by_state=dict(Counter(trial.state for trial in result.trials)),
    )
