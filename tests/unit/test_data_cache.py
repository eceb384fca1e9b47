"""The dataset cache: second loads come from disk or memory, and an edited file reloads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlvsml.data import cache as data_cache
from dlvsml.data import load_dataset, loading
from dlvsml.data.dataset import fingerprint_of


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DLVSML_CACHE", str(folder))
    loading._memo.clear()
    return folder / "datasets"


def _fresh_process() -> None:
    """What a new process sees: an empty in-process memo."""
    loading._memo.clear()


def test_memo_returns_the_same_object(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "target": [0, 1, 0]}).to_csv(path, index=False)
    assert load_dataset(f"file:{path}") is load_dataset(f"file:{path}")


@pytest.mark.parametrize(
    "make",
    [
        lambda p: (
            pd.DataFrame(
                {"c": pd.Series(["a", None, "b", "a"], dtype="str"), "v": [1.5, np.nan, 3, 4]}
            )
            .assign(target=[0, 1, 1, 0])
            .to_parquet(p / "t.parquet")
        ),
        lambda p: np.savez(
            p / "i.npz", X=np.arange(4 * 9, dtype=np.uint8).reshape(4, 3, 3), y=[0, 1, 0, 1]
        ),
        lambda p: pd.DataFrame({"text": ["a b", "c", "d e f", "g"], "label": [1, 0, 1, 0]}).to_csv(
            p / "t.csv", index=False
        ),
    ],
    ids=["tabular", "image", "text"],
)
def test_cached_copy_equals_the_original(cache: Path, tmp_path: Path, make) -> None:
    make(tmp_path)
    uri = {
        "tabular": f"file:{tmp_path / 't.parquet'}",
        "image": f"npz:{tmp_path / 'i.npz'}",
        "text": f"textcsv:{tmp_path / 't.csv'}",
    }
    uri = next(u for u in uri.values() if Path(u.split(":", 1)[1]).exists())
    first = load_dataset(uri)
    assert len(list(cache.glob("*.json"))) == 1
    _fresh_process()
    second = load_dataset(uri)
    assert second is not first
    assert second.fingerprint == first.fingerprint == fingerprint_of(second.X, second.y)
    assert (second.task, second.class_names, second.categorical, second.numeric) == (
        first.task,
        first.class_names,
        first.categorical,
        first.numeric,
    )
    if isinstance(first.X, pd.DataFrame):
        pd.testing.assert_frame_equal(first.X, second.X)
    else:
        assert np.array_equal(first.X, second.X)
        assert first.X.dtype == second.X.dtype


def test_cache_is_used_without_rereading_the_source(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "target": [0, 1, 0]}).to_csv(path, index=False)
    load_dataset(f"file:{path}")
    _fresh_process()

    def fail(*_: object, **__: object) -> None:
        raise AssertionError("the source was read again")

    monkeypatch.setattr("dlvsml.data.tabular.read_table", fail)
    monkeypatch.setattr("dlvsml.data.dataset.fingerprint_of", fail)
    assert load_dataset(f"file:{path}").n_rows == 3


def test_an_edited_file_reloads(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "target": [0, 1, 0]}).to_csv(path, index=False)
    before = load_dataset(f"file:{path}")
    pd.DataFrame({"x": [1, 2, 3, 4], "target": [0, 1, 0, 1]}).to_csv(path, index=False)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = load_dataset(f"file:{path}")
    assert (before.n_rows, after.n_rows) == (3, 4)
    assert before.fingerprint != after.fingerprint


def test_relative_paths_from_different_folders_do_not_collide(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder, rows in (("a", 3), ("b", 5)):
        (tmp_path / folder).mkdir()
        frame = pd.DataFrame({"x": range(rows), "target": [0, 1] * (rows // 2) + [0] * (rows % 2)})
        frame.to_csv(tmp_path / folder / "t.csv", index=False)
    monkeypatch.chdir(tmp_path / "a")
    assert load_dataset("file:t.csv").n_rows == 3
    monkeypatch.chdir(tmp_path / "b")
    assert load_dataset("file:t.csv").n_rows == 5


def test_damaged_cache_entry_falls_back_to_the_source(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "target": [0, 1, 0]}).to_csv(path, index=False)
    load_dataset(f"file:{path}")
    for data in cache.glob("*.parquet"):
        data.write_bytes(b"damaged")
    _fresh_process()
    assert load_dataset(f"file:{path}").n_rows == 3


def test_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_CACHE", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    loading._memo.clear()
    assert load_dataset("builtin:iris").n_rows == 150
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("off", None), (" OFF ", None), ("", "home"), ("~/elsewhere", "home/elsewhere")],
)
def test_one_resolver_for_every_cache(
    setting: str, expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dataset cache, in-memory data and sentence embeddings all ask `cache_root`."""
    from dlvsml._api import inputs
    from dlvsml.models.neural import embedding_cache

    monkeypatch.setenv("DLVSML_CACHE", setting)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if expected == "home":
        expected = "home/.cache/dlvsml"
    root = None if expected is None else tmp_path / expected
    assert data_cache.cache_root() == root
    assert data_cache.cache_dir() == (None if root is None else root / "datasets")
    folder = embedding_cache._folder("all-MiniLM-L6-v2")
    assert folder == (None if root is None else root / "embeddings" / "all-MiniLM-L6-v2")
    written = inputs.api_cache_dir()  # in-memory data need a file even when the cache is off
    if root is None:
        assert written.is_dir() and not written.is_relative_to(tmp_path / "home")
    else:
        assert written == root


def test_atomic_write_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "shard.npz"
    data_cache.atomic_write(target, lambda tmp: np.savez(tmp, x=np.arange(3)))
    assert [p.name for p in tmp_path.iterdir()] == ["shard.npz"]
    with np.load(target) as data:
        assert data["x"].tolist() == [0, 1, 2]
    with pytest.raises(ZeroDivisionError):
        data_cache.atomic_write(tmp_path / "broken.json", lambda tmp: 1 / 0)
    assert [p.name for p in tmp_path.iterdir()] == ["shard.npz"]
