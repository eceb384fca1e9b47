"""Shared fixtures: the real console script, the shared datasets, an isolated working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests share 2 cores with each other: one thread per library keeps them from oversubscribing.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "integration_timeout",
        "seconds an integration test may run before pytest-timeout stops it with a stack",
        default="600",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Integration tests get their own, longer limit (unit tests the `timeout` ini value);
    an explicit `@pytest.mark.timeout` on a test wins."""
    limit = float(config.getini("integration_timeout"))
    for item in items:
        if "integration" in item.path.parts and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(limit))


def dlvsml_exe() -> str:
    """The installed `dlvsml` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "dlvsml"
    return str(beside) if beside.exists() else (shutil.which("dlvsml") or "dlvsml")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None):
    """Run the real `dlvsml` command; return the CompletedProcess (text mode)."""
    return subprocess.run(
        [dlvsml_exe(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


SUITE_NAME = "twofamilies"
SUITE_SPEC = f"""\
name: {SUITE_NAME}
datasets: [builtin:breast_cancer, builtin:wine]
train_sizes: [30, 60, 90]
models: [linear, mlp]
seeds: 2
budget: {{trials: 1, seconds: 2}}
"""
SUITE_CELLS = 24


@pytest.fixture(scope="session")
def finished_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-dataset, two-family, two-seed suite in its own folder (its MLflow and
    Optuna stores inside), run once for every test that reads real results."""
    folder = tmp_path_factory.mktemp(SUITE_NAME)
    (folder / "spec.yaml").write_text(SUITE_SPEC)
    summary = run_spec_in(folder)
    assert summary.failed == [] and len(summary.finished) == SUITE_CELLS
    return folder


def run_spec_in(folder: Path, spec_file: str = "spec.yaml") -> Any:
    """Run ``folder/spec_file`` in ``folder`` (its stores land there); the `RunSummary`."""
    from dlvsml.run.suite import run_spec
    from dlvsml.spec import load_spec

    before = os.getcwd()
    os.chdir(folder)
    try:
        return run_spec(load_spec(spec_file), progress=False)
    finally:
        os.chdir(before)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (the shared datasets live beside the repo)")
    return SHARED_DATA
