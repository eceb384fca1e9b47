"""The knowledge base: rules, thresholds, scoring settings and model suggestions from YAML.

``load_rules()`` reads the packaged ``rules.yaml``; ``load_rules(path)`` reads a user's file in
the same format. Everything is checked at load time (keys, effects, conditions parsed and tried
on example facts of every modality, names of facts and thresholds), so a broken rule fails with
the file, the rule id and the problem before any recommendation is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dlvsml.errors import DlvsmlError
from dlvsml.recommender.conditions import Condition, ConditionError, parse_condition
from dlvsml.recommender.facts import FACT_NAMES, Facts

Side = Literal["classical", "deep"]
Verdict = Literal["classical", "deep", "try_both"]
SIDES: tuple[Side, ...] = ("classical", "deep")
VERDICTS: tuple[Verdict, ...] = ("classical", "deep", "try_both")
MODALITIES: tuple[str, ...] = ("tabular", "image", "text")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EFFECT_FORMS = (
    "an effect is {toward: classical|deep, weight: NUMBER > 0}, "
    "{require: classical|deep} or {exclude: classical|deep}"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effect(_Strict):
    """A weight toward one side, or a hard constraint (``require`` one side, ``exclude`` one)."""

    toward: Side | None = None
    weight: float | None = Field(default=None, gt=0)
    require: Side | None = None
    exclude: Side | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Effect:
        forms = [
            self.toward is not None and self.weight is not None,
            self.require is not None and self.toward is self.weight is self.exclude is None,
            self.exclude is not None and self.toward is self.weight is self.require is None,
        ]
        if sum(forms) != 1:
            raise ValueError(EFFECT_FORMS)
        return self

    @property
    def kind(self) -> Literal["toward", "require", "exclude"]:
        if self.require is not None:
            return "require"
        return "exclude" if self.exclude is not None else "toward"

    @property
    def hard(self) -> bool:
        return self.kind != "toward"

    @property
    def side(self) -> Side:
        """The side this effect pushes toward (excluding one side requires the other)."""
        if self.exclude is not None:
            return SIDES[1 - SIDES.index(self.exclude)]
        return self.require or self.toward  # type: ignore[return-value]

    def describe(self) -> str:
        if self.kind == "toward":
            return f"+{self.weight:g} {self.toward}"
        return f"{self.kind} {self.require or self.exclude}"


class _RawRule(_Strict):
    id: str = Field(pattern=_IDENTIFIER.pattern)
    when: str
    effect: Effect
    reason: str = Field(min_length=1)
    source: str = Field(min_length=1)


class _RawSuggestion(_Strict):
    model: str = Field(min_length=1)
    trials: int = Field(gt=0)
    seconds: float = Field(gt=0)
    baseline: bool = False
    when: str | None = None


class Scoring(_Strict):
    """How summed weights become a verdict and a confidence (see `dlvsml.recommender.engine`)."""

    try_both_margin: float = Field(default=2.0, gt=0)
    confidence_scale: float = Field(default=2.0, gt=0)
    constraint_confidence: float = Field(default=0.95, ge=0.5, lt=1)
    constraint_precedence: tuple[Side, Side] = ("classical", "deep")

    @model_validator(mode="after")
    def _both_sides(self) -> Scoring:
        if set(self.constraint_precedence) != set(SIDES):
            raise ValueError("constraint_precedence must list classical and deep, once each")
        return self


class _RawFile(_Strict):
    scoring: Scoring = Scoring()
    thresholds: dict[str, float]
    models: dict[Verdict, dict[Literal["tabular", "image", "text"], list[dict[str, Any]]]]
    rules: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Rule:
    """One rule: when ``condition`` holds, ``effect`` applies, for ``reason`` (from ``source``)."""

    id: str
    condition: Condition
    effect: Effect
    reason: str
    source: str


@dataclass(frozen=True)
class SuggestedModel:
    """A model to try first with its starting tuning budget; ``baseline`` marks the reference
    model of the other family that a verdict still compares against."""

    model: str
    trials: int
    seconds: float
    baseline: bool = False
    condition: Condition | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "trials": self.trials,
            "seconds": self.seconds,
            "baseline": self.baseline,
        }


@dataclass(frozen=True)
class RuleBase:
    """A loaded, checked knowledge base."""

    path: str
    rules: tuple[Rule, ...]
    thresholds: dict[str, float]
    models: dict[str, dict[str, tuple[SuggestedModel, ...]]]
    scoring: Scoring

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)


def load_rules(path: str | Path | None = None) -> RuleBase:
    """The knowledge base in ``path`` (a YAML file like the packaged ``rules.yaml``), or the
    packaged one when ``path`` is None. Raises `DlvsmlError` naming the file, rule and problem."""
    if path is None:
        return default_rules()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DlvsmlError(f"cannot read rules file {path}: {exc.strerror}") from None
    return parse_rules(text, str(path))


@cache
def default_rules() -> RuleBase:
    """The packaged knowledge base (read once per process)."""
    packaged = resources.files("dlvsml.recommender").joinpath("rules.yaml")
    return parse_rules(packaged.read_text(encoding="utf-8"), "dlvsml/recommender/rules.yaml")


def parse_rules(text: str, origin: str) -> RuleBase:
    """Check and load a knowledge base from YAML ``text``; ``origin`` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DlvsmlError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DlvsmlError(f"{origin}: expected a mapping with thresholds, models and rules")
    try:
        parsed = _RawFile.model_validate(raw)
    except ValidationError as exc:
        raise DlvsmlError(f"{origin}: {_describe(exc)}") from None
    thresholds = _checked_thresholds(parsed.thresholds, origin)
    names = (*FACT_NAMES, *thresholds)
    rules = _checked_rules(parsed.rules, names, thresholds, origin)
    models = {
        verdict: {
            modality: _checked_suggestions(
                entries, names, thresholds, f"{origin}: models.{verdict}.{modality}"
            )
            for modality, entries in by_modality.items()
        }
        for verdict, by_modality in parsed.models.items()
    }
    _check_models_complete(models, origin)
    return RuleBase(origin, rules, thresholds, models, parsed.scoring)


