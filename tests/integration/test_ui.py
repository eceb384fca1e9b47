"""`dlvsml ui`: the MLflow dashboard of a suite, checked in a real headless browser, and stopped
by a signal without leaving anything behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from dlvsml.run.suite import run_spec
from dlvsml.spec import load_spec
from dlvsml.tracking import log_report
from tests.conftest import dlvsml_exe

CHROMIUM = "/usr/bin/chromium"
SPEC = """\
name: dashboard
datasets: [builtin:wine]
train_sizes: [30, 60]
models: [linear]
budget: {trials: 2}
"""
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/#/experiments/(\w+)/runs\?\S+")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished two-cell suite (with its trials and a report run) in its own folder."""
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "spec.yaml").write_text(SPEC)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        summary = run_spec(load_spec(folder / "spec.yaml"), progress=False)
        assert summary.finished == ["wine/30/linear/0", "wine/60/linear/0"]
        (folder / "report").mkdir()
        (folder / "report" / "index.html").write_text("<p>report</p>")
        log_report("dashboard", f"sqlite:///{folder / 'mlflow.db'}", folder / "report")
        yield folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_ui(folder: Path) -> tuple[subprocess.Popen, str]:
    """`dlvsml ui spec.yaml` in a session of its own; the URL it prints once MLflow answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    server = subprocess.Popen(
        [dlvsml_exe(), "ui", "spec.yaml", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    printed = server.stdout.readline()  # printed only when the server answers
    match = URL.search(printed)
    assert match, printed
    assert int(match.group(1)) == port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # it answers as soon as the URL is printed
    return server, match.group(0)


def _family(server: subprocess.Popen) -> list[psutil.Process]:
    parent = psutil.Process(server.pid)
    return [parent, *parent.children(recursive=True)]


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_ui_and_everything_it_started(suite: Path, stop: signal.Signals) -> None:
    server, url = _start_ui(suite)
    port = int(URL.search(url).group(1))
    family = _family(server)
    assert len(family) >= 2, "the MLflow server should run as a child"
    try:
        os.kill(server.pid, stop)  # the dlvsml process only: it must stop the rest itself
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(_gone(process) for process in family) and not _port_open(port):
                break
            time.sleep(0.1)
        left = [process.pid for process in family if not _gone(process)]
        assert not left, f"still running 10 s after {stop.name}: {left}"
        assert not _port_open(port)
        assert server.wait(timeout=10) == 0
    finally:
        for process in family:
            if not _gone(process):
                process.kill()


@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
def test_ui_shows_the_cells_with_their_metric(suite: Path) -> None:
    client = MlflowClient(f"sqlite:///{suite / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("dashboard").experiment_id
    cells = client.search_runs([experiment], "tags.kind = 'cell'")
    trials = client.search_runs([experiment], "tags.kind = 'trial'")
    assert len(cells) == 2 and trials
    server, url = _start_ui(suite)
    try:
        assert "workflowType=machine_learning" in url
        dom = _chromium(suite / "profile", "--dump-dom", url).stdout
        for run in cells:
            assert run.info.run_name in dom, f"{run.info.run_name} is not on {url}"
        for run in trials[:3]:
            assert run.info.run_name not in dom, f"trial {run.info.run_name} is listed"
        assert "report/dashboard" not in dom, "the report run is listed as a run"
        assert "test_balanced_accuracy" in dom
        for run in cells:  # the metric column holds each finished cell's number
            value = run.data.metrics["test_balanced_accuracy"]
            shown = {f"{value:.{digits}g}" for digits in (2, 3, 4, 5)} | {str(value)}
            assert any(text in dom for text in shown), (value, url)
        screenshot = suite / "runs.png"
        _chromium(suite / "profile", f"--screenshot={screenshot}", "--window-size=1600,900", url)
        assert screenshot.stat().st_size > 10_000
        print(f"screenshot of {url}: {screenshot}")
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
    ]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )
