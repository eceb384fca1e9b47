"""The notebook API without running cells: data to URIs, specs, errors, tables, lazy import."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

import dlvsml
from dlvsml._api import advice, compare, inputs
from dlvsml._api.compare import comparison_spec, default_name
from dlvsml._api.comparison import Comparison
from dlvsml._api.inputs import source_uri
from dlvsml.errors import DataError, DlvsmlError, SpecError
from dlvsml.run.suite import RunSummary
from dlvsml.spec import load_spec


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def test_import_is_lazy() -> None:
    """`import dlvsml` loads none of the heavy libraries (import weight, checked by what is
    imported rather than by a wall-clock time that flakes on a loaded machine)."""
    heavy = ["pandas", "numpy", "sklearn", "torch", "mlflow", "optuna", "xgboost", "lightgbm"]
    code = f"import sys, dlvsml; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_public_names() -> None:
    assert {"compare", "Comparison", "recommend", "load", "DlvsmlError", "__version__"} <= set(
        dlvsml.__all__
    )
    assert dlvsml.compare is compare.compare
    assert dlvsml.Comparison is Comparison
    assert dlvsml.load is advice.load
    with pytest.raises(AttributeError):
        dlvsml.no_such_name  # noqa: B018


def test_recommend_is_a_function_beside_the_recommender_package() -> None:
    import dlvsml.recommender.engine as engine
    from dlvsml import recommend
    from dlvsml.recommender import Facts

    assert engine.recommend(Facts(modality="image", n_samples=200_000, gpu=True)).verdict == "deep"
    assert recommend(modality="image", n_samples=200_000, gpu=True).verdict == "deep"
    assert dlvsml.recommend is advice.recommend  # importing the package did not replace it
    assert dlvsml.recommender.Facts is Facts


def test_docstring_examples_run() -> None:
    for module in (dlvsml, advice, compare, inputs):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__


def test_same_frame_same_uri_written_once(cancer: pd.DataFrame, cache: Path) -> None:
    first = source_uri(cancer, "target")
    path = Path(first.removeprefix("file:").split("?")[0])
    stamp = path.stat().st_mtime_ns
    assert source_uri(cancer.copy(), "target") == first
    assert path.stat().st_mtime_ns == stamp
    assert path.parent == cache / "frames"
    changed = cancer.copy()
    changed.iloc[0, 0] += 1
    assert source_uri(changed, "target") != first
    loaded = dlvsml.load(first)
    assert loaded.n_rows == len(cancer) and loaded.task == "binary"
    assert list(loaded.X.columns) == [c for c in cancer.columns if c != "target"]


def test_arrays_become_images_tables_and_texts() -> None:
    digits = load_digits()
    images = dlvsml.load(source_uri((digits.images.astype(np.uint8), digits.target)))
    assert images.modality == "image" and images.X.shape == (1797, 8, 8)
    assert np.array_equal(images.y, digits.target)
    table = dlvsml.load(source_uri((digits.data, digits.target)))
    assert table.modality == "tabular" and table.X.shape == (1797, 64)
    texts = ["good food", "awful", "tasty and cheap", "cold and late"] * 5
    labels = ["pos", "neg", "pos", "neg"] * 5
    loaded = dlvsml.load(source_uri((texts, labels)))
    assert loaded.modality == "text" and list(loaded.X[:2]) == texts[:2]
    assert loaded.class_names == ("neg", "pos")
    assert source_uri((texts, labels)) == source_uri((np.array(texts), pd.Series(labels)))


def test_dataframe_with_a_text_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"review": ["great", "bad", "fine", "awful"] * 3, "y": [1, 0, 1, 0] * 3})
    loaded = dlvsml.load(source_uri(frame, "y", modality="text"))
    assert loaded.modality == "text" and loaded.n_rows == 12


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda df: source_uri(df, "nope"), DataError, "not a column"),
        (lambda df: source_uri(df.drop(columns="target")), DataError, "give target="),
        (lambda df: source_uri(df.iloc[:0], "target"), DataError, "empty"),
        (lambda df: source_uri(df, "target", modality="audio"), DataError, "unknown modality"),
        (lambda df: source_uri((np.zeros((5, 2)), [0, 1])), DataError, "5 rows but y has 2"),
        (lambda df: source_uri((["a", 3, "c"], [0, 1, 0])), DataError, "texts must be str"),
        (lambda df: source_uri(([], [])), DataError, "empty"),
        (lambda df: source_uri((np.zeros(5), np.zeros(5))), DataError, "reshape"),
        (lambda df: source_uri({"a": 1}), DataError, "cannot compare a dict"),
        (lambda df: source_uri("builtin:iris", "species"), DataError, "URI names its target"),
        (lambda df: source_uri((np.zeros((4, 2)), [0, 1, 0, 1]), "y"), DataError, "leave target"),
        (lambda df: comparison_spec("builtin:iris", budget="lots"), SpecError, "budget"),
        (lambda df: comparison_spec("builtin:iris", budget={"trials": 0}), SpecError, "trials"),
        (lambda df: comparison_spec("builtin:iris", budget=-1), SpecError, "trials"),
        (lambda df: comparison_spec("builtin:iris", models=["nope"]), SpecError, "unknown model"),
        (lambda df: comparison_spec("builtin:iris", train_sizes=[0]), SpecError, "train_sizes"),
        (lambda df: comparison_spec("builtin:iris", colour="red"), SpecError, "unknown field"),
        (lambda df: dlvsml.compare(df, "target", modality="image"), DataError, "images"),
        (lambda df: dlvsml.compare("builtin:iris", modality="text"), DataError, "not text"),
        (lambda df: dlvsml.recommend(), DlvsmlError, "modality="),
        (lambda df: dlvsml.recommend(modality="tabular", colour=1), DlvsmlError, "unknown fact"),
        (lambda df: dlvsml.load(42), DlvsmlError, "source URI"),
        (lambda df: dlvsml.load("nowhere:x"), DataError, "unknown data source scheme"),
    ],
)
def test_bad_arguments_raise_dlvsml_errors(
    cancer: pd.DataFrame, call, error: type[Exception], words: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(error) as caught:
        call(cancer)
    assert words in str(caught.value)
    assert not (tmp_path / "mlflow.db").exists()  # refused before anything ran


def test_spec_is_the_one_a_yaml_file_gives(tmp_path: Path) -> None:
    uri = "builtin:wine"
    built = comparison_spec(
        uri, train_sizes=np.array([30, 60]), models=["linear", "mlp"], seeds=2, budget=3
    )
    (tmp_path / "spec.yaml").write_text(
        f"name: {default_name(uri)}\ndatasets: ['{uri}']\ntrain_sizes: [30, 60]\n"
        "models: [linear, mlp]\nseeds: [0, 1]\nbudget: {trials: 3}\n"
    )
    assert built == load_spec(tmp_path / "spec.yaml")
    assert comparison_spec(uri, name="mine", models="svm").models == ["svm"]
    assert default_name(uri) != default_name("builtin:iris")


def _records() -> pd.DataFrame:
    """Cells as `results_frame` gives them: two models, two sizes, two seeds."""
    rows = []
    scores = {("linear", 30): 0.80, ("linear", 60): 0.82, ("mlp", 30): 0.70, ("mlp", 60): 0.90}
    for (model, size), score in scores.items():
        for seed in (0, 1):
            rows.append(
                {
                    "cell_key": f"{model}{size}{seed}",
                    "dataset": "toy",
                    "modality": "tabular",
                    "task": "binary",
                    "train_size": size,
                    "model": model,
                    "family": "classical" if model == "linear" else "neural",
                    "seed": seed,
                    "status": "finished",
                    "metric": "balanced_accuracy",
                    "test_balanced_accuracy": score + 0.01 * seed,
                    "validation_score": score,
                    "fit_seconds": 1.0,
                }
            )
    return pd.DataFrame(rows)


def _comparison(records: pd.DataFrame) -> Comparison:
    spec = comparison_spec("builtin:iris", train_sizes=[30, 60], models=["linear", "mlp"])
    summary = RunSummary(spec.name, "sqlite:///x.db", "1", 8, 0, finished=["a"] * 8)
    comparison = Comparison(spec, summary, tuple(records["cell_key"]))
    comparison.__dict__["records"] = records  # what MLflow would return
    return comparison


def test_leaderboard_ranks_models_by_mean_score() -> None:
    comparison = _comparison(_records())
    board = comparison.leaderboard()
    assert list(board["model"]) == ["mlp", "linear"]
    assert board.index.tolist() == [1, 2]
    assert board["score"].tolist() == pytest.approx([0.905, 0.825])
    assert (board["train_size"] == 60).all() and (board["n_seeds"] == 2).all()
    assert list(comparison.leaderboard(size=30)["model"]) == ["linear", "mlp"]
    with pytest.raises(DataError, match="the sizes are"):
        comparison.leaderboard(size=45)
    assert "mlp" in repr(comparison) and "<table" in comparison._repr_html_()


def test_curves_crossover_and_plot() -> None:
    comparison = _comparison(_records())
    curves = comparison.learning_curves()
    assert set(curves["kind"]) == {"model", "family"}
    assert len(curves) == 8
    crossing = comparison.crossover(n_boot=50)
    assert crossing.loc[0, "status"] == "crossed"
    assert 30 < crossing.loc[0, "crossover_size"] < 60
    figure = comparison.plot()
    assert figure.axes[0].get_xscale() == "log"
    assert figure.axes[0].get_legend_handles_labels()[1]


def test_no_finished_cell_is_a_clear_error() -> None:
    records = _records().assign(status="failed")
    with pytest.raises(DlvsmlError, match="no cell of"):
        _comparison(records).leaderboard()


def test_recommend_profiles_a_dataframe_and_facts_override(cancer: pd.DataFrame) -> None:
    result = dlvsml.recommend(cancer, target="target", gpu=False)
    assert result.facts["n_samples"] == len(cancer) and result.facts["gpu"] is False
    assert result.verdict == "classical" and "no_gpu" in [rule.id for rule in result.trace]
    bigger = dlvsml.recommend(cancer, target="target", n_samples=5_000_000, gpu=True)
    assert bigger.facts["n_samples"] == 5_000_000
    assert bigger.scores["deep"] > result.scores["deep"]


def test_the_users_matplotlib_backend_survives_the_api() -> None:
    """In Jupyter the inline backend must stay, or the user's own figures stop showing."""
    code = (
        "import matplotlib; matplotlib.use('svg'); import dlvsml; "
        "from dlvsml._api.comparison import _analysis; _analysis(); "
        "dlvsml.recommend('builtin:iris'); print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "svg"


def test_in_memory_data_are_named_by_the_user_not_by_a_hash() -> None:
    cancer = load_breast_cancer(as_frame=True).frame
    assert dlvsml.load(source_uri(cancer, "target")).name.startswith("frame-")
    assert dlvsml.load(source_uri(cancer, "target", name="cancer survey")).name == "cancer_survey"
    cancer.attrs["name"] = "tumours"
    assert dlvsml.load(source_uri(cancer, "target")).name == "tumours"
    digits = load_digits()
    pair = (digits.images.astype(np.uint8), digits.target)
    assert dlvsml.load(source_uri(pair, name="digits8")).name == "digits8"
    # The same data under another name are the same bytes: the cached file is linked, not redone.
    assert source_uri(cancer, "target", name="a") != source_uri(cancer, "target", name="b")
