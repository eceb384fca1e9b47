"""Budget flags on real cells: a study cut short by its seconds says so; a converged linear
model on breast cancer with a generous budget is not budget-bound. And budgets as an axis:
cells per budget, the larger budget continuing the smaller one's study."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna import load_study
from optuna.trial import TrialState

from dlvsml.run.plan import plan_cells
from dlvsml.run.suite import run_spec
from dlvsml.spec import parse_spec
from dlvsml.stores import open_storage, storage_url
from dlvsml.tracking import results_frame


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _spec(name: str, **fields: object) -> dict:
    return {
        "name": name,
        "datasets": ["builtin:breast_cancer"],
        "train_sizes": [100],
        **{"models": ["linear"], **fields},
    }


@pytest.mark.parametrize(
    ("model", "budget", "completed", "bound", "ends"),
    [
        # A booster stops between rounds when the clock runs out and keeps what it has: one
        # trial of four completes, stopped by the clock, and the study ends there.
        ("lightgbm", {"trials": 4, "seconds": 0.001}, 1, True, {"clock"}),
        # Generous: all trials run, and the solver converges.
        ("linear", {"trials": 2, "seconds": 600}, 2, False, {"converged"}),
    ],
)
def test_budget_bound_flags(
    workdir: Path, model: str, budget: dict, completed: int, bound: bool, ends: set
) -> None:
    spec = parse_spec(_spec("flags", budget=budget, models=[model]))
    assert run_spec(spec, progress=False).failed == []
    row = results_frame("flags").iloc[0]
    assert (row["trials_completed"], row["trials_planned"]) == (completed, budget["trials"])
    assert bool(row["budget_bound"]) is bound
    assert row["stopped_by"] in ends


def test_a_model_that_cannot_fit_the_budget_is_refused_with_the_reason(workdir: Path) -> None:
    spec = parse_spec(_spec("refused", budget={"trials": 4, "seconds": 0.001}))
    failed = run_spec(spec, progress=False).failed
    assert len(failed) == 1 and "BudgetExceeded" in failed[0][1], failed
    assert "raise budget.seconds" in failed[0][1]


def test_larger_budget_continues_the_smaller_study(workdir: Path) -> None:
    spec = parse_spec(_spec("axis", budgets=[{"trials": 1}, {"trials": 3}]))
    cells = plan_cells(spec).cells
    small, large = cells
    assert (small.budget, large.budget, large.continues) == (0, 1, small.key)
    assert large.label.endswith("/3t") and small.label.endswith("/1t")
    assert run_spec(spec, progress=False).failed == []

    storage = open_storage(storage_url(spec))
    first = load_study(study_name=small.key, storage=storage).trials
    second = load_study(study_name=large.key, storage=storage).trials
    assert len(first) == 1 and len(second) == 3  # 1 reused + 2 run: the ledger counted it
    assert second[0].user_attrs["reused_from"] == small.key
    assert second[0].params == first[0].params and second[0].value == first[0].value
    assert all(t.state == TrialState.COMPLETE for t in second)
    assert "reused_from" not in second[1].user_attrs

    frame = results_frame("axis")
    assert list(frame["budget_index"]) == [0, 1]
    assert list(frame["trials_completed"]) == [1, 3]
