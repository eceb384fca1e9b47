"""The rule language: safe (no attribute, subscript or arbitrary calls) and three-valued."""

from __future__ import annotations

import pytest

from dlvsml.recommender.conditions import UNKNOWN, ConditionError, parse_condition

NAMES = ("modality", "gpu", "n_samples", "n_features", "small_data")


def _eval(text: str, **values):
    return parse_condition(text, NAMES).evaluate({name: None for name in NAMES} | values)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("n_samples < small_data", {"n_samples": 10, "small_data": 100}, True),
        ("n_samples < small_data", {"small_data": 100}, UNKNOWN),
        ("gpu and n_samples > 5", {"gpu": False}, False),
        ("gpu and n_samples > 5", {"gpu": True}, UNKNOWN),
        ("gpu or n_samples > 5", {"gpu": True}, True),
        ("gpu or n_samples > 5", {"gpu": False}, UNKNOWN),
        ("n_samples > 5 or gpu", {"n_samples": 1, "gpu": False}, False),
        ("not gpu", {}, UNKNOWN),
        ("not gpu", {"gpu": False}, True),
        ("n_samples / n_features < 10", {"n_samples": 50}, UNKNOWN),
        ("n_samples / n_features < 10", {"n_samples": 50, "n_features": 10}, True),
        ("1 < n_samples < 10", {"n_samples": 5}, True),
        ("20 < n_samples < small_data", {"n_samples": 5}, False),  # first link decides
        ("modality in ('image', 'text')", {"modality": "text"}, True),
        ("modality not in ['image', 'text']", {"modality": "text"}, False),
        ("max(n_samples, 10) >= 10", {"n_samples": 3}, True),
        ("abs(n_samples) > 1", {}, UNKNOWN),
    ],
)
def test_conditions_follow_three_valued_logic(text: str, values: dict, expected) -> None:
    assert _eval(text, **values) is expected


def test_a_condition_records_the_names_it_reads() -> None:
    condition = parse_condition("gpu and n_samples < small_data", NAMES)
    assert condition.names == {"gpu", "n_samples", "small_data"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("n_samples.real > 1", "Attribute is not allowed"),
        ("n_samples[0] > 1", "Subscript is not allowed"),
        ("[x for x in (1, 2)]", "ListComp is not allowed"),
        ("(lambda: 1)()", "only abs, min, max may be called"),
        ("open('/etc/passwd')", "only abs, min, max may be called"),
        ("max(n_samples, key=abs) > 1", "keyword arguments"),
        ("x := 1", "syntax error"),
        ("n_samples = 3", "syntax error"),
        ("gpu; gpu", "syntax error"),
        ("n_rows > 3", "unknown name 'n_rows'"),
        ("   ", "non-empty"),
        (3, "non-empty"),
    ],
)
def test_unsafe_or_broken_conditions_are_rejected_when_parsed(text, problem: str) -> None:
    with pytest.raises(ConditionError, match=problem):
        parse_condition(text, NAMES)


def test_a_non_boolean_or_failing_condition_is_reported_when_evaluated() -> None:
    with pytest.raises(ConditionError, match="not true or false"):
        _eval("n_samples + 1", n_samples=3)
    with pytest.raises(ConditionError, match="cannot be evaluated"):
        _eval("n_samples / n_features > 1", n_samples=3, n_features=0)
