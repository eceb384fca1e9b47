"""Suite throughput: the quick suite end to end with ``--workers 1`` and ``--workers 2``.

Each run is ``dlvsml run experiments/quick.yaml --workers N --json`` as a subprocess in a new
temporary working directory, so each starts as a first run does: new MLflow and Optuna SQLite
stores, every cell to compute (the data cache is shared and warm). Configurations alternate
within each repeat so drifting machine load hits them alike. A third configuration, one worker
with idle OpenMP threads sleeping (``OMP_WAIT_POLICY=PASSIVE``) instead of spinning (libgomp's
default, which dlvsml keeps), shows what that setting buys or costs on the machine measuring.

Per run: the command's wall time, the runner's own ``wall_seconds`` (from ``--json``), cells
finished and failed, cells per minute (finished cells over the command's wall time), and, from
the cells' start and end times in MLflow: the lead-in (command start to the first cell's start:
interpreter, imports, planning, new stores, worker start-up), the span from the first cell's
start to the last cell's end, the tail (last cell's end to the command's exit: its logging, then
shutdown), worker utilisation (cell seconds over workers × span), the time worker slots sat
between cells (the driver's MLflow logging with one worker; hand-off with several), and the
worker-seconds idle at the end (workers out of cells while the last ones finish).

Fixed costs, measured separately: importing the CLI and runner in a new interpreter; ``dlvsml
run`` when every cell is already finished (imports, planning, opening the stores, the resume
query); creating new MLflow and Optuna stores (after the imports); and what a worker loads before
its first cell (the executor and the model registry, which brings in torch).

Run: ``python benchmarks/suite_throughput.py [--repeats 1]`` (a repeat, three suites and the
start-up measurements, takes about 3.5 minutes on a quiet 2-core machine); writes
``benchmarks/results/suite_throughput.{json,md}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ROOT, Result, cli, median

SPEC = ROOT / "experiments" / "quick.yaml"
CONFIGS: dict[str, tuple[int, dict[str, str]]] = {
    "1 worker": (1, {}),
    "2 workers": (2, {}),
    "1 worker, OMP_WAIT_POLICY=PASSIVE": (1, {"OMP_WAIT_POLICY": "PASSIVE"}),
}
# Settings of the calling shell that would change what is measured.
_CLEARED = ("MLFLOW_TRACKING_URI", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "DLVSML_FAULTS")
_MEASURES = (
    "wall_s",
    "runner_s",
    "finished",
    "failed",
    "cells_per_min",
    "lead_in_s",
    "span_s",
    "tail_s",
    "cell_s",
    "utilisation",
    "between_cells_s",
    "idle_at_end_s",
)


def run(repeats: int) -> Result:
    from dlvsml.run.plan import plan_cells
    from dlvsml.spec import load_spec

    spec = load_spec(SPEC)
    spec_name, plan_order = spec.name, [cell.label for cell in plan_cells(spec).cells]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    finished_store: Path | None = None
    with tempfile.TemporaryDirectory(prefix="suite_throughput_") as scratch:
        for repeat in range(repeats):
            for name, (workers, env) in CONFIGS.items():
                folder = Path(scratch) / f"{repeat}-{len(runs[name])}-{workers}-{len(env)}"
                folder.mkdir()
                runs[name].append(_suite(folder, spec_name, workers, env))
                if finished_store is None and runs[name][-1]["failed"] == 0:
                    finished_store = folder
                else:
                    shutil.rmtree(folder, ignore_errors=True)  # keep one store, not all
        fixed = _fixed_costs(repeats, finished_store, Path(scratch))

    rows = [{"config": name, "runs": len(found), **_medians(found)} for name, found in runs.items()]
    rows += fixed
    order = _ordering(runs["2 workers"], plan_order)
    one, two, passive = (row["wall_s"] for row in rows[:3])
    notes = [
        f"Medians over {repeats} run(s) per configuration of `dlvsml run {SPEC.relative_to(ROOT)}"
        " --json`, each in a new working directory (new MLflow and Optuna stores). Speed-up of 2"
        f" workers over 1: {one / two:.2f}× (ideal 2×). Start-up rows fill only the wall and "
        "runner columns.",
        "lead-in: command start to the first cell's start (imports, planning, new stores, worker "
        "start-up); tail: last cell's end to exit; utilisation: cell seconds / (workers × span); "
        "between cells: worker-slot seconds between one cell's end and the next one's start "
        "(with 1 worker, the driver logging the cell to MLflow); idle at end: worker-seconds "
        "with nothing left to run while the last cells finish.",
        "1 worker, OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads (torch, LightGBM) sleep instead "
        f"of spinning: {passive / one:.2f}× the wall time of the default. Sleeping helps when "
        "other work shares the cores (spinning threads then starve the working ones) and costs "
        "when the machine is otherwise idle. With 2 workers each cell has one thread, so no "
        "OpenMP thread waits and the policy does not matter.",
        "Start-up rows: `import dlvsml.cli, dlvsml.run.suite` in a new interpreter; `dlvsml run` "
        "on a store where every cell is finished (imports, planning, opening the stores, the "
        "resume query; runner s is `wall_seconds`); creating new MLflow and Optuna SQLite "
        "stores, timed after the imports (runner s column); and what a spawned worker imports "
        "before its first cell computes (the executor and the model registry, which loads torch).",
        f"Cell order (2 workers, simulated from the measured cell durations): plan order "
        f"{order['plan_order_s']:.1f} s, longest first {order['longest_first_s']:.1f} s, lower "
        f"bound {order['lower_bound_s']:.1f} s. Reordering cells cannot save more than the gap "
        "between plan order and the lower bound.",
        "Timings include whatever else ran on the machine; compare configurations of one run of "
        "this benchmark (they alternate), not figures from different machines or days.",
    ]
    headline = (
        f"quick suite: {one:.0f} s with 1 worker, {two:.0f} s with 2 ({one / two:.2f}× faster); "
        f"OMP_WAIT_POLICY=PASSIVE {passive / one:.2f}× the default's time"
    )
    return Result(
        headline=headline,
        name="suite_throughput",
        title="Suite throughput: the quick suite with 1 and 2 workers",
        rows=rows,
        columns=[
            ("config", "configuration"),
            ("runs", "runs"),
            ("wall_s", "wall s"),
            ("runner_s", "runner s"),
            ("finished", "finished"),
            ("failed", "failed"),
            ("cells_per_min", "cells/min"),
            ("lead_in_s", "lead-in s"),
            ("span_s", "span s"),
            ("tail_s", "tail s"),
            ("utilisation", "utilisation"),
            ("between_cells_s", "between cells s"),
            ("idle_at_end_s", "idle at end s"),
        ],
        notes=notes,
        meta={"spec": str(SPEC), "repeats": repeats, "runs": runs, "ordering": order},
    )


def _suite(folder: Path, spec_name: str, workers: int, env: dict[str, str]) -> dict[str, Any]:
    """One ``dlvsml run`` in ``folder``; its timings from the command and from MLflow."""
    command = [_dlvsml(), "run", str(SPEC), "--workers", str(workers), "--json"]
    launched, start = time.time(), time.perf_counter()
    done = subprocess.run(
        command, cwd=folder, env=_environment(env), capture_output=True, text=True, check=False
    )
    wall, exited = time.perf_counter() - start, time.time()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout)
    times = _cell_times(folder, spec_name)
    cells = list(times.values())
    first, last = min(s for s, _ in cells), max(e for _, e in cells)
    span = last - first
    cell_seconds = sum(e - s for s, e in cells)
    between, idle = _slots(cells, workers)
    return {
        "workers": workers,
        "env": env,
        "wall_s": wall,
        "runner_s": summary["wall_seconds"],
        "finished": len(summary["finished"]),
        "failed": len(summary["failed"]),
        "cells_per_min": len(summary["finished"]) / wall * 60,
        "lead_in_s": first - launched,
        "span_s": span,
        "tail_s": exited - last,
        "cell_s": cell_seconds,
        "utilisation": cell_seconds / (workers * span) if span > 0 else None,
        "between_cells_s": between,
        "idle_at_end_s": idle,
        "durations": {label: end - start for label, (start, end) in times.items()},
    }


def _cell_times(folder: Path, spec_name: str) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of each computed cell, by label, read back from MLflow."""
    from dlvsml.tracking import results_frame

    frame = results_frame(spec_name, f"sqlite:///{folder / 'mlflow.db'}")
    return {
        row.run_name: (row.start_time / 1000, row.end_time / 1000)
        for row in frame.itertuples()
        if row.status in ("finished", "failed")
    }


def _slots(cells: list[tuple[float, float]], workers: int) -> tuple[float, float]:
    """(seconds worker slots sat between cells, worker-seconds idle at the end), from the cells'
    times alone: each cell goes to the slot that freed up most recently before it started."""
    ordered = sorted(cells)
    free = [ordered[0][0]] * workers
    between = 0.0
    for start, end in ordered:
        ready = [i for i, at in enumerate(free) if at <= start + 0.05]
        slot = (
            max(ready, key=free.__getitem__) if ready else min(range(workers), key=free.__getitem__)
        )
        between += max(0.0, start - free[slot])
        free[slot] = end
    last = max(free)
    return between, sum(last - at for at in free)


def _ordering(runs: list[dict[str, Any]], plan_order: list[str]) -> dict[str, float]:
    """Makespan of 2 workers over the measured cell durations (median over runs): plan order vs
    longest first (what sorting cells by a perfect cost estimate could reach)."""
    measured = [
        median(r["durations"][label] for r in runs if label in r["durations"])
        for label in plan_order
        if any(label in r["durations"] for r in runs)
    ]
    if not measured:
        return {"plan_order_s": 0.0, "longest_first_s": 0.0, "lower_bound_s": 0.0}
    durations = measured
    return {
        "plan_order_s": _makespan(durations, 2),
        "longest_first_s": _makespan(sorted(durations, reverse=True), 2),
        "lower_bound_s": max(sum(durations) / 2, max(durations)),
    }


