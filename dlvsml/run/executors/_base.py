"""The executor contract: a function of (spec, cells, options, recorder), registered by name."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dlvsml.errors import SpecError
from dlvsml.records import Cell, CellResult
from dlvsml.spec import ExperimentSpec


class Recorder(Protocol):
    """What an executor reports to (the runner's recorder, in the driver process)."""

    def started(self, cell: Cell, at: float) -> None: ...

    def event(self, event: tuple[Any, ...]) -> None: ...

    def finished(self, result: CellResult) -> None: ...


@dataclass(frozen=True)
class ExecutorOptions:
    """How to run cells; each executor reads the fields that concern it.

    ``workers``: processes of the ``processes`` executor. ``address``: the Ray cluster to join
    (None starts a local one). ``cpus_per_cell``: CPUs a Ray task asks for (and the threads its
    cell uses). ``gpus_per_neural_cell``: GPUs a neural cell's Ray task asks for; None means one
    when the cluster has GPUs, else none (fractions share a GPU between cells).
    """

    workers: int = 1
    address: str | None = None
    cpus_per_cell: float = 1.0
    gpus_per_neural_cell: float | None = None


Executor = Callable[[ExperimentSpec, list[Cell], ExecutorOptions, Recorder], None]
EXECUTORS: dict[str, Executor] = {}


def register_executor(name: str) -> Callable[[Executor], Executor]:
    """Decorator: make an executor available as ``dlvsml run --executor NAME``."""

    def add(executor: Executor) -> Executor:
        EXECUTORS[name] = executor
        return executor

    return add


def get_executor(name: str) -> Executor:
    """The executor registered under ``name``."""
    try:
        return EXECUTORS[name]
    except KeyError:
        raise SpecError(
            f"unknown executor {name!r}; use one of {', '.join(sorted(EXECUTORS))}"
        ) from None


def failed_result(cell: Cell, reason: str) -> CellResult:
    """A FAILED result for a cell whose worker died before it could report one."""
    now = time.time()
    return CellResult(cell=cell, status="failed", reason=reason, started_at=now, ended_at=now)
