"""`dlvsml ui`: the MLflow dashboard of a suite, checked in a real headless browser."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from dlvsml.run.suite import run_spec
from dlvsml.spec import load_spec
from tests.conftest import dlvsml_exe

CHROMIUM = "/usr/bin/chromium"
SPEC = """\
name: dashboard
datasets: [builtin:wine]
train_sizes: [30, 60]
models: [linear]
budget: {trials: 2}
"""
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(port: int, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the MLflow server exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the MLflow server did not answer within {seconds} s")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
    ]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
def test_ui_serves_the_runs_of_a_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    summary = run_spec(load_spec(tmp_path / "spec.yaml"), progress=False)
    assert summary.finished == ["wine/30/linear/0", "wine/60/linear/0"]

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    server = subprocess.Popen(
        [dlvsml_exe(), "ui", "spec.yaml", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # so the server and its workers stop together
    )
    try:
        printed = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/#/experiments/(\w+)/runs", printed)
        assert match, printed
        assert match.group(0).startswith(f"http://127.0.0.1:{port}/")
        _wait_healthy(port, server)
        url = match.group(0)
        dom = _chromium(tmp_path / "profile", "--dump-dom", url).stdout
        for name in summary.finished:
            assert name in dom, f"{name} is not on {url}"
        screenshot = tmp_path / "runs.png"
        _chromium(tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1400,900", url)
        assert screenshot.stat().st_size > 10_000
        print(f"screenshot of {url}: {screenshot}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
