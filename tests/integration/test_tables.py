"""Real tables: column roles, overrides, count targets, and a table with a free-text column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlvsml.data import load_dataset
from dlvsml.data.dataset import fingerprint_of
from dlvsml.errors import DataError, SpecError
from dlvsml.metrics import predict, task_metrics
from dlvsml.models import get_model
from dlvsml.models.registry import ModelContext
from dlvsml.spec import load_spec
from tests.conftest import run_cli

N_ROWS = 600
N_TRAIN = 400
EXPECTED_ROLES = {
    "customer_id": "identifier",
    "signup": "datetime",
    "city": "high_cardinality",
    "plan": "categorical",
    "age": "numeric",
    "comment": "text",
    "country": "constant",
    "churned": "target",
}
GOOD = ["great service, very happy", "love the plan and the support", "excellent value, thanks"]
BAD = ["terrible support, cancelling soon", "awful value and slow help", "poor service, unhappy"]


def churn_frame(seed: int = 0) -> pd.DataFrame:
    """A churn table with every role; only the free-text comment says who churns (85 %)."""
    rng = np.random.default_rng(seed)
    churned = rng.integers(0, 2, N_ROWS)
    says = np.where(rng.random(N_ROWS) < 0.85, churned, 1 - churned)
    comment = [f"{rng.choice(BAD if s else GOOD)} (ticket {i})" for i, s in enumerate(says)]
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, N_ROWS), "D")
    signup = [d.strftime("%Y-%m-%d" if i % 2 else "%d %b %Y") for i, d in enumerate(days)]
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100_000 + i}" for i in range(N_ROWS)],
            "signup": signup,
            "city": [f"city_{k}" for k in rng.integers(0, 200, N_ROWS)],
            "plan": rng.choice(["basic", "plus", "pro"], N_ROWS),
            "age": rng.normal(40, 10, N_ROWS).round(),
            "comment": comment,
            "country": "NL",
            "churned": churned,
        }
    )
    frame.loc[rng.random(N_ROWS) < 0.1, "age"] = np.nan
    frame.loc[rng.random(N_ROWS) < 0.05, "signup"] = None
    frame.loc[rng.random(N_ROWS) < 0.05, "city"] = None
    return frame


@pytest.fixture
def churn_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "churn.csv"
    churn_frame().to_csv(path, index=False)
    return path


def test_every_role_is_inferred_and_noted(churn_csv: Path) -> None:
    dataset = load_dataset(f"file:{churn_csv}?target=churned")
    assert dict(dataset.roles) == EXPECTED_ROLES
    assert (dataset.categorical, dataset.numeric) == (("plan",), ("age",))
    notes = " | ".join(dataset.notes)
    assert "identifier: customer_id" in notes and "constant: country" in notes
    assert len(dataset.notes) == 2  # one line per kind of dropped column


def _test_accuracy(uri: str, model: str) -> float:
    """Fit ``model`` (its defaults) on the first rows, score it on the rest: same rows always."""
    dataset = load_dataset(uri)
    spec = get_model(model)
    estimator = spec.build(dict(spec.defaults), ModelContext.for_dataset(dataset, seed=0))
    train, test = np.arange(N_TRAIN), np.arange(N_TRAIN, N_ROWS)
    estimator.fit(*dataset.take(train))
    X_test, y_test = dataset.take(test)
    predictions = predict(estimator, X_test, dataset.task, dataset.n_classes)
    return task_metrics(dataset.task, y_test, predictions, dataset.n_classes)["accuracy"]


def test_a_linear_model_uses_the_text_column(churn_csv: Path) -> None:
    uri = f"file:{churn_csv}?target=churned"
    with_text = _test_accuracy(uri, "linear")
    without_text = _test_accuracy(uri + "&roles=comment:drop", "linear")
    assert with_text > without_text + 0.15, (with_text, without_text)


@pytest.mark.parametrize("model", ["lightgbm", "mlp"])
def test_trees_and_nets_take_a_table_with_every_role(churn_csv: Path, model: str) -> None:
    accuracy = _test_accuracy(f"file:{churn_csv}?target=churned", model)
    assert accuracy > 0.6  # the comment's signal reaches them through TF-IDF + SVD


def test_roles_enter_the_fingerprint_only_when_they_change_features(churn_csv: Path) -> None:
    plain = load_dataset("builtin:breast_cancer")
    assert plain.fingerprint == fingerprint_of(plain.X, plain.y)
    table = load_dataset(f"file:{churn_csv}?target=churned")
    other = load_dataset(f"file:{churn_csv}?target=churned&roles=comment:drop")
    assert table.fingerprint != fingerprint_of(table.X, table.y) != other.fingerprint


def _counts_table(tmp_path: Path, target: np.ndarray) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.normal(50, 10, len(target)), "visits": target})
    frame.to_csv(tmp_path / "visits.csv", index=False)
    return tmp_path / "visits.csv"


def test_an_integer_count_target_is_regression_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLVSML_CACHE", "off")
    visits = np.random.default_rng(0).negative_binomial(1, 0.08, 800)  # 0..~80, long tail
    path = _counts_table(tmp_path, visits)
    dataset = load_dataset(f"file:{path}?target=visits")
    assert dataset.task == "regression"
    assert any("task=classification" in note for note in dataset.notes)
    forced = load_dataset(f"file:{path}?target=visits&task=classification")
    assert forced.task == "multiclass" and not forced.notes
    shown = run_cli("datasets", "show", f"file:{path}?target=visits", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "task=classification" in json.loads(shown.stdout)["notes"][0]


@pytest.mark.parametrize(
    ("labels", "task"),
    [(np.arange(800) % 3, "multiclass"), (np.arange(800) % 26, "multiclass")],
    ids=["3 classes", "26 frequent classes"],
)
def test_integer_classes_stay_classification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, labels: np.ndarray, task: str
) -> None:
    monkeypatch.setenv("DLVSML_CACHE", "off")
    dataset = load_dataset(f"file:{_counts_table(tmp_path, labels)}?target=visits")
    assert (dataset.task, dataset.notes) == (task, ())


@pytest.mark.parametrize(
    ("target", "says"),
    [("customer_id", "an identifier"), ("signup", "a date"), ("comment", "free text")],
)
def test_an_unlearnable_target_is_refused(churn_csv: Path, target: str, says: str) -> None:
    with pytest.raises(DataError, match=f"looks like {says}"):
        load_dataset(f"file:{churn_csv}?target={target}")


def test_overrides_in_the_uri(churn_csv: Path) -> None:
    uri = f"file:{churn_csv}?target=churned&roles=customer_id:categorical,comment:drop"
    roles = dict(load_dataset(uri).roles)
    assert (roles["customer_id"], roles["comment"], roles["city"]) == (
        "categorical",
        "drop",
        "high_cardinality",
    )


def test_overrides_in_a_spec_entry(churn_csv: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: roles\n"
        "datasets:\n"
        "  - builtin:iris\n"
        f"  - uri: file:{churn_csv}?target=churned\n"
        "    roles: {comment: drop, plan: text}\n"
        "train_sizes: [50]\n"
    )
    datasets = load_spec(spec).datasets
    assert datasets[0] == "builtin:iris"
    roles = dict(load_dataset(datasets[1]).roles)
    assert (roles["comment"], roles["plan"]) == ("drop", "text")
    spec.write_text(spec.read_text().replace("roles: {", "rols: {"))
    with pytest.raises(SpecError, match="unknown keys: rols"):
        load_spec(spec)


def test_overrides_in_the_api_reach_the_run_its_notes_and_the_report(
    churn_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlvsml

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    frame = churn_frame()
    result = dlvsml.compare(
        frame,
        target="churned",
        roles={"comment": "drop"},
        models=["linear"],
        train_sizes=[100],
        budget=1,
        progress=False,
    )
    assert result.summary.failed == [] and len(result.summary.finished) == 1
    assert any("dropped as you asked: comment" in note for note in result.summary.notes)
    assert any("identifier: customer_id" in note for note in result.summary.notes)
    page = result.report(tmp_path / "report.html", n_boot=20).read_text()
    roles_section = page[page.index('id="tables"') : page.index('id="failures"')]
    assert "high_cardinality" in roles_section and "dropped as you asked: comment" in roles_section


@pytest.mark.parametrize(
    ("roles", "says"),
    [("coment:text", "no column 'coment'"), ("comment:words", "unknown role 'words'")],
)
def test_a_bad_override_is_one_line_exit_2(churn_csv: Path, roles: str, says: str) -> None:
    result = run_cli("datasets", "show", f"file:{churn_csv}?target=churned&roles={roles}")
    assert result.returncode == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_datasets_show_and_profile_list_every_column(churn_csv: Path) -> None:
    uri = f"file:{churn_csv}?target=churned"
    for command in (["datasets", "show"], ["profile"]):
        result = run_cli(*command, uri, "--json")
        assert result.returncode == 0, result.stderr
        facts = json.loads(result.stdout)
        columns = {row["column"]: row for row in facts["columns"]}
        assert {c: row["role"] for c, row in columns.items()} == EXPECTED_ROLES
        assert columns["city"]["n_distinct"] > 150 and columns["age"]["missing_share"] > 0.05
        assert len(facts["notes"]) == 2
    shown = run_cli("datasets", "show", uri)
    assert "high_cardinality" in shown.stdout and "note dropped as identifier" in shown.stdout
