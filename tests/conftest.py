"""Shared fixtures: the real console script, the shared datasets, an isolated working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests share 2 cores with each other: one thread per library keeps them from oversubscribing.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


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


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (the shared datasets live beside the repo)")
    return SHARED_DATA
