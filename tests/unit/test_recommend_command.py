"""`dlvsml recommend` end to end: flags only, profiled datasets, JSON and the rich panel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dlvsml.cli_recommend import recommend
from dlvsml.errors import DlvsmlError

app = typer.Typer()
app.command("recommend")(recommend)


@app.callback()
def _group() -> None:
    """Keeps `recommend` a named subcommand, as on the real app."""


runner = CliRunner()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["recommend", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _fired(payload: dict) -> list[str]:
    return [rule["id"] for rule in payload["trace"]]


@pytest.mark.parametrize(
    ("args", "verdict", "decided_by"),
    [
        (["--modality", "image", "--n-samples", "200000", "--gpu"], "deep", "weights"),
        (
            ["--modality", "text", "--n-samples", "300", "--interpretability", "required"],
            "classical",
            "constraint",
        ),
        (["--modality", "tabular", "--n-samples", "5000"], "classical", "weights"),
    ],
)
def test_flags_alone(args: list[str], verdict: str, decided_by: str) -> None:
    payload = _json(*args)
    assert (payload["verdict"], payload["decided_by"]) == (verdict, decided_by)
    assert payload["data"] is None
    assert 0.5 <= payload["confidence"] < 1
    assert payload["models"] and all(
        set(m) >= {"model", "trials", "seconds"} for m in payload["models"]
    )
    assert all(use["origin"] == "default" for use in payload["thresholds_used"].values())
    assert payload["rules"] == "dlvsml/recommender/rules.yaml"


def test_the_panel_shows_verdict_models_and_reasons() -> None:
    result = runner.invoke(
        app, ["recommend", "--modality", "image", "--n-samples", "200000", "--gpu"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "deep" in out and "confidence 0.95" in out
    assert "resnet_small" in out and "baseline" in out
    assert "image_above_dl_size" in out and "Enough images for a convolutional net" in out


def test_no_modality_and_no_data_tells_the_user_what_to_give() -> None:
    result = runner.invoke(app, ["recommend", "--n-samples", "5000"])
    assert isinstance(result.exception, DlvsmlError)
    assert "--modality" in str(result.exception) and "--data" in str(result.exception)


def test_a_bad_flag_value_names_the_fact_and_allowed_values() -> None:
    result = runner.invoke(app, ["recommend", "--modality", "tabular", "--interpretability", "x"])
    assert isinstance(result.exception, DlvsmlError)
    assert "'interpretability'" in str(result.exception)
    assert "'required', 'preferred' or 'none'" in str(result.exception)


def test_a_users_rules_file_is_used(tmp_path: Path) -> None:
    import yaml

    packaged = Path(__file__).resolve().parents[2] / "dlvsml" / "recommender" / "rules.yaml"
    raw = yaml.safe_load(packaged.read_text())
    raw["thresholds"]["dl_min_samples_tabular"] = 1000
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(raw))
    payload = _json("--modality", "tabular", "--n-samples", "5000", "--rules", str(path))
    assert payload["rules"] == str(path)
    assert "tabular_above_dl_size" in _fired(payload)
    assert payload["verdict"] == "try_both"


def test_data_breast_cancer_is_small_tabular_so_classical() -> None:
    payload = _json("--data", "builtin:breast_cancer")
    assert payload["data"] == "builtin:breast_cancer"
    assert payload["facts"]["n_samples"] == 569 and payload["facts"]["n_features"] == 30
    assert payload["verdict"] == "classical"
    assert {"tabular_data", "tabular_below_dl_size", "small_data"} <= set(_fired(payload))


def test_data_digits_sees_tiny_images() -> None:
    payload = _json("--data", "builtin:digits")
    assert (payload["facts"]["modality"], payload["facts"]["image_pixels"]) == ("image", 64)
    assert {"image_data", "image_below_dl_size", "tiny_images"} <= set(_fired(payload))
    assert payload["verdict"] == "try_both"
    assert {m["model"] for m in payload["models"]} >= {"svm", "cnn"}


def test_data_fine_foods_with_flags_overriding_the_profile() -> None:
    profiled = _json("--data", "builtin:fine_foods")
    assert profiled["facts"]["modality"] == "text" and profiled["facts"]["n_samples"] == 5000
    assert "text_below_dl_size" in _fired(profiled)
    grown = _json("--data", "builtin:fine_foods", "--n-samples", "50000", "--gpu")
    assert grown["facts"]["n_samples"] == 50000 and grown["facts"]["words_mean"] > 0
    assert {"text_above_dl_size", "gpu_available"} <= set(_fired(grown))
    assert grown["verdict"] == "deep"


def test_data_from_the_shared_adult_table(shared_data: Path) -> None:
    table = shared_data / "tabular" / "adult.parquet"
    if not table.exists():
        pytest.skip("adult.parquet is absent from the shared data")
    payload = _json("--data", f"file:{table}?target=target")
    assert payload["facts"]["n_samples"] > 40_000
    assert payload["verdict"] == "classical"
    assert {"irregular_skewed_features", "many_categorical_features"} <= set(_fired(payload))
