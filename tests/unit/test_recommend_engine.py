"""How rules combine: weights, margins, hard constraints, conflicts, thresholds from evidence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dlvsml.errors import DlvsmlError
from dlvsml.recommender import Facts, make_facts, recommend
from dlvsml.recommender.engine import confidence_from_margin
from dlvsml.recommender.rules import VERDICTS, parse_rules

PACKAGED = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "dlvsml" / "recommender" / "rules.yaml").read_text()
)


def _ids(result) -> list[str]:
    return [rule.id for rule in result.trace]


def test_weights_on_both_sides_with_a_small_margin_give_try_both() -> None:
    # tabular_data (+2 classical) against tabular_above_dl_size (+1 deep): margin -1
    result = recommend(make_facts({"modality": "tabular", "n_samples": 60_000}))
    assert _ids(result) == ["tabular_data", "tabular_above_dl_size"]
    assert result.scores == {"classical": 2.0, "deep": 1.0}
    assert result.margin == -1.0
    assert (result.verdict, result.decided_by, result.leaning) == (
        "try_both",
        "weights",
        "classical",
    )
    assert result.confidence == pytest.approx(1 / (1 + math.exp(-1 / 2)))


def test_a_clear_margin_decides_and_confidence_grows_with_it() -> None:
    weak = recommend(make_facts({"modality": "tabular", "n_samples": 20_000}))
    strong = recommend(
        make_facts({"modality": "tabular", "n_samples": 20_000, "skewness_mean_abs": 3.0})
    )
    assert weak.verdict == strong.verdict == "classical"
    assert strong.scores["classical"] == weak.scores["classical"] + 1.5
    assert 0.5 < weak.confidence < strong.confidence < 1


def test_confidence_is_logistic_in_the_margin_and_stays_below_one() -> None:
    assert confidence_from_margin(0, 2.0) == 0.5
    assert confidence_from_margin(-2, 2.0) == pytest.approx(0.7311, abs=1e-4)
    assert confidence_from_margin(6, 2.0) == pytest.approx(0.9526, abs=1e-4)
    assert confidence_from_margin(1000, 2.0) == 0.99


def test_a_hard_constraint_overrides_heavy_weights_the_other_way() -> None:
    deep_case = {
        "modality": "image",
        "n_samples": 500_000,
        "gpu": True,
        "pretrained_available": True,
    }
    unconstrained = recommend(make_facts(deep_case))
    assert unconstrained.verdict == "deep" and unconstrained.scores["deep"] >= 6
    result = recommend(make_facts({**deep_case, "interpretability": "required"}))
    assert (result.verdict, result.decided_by) == ("classical", "constraint")
    assert result.scores == unconstrained.scores  # the weights are still reported
    assert "interpretability_required" in _ids(result) and "image_above_dl_size" in _ids(result)
    assert result.confidence == 0.95
    assert [m.model for m in result.models] == ["lightgbm", "extra_trees", "linear"]  # no svm: n


def test_a_latency_budget_below_cpu_nets_excludes_deep() -> None:
    result = recommend(
        make_facts(
            {"modality": "text", "n_samples": 1_000_000, "gpu": True, "latency_budget_ms": 3}
        )
    )
    assert result.verdict == "classical"
    fired = {rule.id: rule for rule in result.trace}
    assert fired["latency_text"].effect == "exclude"
    assert fired["latency_text"].describe_effect() == "exclude deep"
    assert result.confidence == 0.95  # the weights point the other way: the constraint's own


def test_a_constraint_the_weights_agree_with_keeps_the_weights_higher_confidence() -> None:
    facts = {"modality": "tabular", "n_samples": 500, "skewness_mean_abs": 3.0}
    result = recommend(make_facts({**facts, "latency_budget_ms": 0.2}))
    assert (result.verdict, result.decided_by) == ("classical", "constraint")
    assert result.margin == -7.5
    assert result.confidence == pytest.approx(confidence_from_margin(7.5, 2.0))
    assert result.confidence > 0.95


def _rules_with(*extra: dict, precedence: list[str] | None = None):
    raw = {**PACKAGED, "rules": [*PACKAGED["rules"], *extra]}
    if precedence:
        raw["scoring"] = {**PACKAGED["scoring"], "constraint_precedence": precedence}
    return parse_rules(yaml.safe_dump(raw), "test-rules.yaml")


NEEDS_DEEP = {
    "id": "needs_deep",
    "when": "data_growth_expected",
    "effect": {"require": "deep"},
    "reason": "test",
    "source": "test",
}


@pytest.mark.parametrize(
    ("precedence", "winner"), [(None, "classical"), (["deep", "classical"], "deep")]
)
def test_conflicting_hard_constraints_follow_the_precedence_and_list_both(
    precedence: list[str] | None, winner: str
) -> None:
    rules = _rules_with(NEEDS_DEEP, precedence=precedence)
    facts = make_facts(
        {"modality": "tabular", "interpretability": "required", "data_growth_expected": True}
    )
    result = recommend(facts, rules)
    assert (result.verdict, result.decided_by, result.confidence) == (
        winner,
        "conflicting constraints",
        0.5,
    )
    assert {"interpretability_required", "needs_deep"} <= set(_ids(result))
    assert "needs_deep" in result.explanation and "interpretability_required" in result.explanation


def test_evidence_thresholds_flip_a_verdict_between_two_crossover_sizes() -> None:
    facts = make_facts({"modality": "text", "n_samples": 20_000, "gpu": True})
    default = recommend(facts)
    assert default.verdict == "deep"
    assert default.thresholds_used["dl_min_samples_text"].origin == "default"
    measured = recommend(facts, thresholds={"dl_min_samples_text": 50_000})
    assert measured.verdict == "try_both"
    assert "text_below_dl_size" in _ids(measured) and "text_above_dl_size" not in _ids(measured)
    use = measured.thresholds_used["dl_min_samples_text"]
    assert (use.value, use.origin) == (50_000.0, "evidence")
    assert measured.thresholds_used["large_data"].origin == "default"


def test_only_thresholds_a_decision_depended_on_are_reported() -> None:
    result = recommend(make_facts({"modality": "tabular", "n_samples": 20_000}))
    assert "dl_min_samples_tabular" in result.thresholds_used
    assert "dl_min_samples_image" not in result.thresholds_used  # the image rule fails on modality


@pytest.mark.parametrize(
    ("thresholds", "problem"),
    [({"dl_min_samples_audio": 5}, "unknown threshold"), ({"small_data": "lots"}, "finite number")],
)
def test_bad_threshold_overrides_are_user_errors(thresholds: dict, problem: str) -> None:
    with pytest.raises(DlvsmlError, match=problem):
        recommend(make_facts({"modality": "tabular"}), thresholds=thresholds)


def test_missing_facts_are_listed_as_unknown_not_errors() -> None:
    result = recommend(make_facts({"modality": "tabular"}))
    assert _ids(result) == ["tabular_data"]
    unknown = {rule.id: rule.missing for rule in result.unknown}
    assert unknown["tabular_below_dl_size"] == ("n_samples",)
    assert unknown["few_rows_per_feature"] == ("n_features", "n_samples")
    assert "image_below_dl_size" not in unknown  # false whatever n_samples is


def test_a_rule_failing_at_run_time_names_the_rule(tmp_path: Path) -> None:
    divide = {
        "id": "per_feature",
        "when": "n_samples / (n_features - 30) > 1",
        "effect": {"toward": "deep", "weight": 1},
        "reason": "r",
        "source": "s",
    }
    rules = _rules_with(divide)
    with pytest.raises(DlvsmlError, match=r"test-rules\.yaml: rule 'per_feature'.*division"):
        recommend(make_facts({"modality": "tabular", "n_samples": 5, "n_features": 30}), rules)


def test_model_suggestions_follow_verdict_modality_and_conditions() -> None:
    big = recommend(make_facts({"modality": "image", "n_samples": 200_000, "task": "multiclass"}))
    assert big.verdict == "deep"
    assert [m.model for m in big.models] == ["resnet_small", "cnn", "lightgbm"]
    assert [m.baseline for m in big.models] == [False, False, True]
    regression = recommend(
        make_facts({"modality": "image", "n_samples": 200_000, "task": "regression"})
    )
    assert [m.model for m in regression.models] == ["lightgbm"]  # image nets classify only


def test_the_result_prints_serialises_and_renders_html() -> None:
    result = recommend(make_facts({"modality": "text", "n_samples": 300}))
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["verdict"] == result.verdict == "classical"
    assert [rule["id"] for rule in payload["trace"]] == _ids(result)
    assert payload["facts"] == {"modality": "text", "n_samples": 300}
    assert set(payload["trace"][0]) == {"id", "effect", "side", "weight", "reason", "source"}
    text = str(result)
    assert text.startswith("verdict: classical") and "small_data [+2 classical]" in text
    assert repr(result).startswith("Recommendation(verdict='classical'")
    html = result._repr_html_()
    assert "<b>Verdict: classical</b>" in html and "<code>text_below_dl_size</code>" in html


def test_recommend_is_pure() -> None:
    """Repeated calls give the same answer (its speed belongs in benchmarks, not asserted here)."""
    facts = make_facts(
        {"modality": "tabular", "n_samples": 20_000, "n_features": 30, "skewness_mean_abs": 2.5}
    )
    first = recommend(facts)
    for _ in range(3):
        again = recommend(facts)
        assert (again.verdict, again.margin) == (first.verdict, first.margin)
        assert _ids(again) == _ids(first)


facts_strategy = st.builds(
    Facts,
    modality=st.sampled_from(["tabular", "image", "text"]),
    n_samples=st.none() | st.integers(1, 10_000_000),
    n_features=st.none() | st.integers(1, 100_000),
    n_classes=st.none() | st.integers(2, 10_000),
    imbalance_ratio=st.none() | st.floats(1, 1e4),
    skewness_mean_abs=st.none() | st.floats(0, 100),
    words_mean=st.none() | st.floats(0, 10_000),
    image_pixels=st.none() | st.integers(1, 10**6),
    interpretability=st.none() | st.sampled_from(["required", "preferred", "none"]),
    gpu=st.none() | st.booleans(),
    latency_budget_ms=st.none() | st.floats(0.01, 1000),
    pretrained_available=st.none() | st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(facts_strategy)
def test_any_facts_give_a_valid_verdict_consistent_with_its_constraints(facts: Facts) -> None:
    result = recommend(facts)
    assert result.verdict in VERDICTS
    assert 0.5 <= result.confidence < 1
    assert result.models
    if facts.interpretability == "required":
        assert result.verdict == "classical"
    if result.decided_by == "weights":
        assert (result.verdict == "try_both") == (abs(result.margin) < 2.0)