def _checked_thresholds(thresholds: dict[str, float], origin: str) -> dict[str, float]:
    for name in thresholds:
        if not _IDENTIFIER.match(name):
            raise DlvsmlError(f"{origin}: threshold name {name!r} is not an identifier")
        if name in FACT_NAMES:
            raise DlvsmlError(f"{origin}: threshold {name!r} has the name of a fact; rename it")
    return dict(thresholds)


def _checked_rules(
    entries: list[dict[str, Any]], names: tuple[str, ...], thresholds: dict, origin: str
) -> tuple[Rule, ...]:
    rules: dict[str, Rule] = {}
    for position, entry in enumerate(entries, start=1):
        label = _rule_label(entry, position)
        try:
            raw = _RawRule.model_validate(entry)
        except ValidationError as exc:
            raise DlvsmlError(f"{origin}: rule {label}: {_describe(exc)}") from None
        if raw.id in rules:
            raise DlvsmlError(f"{origin}: rule {label}: duplicate id (ids must be unique)")
        condition = _checked_condition(raw.when, names, thresholds, f"{origin}: rule {label}")
        rules[raw.id] = Rule(raw.id, condition, raw.effect, raw.reason.strip(), raw.source.strip())
    return tuple(rules.values())


def _checked_suggestions(
    entries: list[dict[str, Any]], names: tuple[str, ...], thresholds: dict, where: str
) -> tuple[SuggestedModel, ...]:
    suggestions = []
    for entry in entries:
        try:
            raw = _RawSuggestion.model_validate(entry)
        except ValidationError as exc:
            raise DlvsmlError(f"{where}: {_describe(exc)}") from None
        condition = None
        if raw.when is not None:
            where_model = f"{where}: model {raw.model!r}"
            condition = _checked_condition(raw.when, names, thresholds, where_model)
        suggestions.append(
            SuggestedModel(raw.model, raw.trials, raw.seconds, raw.baseline, condition)
        )
    return tuple(suggestions)


def _check_models_complete(models: dict, origin: str) -> None:
    missing = [
        f"{verdict}.{modality}"
        for verdict in VERDICTS
        for modality in MODALITIES
        if not models.get(verdict, {}).get(modality)
    ]
    if missing:
        raise DlvsmlError(f"{origin}: models: no suggestions for {', '.join(missing)}")


def _checked_condition(
    text: str, names: tuple[str, ...], thresholds: dict, where: str
) -> Condition:
    """Parse ``text`` and try it on example facts of every modality, so a type error (comparing
    a word with a number) fails now rather than on the first dataset that reaches it."""
    try:
        condition = parse_condition(text, names)
        for facts in _EXAMPLE_FACTS:
            condition.evaluate({**thresholds, **facts})
    except ConditionError as exc:
        raise DlvsmlError(f"{where}: {exc}") from None
    return condition


# One fully known example per modality: conditions must evaluate on each without error.
_EXAMPLE_FACTS = tuple(
    Facts(
        modality=modality,
        task="binary",
        n_samples=5000,
        n_features=20,
        n_classes=2,
        imbalance_ratio=2.0,
        missing_ratio=0.01,
        categorical_share=0.3,
        skewness_mean_abs=1.0,
        skewness_max_abs=3.0,
        kurtosis_mean_abs=2.0,
        kurtosis_max_abs=10.0,
        words_mean=50.0,
        image_pixels=1024,
        interpretability="preferred",
        gpu=False,
        train_time_budget_minutes=30.0,
        latency_budget_ms=5.0,
        pretrained_available=True,
        data_growth_expected=False,
        measured_classical_win_rate=0.5,
    ).model_dump()
    for modality in MODALITIES
)


def _rule_label(entry: Any, position: int) -> str:
    rule_id = entry.get("id") if isinstance(entry, dict) else None
    return repr(rule_id) if isinstance(rule_id, str) else f"#{position} (no id)"


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        field = ".".join(str(part) for part in error["loc"]) or "(top)"
        if error["type"] == "extra_forbidden" and error["loc"][0] == "effect":
            problems.append(f"unknown effect key {field!r}; {EFFECT_FORMS}")
        elif error["type"] == "extra_forbidden":
            problems.append(f"unknown key {field!r}")
        elif error["type"] == "missing":
            problems.append(f"missing key {field!r}")
        else:
            problems.append(f"{field!r}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
