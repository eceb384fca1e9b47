"""Keep every model's training inside the time budget of one trial, and say how training ended.

A `Clock` times one fit (in tuning: one trial, featurisation and scoring the validation split
included). `fit_clock` starts one, or joins the clock already running, so a pipeline fitted
inside a trial and the learner inside that pipeline read the same time. Featurisation a cache
served (the tuning cell's `FeatureMemo`, the sentence-embedding cache) is `charge`d at the cost
it had when first computed, so a model's budget does not depend on what ran before it.

Each family keeps to the clock in its own way; `fit_final` picks the recipe by estimator type
(the pipeline fits other final steps as they are):

- forests grow in chunks (``warm_start``) while the measured time per tree says another chunk fits;
- solvers (logistic regression, SVMs) get an iteration cap from a measured time per iteration,
  and a model whose first few iterations already overrun the budget is refused (`BudgetExceeded`);
- kNN, whose cost is prediction, keeps as many reference rows as the budget can query;
- boosters stop adding rounds (`BoosterClock`, a callback; the rounds so far are kept, the best
  by validation used, as early stopping does); nets stop between epochs (`trainer.TimeBudget`).

Every fitted model says how its training ended: ``stopped_by_`` is ``"converged"`` (early
stopping's patience, solver tolerance), ``"clock"`` (the budget ended it) or ``"max_iter"`` (it
ran the rounds, epochs, trees or iterations its parameters allow), and ``n_iter_done_`` counts
them (`training_end` reads both from any model).

Example::

    with fit_clock(3.0):
        pipeline.fit(X, y)
    training_end(pipeline)  # ('clock', 41): 41 trees of 200 fitted in 3 s
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from dlvsml.errors import ModelError

StoppedBy = Literal["converged", "clock", "max_iter"]
# Share of the time left that a recipe plans to use, keeping room for the last measurement's
# error and for scoring the validation split.
SAFETY = 0.85


class BudgetExceeded(ModelError):
    """A model cannot be fitted on this many rows within the time budget."""


@dataclass
class Clock:
    """Seconds a fit may take (``limit``; None: no limit), with cached work charged."""

    limit: float | None
    predict_rows: int | None = None  # rows the fitted model will score within the same limit
    started: float = field(default_factory=time.perf_counter)
    charged: float = 0.0
    # The longest step that could not be cut (a round, an epoch, a chunk of trees, a solver
    # fit): how far past its limit a fit may end.
    longest_step: float = 0.0
    _counted: set[str] = field(default_factory=set, repr=False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started + self.charged

    def left(self) -> float:
        return math.inf if self.limit is None else self.limit - self.elapsed()

    def charge(self, costs: Mapping[str, float]) -> None:
        """Charge cached work at its cold cost, once per key and clock."""
        for key, seconds in costs.items():
            if key not in self._counted:
                self._counted.add(key)
                self.charged += seconds

    def counted(self, keys: Iterable[str]) -> None:
        """Mark work done within this clock (its real time is already counted)."""
        self._counted.update(keys)

    def step(self, seconds: float) -> None:
        """Record the time of one step that cannot be cut."""
        self.longest_step = max(self.longest_step, seconds)


_RUNNING: ContextVar[Clock | None] = ContextVar("dlvsml_fit_clock", default=None)


def current_clock() -> Clock | None:
    return _RUNNING.get()


@contextmanager
def fit_clock(limit: float | None, predict_rows: int | None = None) -> Iterator[Clock]:
    """The clock already timing this fit, else a new one with ``limit`` seconds."""
    running = _RUNNING.get()
    if running is not None and (running.limit is not None or limit is None):
        yield running
        return
    clock = Clock(limit, predict_rows)
    token = _RUNNING.set(clock)
    try:
        yield clock
    finally:
        _RUNNING.reset(token)


def training_end(estimator: Any) -> tuple[str | None, int | None]:
    """``(stopped_by_, n_iter_done_)`` of a fitted model (a pipeline: its last step)."""
    steps = getattr(estimator, "steps", None)
    part = steps[-1][1] if steps else estimator
    return getattr(part, "stopped_by_", None), getattr(part, "n_iter_done_", None)


def _ended(estimator: Any, stopped_by: StoppedBy, n_iter: int | None) -> None:
    estimator.stopped_by_, estimator.n_iter_done_ = stopped_by, n_iter


# --- forests: grow in chunks ------------------------------------------------------------------

FIRST_CHUNK = 8  # trees fitted before the time per tree is known


def grow_forest(forest: Any, X: Any, y: Any, clock: Clock) -> None:
    """Fit ``forest.n_estimators`` trees, or as many as the clock allows (at least one chunk)."""
    planned = forest.n_estimators
    warm = forest.warm_start
    fitted, stopped_by = 0, "max_iter"
    chunk = min(planned, FIRST_CHUNK) if clock.limit is not None else planned
    try:
        while fitted < planned:
            tick = time.perf_counter()
            forest.set_params(n_estimators=fitted + chunk, warm_start=fitted > 0).fit(X, y)
            clock.step(time.perf_counter() - tick)
            per_tree = (time.perf_counter() - tick) / chunk
            fitted += chunk
            affordable = _affordable(clock, per_tree)
            if fitted < planned and affordable < 1:
                stopped_by = "clock"
                break
            chunk = min(planned - fitted, affordable, 2 * fitted)
    finally:  # the model keeps its parameters; ``n_iter_done_`` says how many trees it has
        forest.set_params(n_estimators=planned, warm_start=warm)
    _ended(forest, stopped_by, len(forest.estimators_))


def _affordable(clock: Clock, seconds_each: float) -> int:
    """How many more steps of ``seconds_each`` fit in the time left (a large number if no limit)."""
    left = clock.left()
    return 1 << 30 if math.isinf(left) else int(SAFETY * left / max(seconds_each, 1e-9))


# --- solvers: an iteration cap from the measured time per iteration ---------------------------

PROBE_ITERATIONS = 2  # the first fit: its time per iteration sizes the next


def cap_iterations(estimator: Any, X: Any, y: Any, clock: Clock, param: str) -> None:
    """Fit with the solver's own ``param`` cap, lowered to what the clock allows.

    A short probe fit measures the time per iteration; the model is then refitted with as many
    iterations as the time left allows, again while a larger refit still fits. Convergence is
    what the solver says (no `ConvergenceWarning`)."""
    nominal = estimator.get_params()[param]
    limited = nominal is not None and nominal > 0
    if clock.limit is None:
        converged = _fit_quietly(estimator, X, y)
        _ended(estimator, "converged" if converged else "max_iter", _iterations(estimator, nominal))
        return
    cap = min(PROBE_ITERATIONS, nominal) if limited else PROBE_ITERATIONS
    try:
        while True:
            tick = time.perf_counter()
            converged = _fit_quietly(estimator.set_params(**{param: cap}), X, y)
            clock.step(time.perf_counter() - tick)
            per_iteration = (time.perf_counter() - tick) / cap
            if converged or (limited and cap >= nominal):
                stopped_by: StoppedBy = "converged" if converged else "max_iter"
                break
            if clock.left() < 0 and cap == PROBE_ITERATIONS:
                raise BudgetExceeded(
                    f"{_name(estimator)} cannot fit {_rows(X):,} rows within the time budget: "
                    f"{cap} solver iterations already took {per_iteration * cap:.1f} s of "
                    f"{clock.limit:.1f} s; raise budget.seconds or use a smaller train size"
                )
            affordable = _affordable(clock, per_iteration)
            if affordable <= 2 * cap:  # a refit must at least double the iterations
                stopped_by = "clock"
                break
            cap = min(affordable, nominal) if limited else affordable
    finally:
        estimator.set_params(**{param: nominal})
    _ended(estimator, stopped_by, _iterations(estimator, cap))


def _fit_quietly(estimator: Any, X: Any, y: Any) -> bool:
    """Fit; whether the solver converged (raised no `ConvergenceWarning`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    converged = True
    for warning in caught:  # others are the caller's (e.g. a DataConversionWarning)
        if issubclass(warning.category, ConvergenceWarning):
            converged = False
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return converged


def _iterations(estimator: Any, cap: int | None) -> int | None:
    """The solver's own count, else the cap it ran under (None: no cap, e.g. libsvm's -1)."""
    n_iter = getattr(estimator, "n_iter_", None)
    if n_iter is not None:
        return int(np.max(n_iter))
    return int(cap) if cap is not None and cap > 0 else None


def _name(estimator: Any) -> str:
    inner = getattr(estimator, "estimator", None) or getattr(estimator, "regressor", None)
    return type(inner if inner is not None else estimator).__name__


def _rows(X: Any) -> int:
    return int(X.shape[0])


# --- kNN: prediction is the cost ---------------------------------------------------------------

PROBE_ROWS = 64


def cap_references(knn: Any, X: Any, y: Any, clock: Clock) -> None:
    """Keep as many reference rows as the clock can query for ``clock.predict_rows`` rows.

    A brute-force query costs time in proportion to the reference rows, so the cost of
    predicting is measured on a probe of the training rows and the references are subsampled
    (seeded) when the whole set would overrun the time left."""
    tick = time.perf_counter()
    knn.fit(X, y)
    n_rows = _rows(X)
    if clock.limit is None:
        _ended(knn, "converged", n_rows)
        return
    probe = _take(X, np.arange(min(PROBE_ROWS, n_rows)))
    tick = time.perf_counter()
    fitted = time.perf_counter()
    knn.kneighbors(probe)
    per_row = (time.perf_counter() - fitted) / _rows(probe)
    clock.step(time.perf_counter() - tick)
    to_predict = clock.predict_rows or max(1, n_rows // 4)
    affordable = SAFETY * clock.left() / max(per_row * to_predict, 1e-9)  # share of references
    if affordable >= 1:
        _ended(knn, "converged", n_rows)
        return
    keep = int(n_rows * affordable)
    if keep < max(knn.n_neighbors, 2):
        raise BudgetExceeded(
            f"k-NN cannot score {to_predict:,} rows against {n_rows:,} within the time budget "
            f"({per_row * to_predict:.1f} s needed, {max(0.0, clock.left()):.1f} s left); raise "
            "budget.seconds or use a smaller train size"
        )
    rows = np.sort(np.random.default_rng(0).choice(n_rows, keep, replace=False))
    knn.fit(_take(X, rows), np.asarray(y)[rows])
    _ended(knn, "clock", keep)


def _take(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


# --- which recipe fits which final step --------------------------------------------------------

Recipe = Callable[[Any, Any, Any, Clock], None]


def _recipe(estimator: Any) -> Recipe | None:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.svm import SVC, SVR

    forests = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier)
    recipes: list[tuple[tuple[type, ...], Recipe]] = [
        ((*forests, ExtraTreesRegressor), grow_forest),
        ((LogisticRegression,), lambda e, X, y, c: cap_iterations(e, X, y, c, "max_iter")),
        ((KNeighborsClassifier, KNeighborsRegressor), cap_references),
    ]
    for types, recipe in recipes:
        if isinstance(estimator, types):
            return recipe
    for name in ("estimator", "regressor"):  # an SVM inside a calibrator or target scaler
        if isinstance(getattr(estimator, name, None), SVC | SVR):
            return lambda e, X, y, c, p=f"{name}__max_iter": cap_iterations(e, X, y, c, p)
    return None


def fit_final(estimator: Any, X: Any, y: Any) -> Any:
    """Fit a pipeline's last step, one `budgeted` has a recipe for, within the running clock."""
    recipe = _recipe(estimator)
    if recipe is None:
        raise TypeError(f"no time-budget recipe for {type(estimator).__name__}")
    recipe(estimator, X, y, current_clock() or Clock(None))
    return estimator


def converged(estimator: Any) -> None:
    """Record that a model without a recipe (closed form) ended on its own."""
    _ended(estimator, "converged", getattr(estimator, "n_iter_", None))


def budgeted(estimator: Any) -> bool:
    """Whether `fit_final` has a recipe for ``estimator``."""
    return _recipe(estimator) is not None


# --- boosters: a callback per library ----------------------------------------------------------


class BoosterClock:
    """Stops XGBoost or LightGBM between rounds when the next round would overrun the clock."""

    def __init__(self, clock: Clock | None) -> None:
        self.clock = clock
        self.fired = False
        self._tick = time.perf_counter()

    def __deepcopy__(self, memo: dict) -> BoosterClock:
        return self  # the booster may copy its callbacks; the flag must stay shared

    def _overrun(self) -> bool:
        now = time.perf_counter()
        round_seconds, self._tick = now - self._tick, now
        if self.clock is not None:
            self.clock.step(round_seconds)
            self.fired = self.fired or self.clock.left() < round_seconds
        return self.fired

    def attach(self, library: str, booster: Any, fit_args: dict[str, Any]) -> dict[str, Any]:
        """``fit_args`` (and the booster's parameters) with this clock as a callback."""
        if self.clock is None or self.clock.limit is None:
            return fit_args
        self._tick = time.perf_counter()
        if library == "xgboost":
            booster.set_params(callbacks=[_xgboost_callback(self)])
            return fit_args
        callbacks = [*fit_args.get("callbacks", []), _LightGBMCallback(self)]
        return {**fit_args, "callbacks": callbacks}

    def end(self, library: str, booster: Any) -> tuple[StoppedBy, int]:
        """How the fit of ``booster`` ended and the rounds it trained (and detach the clock)."""
        planned = booster.get_params()["n_estimators"]
        if library == "xgboost":
            booster.set_params(callbacks=None)  # a fitted model keeps no clock (nor pickles one)
            rounds = booster.get_booster().num_boosted_rounds()
        else:
            rounds = booster.booster_.current_iteration()
        if self.fired:
            return "clock", rounds
        return ("max_iter" if rounds >= planned else "converged"), rounds


def _xgboost_callback(clock: BoosterClock) -> Any:
    import xgboost

    class _Clock(xgboost.callback.TrainingCallback):
        def __deepcopy__(self, memo: dict) -> Any:
            return self

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return clock._overrun()

    return _Clock()


class _LightGBMCallback:
    """Ends training by LightGBM's own early-stopping exception, at the best round so far."""

    order = 40  # after LightGBM's early stopping (30), which may have ended it already

    def __init__(self, clock: BoosterClock) -> None:
        self.clock = clock
        self.best: tuple[int, Any, float] | None = None  # round, results, signed score

    def __call__(self, env: Any) -> None:
        import lightgbm

        results = env.evaluation_result_list or []
        if results:  # (data, metric, value, higher is better): the first validation metric
            _, _, value, higher = results[0][:4]
            signed = value if higher else -value
            if self.best is None or signed > self.best[2]:
                self.best = (env.iteration, results, signed)
        else:
            self.best = (env.iteration, results, -math.inf)
        if self.clock._overrun():
            raise lightgbm.callback.EarlyStopException(self.best[0], self.best[1])
