"""Pruners by model family: classical trials run whole; neural ones stop by the median rule."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState


class EpochScorePruner(optuna.pruners.BasePruner):
    """The median rule on per-epoch validation scores, where higher is better.

    A trial is stopped when its best score so far (early stopping keeps its best epoch, so one
    noisy epoch should not end it) is below the median of the completed trials' scores at the
    same epoch; only after ``n_startup_trials`` completed trials and ``n_warmup_steps`` epochs.
    Replaying 27 unpruned studies (`benchmarks/tuning_efficiency.py`), comparing the current
    epoch after 2 trials and 2 epochs pruned the eventual best trial in 13 of them; this rule
    did so in 4, for 67 % of the epochs instead of 43 %.

    Neural trainers report a higher-is-better score each epoch whatever the cell's metric, so
    Optuna's MedianPruner (which reads the study's direction) would prune the best trials of a
    cell that minimises RMSE; this one compares scores the way the trainer means them. The
    completed trials are read once per trial, not once per epoch (a storage query each).
    """

    def __init__(self, n_startup_trials: int = 3, n_warmup_steps: int = 5) -> None:
        self.n_startup_trials, self.n_warmup_steps = n_startup_trials, n_warmup_steps
        self._curves: tuple[int, list[dict[int, float]]] = (-1, [])  # trial number, curves

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        others = [curve[step] for curve in self._completed(study, trial.number) if step in curve]
        if len(others) < self.n_startup_trials:
            return False
        scores = [v for s, v in trial.intermediate_values.items() if s <= step and v == v]
        return not scores or max(scores) < float(np.nanmedian(others))

    def _completed(self, study: optuna.Study, number: int) -> list[dict[int, float]]:
        """Per-epoch scores of the completed trials, read at the first decision of a trial."""
        if self._curves[0] != number:
            completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            self._curves = (number, [dict(t.intermediate_values) for t in completed])
        return self._curves[1]


PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "classical": optuna.pruners.NopPruner,
    "neural": EpochScorePruner,
}
