"""Everything dlvsml starts dies with it: SIGKILL of the driver of `dlvsml run --workers 2`
leaves no worker, manager or resource tracker behind, nor of a local Ray instance; a program
started with `start_tied` ends with the process that started it."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dlvsml.lifetime import still_running
from tests.conftest import dlvsml_exe

SPEC = """\
name: orphans
datasets: [builtin:breast_cancer]
train_sizes: [40, 80, 120]
models: [linear, random_forest]
budget: {trials: 30}
"""
GONE_WITHIN = 10.0  # seconds after the kill
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="the ray extra is not installed"
)


def _running_trials(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as connection:
            query = "select count(*) from trials where state = 'RUNNING'"
            return connection.execute(query).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet, or briefly locked
        return 0


def _gone_after_kill(victim: int, tree: list[psutil.Process]) -> list[str]:
    """SIGKILL ``victim``; the processes of ``tree`` still alive `GONE_WITHIN` seconds later
    (their command lines; they are killed then)."""
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + GONE_WITHIN
    while still_running(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = still_running(tree)
    names = [" ".join(process.cmdline())[:100] for process in left]
    for process in left:  # leave the machine clean for the next test, then fail
        process.kill()
    return names


@pytest.mark.parametrize(
    "options",
    [
        ["--workers", "2"],  # the driver, 2 workers, the queue manager, the resource tracker
        pytest.param(["--executor", "ray"], marks=needs_ray),  # raylet, gcs, agents, workers
    ],
)
def test_sigkill_of_the_driver_leaves_no_process_behind(tmp_path: Path, options: list) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    process = subprocess.Popen(
        [dlvsml_exe(), "run", "spec.yaml", *options, "--json"],
        cwd=tmp_path, env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    driver = psutil.Process(process.pid)
    deadline = time.monotonic() + 300
    while _running_trials(tmp_path / "optuna.db") < 2:  # both workers in the middle of a cell
        assert process.poll() is None, "the suite ended before it could be killed"
        assert time.monotonic() < deadline, "the workers did not start trials within 5 minutes"
        time.sleep(0.1)
    tree = [driver, *driver.children(recursive=True)]
    assert len(tree) >= 5
    left = _gone_after_kill(process.pid, tree)
    process.wait()
    assert left == []


STARTS_A_SERVER = """
import sys, time
from dlvsml.lifetime import start_tied
# A stand-in for the MLflow server: a program with a child of its own (uvicorn's worker).
server = start_tied([sys.executable, "-c",
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
    "'import time; time.sleep(600)']); time.sleep(600)"])
print(server.pid, server.guard.pid, flush=True)
time.sleep(600)
"""


def test_a_tied_program_and_its_children_end_when_their_starter_is_killed(tmp_path: Path) -> None:
    (tmp_path / "starter.py").write_text(STARTS_A_SERVER)
    starter = subprocess.Popen(
        [sys.executable, "starter.py"], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    server, guard = (psutil.Process(int(pid)) for pid in starter.stdout.readline().split())
    deadline = time.monotonic() + 120
    while not server.children():  # the server's own child has started
        assert time.monotonic() < deadline, "the stand-in server started no child"
        time.sleep(0.1)
    tree = [server, guard, *server.children(recursive=True)]
    assert os.getpgid(server.pid) != os.getpgid(starter.pid)  # Ctrl-C of the starter's group
    left = _gone_after_kill(starter.pid, tree)
    starter.wait()
    assert left == []
