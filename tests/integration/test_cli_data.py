"""`dlvsml datasets list|show` and `dlvsml profile` as a user runs them, good input and bad."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DLVSML_CACHE": str(tmp_path / "cache")}


def test_datasets_list_json(env: dict) -> None:
    result = run_cli("datasets", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    entries = {entry["uri"]: entry for entry in json.loads(result.stdout)}
    assert entries["builtin:digits"]["modality"] == "image"
    assert entries["builtin:fine_foods"]["task"] == "binary"
    assert entries["builtin:diabetes"]["task"] == "regression"
    assert all(
        set(e) == {"uri", "name", "modality", "task", "description"} for e in entries.values()
    )


def test_datasets_show_adult(shared_data: Path, env: dict) -> None:
    """The URI is relative to the repository, as a user beside ../shared would write it."""
    uri = "file:../shared/data/tabular/adult.parquet?target=target"
    result = run_cli("datasets", "show", uri, "--json", cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["n_rows"], summary["modality"], summary["task"]) == (48842, "tabular", "binary")
    assert (summary["n_features"], summary["n_categorical"]) == (14, 8)


def test_profile_json(env: dict) -> None:
    result = run_cli("profile", "builtin:wine", "--json", env=env)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert (facts["modality"], facts["task"], facts["n_rows"], facts["n_classes"]) == (
        "tabular",
        "multiclass",
        178,
        3,
    )
    assert facts["imbalance_ratio"] == pytest.approx(71 / 48)
    assert "mfe.class_ent" in facts


def test_rows_without_target_warn_in_one_line(tmp_path: Path, env: dict) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3, 4], "target": [0, None, 1, 1]}).to_csv(path, index=False)
    result = run_cli("datasets", "show", f"file:{path}", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_rows"] == 3
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"file:{path}: dropped 1 of 4 rows whose target is missing"
    ]


def _csv(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _png(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size).save(path)


def _bad_inputs(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (URI, text the one error line must contain), with the files each needs."""
    ok = _csv(tmp, "ok.csv", pd.DataFrame({"x": [1, 2, 3], "target": [0, 1, 0]}))
    one = _csv(tmp, "one.csv", pd.DataFrame({"x": [1, 2], "target": [1, 1]}))
    none = _csv(tmp, "none.csv", pd.DataFrame({"x": [1, 2], "target": [None, None]}))
    words = _csv(tmp, "words.csv", pd.DataFrame({"x": [1, 2], "target": ["lo", "hi"]}))
    empty = _csv(tmp, "empty.csv", pd.DataFrame({"text": ["", "  "], "label": [0, 1]}))
    (tmp / "broken.parquet").write_bytes(b"this is not parquet")
    (tmp / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    np.savez(tmp / "flat.npz", X=np.zeros((2, 9), np.uint8), y=np.array([0, 1]))
    _png(tmp / "shapes" / "a" / "1.png", (4, 4))
    _png(tmp / "shapes" / "b" / "1.png", (5, 4))
    return {
        "missing file": (f"file:{tmp / 'absent.csv'}", "no such file"),
        "corrupt file": (f"file:{tmp / 'broken.parquet'}", "cannot read"),
        "corrupt npz": (f"npz:{tmp / 'broken.npz'}", "cannot read"),
        "not images": (f"npz:{tmp / 'flat.npz'}", "N×H×W"),
        "unknown scheme": ("csv:data.csv", "known schemes: builtin, file"),
        "no scheme": ("data.csv", "not a source URI"),
        "unknown builtin": ("builtin:mnist", "no builtin dataset 'mnist'"),
        "no such target": (f"file:{ok}?target=price", "no column 'price'; the columns are x"),
        "unknown option": (f"file:{ok}?targte=x", "unknown option targte"),
        "bad task": (f"file:{ok}?task=ordinal", "task='ordinal'"),
        "one class": (f"file:{one}", "single class"),
        "all missing target": (f"file:{none}", "no values"),
        "words as regression": (f"file:{words}?task=regression", "must be numeric"),
        "empty texts": (f"textcsv:{empty}", "every text is empty"),
        "no text column": (f"textcsv:{ok}", "no column 'text'"),
        "mixed image shapes": (f"imagefolder:{tmp / 'shapes'}", "differ in size"),
        "not a folder": (f"imagefolder:{ok}", "not a folder"),
        "hf without datasets": ("hf:imdb", "pip install"),
        "openml offline": ("openml:61", "cannot download from OpenML"),
    }


BAD_NAMES = [
    "missing file",
    "corrupt file",
    "corrupt npz",
    "not images",
    "unknown scheme",
    "no scheme",
    "unknown builtin",
    "no such target",
    "unknown option",
    "bad task",
    "one class",
    "all missing target",
    "words as regression",
    "empty texts",
    "no text column",
    "mixed image shapes",
    "not a folder",
    "hf without datasets",
    "openml offline",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, env: dict, name: str) -> None:
    if name == "hf without datasets" and importlib.util.find_spec("datasets") is not None:
        pytest.skip("the datasets package is installed")
    uri, expected = _bad_inputs(tmp_path)[name]
    # A dead proxy makes "offline" quick and certain wherever the test runs.
    offline = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    command = ("profile", uri) if name == "one class" else ("datasets", "show", uri)
    result = run_cli(*command, cwd=tmp_path, env={**env, **offline}, timeout=120)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
