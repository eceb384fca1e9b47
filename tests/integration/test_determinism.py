"""Determinism: the same spec and seeds give identical results on CPU, run after run.

One classical and one neural model of each modality, each cell tuned and tested twice: once in
this process and once in a fresh Python process with another hash seed, each with its own Optuna
store. Every test metric, validation score and chosen parameter must be equal to the last bit.
The budget is in trials only (a budget in seconds makes the number of trials and epochs depend
on the machine's speed), and each cell gets one thread, as a worker of ``--workers 2`` would on
two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from dlvsml.run.cell import run_cell
from dlvsml.run.plan import plan_cells
from dlvsml.spec import parse_spec
from tests.conftest import REPO

SPEC = {
    "name": "determinism",
    "datasets": ["builtin:breast_cancer", "builtin:digits", "builtin:fine_foods"],
    "train_sizes": [60],
    "models": ["linear", "mlp", "cnn", "fasttext"],
    "seeds": [3],
    "budget": {"trials": 2},
    "device": "cpu",
}


def cell_outcomes(folder: str) -> dict[str, Any]:
    """Run every cell of SPEC with an Optuna store in ``folder``; what each cell produced."""
    spec = parse_spec({**SPEC, "optuna_storage": f"sqlite:///{Path(folder) / 'optuna.db'}"})
    outcomes = {}
    for cell in plan_cells(spec).cells:
        result = run_cell(spec, cell, n_threads=1)
        outcomes[cell.label] = {
            "status": result.status,
            "reason": result.reason,
            "test_metrics": result.test_metrics,
            "validation_score": result.validation_score,
            "best_params": result.best_params,
            "trials": [(t.number, t.state, t.value) for t in result.trials],
            "indices": result.indices,
        }
    return json.loads(json.dumps(outcomes))  # as the other process's outcomes: JSON values


def test_same_spec_and_seed_give_identical_metrics(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    code = (
        "import json, sys; from tests.integration.test_determinism import cell_outcomes; "
        "json.dump(cell_outcomes(sys.argv[1]), sys.stdout)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "7", "DLVSML_CACHE": str(tmp_path / "cache")}
    other = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "b")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    here = cell_outcomes(str(tmp_path / "a"))
    stdout, stderr = other.communicate(timeout=400)
    assert other.returncode == 0, stderr[-2000:]
    there = json.loads(stdout)

    assert sorted(label.split("/", 2)[2] for label in here) == [
        "cnn/3",
        "fasttext/3",
        "linear/3",
        "linear/3",
        "linear/3",
        "mlp/3",
    ]
    assert all(o["status"] == "finished" for o in here.values()), here
    for label, outcome in here.items():
        assert {"accuracy", "log_loss"} <= set(outcome["test_metrics"])
        assert there[label] == outcome, label