def _makespan(durations: list[float], workers: int) -> float:
    free = [0.0] * workers
    for seconds in durations:
        slot = free.index(min(free))
        free[slot] += seconds
    return max(free)


def _fixed_costs(repeats: int, finished_store: Path | None, scratch: Path) -> list[dict[str, Any]]:
    """Start-up costs, each in new processes, repeated round-robin."""
    imports, nothing, stores, worker = [], [], [], []
    for index in range(max(1, repeats)):
        imports.append(_timed([sys.executable, "-c", "import dlvsml.cli, dlvsml.run.suite"]))
        if finished_store is not None:
            start = time.perf_counter()
            done = subprocess.run(
                [_dlvsml(), "run", str(SPEC), "--json"],
                cwd=finished_store,
                env=_environment({}),
                capture_output=True,
                text=True,
                check=True,
            )
            nothing.append((time.perf_counter() - start, json.loads(done.stdout)["wall_seconds"]))
        folder = scratch / f"stores-{index}"
        folder.mkdir()
        stores.append(float(_python(_NEW_STORES, folder)))
        worker.append(_timed([sys.executable, "-c", _WORKER_IMPORTS]))
    rows = [
        {"config": "start-up: import CLI + runner", "runs": len(imports), "wall_s": median(imports)}
    ]
    if nothing:
        rows.append(
            {
                "config": "start-up: run with every cell done",
                "runs": len(nothing),
                "wall_s": median(w for w, _ in nothing),
                "runner_s": median(r for _, r in nothing),
            }
        )
    rows.append(
        {
            "config": "start-up: new MLflow + Optuna stores",
            "runs": len(stores),
            "runner_s": median(stores),
        }
    )
    rows.append(
        {"config": "start-up: a worker's imports", "runs": len(worker), "wall_s": median(worker)}
    )
    return rows


# What the runner does to a working directory's stores before the first cell, timed after imports.
_NEW_STORES = """
import time
from dlvsml.tracking import Tracker
from dlvsml.stores import open_storage
start = time.perf_counter()
Tracker("quick", "sqlite:///mlflow.db").finished_cell_keys()
open_storage("sqlite:///optuna.db")
print(time.perf_counter() - start)
"""
# What a spawned worker loads before its first cell computes (torch comes with the registry).
_WORKER_IMPORTS = (
    "import dlvsml.run.executors.local; from dlvsml.models import all_models; all_models()"
)


def _python(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=_environment({}),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1]


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=_environment({}), capture_output=True, check=True)
    return time.perf_counter() - start


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _dlvsml() -> str:
    beside = Path(sys.executable).with_name("dlvsml")
    return str(beside) if beside.exists() else (shutil.which("dlvsml") or "dlvsml")


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in _MEASURES:
        values = [run[key] for run in runs if run.get(key) is not None]
        found[key] = median(values) if values else None
        if key in ("finished", "failed") and values:
            found[key] = round(found[key])  # counts, not seconds
    return found


def main() -> None:
    cli(run, default_repeats=1)


if __name__ == "__main__":
    main()
