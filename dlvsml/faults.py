"""A test hook: end this process at a named point, so tests can prove that a crash loses nothing.

Set ``DLVSML_FAULT=POINT[:N[:SIGNAL]]`` and the N-th time (default 1) this process passes
``fault_point(POINT)`` it sends itself SIGNAL (``KILL``, the default, or ``INT`` for a Ctrl-C).
Unset, as it always is outside tests, a point costs one environment lookup. The points:

- ``cell_data``: a cell's dataset is loaded (its MLflow run is open, no trial has run);
- ``trial_fitted``: a trial's model is fitted, before Optuna has stored its result;
- ``trial_done``: a trial's result is stored in the Optuna study;
- ``cell_logging``: a cell's metrics are logged to MLflow, its trials and status not yet.

Example::

    DLVSML_FAULT=trial_done:2 dlvsml run spec.yaml   # killed after the second trial
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV_VARIABLE = "DLVSML_FAULT"
_passed: Counter[str] = Counter()


def fault_point(name: str) -> None:
    """Kill (or interrupt) this process here if ``DLVSML_FAULT`` names this point and count."""
    wanted = os.environ.get(ENV_VARIABLE)
    if not wanted:
        return
    point, _, rest = wanted.partition(":")
    if point != name:
        return
    count, _, signal_name = rest.partition(":")
    _passed[name] += 1
    if _passed[name] == int(count or 1):
        os.kill(os.getpid(), signal.Signals[f"SIG{signal_name or 'KILL'}"])
