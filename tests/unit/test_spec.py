"""The spec loader accepts what the docs promise and names file, field and remedy otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dlvsml.errors import SpecError
from dlvsml.spec import ExperimentSpec, load_spec, parse_spec

MINIMAL = {"name": "t", "datasets": ["builtin:digits"], "train_sizes": [50, 100]}


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def test_minimal_spec_gets_documented_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL))
    assert spec.models == "all"
    assert spec.seeds == [0]
    assert spec.budget.trials == 10
    assert spec.split.test_cap == 5000


def test_seed_count_expands_to_range() -> None:
    assert parse_spec({**MINIMAL, "seeds": 3}).seeds == [0, 1, 2]


def test_lcdb_fractions_and_max_are_accepted() -> None:
    assert parse_spec({**MINIMAL, "train_sizes": "lcdb"}).train_sizes == "lcdb"
    sizes = parse_spec({**MINIMAL, "train_sizes": [0.5, 200, "max"]}).train_sizes
    assert sizes == [0.5, 200, "max"]


def test_shipped_specs_are_valid() -> None:
    for path in sorted(Path(__file__).parents[2].glob("experiments/*.yaml")):
        assert isinstance(load_spec(path), ExperimentSpec)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budget": {"trials": 0}}, "budget.trials"),
        ({"budget": {"seconds": -5}}, "budget.seconds"),
        ({"budget": {"trials": None, "seconds": None}}, "give trials, seconds, or both"),
        ({"train_sizes": [0]}, "train_sizes"),
        ({"train_sizes": [1.5]}, "train_sizes"),
        ({"train_sizes": []}, "train_sizes"),
        ({"train_sizes": "many"}, "train_sizes"),
        ({"seeds": [1, 1]}, "seeds must be unique"),
        ({"seeds": 0}, "seed count"),
        ({"datasets": []}, "datasets"),
        ({"datasets": ["digits"]}, "SCHEME:WHERE"),
        ({"metric": "speed"}, "metric"),
        ({"name": "no spaces please"}, "name"),
        ({"split": {"test_fraction": 1.2}}, "split.test_fraction"),
        ({"epochs": 3}, "unknown field 'epochs'"),
        ({"models": ["linear", "no_such_model"]}, "unknown model 'no_such_model'"),
    ],
)
def test_bad_specs_name_the_file_and_field(tmp_path: Path, change: dict, expected: str) -> None:
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: [unclosed", "not valid YAML at line"),
        ("- just\n- a list\n", "YAML mapping"),
        ("", "YAML mapping"),
    ],
)
def test_unparseable_files(tmp_path: Path, content: str, expected: str) -> None:
    with pytest.raises(SpecError, match=expected):
        load_spec(write(tmp_path, content))


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    payload = "!!python/object/apply:os.system ['echo pwned']"
    with pytest.raises(SpecError):
        load_spec(write(tmp_path, payload))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


valid_fields = {
    "name": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True),
    "datasets": st.lists(
        st.sampled_from(["builtin:digits", "builtin:wine", "file:x.csv"]), min_size=1
    ),
    "train_sizes": st.just("lcdb")
    | st.lists(st.integers(1, 10**6) | st.floats(0.01, 1) | st.just("max"), min_size=1, max_size=4),
    "models": st.just("all") | st.lists(st.sampled_from(["linear", "mlp", "xgboost"]), min_size=1),
    "seeds": st.integers(1, 5) | st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True),
    "budget": st.fixed_dictionaries(
        {}, optional={"trials": st.integers(1, 50), "seconds": st.floats(0.1, 1e4)}
    ).filter(bool),
    "metric": st.sampled_from(["auto", "accuracy", "rmse"]),
}
# A valid spec, then maybe one field swapped for arbitrary JSON or an unknown key added:
# the fuzz must reach both the loading and the rejecting branch.
fuzzed_specs = st.tuples(
    st.fixed_dictionaries(
        {key: valid_fields[key] for key in ("name", "datasets", "train_sizes")},
        optional={key: valid_fields[key] for key in ("models", "seeds", "budget", "metric")},
    ),
    st.none() | st.tuples(st.sampled_from([*ExperimentSpec.model_fields, "other"]), json_values),
).map(lambda pair: pair[0] if pair[1] is None else {**pair[0], pair[1][0]: pair[1][1]})


def test_fuzzed_specs_either_load_or_raise_spec_error() -> None:
    outcomes = {"loaded": 0, "rejected": 0}

    @settings(max_examples=150, deadline=None, database=None)
    @given(fuzzed_specs)
    def check(raw: dict) -> None:
        try:
            spec = parse_spec(raw)
        except SpecError as exc:
            outcomes["rejected"] += 1
            assert str(exc).startswith("<spec>: ") and "\n" not in str(exc)
        else:
            outcomes["loaded"] += 1
            assert (spec.name, spec.datasets) == (raw["name"], raw["datasets"])
            seeds = raw.get("seeds", [0])
            assert spec.seeds == (list(range(seeds)) if isinstance(seeds, int) else seeds)

    check()
    assert outcomes["loaded"] >= 10 and outcomes["rejected"] >= 10, outcomes


def test_budgets_are_an_axis_and_budget_stays_one() -> None:
    spec = parse_spec(
        {
            "name": "b",
            "datasets": ["builtin:digits"],
            "train_sizes": [50],
            "budgets": [{"trials": 4, "seconds": 10}, {"seconds": 60}],
        }
    )
    assert [b.label for b in spec.all_budgets] == ["4t-10s", "10t-60s"]
    single = parse_spec({"name": "b", "datasets": ["builtin:digits"], "train_sizes": [50]})
    assert single.all_budgets == [single.budget]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"budgets": [{"trials": 4}, {"trials": 2}]}, "smallest to largest"),
        ({"budgets": [{"trials": 4}, {"trials": 4}]}, "smallest to largest"),
        ({"budgets": [{"seconds": 5}, {"trials": 4, "seconds": 9}]}, "smallest to largest"),
        ({"budgets": [{"trials": 2}], "budget": {"trials": 3}}, "not both"),
        ({"budgets": []}, "budgets"),
    ],
)
def test_bad_budgets_are_refused(fields: dict, says: str) -> None:
    raw = {"name": "b", "datasets": ["builtin:digits"], "train_sizes": [50], **fields}
    with pytest.raises(SpecError, match=says):
        parse_spec(raw)
