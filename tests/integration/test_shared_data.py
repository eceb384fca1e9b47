"""Every dataset of ../shared/data loads through the source schemes as MANIFEST.json describes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlvsml.data import load_dataset
from tests.conftest import SHARED_DATA

# The only columns of the shared tables that plain encoders do not take as they are.
SPECIAL_ROLES = {
    "nyc_flights_2013": {"tailnum": "high_cardinality", "dest": "high_cardinality"},
    "mushroom": {"veil_type": "constant"},
}
SCHEMES = {"tabular": "file:{path}?target=target", "image": "npz:{path}", "text": "textcsv:{path}"}


def _records() -> list[dict]:
    manifest = SHARED_DATA / "MANIFEST.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else []


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_CACHE", "off")


def test_manifest_lists_24_datasets(shared_data: Path) -> None:
    assert len(_records()) == 24


@pytest.mark.parametrize("record", _records(), ids=lambda record: record["name"])
def test_dataset_loads_as_the_manifest_says(shared_data: Path, record: dict) -> None:
    uri = SCHEMES[record["modality"]].format(path=shared_data / record["file"])
    ds = load_dataset(uri)
    assert (ds.name, ds.modality, ds.n_rows) == (
        record["name"],
        record["modality"],
        record["n_rows"],
    )
    assert len(ds.X) == len(ds.y) == record["n_rows"]
    if record["task"] == "regression":
        assert ds.task == "regression"
        assert ds.y.dtype == np.float64
    else:
        assert ds.task == ("binary" if record["n_classes"] == 2 else "multiclass")
        assert ds.n_classes == record["n_classes"]
        assert np.bincount(ds.y).tolist() == record["class_counts"]
    if record["modality"] == "tabular":
        assert ds.n_features == record["n_features"]
        roles = dict(ds.roles)
        assert list(roles) == [*ds.X.columns, "target"] and roles["target"] == "target"
        strings = {c for c in ds.X.columns if not pd.api.types.is_numeric_dtype(ds.X[c])}
        assert strings == set(record.get("categorical_features", []))
        special = {c: r for c, r in roles.items() if r not in ("numeric", "categorical", "target")}
        assert special == SPECIAL_ROLES.get(record["name"], {})
    if record["modality"] == "image":
        assert list(ds.image_shape[:2]) == record["image_shape"][:2]
        assert ds.X.dtype == np.uint8
    if record["modality"] in ("image", "text"):
        assert list(ds.class_names) == record["classes"]
    if record["modality"] == "text":
        assert all(isinstance(text, str) and text for text in ds.X[:100])
