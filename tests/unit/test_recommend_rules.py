"""The knowledge base: every rule can fire, its models exist, broken files fail clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dlvsml.errors import DlvsmlError
from dlvsml.recommender import load_rules, make_facts, recommend
from dlvsml.recommender.rules import MODALITIES, VERDICTS, default_rules

PACKAGED = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "dlvsml" / "recommender" / "rules.yaml").read_text()
)

# Facts built to make each rule fire; every rule in rules.yaml must have a row here.
TRIGGERS: dict[str, dict[str, Any]] = {
    "tabular_data": {"modality": "tabular"},
    "image_data": {"modality": "image"},
    "text_data": {"modality": "text"},
    "tabular_below_dl_size": {"modality": "tabular", "n_samples": 20_000},
    "tabular_above_dl_size": {"modality": "tabular", "n_samples": 60_000},
    "image_below_dl_size": {"modality": "image", "n_samples": 2_000},
    "image_above_dl_size": {"modality": "image", "n_samples": 10_000},
    "text_below_dl_size": {"modality": "text", "n_samples": 5_000},
    "text_above_dl_size": {"modality": "text", "n_samples": 20_000},
    "very_large_data": {"modality": "tabular", "n_samples": 200_000},
    "small_data": {"modality": "tabular", "n_samples": 500},
    "tiny_data": {"modality": "text", "n_samples": 100},
    "irregular_skewed_features": {"modality": "tabular", "skewness_mean_abs": 3.0},
    "heavy_tailed_features": {"modality": "tabular", "kurtosis_mean_abs": 20.0},
    "many_categorical_features": {"modality": "tabular", "categorical_share": 0.8},
    "missing_values": {"modality": "tabular", "missing_ratio": 0.2},
    "few_rows_per_feature": {"modality": "tabular", "n_samples": 500, "n_features": 100},
    "wide_tabular_many_rows": {"modality": "tabular", "n_samples": 100_000, "n_features": 2000},
    "tabular_foundation_model": {
        "modality": "tabular",
        "pretrained_available": True,
        "n_samples": 2000,
        "n_features": 20,
    },
    "high_class_imbalance": {"modality": "tabular", "imbalance_ratio": 50.0},
    "many_classes": {"modality": "image", "n_classes": 1000},
    "long_documents": {"modality": "text", "words_mean": 800.0},
    "short_texts_pretrained": {
        "modality": "text",
        "words_mean": 12.0,
        "pretrained_available": True,
    },
    "tiny_images": {"modality": "image", "image_pixels": 64},
    "large_images": {"modality": "image", "image_pixels": 224 * 224},
    "pretrained_unstructured": {"modality": "image", "pretrained_available": True},
    "gpu_available": {"modality": "tabular", "gpu": True},
    "no_gpu": {"modality": "tabular", "gpu": False},
    "short_time_budget": {"modality": "tabular", "train_time_budget_minutes": 5.0},
    "long_time_budget": {"modality": "image", "train_time_budget_minutes": 600.0},
    "cpu_short_budget_large_unstructured": {
        "modality": "image",
        "gpu": False,
        "n_samples": 500_000,
        "train_time_budget_minutes": 5.0,
    },
    "latency_tabular": {"modality": "tabular", "latency_budget_ms": 0.5},
    "latency_image": {"modality": "image", "latency_budget_ms": 2.0},
    "latency_text": {"modality": "text", "latency_budget_ms": 5.0},
    "interpretability_required": {"modality": "text", "interpretability": "required"},
    "interpretability_preferred": {"modality": "tabular", "interpretability": "preferred"},
    "data_growth_expected": {"modality": "image", "data_growth_expected": True},
    "measured_classical_lead": {"modality": "image", "measured_classical_win_rate": 0.9},
    "measured_neural_lead": {"modality": "tabular", "measured_classical_win_rate": 0.1},
}


def test_the_trigger_table_covers_every_rule_and_no_other() -> None:
    assert set(TRIGGERS) == set(default_rules().rule_ids)


def test_the_knowledge_base_has_at_least_25_rules_with_reasons_and_sources() -> None:
    rules = default_rules().rules
    assert len(rules) >= 25
    assert all(rule.reason and rule.source for rule in rules)
    assert {rule.effect.side for rule in rules} == {"classical", "deep"}
    assert any(rule.effect.hard for rule in rules)


@pytest.mark.parametrize("rule_id", default_rules().rule_ids)
def test_each_rule_fires_on_facts_built_for_it(rule_id: str) -> None:
    result = recommend(make_facts(TRIGGERS[rule_id]))
    assert rule_id in [fired.id for fired in result.trace]


@pytest.mark.parametrize("rule_id", ["tabular_below_dl_size", "tiny_images", "latency_text"])
def test_a_rule_does_not_fire_on_the_other_modality(rule_id: str) -> None:
    facts = {**TRIGGERS[rule_id], "modality": "image" if rule_id != "tiny_images" else "text"}
    result = recommend(make_facts(facts))
    assert rule_id not in [fired.id for fired in result.trace]
    assert rule_id not in [rule.id for rule in result.unknown]  # decided false, not unknown


def test_every_suggested_model_is_registered_for_its_modality() -> None:
    from dlvsml.models import all_models

    registered = all_models()
    models = default_rules().models
    assert set(models) == set(VERDICTS)
    for verdict in VERDICTS:
        for modality in MODALITIES:
            for suggestion in models[verdict][modality]:
                spec = registered.get(suggestion.model)
                assert spec is not None, f"{verdict}.{modality}: {suggestion.model} not registered"
                assert modality in spec.modalities, f"{suggestion.model} lacks {modality}"
                expected = "neural" if verdict == "deep" else "classical"
                if verdict != "try_both" and not suggestion.baseline:
                    assert spec.family == expected, f"{verdict}.{modality}: {suggestion.model}"


# --- malformed rule files -------------------------------------------------------------------------


def _write(tmp_path: Path, content: dict | str) -> Path:
    path = tmp_path / "my_rules.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def _with_rule(rule: dict) -> dict:
    return {**PACKAGED, "rules": [*PACKAGED["rules"], rule]}


GOOD = {"id": "mine", "when": "n_samples > 10", "effect": {"toward": "deep", "weight": 1}}
GOOD |= {"reason": "because", "source": "own reasoning"}


def test_a_users_valid_file_loads_with_its_extra_rule(tmp_path: Path) -> None:
    rules = load_rules(_write(tmp_path, _with_rule(GOOD)))
    assert rules.rule_ids[-1] == "mine"
    assert rules.path.endswith("my_rules.yaml")
    result = recommend(make_facts({"modality": "tabular", "n_samples": 50}), rules)
    assert "mine" in [fired.id for fired in result.trace]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"reason": None}, "missing key 'reason'"),
        ({"effect": {"boost": "deep"}}, "unknown effect key 'effect.boost'"),
        ({"effect": {"toward": "deep"}}, "an effect is {toward"),
        ({"effect": {"toward": "sideways", "weight": 1}}, "effect.toward"),
        ({"effect": {"require": "classical", "weight": 2}}, "an effect is {toward"),
        ({"effect": {"toward": "deep", "weight": -1}}, "effect.weight"),
        ({"when": "n_samples <"}, "syntax error"),
        ({"when": "n_rows > 10"}, "unknown name 'n_rows'"),
        ({"when": "n_samples > dl_min_samples_audio"}, "unknown name 'dl_min_samples_audio'"),
        ({"when": "modality > 3"}, "cannot be evaluated"),
        ({"when": "n_samples + 1"}, "not true or false"),
        ({"when": "n_samples.real > 3"}, "Attribute is not allowed"),
        ({"when": "__import__('os').system('true')"}, "may be called"),
        ({"when": "", "id": "mine"}, "non-empty"),
        ({"id": "has space"}, "'id'"),
        ({"id": "tabular_data"}, "duplicate id"),
    ],
)
def test_malformed_rules_name_the_file_the_rule_and_the_problem(
    tmp_path: Path, change: dict, problem: str
) -> None:
    rule = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    path = _write(tmp_path, _with_rule(rule))
    with pytest.raises(DlvsmlError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert str(path) in message
    assert repr(rule["id"]) in message
    assert problem in message


def test_a_rule_without_an_id_is_named_by_its_position(tmp_path: Path) -> None:
    rule = {key: value for key, value in GOOD.items() if key != "id"}
    path = _write(tmp_path, _with_rule(rule))
    with pytest.raises(DlvsmlError, match=rf"rule #{len(PACKAGED['rules']) + 1} \(no id\)"):
        load_rules(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("rules: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ({**PACKAGED, "thresholds": {"n_samples": 5}}, "has the name of a fact"),
        (
            {**PACKAGED, "thresholds": {**PACKAGED["thresholds"], "small_data": "many"}},
            "small_data",
        ),
        ({**PACKAGED, "models": {**PACKAGED["models"], "deep": {}}}, "no suggestions for deep"),
        ({k: v for k, v in PACKAGED.items() if k != "rules"}, "missing key 'rules'"),
        ({**PACKAGED, "scoring": {"constraint_precedence": ["deep", "deep"]}}, "precedence"),
        ({**PACKAGED, "scoring": {"confidence_scale": 0}}, "confidence_scale"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, content: dict | str, problem: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(DlvsmlError) as raised:
        load_rules(path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_a_bad_model_suggestion_condition_names_the_model(tmp_path: Path) -> None:
    models = {**PACKAGED["models"]}
    models["deep"] = {**models["deep"], "text": [{"model": "x", "trials": 1, "seconds": 1}]}
    models["deep"]["text"][0]["when"] = "n_rows > 5"
    with pytest.raises(DlvsmlError, match=r"models\.deep\.text: model 'x'.*unknown name 'n_rows'"):
        load_rules(_write(tmp_path, {**PACKAGED, "models": models}))


def test_a_missing_rules_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DlvsmlError, match="cannot read rules file"):
        load_rules(tmp_path / "absent.yaml")
