"""Run a spec: plan its cells, skip those already FINISHED in MLflow, run the rest, summarise.

Resume is free: a cell's parent run is FINISHED only once it is fully recorded, so after a crash
or Ctrl-C the same command does only what is missing (and an interrupted cell's Optuna study
continues from its finished trials). An executor from `dlvsml.run.executors` runs the cells: in this
process (``workers=1``), in N spawned processes each capped at ``cores // N`` threads
(``workers=N``), or as tasks on a Ray cluster (``executor="ray"``). Only this process writes to
MLflow, whatever the executor.

Example::

    summary = run_spec(load_spec("experiments/quick.yaml"), workers=2)
    summary.failed  # [(label, reason), ...]
    run_spec(spec, executor="ray", options=ExecutorOptions(address="10.0.0.1:6379"))
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dlvsml.data import dataset_notes
from dlvsml.errors import SpecError
from dlvsml.records import Cell, CellResult
from dlvsml.run.executors import ExecutorOptions, get_executor
from dlvsml.run.plan import plan_cells
from dlvsml.run.progress import SuiteProgress
from dlvsml.spec import ExperimentSpec
from dlvsml.stores import open_storage, storage_url
from dlvsml.tracking import Tracker, tracking_uri


@dataclass
class RunSummary:
    """What one `dlvsml run` did."""

    spec: str
    tracking_uri: str
    experiment_id: str
    planned: int
    already_done: int
    finished: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0
    # What the data layer decided about the datasets (dropped columns, a count target's task).
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_spec(
    spec: ExperimentSpec,
    *,
    workers: int = 1,
    progress: bool = True,
    executor: str | None = None,
    options: ExecutorOptions | None = None,
) -> RunSummary:
    """Run every cell of a spec not yet FINISHED in the tracker; never stops at a failing cell.

    ``executor`` names one of `dlvsml.run.executors.EXECUTORS`; by default ``local``, or
    ``processes`` when ``workers > 1``. ``options`` tunes it (``workers`` overrides its field).
    """
    if workers < 1:
        raise SpecError(f"--workers must be at least 1 (got {workers})")
    start = time.perf_counter()
    if executor is not None:
        get_executor(executor)  # an unknown name fails before any store is created
    plan = plan_cells(spec)
    tracker = Tracker(spec.name, tracking_uri(spec))
    tracker.fail_stale_runs()
    open_storage(storage_url(spec))  # create its tables now, not in racing workers
    done = tracker.finished_cell_keys()
    summary = RunSummary(
        spec=spec.name,
        tracking_uri=tracker.uri,
        experiment_id=str(tracker.experiment_id),
        planned=len(plan.cells) + len(plan.skipped),
        already_done=sum(cell.key in done for cell in plan.cells),
        skipped=[(s.cell.label, s.reason) for s in plan.skipped],
        notes=dataset_notes(spec.datasets),
    )
    for skipped in plan.skipped:
        if skipped.cell.key not in done:
            tracker.record_skipped(skipped, spec)
    todo = [cell for cell in plan.cells if cell.key not in done]
    run_cells = get_executor(
        executor or ("processes" if workers > 1 and len(todo) > 1 else "local")
    )
    options = replace(options or ExecutorOptions(), workers=workers)
    with SuiteProgress(len(todo), spec.all_budgets[-1].trials, enabled=progress) as display:
        recorder = _Recorder(spec, tracker, display)
        if todo:
            run_cells(spec, todo, options, recorder)
    for result in recorder.results:
        if result.status == "finished":
            summary.finished.append(result.cell.label)
        else:
            summary.failed.append((result.cell.label, result.reason or "unknown"))
    summary.wall_seconds = time.perf_counter() - start
    return summary


class _Recorder:
    """Turns cell events into MLflow runs and progress updates (in the runner's process)."""

    def __init__(self, spec: ExperimentSpec, tracker: Tracker, display: SuiteProgress) -> None:
        self.spec, self.tracker, self.display = spec, tracker, display
        self.run_ids: dict[str, str] = {}
        self.results: list[CellResult] = []

    def started(self, cell: Cell, at: float) -> None:
        self.run_ids[cell.key] = self.tracker.start_cell(cell, self.spec, at)
        self.display.started(cell)

    def event(self, event: tuple[Any, ...]) -> None:
        self.display.event(event)

    def finished(self, result: CellResult) -> None:
        if result.cell.key not in self.run_ids:
            self.started(result.cell, result.started_at)
        self.tracker.finish_cell(self.run_ids.pop(result.cell.key), result)
        self.results.append(result)
        self.display.finished(result)
