"""The tuning budget of one study, kept in one ledger: trials left, seconds left, exhausted.

Only trials that gave a result (complete or pruned) count toward the budget, so a resumed study
runs what is missing and no more, and a FAILED cell run again gets its budget again. Trials
running now (here or in another worker) take budget too, so workers sharing a study through a
common RDB stop at the total. Each decision reads the study's trials from storage once.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from dlvsml.spec import Budget

# Trials that count toward the budget: those that gave a result.
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
# Trials that take budget: counted, plus those running now (here or in another worker).
TAKEN = (*COUNTED, TrialState.RUNNING)
RETRY_OF = "failed_trial"  # system attribute Optuna gives the retry of a stale trial


@dataclass(frozen=True)
class Balance:
    """The study's trials at one read, and what is left of the budget then."""

    trials: list[FrozenTrial]
    trials_left: int | None  # None: no trials cap
    seconds_left: float | None  # None: no seconds cap

    @property
    def exhausted(self) -> bool:
        return (self.trials_left is not None and self.trials_left <= 0) or (
            self.seconds_left is not None and self.seconds_left <= 0
        )

    def in_state(self, *states: TrialState) -> list[FrozenTrial]:
        return [trial for trial in self.trials if trial.state in states]


class Ledger:
    """One worker's view of a study's budget.

    A worker may attempt what was left of the trials when it started (`open`); failed trials
    use an attempt, retries of a dead worker's trials do not. After each trial (as an Optuna
    callback) it stops the study once its attempts are spent or the study's trials, counted
    across workers, reach the budget. A trial started past the budget in a race is `surplus`.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.attempts_left: int | None = None

    def read(self, study: optuna.Study) -> Balance:
        """The budget left now: one read of the study's trials."""
        trials = study.get_trials(deepcopy=False)
        trials_left = seconds_left = None
        if self.budget.trials is not None:
            trials_left = self.budget.trials - sum(t.state in TAKEN for t in trials)
        if self.budget.seconds is not None:
            spent = sum(  # cached featurisation counts at its cold cost (`time_budget.Clock`)
                t.duration.total_seconds() + t.user_attrs.get("charged_seconds", 0.0)
                for t in trials
                if t.state in COUNTED and t.duration is not None
            )
            seconds_left = self.budget.seconds - spent
        return Balance(trials, trials_left, seconds_left)

    def open(self, study: optuna.Study) -> Balance:
        """Read the budget as this worker starts; its attempts are the trials left then."""
        balance = self.read(study)
        self.attempts_left = balance.trials_left
        return balance

    @property
    def attempts_spent(self) -> bool:
        return self.attempts_left is not None and self.attempts_left <= 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """After each trial: count the attempt; stop when this worker or the study is done."""
        if self.attempts_left is not None and RETRY_OF not in trial.system_attrs:
            self.attempts_left -= 1
        if self.attempts_spent or (self.budget.trials is not None and self._trials_full(study)):
            study.stop()

    def _trials_full(self, study: optuna.Study) -> bool:
        """Trials started by any worker take the whole trials budget (seconds are left to the
        optimize timeout, which ends the trial loop itself)."""
        assert self.budget.trials is not None
        return len(study.get_trials(deepcopy=False, states=TAKEN)) >= self.budget.trials

    def surplus(self, trial: optuna.Trial) -> bool:
        """Whether trials started before this one (in any worker) already take the budget."""
        if self.budget.trials is None:
            return False
        taken = trial.study.get_trials(deepcopy=False, states=TAKEN)
        return sum(other.number < trial.number for other in taken) >= self.budget.trials
