"""``DLVSML_CACHE=off`` keeps nothing on disk: a `dlvsml.compare` of in-memory texts with sentence
embeddings writes only to the MLflow and Optuna stores it is given, and leaves no file behind
in the home folder, the working directory, the temporary folder or the default cache path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")

COMPARE = """
import sys
import dlvsml

stores = sys.argv[1]
reviews = dlvsml.load("builtin:fine_foods")
result = dlvsml.compare(
    (list(reviews.X[:120]), reviews.y[:120]),
    train_sizes=[60],
    models=["sentence_embeddings"],
    budget={"trials": 1, "seconds": 120},
    progress=False,
    tracking_uri=f"sqlite:///{stores}/mlflow.db",
    optuna_storage=f"sqlite:///{stores}/optuna.db",
)
assert len(result.results) == 1, result.summary
print(result.dataset_uri)
"""


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def test_cache_off_writes_nothing_outside_the_stores(tmp_path: Path) -> None:
    names = ("home", "work", "temp", "stores", "matplotlib")
    home, work, temp, stores, matplotlib = (tmp_path / name for name in names)
    for folder in (home, work, temp, stores, matplotlib):
        folder.mkdir()
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DLVSML_CACHE": "off",
        "HOME": str(home),
        "TMPDIR": str(temp),
        "MPLCONFIGDIR": str(matplotlib),  # matplotlib's font list: its own cache, not dlvsml's
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", COMPARE, str(stores)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The texts were written for the workers to load (into the session's temporary folder) ...
    uri = done.stdout.strip().splitlines()[-1]
    assert uri.startswith(f"textcsv:{temp}")
    # ... and nothing outlives the session but the stores.
    assert _files(home) == set(), "written under HOME (the default cache is ~/.cache/dlvsml)"
    assert _files(work) == set(), "written in the working directory"
    assert _files(temp) == set(), "left in the temporary folder"
    assert _files(stores) >= {stores / "mlflow.db", stores / "optuna.db"}
