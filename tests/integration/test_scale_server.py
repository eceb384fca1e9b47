"""`dlvsml server`: a real MLflow tracking server on loopback that runs log to by URL, read back
through `dlvsml results` (artifacts are uploaded through the server, no shared folder)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import dlvsml_exe, run_cli
from tests.integration.postgres import free_port

SPEC = {
    "name": "scale_server",
    "datasets": ["builtin:breast_cancer"],
    "train_sizes": [40, 80],
    "models": ["linear"],
    "budget": {"trials": 2},
}


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [dlvsml_exe(), "server", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, tmp_path / "server.log")
        yield url
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to `dlvsml server`, which stops mlflow and its web server; wait until the whole
    process group (its session) is gone."""
    server.terminate()
    server.wait(timeout=30)
    group, deadline = server.pid, time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited: {log.read_text()}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the server did not answer within 90 s: {log.read_text()}")


def test_runs_log_to_the_server_and_read_back_through_results(
    tmp_path: Path, server_url: str
) -> None:
    spec = tmp_path / "scale_server.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    work, reader = tmp_path / "work", tmp_path / "reader"
    work.mkdir(), reader.mkdir()
    env = {"MLFLOW_TRACKING_URI": server_url}

    done = run_cli("run", str(spec), "--json", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["tracking_uri"] == server_url and len(summary["finished"]) == 2
    assert not (work / "mlflow.db").exists()  # nothing went to a local store

    shown = run_cli("results", str(spec), "--json", cwd=reader, env=env)
    assert shown.returncode == 0, shown.stderr
    rows = {row["run_name"]: row for row in json.loads(shown.stdout)}
    assert set(rows) == {"breast_cancer/40/linear/0", "breast_cancer/80/linear/0"}
    for row in rows.values():
        assert row["status"] == "finished" and row["n_trials"] == 2
        assert 0.5 < row["test_balanced_accuracy"] <= 1
    # Plots went through the server into its artifacts folder, one per cell.
    assert len(list((tmp_path / "artifacts").rglob("confusion_matrix.png"))) == 2
