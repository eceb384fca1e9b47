"""Executors: where a suite's cells run, chosen by name (``dlvsml run --executor NAME``).

``local`` runs cells one after another in this process, ``processes`` in N spawned processes,
``ray`` as tasks on a Ray cluster (ray is imported only when that executor runs). Each gets the
cells still to do and a `Recorder`, and hands every cell's `CellResult` to it; the runner, in the
driver process, is the only writer to MLflow whatever the executor.

Example::

    get_executor("processes")(spec, cells, ExecutorOptions(workers=2), recorder)
"""

from dlvsml.run.executors import local as _local  # noqa: F401  (registers local and processes)
from dlvsml.run.executors import ray as _ray  # noqa: F401  (registers ray; imports ray lazily)
from dlvsml.run.executors._base import (
    EXECUTORS,
    Executor,
    ExecutorOptions,
    Recorder,
    failed_result,
    get_executor,
    register_executor,
)

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorOptions",
    "Recorder",
    "failed_result",
    "get_executor",
    "register_executor",
]
