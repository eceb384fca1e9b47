"""Facts: validated, mapped from a dataset profile, and overridden by what the user says."""

from __future__ import annotations

import pytest

from dlvsml.errors import DlvsmlError
from dlvsml.recommender import Facts, facts_from_profile, make_facts, merge

TABULAR_PROFILE = {
    "name": "toy",
    "source": "builtin:toy",
    "modality": "tabular",
    "task": "binary",
    "n_rows": 569,
    "n_features": 30,
    "n_classes": 2,
    "class_counts": [212, 357],
    "imbalance_ratio": 1.68,
    "minority_share": 0.37,
    "n_numeric": 30,
    "n_categorical": 0,
    "categorical_share": 0.0,
    "missing_ratio": 0.0,
    "rows_per_feature": 18.97,
    "skewness_mean_abs": 1.74,
    "skewness_max_abs": 5.45,
    "kurtosis_mean_abs": 7.85,
    "kurtosis_max_abs": 49.2,
    "mfe.attr_conc.mean": 0.076,
}


def test_a_tabular_profile_maps_to_facts() -> None:
    facts = facts_from_profile(TABULAR_PROFILE)
    assert facts.n_samples == 569
    assert (facts.modality, facts.task, facts.n_features, facts.n_classes) == (
        "tabular",
        "binary",
        30,
        2,
    )
    assert (facts.skewness_mean_abs, facts.kurtosis_max_abs) == (1.74, 49.2)
    assert facts.categorical_share == 0.0 and facts.missing_ratio == 0.0
    assert facts.gpu is None and facts.interpretability is None  # not in a profile


def test_image_and_text_profiles_map_their_own_facts() -> None:
    image = facts_from_profile(
        {"modality": "image", "task": "multiclass", "n_rows": 1797, "n_features": 64,
         "n_classes": 10, "height": 8, "width": 8, "channels": 1, "pixel_mean": 4.9}
    )  # fmt: skip
    assert (image.image_pixels, image.n_samples, image.words_mean) == (64, 1797, None)
    text = facts_from_profile(
        {"modality": "text", "task": "regression", "n_rows": 100, "n_features": 1,
         "n_classes": None, "words_mean": 75.9, "vocabulary_size": 14912}
    )  # fmt: skip
    assert (text.words_mean, text.n_classes, text.task) == (75.9, None, "regression")


def test_flags_override_the_profile_and_none_means_not_given() -> None:
    merged = merge(
        facts_from_profile(TABULAR_PROFILE),
        {"n_samples": 200_000, "gpu": True, "interpretability": None, "task": None},
    )
    assert (merged.n_samples, merged.gpu, merged.task) == (200_000, True, "binary")
    assert merged.skewness_mean_abs == 1.74


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"modality": "audio"}, "'modality': Input should be 'tabular', 'image' or 'text'"),
        ({"modality": "text", "interpretability": "maybe"}, "'required', 'preferred' or 'none'"),
        ({"modality": "text", "task": "ranking"}, "'binary', 'multiclass' or 'regression'"),
        ({"modality": "text", "n_samples": 0}, "'n_samples': Input should be greater than"),
        ({"modality": "text", "missing_ratio": 1.5}, "'missing_ratio'"),
        ({"modality": "text", "colour": "red"}, "unknown fact 'colour' (facts are: modality,"),
        ({"n_samples": 10}, "'modality' is required"),
    ],
)
def test_invalid_facts_name_the_field_and_what_it_accepts(values: dict, problem: str) -> None:
    with pytest.raises(DlvsmlError) as raised:
        make_facts(values)
    assert problem in str(raised.value)


def test_a_bad_override_is_a_user_error_too() -> None:
    with pytest.raises(DlvsmlError, match="latency_budget_ms"):
        merge(Facts(modality="tabular"), {"latency_budget_ms": -3})
