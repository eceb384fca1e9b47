"""Chaos: SIGKILL a real `dlvsml run` at random moments, re-run, until every suite completes.

A tiny suite (4 cells of 2 trials) runs in a fresh folder with its own SQLite stores. Each run
is killed after a random delay (uniform up to the length of the last uninterrupted run, so
kills land anywhere: during imports, in a trial, while logging; half of the driver kills then
wait for a trial to be RUNNING, since trials are a small part of a run), then run again, until a run
completes the suite; then a new suite starts, until the wanted number of kills is reached. Three
modes: the driver of ``dlvsml run`` killed, the driver of ``dlvsml run --workers 2`` killed,
and a worker of ``--workers 2`` killed in the middle of a cell (a process that owns a RUNNING
trial), the driver left alive. After every run and at the end of every suite it checks:

- a cell that FINISHED keeps its parent run (id, start and end time): none lost or recomputed;
- every cell has exactly one FINISHED parent run;
- every cell's Optuna study holds exactly its budget of COMPLETE trials and nothing RUNNING or
  WAITING: no trial lost or duplicated;
- no process of the killed run's tree (collected just before the kill) is alive 10 s after;
- every run that is not killed ends within ``--bound`` seconds (the resume never hangs).

The short form runs in the test suite (`tests/integration/test_chaos.py`); ``python -m
benchmarks.chaos --repeats 200`` is the long form (``--repeats``: kills in all, see `SHARES`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import psutil

from benchmarks._common import RESULTS, Result, write
from dlvsml.lifetime import still_running

SPEC = """\
name: chaos
datasets: [builtin:breast_cancer]
train_sizes: [40, 80]
models: [linear]
seeds: [0, 1]
budget: {trials: 2}
"""
CELLS, TRIALS = 4, 2
# What a run says when it waits for a trial of another process. With SQLite, a dead process's
# trial is failed at once, so a re-run should not wait (unless killed in the instant between
# claiming a queued trial and recording its owner: then it waits the grace period).
WAITED = "running in other processes"
LEFTOVER_SECONDS = 10.0
# Kills of the driver that wait, after their random delay, for a trial to be RUNNING: a trial
# is a few percent of a run's time, and its start (before the first heartbeat) matters most.
IN_TRIAL = 0.5  # a killed run's processes must all be gone this long after the kill
MODES = {  # name: (--workers, which process is killed)
    "driver": (1, "driver"),
    "driver, --workers 2": (2, "driver"),
    "worker, --workers 2": (2, "worker"),
}
CELL_RUNS = """
SELECT tags.value, runs.run_uuid, runs.status, runs.start_time, runs.end_time
FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid AND tags.key = 'cell_key'
JOIN tags AS kind ON kind.run_uuid = runs.run_uuid AND kind.key = 'kind' AND kind.value = 'cell'
"""
TRIAL_STATES = """
SELECT studies.study_name, trials.state, count(*) FROM trials
JOIN studies ON studies.study_id = trials.study_id GROUP BY studies.study_name, trials.state
"""
RUNNING_OWNERS = """
SELECT a.value_json FROM trials t JOIN trial_system_attributes a ON a.trial_id = t.trial_id
WHERE t.state = 'RUNNING' AND a.key = 'dlvsml:owner'
"""


@dataclass
class Chaos:
    """What one mode's chaos did and found (``problems`` must stay empty)."""

    mode: str
    kills: int = 0
    runs: int = 0
    suites: int = 0
    longest_rerun: float = 0.0  # seconds of the longest run that was not killed
    longest_cleanup: float = 0.0  # seconds from a kill until its whole tree was gone
    waits: int = 0  # runs that waited for a trial of another process (a dead one: too slow)
    problems: list[str] = field(default_factory=list)


def chaos(
    mode: str,
    kills: int,
    seed: int = 0,
    bound: float = 300.0,
    first_guess: float = 20.0,
    env: dict[str, str] | None = None,
    minutes: float | None = None,
) -> Chaos:
    """Kill ``kills`` runs in ``mode`` (a key of `MODES`) at seeded random moments; after
    ``minutes``, kill no more (the suite under way is completed and checked)."""
    stop = None if minutes is None else time.monotonic() + 60 * minutes
    workers, target = MODES[mode]
    rng, report = random.Random(seed), Chaos(mode)
    expected = first_guess  # how long an uninterrupted run lasts, updated as runs complete
    with tempfile.TemporaryDirectory(prefix="dlvsml-chaos-") as scratch:
        while report.kills < kills and not _past(stop):
            folder = Path(scratch) / f"suite-{report.suites}"
            folder.mkdir()
            (folder / "spec.yaml").write_text(SPEC)
            done: dict[str, tuple] = {}
            while True:  # runs of one suite, until one completes it
                more = report.kills < kills and not _past(stop)
                delay = rng.uniform(0.0, expected) if more else None
                in_trial = rng.random() < IN_TRIAL
                done_before = bool(done)
                victim = "trial" if target == "driver" and in_trial else target
                seconds, killed, code = _run(folder, workers, victim, delay, report, bound, env)
                done = _check_cells(folder, done, report)
                if not killed:
                    report.longest_rerun = max(report.longest_rerun, seconds)
                    if code == 0 and not done_before:  # a whole suite, uninterrupted
                        expected = seconds
                if code == 0 and len(done) == CELLS:
                    break
                if not killed and code != 0:
                    report.problems.append(f"run {report.runs} failed (exit {code})")
                    break
            _check_suite(folder, done, report)
            report.suites += 1
    return report


