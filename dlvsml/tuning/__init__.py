"""Tuning: one persistent Optuna study per cell (`study`), its budget in one ledger (`budget`),
the objective that fits and scores a trial (`objective`) and the pruners by family (`pruners`).

Example::

    outcome = tune(cell.key, get_model("linear"), context, data,
                   metric="balanced_accuracy", budget=spec.budget, storage=storage_url(spec))
"""

from dlvsml.tuning.pruners import PRUNERS, EpochScorePruner
from dlvsml.tuning.study import TuningFailed, TuningOutcome, tune

__all__ = ["PRUNERS", "EpochScorePruner", "TuningFailed", "TuningOutcome", "tune"]
