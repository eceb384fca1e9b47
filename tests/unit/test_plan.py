"""Planning: cells from a spec, stable keys, refused cells with reasons, shared subsamples."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dlvsml.data import load_dataset
from dlvsml.data.splits import cell_rows
from dlvsml.models import get_model, models_for
from dlvsml.run import plan as plan_module
from dlvsml.run.plan import cell_key, plan_cells
from dlvsml.spec import parse_spec

BASE = {"name": "t", "datasets": ["builtin:breast_cancer"], "train_sizes": [40, 80]}


def _spec(**changes):
    return parse_spec({**BASE, **changes})


def test_cells_are_dataset_size_model_seed_and_all_means_models_for() -> None:
    plan = plan_cells(_spec(seeds=[0, 1]))
    expected = [m.name for m in models_for("tabular", "binary")]
    assert len(plan.cells) == 2 * 2 * len(expected)
    assert {c.model for c in plan.cells} == set(expected)
    first = plan.cells[0]
    assert first.label == f"breast_cancer/40/{expected[0]}/0"
    assert (first.modality, first.task, first.family) == ("tabular", "binary", "classical")
    assert len({c.key for c in plan.cells}) == len(plan.cells)
    assert plan.skipped == []


def test_key_changes_with_what_the_cell_computes_and_only_that() -> None:
    spec = _spec()
    key = cell_key(spec, "abc", "binary", 40, "linear", 0)
    assert key == cell_key(spec, "abc", "binary", 40, "linear", 0)
    assert len(key) == 12
    assert key == cell_key(_spec(description="new words"), "abc", "binary", 40, "linear", 0)
    others = {
        cell_key(spec, "abd", "binary", 40, "linear", 0),
        cell_key(spec, "abc", "binary", 41, "linear", 0),
        cell_key(spec, "abc", "binary", 40, "mlp", 0),
        cell_key(spec, "abc", "binary", 40, "linear", 1),
        cell_key(_spec(budget={"trials": 3}), "abc", "binary", 40, "linear", 0),
        cell_key(_spec(metric="accuracy"), "abc", "binary", 40, "linear", 0),
        cell_key(_spec(split={"validation_fraction": 0.3}), "abc", "binary", 40, "linear", 0),
    }
    assert key not in others and len(others) == 7


def test_refused_cells_are_skipped_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    small = replace(get_model("knn"), max_train_size=50)
    monkeypatch.setattr(
        plan_module, "get_model", lambda name: small if name == "knn" else get_model(name)
    )
    plan = plan_cells(_spec(models=["linear", "knn"], train_sizes=[40, 80, 100000]))
    assert [c.label for c in plan.cells] == [
        "breast_cancer/40/linear/0",
        "breast_cancer/40/knn/0",
        "breast_cancer/80/linear/0",
    ]
    reasons = {s.cell.label: s.reason for s in plan.skipped}
    assert "above 50" in reasons["breast_cancer/80/knn/0"]
    assert "exceeds" in reasons["breast_cancer/100000/linear/0"]
    assert len(reasons) == 3


def test_every_model_of_a_cell_gets_the_same_nested_rows_and_never_test_rows() -> None:
    spec = _spec(models=["linear", "random_forest"], seeds=[0, 1])
    dataset = load_dataset("builtin:breast_cancer")
    rows = {
        (c.train_size, c.seed, c.model): cell_rows(
            dataset.y, dataset.task, c.train_size, c.seed, spec.split
        )
        for c in plan_cells(spec).cells
    }
    for (size, seed, _), found in rows.items():
        same = rows[(size, seed, "linear")]
        assert np.array_equal(found.train, same.train)
        assert np.array_equal(found.validation, same.validation)
        labelled = np.concatenate([found.train, found.validation])
        assert len(labelled) == len(np.unique(labelled)) == size
        assert not set(labelled) & set(found.test)
    assert set(
        np.concatenate([rows[(40, 0, "linear")].train, rows[(40, 0, "linear")].validation])
    ) <= set(np.concatenate([rows[(80, 0, "linear")].train, rows[(80, 0, "linear")].validation]))
    assert not np.array_equal(rows[(40, 0, "linear")].train, rows[(40, 1, "linear")].train)
    assert np.array_equal(rows[(40, 0, "linear")].test, rows[(80, 1, "linear")].test)
    digests = rows[(40, 0, "linear")].digests()
    assert set(digests) == {"train_indices_sha", "validation_indices_sha", "test_indices_sha"}
