"""Profiles: the meta-features the recommender reads, right and JSON-serialisable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlvsml.data import Dataset, load_dataset, profile_dataset


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))


def _always(facts: dict, modality: str, task: str, n_rows: int, n_classes: int | None) -> None:
    json.dumps(facts, allow_nan=False)
    assert (facts["modality"], facts["task"]) == (modality, task)
    assert (facts["n_rows"], facts["n_classes"]) == (n_rows, n_classes)


def test_tabular_profile_of_a_known_table() -> None:
    frame = pd.DataFrame(
        {
            "colour": ["red", None, "blue", "red", "green", "blue", "red", "red"],
            "size": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 100.0],
            "count": [1, 1, 1, 1, 1, 1, 2, 2],
            "constant": ["k"] * 8,  # pymfe's one-hot encoding rejects it: left out of mfe
        }
    )
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    ds = Dataset(
        "toy",
        "tabular",
        "binary",
        frame,
        y,
        "test",
        ("a", "b"),
        ("colour", "constant"),
        ("size", "count"),
    )
    facts = profile_dataset(ds)
    _always(facts, "tabular", "binary", 8, 2)
    assert facts["imbalance_ratio"] == 3.0
    assert facts["missing_ratio"] == pytest.approx(2 / 32)
    assert facts["categorical_share"] == pytest.approx(2 / 4)
    assert facts["max_category_cardinality"] == 3
    assert facts["skewness_max_abs"] == pytest.approx(frame["size"].skew(), rel=1e-6)
    assert facts["mfe.class_ent"] == pytest.approx(0.8113, abs=1e-3)  # entropy of 6:2 in bits


def test_builtin_profiles() -> None:
    cancer = profile_dataset(load_dataset("builtin:breast_cancer"))
    _always(cancer, "tabular", "binary", 569, 2)
    assert cancer["imbalance_ratio"] == pytest.approx(357 / 212)
    assert cancer["categorical_share"] == 0
    assert sum(key.startswith("mfe.") for key in cancer) > 20

    diabetes = profile_dataset(load_dataset("builtin:diabetes"))
    _always(diabetes, "tabular", "regression", 442, None)
    assert "imbalance_ratio" not in diabetes
    assert diabetes["target_mean"] == pytest.approx(152.133, abs=1e-3)
    assert "mfe.cor.mean" in diabetes

    digits = profile_dataset(load_dataset("builtin:digits"))
    _always(digits, "image", "multiclass", 1797, 10)
    assert (digits["height"], digits["width"], digits["channels"]) == (8, 8, 1)
    assert digits["pixel_max"] == 16
    assert 4 < digits["pixel_mean"] < 6

    foods = profile_dataset(load_dataset("builtin:fine_foods"))
    _always(foods, "text", "binary", 5000, 2)
    assert foods["words_median"] <= foods["words_mean"] < foods["words_max"]
    assert 0 < foods["type_token_ratio"] < 1


def test_text_profile_counts_words() -> None:
    texts = np.array(["the cat sat", "the dog", "The cat, the dog!"], dtype=object)
    ds = Dataset("t", "text", "binary", texts, np.array([0, 1, 0]), "test", ("a", "b"))
    facts = profile_dataset(ds)
    assert (facts["words_mean"], facts["words_max"], facts["vocabulary_size"]) == (3.0, 4, 4)
    assert facts["type_token_ratio"] == pytest.approx(4 / 9)
