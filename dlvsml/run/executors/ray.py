"""Cells as Ray tasks, on a cluster (``--address``) or on a Ray instance started here.

Each cell is one task asking for ``cpus_per_cell`` CPUs; a neural cell also asks for
``gpus_per_neural_cell`` GPUs (one by default when the cluster has GPUs), so Ray places nets on
GPU nodes and classical models on any CPU. Results come back to this process, which alone writes
to MLflow; a task that dies (node lost, out of memory) is retried once, then recorded FAILED.
Tasks report progress through a Ray queue. Cells read their data and Optuna storage from the
worker node, so every node needs the same data paths (tasks start in the driver's working
directory when it exists there) and a cluster of several nodes needs an Optuna storage they
all reach (PostgreSQL), not a SQLite file. Ray is imported only when this executor runs.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from dlvsml.errors import DlvsmlError, SpecError, TrackingError
from dlvsml.lifetime import tie_descendants
from dlvsml.records import Cell, CellResult
from dlvsml.run.cell import Reporter, run_cell
from dlvsml.run.executors._base import ExecutorOptions, Recorder, failed_result, register_executor
from dlvsml.run.executors.local import drain_events
from dlvsml.spec import ExperimentSpec
from dlvsml.stores import storage_url

TASK_RETRIES = 1  # a task lost with its worker or node runs once more (its study resumes)


@register_executor("ray")
def run_ray(
    spec: ExperimentSpec, cells: list[Cell], options: ExecutorOptions, recorder: Recorder
) -> None:
    """Run cells as Ray tasks; join ``options.address`` or start a local Ray instance."""
    ray = _import_ray()
    owned = _connect(ray, options.address)
    try:
        _run(ray, spec, cells, options, recorder)
    finally:
        if owned:
            ray.shutdown()


def _run(
    ray: Any, spec: ExperimentSpec, cells: list[Cell], options: ExecutorOptions, recorder: Recorder
) -> None:
    from ray.util.queue import Queue

    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    gpus = _gpus_per_neural_cell(nodes, options)
    spec = _portable(spec, len(nodes))
    n_threads = max(1, int(options.cpus_per_cell))
    events = Queue(actor_options={"num_cpus": 0})
    task = ray.remote(max_retries=TASK_RETRIES)(_task)
    pending = {
        task.options(num_cpus=options.cpus_per_cell, num_gpus=_gpus(cell, gpus)).remote(
            spec, cell, n_threads, events.put, os.getcwd()
        ): cell
        for cell in cells
    }
    by_key = {cell.key: cell for cell in cells}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            drain_events(events.get_nowait, recorder, by_key)
            for ref in ready:
                recorder.finished(_result(ray, ref, pending.pop(ref)))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        events.shutdown()


def _task(
    spec: ExperimentSpec, cell: Cell, n_threads: int, report: Reporter, cwd: str
) -> CellResult:
    if os.path.isdir(cwd):  # relative data paths in the spec mean the same on every node
        os.chdir(cwd)
    report(("start", cell.key, time.time()))
    return run_cell(spec, cell, n_threads, report)


def _result(ray: Any, ref: Any, cell: Cell) -> CellResult:
    try:
        return ray.get(ref)
    except Exception as exc:  # the task's worker or node died, or the task was cancelled
        return failed_result(cell, f"ray task failed: {type(exc).__name__}: {exc}"[:1000])


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DlvsmlError(
            "the ray executor needs Ray, which is not installed: pip install 'dlvsml[ray]'"
        ) from None
    return ray


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` or start a local instance; True if we started Ray."""
    if ray.is_initialized():  # a caller (a notebook, a test) already connected
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": False}
    if address is not None:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise DlvsmlError(
                f"cannot join the Ray cluster at {address!r} ({exc}); start one with "
                "`ray start --head` and pass the address it prints (HOST:6379)"
            ) from None
        return True
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token written to the home folder
    ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
    tie_descendants()  # Ray's agents outlive a SIGKILLed driver otherwise
    return True


def _gpus_per_neural_cell(nodes: list[dict[str, float]], options: ExecutorOptions) -> float:
    """GPUs a neural cell asks for: as given, else one when the cluster has any; never more
    than a node has (Ray would wait forever for such a task)."""
    most_gpus = max((node.get("GPU", 0.0) for node in nodes), default=0.0)
    most_cpus = max((node.get("CPU", 0.0) for node in nodes), default=0.0)
    if options.cpus_per_cell > most_cpus:
        raise SpecError(
            f"--cpus-per-cell {options.cpus_per_cell:g} exceeds the largest Ray node "
            f"({most_cpus:g} CPUs); ask for fewer"
        )
    gpus = options.gpus_per_neural_cell
    if gpus is None:
        return 1.0 if most_gpus >= 1 else 0.0
    if gpus > most_gpus:
        raise SpecError(
            f"--gpus-per-neural-cell {gpus:g} exceeds the largest Ray node ({most_gpus:g} GPUs); "
            "ask for fewer, or 0 to train nets on CPUs"
        )
    return gpus


def _gpus(cell: Cell, gpus_per_neural_cell: float) -> float:
    return gpus_per_neural_cell if cell.family == "neural" else 0.0


def _portable(spec: ExperimentSpec, n_nodes: int) -> ExperimentSpec:
    """The spec with its Optuna storage fixed here (the default SQLite file is relative to the
    working directory); refuse a SQLite file that other nodes cannot share."""
    url = storage_url(spec)
    if n_nodes > 1 and url.startswith("sqlite"):
        raise TrackingError(
            f"the Ray cluster has {n_nodes} nodes but the Optuna storage is the SQLite file "
            f"{url!r}, which other nodes cannot share; pass --optuna-storage "
            "postgresql+psycopg://USER@HOST:5432/DB (see README, Scaling out)"
        )
    return spec.model_copy(update={"optuna_storage": url})
