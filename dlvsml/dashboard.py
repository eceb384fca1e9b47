"""The MLflow dashboard and tracking server as dlvsml starts them: one supervised process group.

`serve` starts a server in a process group of its own, says where it is only once it answers,
and on Ctrl-C, SIGTERM or SIGHUP stops the whole group (MLflow's uvicorn workers too, which a
plain ``terminate`` of ``mlflow ui`` left serving under PID 1).

`runs_view` is the dashboard's saved view of a suite: only cell runs (not trials, not the report
run), with dataset, train size, model, family, seed, the primary test metric and tuning seconds
as columns. MLflow 3 loads such a view from an experiment tag
``mlflow.sharedViewState.<key>`` when the runs page URL carries ``viewStateShareKey=<key>``;
``workflowType=machine_learning`` opens the model-training view instead of the GenAI one.

Example::

    serve(ui_command(uri, "127.0.0.1", 5000), server_environment(), "http://127.0.0.1:5000",
          lambda: print("ready"))
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from dlvsml.errors import DlvsmlError

VIEW_KEY = "dlvsml-cells"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CELL_COLUMNS = ("dataset", "train_size", "model", "family", "seed", "status")


def runs_url(host: str, port: int, experiment: str | None, view: str | None = None) -> str:
    """The dashboard page of an experiment's runs in the model-training view (and saved view)."""
    base = f"http://{_client_host(host)}:{port}/#/"
    query = "workflowType=machine_learning" + (f"&viewStateShareKey={view}" if view else "")
    return f"{base}experiments/{experiment}/runs?{query}" if experiment else f"{base}?{query}"


def runs_view(test_metrics: Iterable[str]) -> dict[str, Any]:
    """The saved view of a suite's runs: cells only, their key columns, ordered by run name
    (dataset/size/model/seed, so each dataset's cells sit together)."""
    metrics = [f"metrics.`{name}`" for name in (*test_metrics, "tuning_seconds")]
    columns = [*metrics, *(f"tags.`{name}`" for name in CELL_COLUMNS)]
    return {
        "searchFilter": "tags.kind = 'cell'",
        "orderByKey": "tags.`mlflow.runName`",
        "orderByAsc": True,
        "selectedColumns": columns,
    }


class _Stop(Exception):
    """A stop signal arrived (SIGINT, SIGTERM or SIGHUP)."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signum)


def serve(
    command: list[str],
    env: dict[str, str],
    address: str,
    announce: Callable[[], None],
    start_seconds: float = 300.0,
) -> int | None:
    """Run a server until it exits or a stop signal comes; call ``announce`` once it answers.

    Returns the server's exit code, or None when a signal stopped it. Either way nothing of its
    process group is left running.
    """
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    sys.stdout.flush()
    process = None
    try:
        # MLflow's own chatter goes to stderr: stdout carries only what dlvsml announces.
        process = subprocess.Popen(command, env=env, process_group=0, stdout=_stderr_fd())
        _wait_until_answering(process, address, start_seconds)
        announce()
        sys.stdout.flush()
        return process.wait()
    except (_Stop, KeyboardInterrupt):
        return None
    finally:
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if process is not None:
            stop_group(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests, notebooks)
        return None


def _wait_until_answering(process: subprocess.Popen, address: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not answers(f"{address}/health"):
        code = process.poll()
        if code is not None:
            raise DlvsmlError(
                f"the MLflow server exited (code {code}) before answering at {address}; is the "
                "port in use? choose another with --port"
            )
        if time.monotonic() > deadline:
            raise DlvsmlError(f"the MLflow server did not answer at {address} in {seconds:.0f} s")
        time.sleep(0.25)


def answers(url: str) -> bool:
    """Whether an HTTP server answers 200 at ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def stop_group(process: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the process's group, SIGKILL what is left after ``grace`` seconds, reap it."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_alive(group):
            return
        time.sleep(0.1)
    _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, sig: int) -> None:
    if group <= 1:  # never "every process" (-1) or init's group
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    if group <= 1:
        return False
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _client_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
