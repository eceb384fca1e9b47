"""The plain records a suite passes around: cells, plans, trials and results.

A leaf: it imports nothing of dlvsml, so the tracker (which records these) sits below the run
machinery (which makes them), and `dlvsml results` reads MLflow without importing Optuna, the
models or the data layer. Every record pickles (cells go to worker processes and Ray tasks;
results come back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Cell:
    """One unit of work: tune one model on one subsample of one dataset.

    ``train_size`` is resolved (a row count) when the suite is planned; with ``seed`` and the
    spec's split settings it names the cell's rows (`dlvsml.data.splits.cell_rows`), so a
    worker slices them without re-planning and a cell stays a few bytes to ship.
    """

    key: str
    dataset_uri: str
    dataset: str
    fingerprint: str
    modality: str
    task: str
    train_size: int
    model: str
    family: str
    seed: int
    budget: int = 0  # position in the spec's budgets (`ExperimentSpec.all_budgets`)
    budget_label: str = ""  # set only when the spec has several budgets
    continues: str | None = None  # key of the same cell at the next smaller budget

    @property
    def label(self) -> str:
        """The name a person reads: ``dataset/size/model/seed`` (the MLflow run name), with
        ``/budget`` when the spec has several budgets."""
        label = f"{self.dataset}/{self.train_size}/{self.model}/{self.seed}"
        return f"{label}/{self.budget_label}" if self.budget_label else label


@dataclass(frozen=True)
class SkippedCell:
    """A cell the plan will not run, and why (reported, never silently dropped)."""

    cell: Cell
    reason: str


@dataclass(frozen=True)
class Plan:
    cells: list[Cell]
    skipped: list[SkippedCell]


@dataclass(frozen=True)
class CellData:
    """The rows a cell tunes on: train and validation, both carved from its subsample."""

    X_train: Any
    y_train: np.ndarray
    X_val: Any
    y_val: np.ndarray


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the tracker logs it (a nested MLflow run)."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None
    seconds: float | None
    reason: str | None = None
    reused_from: str | None = None  # study (cell key) of a smaller budget it was copied from
    # How the trial's model ended training (`dlvsml.models.time_budget.training_end`).
    stopped_by: str | None = None
    n_iter_done: int | None = None


@dataclass
class CellResult:
    """Everything the tracker records about a cell."""

    cell: Cell
    status: str  # finished | failed
    reason: str | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    metric: str = ""
    validation_score: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_params: dict[str, Any] = field(default_factory=dict)
    trials: list[TrialRecord] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    indices: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] | None = None
    stopped_by: str | None = None  # converged | clock | max_iter | unknown (the chosen model)
    y_test: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    no_signal: bool | None = None  # the best model did not beat the dummy (`dlvsml.guard`)
    dummy_validation_score: float | None = None
