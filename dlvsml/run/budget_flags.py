"""Whether a cell's result is bound by its budget: the flags logged with every finished cell.

A score is budget-bound when more compute would likely have changed it: the study ran fewer
trials than planned because its seconds ran out, or the chosen model's training was ended by the
clock (a net stopped while still improving, a booster cut after some rounds). Such cells answer
"which family wins under this budget", not "which family wins"; the report marks them.

Example::

    budget_flags(outcome.trials, Budget(trials=4, seconds=1), stopped_by="clock", n_iter_done=7)
    # {'trials_completed': 1.0, 'trials_planned': 4.0, 'n_iter_done': 7.0, 'budget_bound': 1.0}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlvsml.records import TrialRecord
from dlvsml.spec import Budget

STOPPED_BY = ("converged", "clock", "max_iter", "unknown")


def stopped_by(value: Any) -> str:
    """The model's own ``stopped_by_`` when it gives a known one, else ``unknown``."""
    return str(value) if str(value) in STOPPED_BY else "unknown"


def budget_flags(
    trials: Sequence[TrialRecord],
    budget: Budget,
    stopped_by: str = "unknown",
    n_iter_done: float | None = None,
) -> dict[str, float]:
    """Trials completed and planned, iterations done, and ``budget_bound`` (1.0 or 0.0).

    Trials that gave a result (complete or pruned) are completed. A study that attempted
    (completed or failed) fewer trials than planned was stopped by its seconds: failed trials
    use an attempt, so a shortfall they explain is not the clock's.
    """
    completed = sum(trial.state in ("COMPLETE", "PRUNED") for trial in trials)
    attempted = completed + sum(trial.state == "FAIL" for trial in trials)
    short_of_trials = (
        budget.trials is not None and budget.seconds is not None and attempted < budget.trials
    )
    flags = {
        "trials_completed": float(completed),
        "budget_bound": float(short_of_trials or stopped_by == "clock"),
    }
    if budget.trials is not None:
        flags["trials_planned"] = float(budget.trials)
    if n_iter_done is not None:
        flags["n_iter_done"] = float(n_iter_done)
    return flags
