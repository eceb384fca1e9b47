"""Run a spec: plan its cells, skip those already FINISHED in MLflow, run the rest, summarise.

Resume is free: a cell's parent run is FINISHED only once it is fully recorded, so after a crash
or Ctrl-C the same command does only what is missing (and an interrupted cell's Optuna study
continues from its finished trials). Cells run in this process (``workers=1``) or in N spawned
processes, each capped at ``cores // N`` threads. Only this process writes to MLflow.

Example::

    summary = run_spec(load_spec("experiments/quick.yaml"), workers=2)
    summary.failed  # [(label, reason), ...]
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from dlvsml.errors import SpecError
from dlvsml.execute import CellResult, Reporter, run_cell
from dlvsml.plan import Cell, plan_cells
from dlvsml.progress import SuiteProgress
from dlvsml.resources import thread_environment, threads_per_worker
from dlvsml.spec import ExperimentSpec
from dlvsml.tracking import Tracker, tracking_uri
from dlvsml.tuning import open_storage, storage_url


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_spec(spec: ExperimentSpec, *, workers: int = 1, progress: bool = True) -> RunSummary:
    """Run every cell of a spec not yet FINISHED in the tracker; never stops at a failing cell."""
    if workers < 1:
        raise SpecError(f"--workers must be at least 1 (got {workers})")
    start = time.perf_counter()
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
    )
    for skipped in plan.skipped:
        if skipped.cell.key not in done:
            tracker.record_skipped(skipped, spec)
    todo = [cell for cell in plan.cells if cell.key not in done]
    execute = _run_local if workers == 1 or len(todo) <= 1 else _run_pool
    with SuiteProgress(len(todo), spec.budget.trials, enabled=progress) as display:
        recorder = _Recorder(spec, tracker, display)
        execute(spec, todo, workers, recorder)
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


def _run_local(spec: ExperimentSpec, cells: list[Cell], workers: int, recorder: _Recorder) -> None:
    n_threads = threads_per_worker(1)
    for cell in cells:
        recorder.started(cell, time.time())
        recorder.finished(run_cell(spec, cell, n_threads, recorder.event))


def _run_pool(spec: ExperimentSpec, cells: list[Cell], workers: int, recorder: _Recorder) -> None:
    n_threads = threads_per_worker(workers)
    context = multiprocessing.get_context("spawn")
    by_key = {cell.key: cell for cell in cells}
    with (
        _environment(thread_environment(n_threads)),
        context.Manager() as manager,
        ProcessPoolExecutor(workers, mp_context=context) as pool,
    ):
        events = manager.Queue()
        pending: dict[Future, Cell] = {
            pool.submit(_worker, spec, cell, n_threads, events.put): cell for cell in cells
        }
        try:
            while pending:
                finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(events, recorder, by_key)
                for future in finished:
                    recorder.finished(_result(future, pending.pop(future)))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _worker(spec: ExperimentSpec, cell: Cell, n_threads: int, report: Reporter) -> CellResult:
    report(("start", cell.key, time.time()))
    return run_cell(spec, cell, n_threads, report)


def _drain(events: Any, recorder: _Recorder, cells: dict[str, Cell]) -> None:
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return
        if event[0] == "start":
            recorder.started(cells[event[1]], event[2])
        else:
            recorder.event(event)


def _result(future: Future, cell: Cell) -> CellResult:
    try:
        return future.result()
    except Exception as exc:  # the worker process died (killed, out of memory, ...)
        now = time.time()
        reason = f"worker process failed: {type(exc).__name__}: {exc}"
        return CellResult(cell=cell, status="failed", reason=reason, started_at=now, ended_at=now)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables that spawned workers inherit (thread caps read when libraries load)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
