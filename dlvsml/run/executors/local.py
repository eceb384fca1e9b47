"""Cells on this machine: one after another in this process, or in N spawned processes.

Worker processes each get ``cores // N`` threads (set in the environment they inherit, so
OpenMP, BLAS and torch read it when they load) and report progress through a manager queue.
Workers and the manager end with the driver, and skip the interpreter's teardown when they
end (see `dlvsml.lifetime.start_child`).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from multiprocessing.managers import SyncManager
from typing import Any

from dlvsml.lifetime import start_child
from dlvsml.records import Cell, CellResult
from dlvsml.run.cell import Reporter, run_cell
from dlvsml.run.executors._base import ExecutorOptions, Recorder, failed_result, register_executor
from dlvsml.run.resources import thread_environment, threads_per_worker
from dlvsml.spec import ExperimentSpec


@register_executor("local")
def run_local(
    spec: ExperimentSpec, cells: list[Cell], options: ExecutorOptions, recorder: Recorder
) -> None:
    """Each cell in turn in this process, with every core."""
    n_threads = threads_per_worker(1)
    for cell in cells:
        recorder.started(cell, time.time())
        recorder.finished(run_cell(spec, cell, n_threads, recorder.event))


@register_executor("processes")
def run_processes(
    spec: ExperimentSpec, cells: list[Cell], options: ExecutorOptions, recorder: Recorder
) -> None:
    """Cells in ``options.workers`` spawned processes; a dead worker fails its cell only."""
    n_threads = threads_per_worker(options.workers)
    context = multiprocessing.get_context("spawn")
    by_key = {cell.key: cell for cell in cells}
    with (
        _environment(thread_environment(n_threads)),
        _event_queue(context) as events,
        ProcessPoolExecutor(options.workers, mp_context=context, initializer=start_child) as pool,
        _ctrl_c_as_flag() as ctrl_c,
    ):
        pending: dict[Future, Cell] = {
            pool.submit(_worker, spec, cell, n_threads, events.put): cell for cell in cells
        }
        try:
            while pending:
                if ctrl_c.is_set():
                    raise KeyboardInterrupt
                finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain_events(events.get_nowait, recorder, by_key)
                for future in finished:
                    recorder.finished(_result(future, pending.pop(future)))
        except BaseException:
            _stop_workers(pool)
            raise


@contextmanager
def _ctrl_c_as_flag() -> Iterator[threading.Event]:
    """SIGINT sets a flag that the wait loop turns into KeyboardInterrupt. Raised wherever the
    signal lands, the interrupt can be lost: inside a garbage-collection callback (SQLAlchemy
    has them) Python prints it and carries on."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed  # signal handlers belong to the main thread
        return
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.set())
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _event_queue(context: BaseContext) -> Iterator[Any]:
    """The queue workers report events to, served by a manager process (a worker killed in the
    middle of a put cannot leave it locked, as it could a pipe-based queue)."""
    manager = SyncManager(ctx=context)
    manager.start(start_child)
    try:
        yield manager.Queue()
    finally:
        manager.shutdown()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel queued cells and end running ones before the manager goes away (workers still
    waiting on it would otherwise die with a traceback); their runs are failed on resume."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # public only in 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _worker(spec: ExperimentSpec, cell: Cell, n_threads: int, report: Reporter) -> CellResult:
    report(("start", cell.key, time.time()))
    return run_cell(spec, cell, n_threads, report)


def drain_events(get_nowait: Callable[[], Any], recorder: Recorder, cells: dict[str, Cell]) -> None:
    """Hand queued worker events to the recorder (``start`` opens the cell's run)."""
    while True:
        try:
            event = get_nowait()
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
        return failed_result(cell, f"worker process failed: {type(exc).__name__}: {exc}")


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
