"""Source URIs and loaders on small files made here: what a user's own data turns into."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlvsml.data import SOURCES, builtin_catalogue, load_dataset, parse_uri
from dlvsml.data.targets import infer_task
from dlvsml.errors import DataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))


def _table(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_parse_uri_splits_scheme_path_and_options() -> None:
    parsed = parse_uri("textcsv:data/r v.csv?text=review&label=stars")
    assert (parsed.scheme, parsed.path) == ("textcsv", "data/r v.csv")
    assert parsed.params == {"text": "review", "label": "stars"}


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match="unknown data source scheme 'csv'") as caught:
        parse_uri("csv:data.csv")
    for scheme in ("builtin", "file", "npz", "imagefolder", "textcsv", "openml", "hf"):
        assert scheme in SOURCES
        assert scheme in str(caught.value)


def test_unknown_option_is_an_error(tmp_path: Path) -> None:
    path = _table(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2], "target": [0, 1]}))
    with pytest.raises(DataError, match="targte"):
        load_dataset(f"file:{path}?targte=a")


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (pd.Series(["yes", "no", "yes"]), "classification"),
        (pd.Series([True, False, True]), "classification"),
        (pd.Series([0, 1, 2, 1]), "classification"),
        (pd.Series(np.arange(500)), "regression"),
        (pd.Series([0.0, 1.0, 1.0]), "classification"),
        (pd.Series([3.0, 5.0, 6.0, 5.0]), "regression"),
        (pd.Series([0.5, 1.5, 2.25]), "regression"),
    ],
)
def test_task_inference(values: pd.Series, task: str) -> None:
    assert infer_task(values) == task


def test_csv_with_categoricals_missing_values_and_named_target(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "colour": ["red", None, "blue", "red", "green", "blue"],
            "size": [1.0, 2.5, np.nan, 4.0, 5.0, 6.0],
            "flag": [True, False, True, True, False, False],
            "label": ["cat", "dog", "cat", "bird", "dog", "cat"],
            "last": [1, 2, 3, 4, 5, 6],
        }
    )
    path = _table(tmp_path / "pets.csv.gz", frame)
    ds = load_dataset(f"file:{path}?target=label")
    assert (ds.name, ds.modality, ds.task) == ("pets", "tabular", "multiclass")
    assert ds.class_names == ("bird", "cat", "dog")
    assert ds.y.tolist() == [1, 2, 1, 0, 2, 1]
    assert ds.y.dtype == np.int64
    assert list(ds.X.columns) == ["colour", "size", "flag", "last"]
    assert set(ds.categorical) == {"colour", "flag"}
    assert ds.numeric == ("size", "last")
    assert ds.X["colour"].isna().sum() == 1
    assert ds.X["size"].isna().sum() == 1


def test_default_target_is_target_column_else_last(tmp_path: Path) -> None:
    named = _table(tmp_path / "a.csv", pd.DataFrame({"target": [0, 1, 0], "x": [1, 2, 3]}))
    assert list(load_dataset(f"file:{named}").X.columns) == ["x"]
    last = _table(tmp_path / "b.csv", pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": [0, 1, 1]}))
    ds = load_dataset(f"file:{last}")
    assert list(ds.X.columns) == ["x"]
    assert ds.task == "binary"


def test_parquet_regression_and_task_override(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pd.DataFrame({"x": np.arange(6.0), "target": [3, 4, 5, 3, 4, 5]}).to_parquet(path)
    assert load_dataset(f"file:{path}").task == "multiclass"
    ds = load_dataset(f"file:{path}?task=regression")
    assert ds.task == "regression"
    assert ds.y.dtype == np.float64
    assert ds.y.tolist() == [3, 4, 5, 3, 4, 5]


def test_rows_without_target_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _table(tmp_path / "m.csv", pd.DataFrame({"x": [1, 2, 3, 4], "target": [0, None, 1, 1]}))
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(f"file:{path}")
    assert ds.n_rows == 3
    assert ds.X["x"].tolist() == [1, 3, 4]
    assert "dropped 1 of 4 rows" in caplog.text


@pytest.mark.parametrize(
    ("frame", "uri_options", "message"),
    [
        (pd.DataFrame({"x": [1, 2], "target": [1, 1]}), "", "single class"),
        (pd.DataFrame({"x": [1, 2], "target": [None, None]}), "", "no values"),
        (pd.DataFrame({"x": [1, 2], "target": [0, 1]}), "?target=price", "no column 'price'"),
        (pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}), "?task=regression", "must be numeric"),
        (pd.DataFrame({"x": [1, 2], "y": [0, 1]}), "?task=ordinal", "not one of"),
        (pd.DataFrame({"target": [0, 1]}), "", "no features"),
    ],
)
def test_bad_tables_raise_data_error(
    tmp_path: Path, frame: pd.DataFrame, uri_options: str, message: str
) -> None:
    path = _table(tmp_path / "bad.csv", frame)
    with pytest.raises(DataError, match=message):
        load_dataset(f"file:{path}{uri_options}")


def test_missing_corrupt_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_dataset(f"file:{tmp_path / 'nope.csv'}")
    corrupt = tmp_path / "broken.parquet"
    corrupt.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(f"file:{corrupt}")
    gz = tmp_path / "broken.csv.gz"
    gz.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(f"file:{gz}")
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_dataset(f"file:{other}")


def test_npz_images_with_class_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "imgs.npz"
    images = rng.integers(0, 256, (12, 5, 4, 3), dtype=np.uint8)
    np.savez(path, X=images, y=np.arange(12) % 3, class_names=np.array(["a", "b", "c"]))
    ds = load_dataset(f"npz:{path}")
    assert (ds.modality, ds.task, ds.image_shape) == ("image", "multiclass", (5, 4, 3))
    assert ds.class_names == ("a", "b", "c")
    assert np.array_equal(ds.X, images)


@pytest.mark.parametrize(
    ("pixels", "expected"),
    [
        (np.array([0.0, 0.5, 1.0]), [0, 128, 255]),  # floats in [0, 1]: times 255
        (np.array([0, 16, 200], dtype=np.int64), [0, 16, 200]),  # already 0..255: kept
        (np.array([-1.0, 0.0, 1.0]), [0, 128, 255]),  # anything else: min-max to 0..255
        (np.array([0, 1000, 500], dtype=np.int32), [0, 255, 128]),
    ],
)
def test_npz_pixel_conversion_rule(tmp_path: Path, pixels: np.ndarray, expected: list) -> None:
    images = np.broadcast_to(pixels.reshape(1, 1, 3), (4, 2, 3)).copy()
    path = tmp_path / "p.npz"
    np.savez(path, X=images, y=np.array([0, 1, 0, 1]))
    ds = load_dataset(f"npz:{path}")
    assert ds.X.dtype == np.uint8
    assert ds.X[0, 0].tolist() == expected


def test_bad_npz_archives(tmp_path: Path) -> None:
    no_y = tmp_path / "no_y.npz"
    np.savez(no_y, X=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(DataError, match="lacks y"):
        load_dataset(f"npz:{no_y}")
    flat = tmp_path / "flat.npz"
    np.savez(flat, X=np.zeros((2, 9), np.uint8), y=np.array([0, 1]))
    with pytest.raises(DataError, match="N×H×W"):
        load_dataset(f"npz:{flat}")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(f"npz:{broken}")


def _png(path: Path, size: tuple[int, int], mode: str = "L", value: int = 0) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def test_image_folder_reads_classes_from_subfolders(tmp_path: Path) -> None:
    for i in range(3):
        _png(tmp_path / "imgs" / "cat" / f"{i}.png", (6, 4), value=10 * i)
        _png(tmp_path / "imgs" / "dog" / f"{i}.PNG", (6, 4), value=200)
    (tmp_path / "imgs" / "dog" / "notes.txt").write_text("ignored")
    ds = load_dataset(f"imagefolder:{tmp_path / 'imgs'}")
    assert (ds.name, ds.task, ds.image_shape) == ("imgs", "binary", (4, 6))
    assert ds.class_names == ("cat", "dog")
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.X[1, 0, 0] == 10


def test_image_folder_mixes_grey_and_colour_as_rgb(tmp_path: Path) -> None:
    _png(tmp_path / "a" / "x" / "1.png", (3, 3), "L", 50)
    _png(tmp_path / "a" / "y" / "1.png", (3, 3), "RGB", 90)
    ds = load_dataset(f"imagefolder:{tmp_path / 'a'}")
    assert ds.image_shape == (3, 3, 3)
    assert ds.X[0, 0, 0].tolist() == [50, 50, 50]


def test_image_folder_errors(tmp_path: Path) -> None:
    _png(tmp_path / "mixed" / "a" / "1.png", (4, 4))
    _png(tmp_path / "mixed" / "b" / "1.png", (5, 4))
    with pytest.raises(DataError, match="differ in size"):
        load_dataset(f"imagefolder:{tmp_path / 'mixed'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no PNG/JPEG images"):
        load_dataset(f"imagefolder:{tmp_path / 'empty'}")
    _png(tmp_path / "corrupt" / "a" / "1.png", (4, 4))
    (tmp_path / "corrupt" / "b").mkdir()
    (tmp_path / "corrupt" / "b" / "1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="cannot decode"):
        load_dataset(f"imagefolder:{tmp_path / 'corrupt'}")
    with pytest.raises(DataError, match="not a folder"):
        load_dataset(f"imagefolder:{tmp_path / 'missing'}")


def test_textcsv_with_named_columns_and_label_names(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "review": ["good stuff", "bad", "  ", "great", None, "awful"],
            "stars": [1, 0, 1, 1, 0, 0],
            "stars_name": ["pos", "neg", "pos", "pos", "neg", "neg"],
        }
    )
    path = _table(tmp_path / "reviews.csv", frame)
    ds = load_dataset(f"textcsv:{path}?text=review&label=stars")
    assert (ds.modality, ds.task, ds.n_rows) == ("text", "binary", 4)
    assert ds.X.tolist() == ["good stuff", "bad", "great", "awful"]
    assert ds.class_names == ("neg", "pos")
    assert ds.y.tolist() == [1, 0, 1, 0]


def test_textcsv_errors(tmp_path: Path) -> None:
    empty = _table(tmp_path / "e.csv", pd.DataFrame({"text": ["", " "], "label": [0, 1]}))
    with pytest.raises(DataError, match="every text is empty"):
        load_dataset(f"textcsv:{empty}")
    wrong = _table(tmp_path / "w.csv", pd.DataFrame({"body": ["a", "b"], "label": [0, 1]}))
    with pytest.raises(DataError, match=r"no column 'text'.*body"):
        load_dataset(f"textcsv:{wrong}")


def test_builtin_catalogue_and_every_builtin_loads() -> None:
    catalogue = {entry["name"]: entry for entry in builtin_catalogue()}
    assert {"breast_cancer", "diabetes", "wine", "digits", "fine_foods"} <= set(catalogue)
    for name, entry in catalogue.items():
        assert entry["uri"] == f"builtin:{name}"
        ds = load_dataset(entry["uri"])
        assert (ds.modality, ds.task) == (entry["modality"], entry["task"]), name
        assert ds.n_rows == len(ds.X) > 100


def test_builtin_specifics() -> None:
    digits = load_dataset("builtin:digits")
    assert (digits.X.dtype, digits.image_shape, int(digits.X.max())) == (np.uint8, (8, 8), 16)
    foods = load_dataset("builtin:fine_foods")
    assert (foods.n_rows, foods.class_names) == (5000, ("great", "other"))
    assert isinstance(foods.X[0], str)
    cancer = load_dataset("builtin:breast_cancer")
    assert np.bincount(cancer.y).tolist() == [212, 357]
    assert cancer.class_names == ("malignant", "benign")
    with pytest.raises(DataError, match=r"no builtin dataset 'mnist'.*digits"):
        load_dataset("builtin:mnist")


def test_hf_without_datasets_package_says_how_to_install() -> None:
    import importlib.util

    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("the datasets package is installed")
    with pytest.raises(DataError, match=r"pip install 'dlvsml\[hf\]'"):
        load_dataset("hf:imdb")


def test_openml_offline_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    def offline(**_: object) -> None:
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataError, match=r"cannot download from OpenML.*file:PATH"):
        load_dataset("openml:61")


def test_textcsv_rows_need_both_text_and_label(tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": ["", "only text"], "label": [0, None]})
    path = _table(tmp_path / "t.csv", frame)
    with pytest.raises(DataError, match="every text is empty"):
        load_dataset(f"textcsv:{path}")
    with pytest.raises(DataError, match=r"set \?label=COLUMN"):
        load_dataset(f"textcsv:{path}?label=stars")