def _past(stop: float | None) -> bool:
    return stop is not None and time.monotonic() > stop


def _run(
    folder: Path,
    workers: int,
    target: str,
    delay: float | None,
    report: Chaos,
    bound: float,
    env: dict[str, str] | None,
) -> tuple[float, bool, int]:
    """One `dlvsml run`, killed after ``delay`` seconds unless None; (seconds, killed, code)."""
    command = [_dlvsml(), "run", "spec.yaml", "--json"]
    if workers > 1:
        command += ["--workers", str(workers)]
    environment = {**os.environ, "MLFLOW_TRACKING_URI": "", **(env or {})}
    report.runs += 1
    with open(folder / f"stderr-{report.runs}.txt", "w") as stderr:
        process = subprocess.Popen(
            command, cwd=folder, env=environment, stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True,
        )  # fmt: skip
    started = time.monotonic()
    tree = (
        _kill_later(process, folder, target, started + delay, report) if delay is not None else []
    )
    try:
        code = process.wait(timeout=max(1.0, bound - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        report.problems.append(f"run {report.runs} still running after {bound:g} s")
        _kill_tree(psutil.Process(process.pid))
        code = process.wait()
    _check_gone(tree, report)
    if WAITED in (folder / f"stderr-{report.runs}.txt").read_text():
        report.waits += 1
    return time.monotonic() - started, bool(tree), code


def _kill_later(
    process: subprocess.Popen, folder: Path, target: str, at: float, report: Chaos
) -> list[psutil.Process]:
    """At ``at``, SIGKILL the driver; or, with ``target`` "worker", the first worker then seen
    owning a RUNNING trial; with "trial", the driver once a trial of its tree is RUNNING.
    Return the run's process tree as it was just before (empty if the run ended first)."""
    while True:
        if process.poll() is not None:
            return []
        if time.monotonic() < at:
            time.sleep(0.05)
            continue
        owner = process.pid if target == "driver" else _trial_owner(folder, process.pid)
        if owner is not None:
            break
        time.sleep(0.005)  # a trial of the tiny suite lasts a few tens of milliseconds
    try:
        driver = psutil.Process(process.pid)
        tree = [driver, *driver.children(recursive=True)]
        os.kill(owner if target == "worker" else process.pid, signal.SIGKILL)
    except (psutil.NoSuchProcess, ProcessLookupError):
        return []
    report.kills += 1
    return tree


def _check_gone(tree: list[psutil.Process], report: Chaos) -> None:
    """Every process of ``tree`` must end within `LEFTOVER_SECONDS` (the driver has ended)."""
    ended = time.monotonic()
    while time.monotonic() - ended < LEFTOVER_SECONDS and still_running(tree):
        time.sleep(0.1)
    report.longest_cleanup = max(report.longest_cleanup, time.monotonic() - ended)
    left = still_running(tree)
    if left:
        names = [f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in left]
        report.problems.append(f"run {report.runs}: left alive after the kill: {names}")
        for leftover in left:
            _kill_tree(leftover)


def _trial_owner(folder: Path, driver: int) -> int | None:
    """The driver or a child of it that owns a RUNNING trial (in the middle of a cell)."""
    try:
        children = {driver, *(p.pid for p in psutil.Process(driver).children())}
        with sqlite3.connect(f"file:{folder / 'optuna.db'}?mode=ro", uri=True, timeout=1) as db:
            owners = [json.loads(row[0])["pid"] for row in db.execute(RUNNING_OWNERS)]
    except (sqlite3.Error, psutil.Error):  # no store yet, a table missing, locked a moment
        return None
    candidates = [pid for pid in owners if pid in children]
    return candidates[0] if candidates else None


def _kill_tree(process: psutil.Process) -> None:
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in members:
        with suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGKILL)


def _check_cells(folder: Path, done: dict[str, tuple], report: Chaos) -> dict[str, tuple]:
    """The FINISHED cells now; a problem for each earlier one lost or changed, or doubled."""
    finished: dict[str, tuple] = {}
    for key, run_id, status, start, end in _rows(folder / "mlflow.db", CELL_RUNS):
        if status != "FINISHED":
            continue
        if key in finished:
            report.problems.append(f"run {report.runs}: cell {key} FINISHED twice")
        finished[key] = (run_id, start, end)
    for key, run in done.items():
        if finished.get(key) != run:
            report.problems.append(f"run {report.runs}: finished cell {key} lost or recomputed")
    return finished


def _check_suite(folder: Path, done: dict[str, tuple], report: Chaos) -> None:
    """A completed suite: every cell FINISHED once, every study exactly its budget."""
    if len(done) != CELLS:
        report.problems.append(f"suite {report.suites}: {len(done)} of {CELLS} cells finished")
    states: dict[str, dict[str, int]] = {}
    for study, state, count in _rows(folder / "optuna.db", TRIAL_STATES):
        states.setdefault(study, {})[state] = count
    for study, counts in states.items():
        if counts.get("COMPLETE", 0) != TRIALS or counts.get("RUNNING") or counts.get("WAITING"):
            report.problems.append(f"suite {report.suites}: study {study} has trials {counts}")
    if len(states) != CELLS:
        report.problems.append(f"suite {report.suites}: {len(states)} studies, not {CELLS}")


def _rows(database: Path, query: str) -> list[tuple]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            return connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # the tables are not created yet
        return []


def _dlvsml() -> str:
    beside = Path(sys.executable).parent / "dlvsml"
    return str(beside) if beside.exists() else "dlvsml"


SHARES = {"driver": 0.7, "driver, --workers 2": 0.2, "worker, --workers 2": 0.1}


def run(repeats: int, minutes: float | None = None) -> Result:
    """``repeats`` kills in all, shared out by `SHARES` between the modes, which run side by
    side (one process each), for ``minutes`` at most; seeded so that a run can be repeated."""
    kills = {mode: max(1, round(repeats * share)) for mode, share in SHARES.items()}
    with ProcessPoolExecutor(len(MODES), mp_context=get_context("spawn")) as pool:
        futures = {
            mode: pool.submit(_timed, mode, kills[mode], n, minutes) for n, mode in enumerate(MODES)
        }
        reports = {mode: future.result() for mode, future in futures.items()}
    rows = [
        {
            "mode": mode,
            "kills": report.kills,
            "runs": report.runs,
            "suites": report.suites,
            "longest_rerun_s": round(report.longest_rerun, 1),
            "longest_cleanup_s": round(report.longest_cleanup, 1),
            "waits": report.waits,
            "problems": len(report.problems),
            "minutes": round(spent, 1),
            "problem_list": report.problems[:20],
        }
        for mode, (report, spent) in reports.items()
    ]
    total = sum(row["kills"] for row in rows)
    problems = sum(row["problems"] for row in rows)
    return Result(
        name="chaos",
        title="Chaos: random SIGKILLs of `dlvsml run`, then resume",
        rows=rows,
        columns=[
            ("mode", "killed"),
            ("kills", "kills"),
            ("runs", "runs"),
            ("suites", "suites completed"),
            ("longest_rerun_s", "longest run not killed (s)"),
            ("longest_cleanup_s", "longest kill-to-no-process (s)"),
            ("waits", "runs that waited for a dead trial"),
            ("problems", "lost / recomputed / duplicated / left behind / hung"),
            ("minutes", "minutes"),
        ],
        notes=[
            "Suite: 4 cells (breast_cancer, 2 sizes, linear, 2 seeds), 2 trials each, SQLite "
            "stores, default trial grace period. Each run is SIGKILLed after a delay drawn "
            "uniformly up to the length of the last uninterrupted run; the same command is "
            "re-run until the suite completes, then a new suite starts. A worker kill picks a "
            "process that owns a RUNNING trial. The three modes run side by side. Checks: see "
            "the module docstring of `benchmarks/chaos.py`.",
        ],
        headline=f"{total} random SIGKILLs: {problems} cells or trials lost, recomputed or "
        f"duplicated, processes left behind or re-runs hung",
        meta={"spec": SPEC, "leftover_seconds": LEFTOVER_SECONDS, "minutes": minutes},
    )


def _timed(mode: str, kills: int, seed: int, minutes: float | None) -> tuple[Chaos, float]:
    started = time.monotonic()
    report = chaos(mode, kills=kills, seed=seed, minutes=minutes)
    return report, (time.monotonic() - started) / 60


def main() -> None:
    """``--repeats`` kills in all (200), ``--minutes`` at most (none), ``--out`` folder."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(write(run(args.repeats, args.minutes), args.out))


if __name__ == "__main__":
    main()
