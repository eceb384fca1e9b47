"""The recommender: facts in, verdict out, every rule's part in it written down.

How rules combine:

1. Every rule is evaluated. One whose condition needs an unknown fact is ``unknown``: it neither
   fires nor counts against either side.
2. Hard constraints win over weights. ``require: X`` and ``exclude: Y`` both constrain the verdict
   to one side. If fired constraints point to both sides, the verdict is the first side in
   ``scoring.constraint_precedence`` (classical, then deep, by default: a requirement such as
   interpretability or latency cannot be traded for accuracy), confidence is 0.5 and both sides'
   rules stay in the trace so the user can see which requirement to relax. A verdict set by
   constraints has confidence ``scoring.constraint_confidence``, or the weights' confidence
   (below) when the weights agree with it and give more.
3. Otherwise weights are summed per side; ``margin = deep - classical``. When
   ``|margin| < scoring.try_both_margin`` the verdict is ``try_both``, else the side ahead.
   ``confidence = 1 / (1 + exp(-|margin| / scoring.confidence_scale))``, capped at 0.99: 0.5 at
   a tie, 0.73 at a margin of 2, 0.95 at 6 with the default scale of 2. The scale is a judgement,
   not yet calibrated; calibration against measured winners comes with evidence.

Thresholds come from the knowledge base ("default") unless ``thresholds`` overrides them
("evidence", e.g. crossover sizes measured by `dlvsml.analysis`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from dlvsml.errors import DlvsmlError
from dlvsml.recommender.conditions import UNKNOWN, ConditionError
from dlvsml.recommender.facts import Facts
from dlvsml.recommender.result import FiredRule, Recommendation, ThresholdUse, UnknownRule
from dlvsml.recommender.rules import SIDES, Rule, RuleBase, Side, SuggestedModel, default_rules

MAX_CONFIDENCE = 0.99


def recommend(
    facts: Facts,
    rules: RuleBase | None = None,
    thresholds: Mapping[str, float] | None = None,
    evidence_source: str | None = None,
) -> Recommendation:
    """Classical ML, deep learning or both for ``facts``, e.g.
    ``recommend(Facts(modality="image", n_samples=200_000, gpu=True)).verdict == "deep"``.

    ``thresholds`` (name -> value) replace the knowledge base's values and are reported with
    origin "evidence" and ``evidence_source`` (e.g. "suite 'example'"); an unknown name raises
    `DlvsmlError`.
    """
    base = rules or default_rules()
    threshold_uses = _threshold_uses(base, thresholds or {}, evidence_source)
    values = {name: use.value for name, use in threshold_uses.items()} | facts.model_dump()
    fired: list[Rule] = []
    unknown: list[UnknownRule] = []
    used: set[str] = set()
    for rule in base.rules:
        outcome = _evaluate(rule, values, base)
        if outcome is UNKNOWN:
            missing = tuple(sorted(n for n in rule.condition.names if values[n] is None))
            unknown.append(UnknownRule(rule.id, missing))
            continue
        if outcome:
            fired.append(rule)
        used |= _thresholds_decisive(rule, values, threshold_uses, base)
    scores = {side: _total(fired, side) for side in SIDES}
    margin = scores["deep"] - scores["classical"]
    verdict, confidence, decided_by, explanation = _decide(fired, scores, margin, base)
    return Recommendation(
        verdict=verdict,
        confidence=confidence,
        decided_by=decided_by,
        leaning=None if margin == 0 else ("deep" if margin > 0 else "classical"),
        scores=scores,
        margin=margin,
        explanation=explanation,
        models=_suggestions(base, verdict, facts.modality, values),
        trace=tuple(_fired(rule) for rule in fired),
        unknown=tuple(unknown),
        thresholds_used={name: threshold_uses[name] for name in sorted(used)},
        facts=facts.model_dump(),
        rules_path=base.path,
    )


def confidence_from_margin(margin: float, scale: float) -> float:
    """Logistic squashing of ``|margin|`` into [0.5, 0.99]."""
    return min(MAX_CONFIDENCE, 1 / (1 + math.exp(-abs(margin) / scale)))


def _decide(
    fired: list[Rule], scores: dict[str, float], margin: float, base: RuleBase
) -> tuple[str, float, str, str]:
    scoring = base.scoring
    constrained = {
        side: [r.id for r in fired if r.effect.hard and r.effect.side == side] for side in SIDES
    }
    sides = [side for side in scoring.constraint_precedence if constrained[side]]
    weights = f"weights {scores['classical']:g} classical vs {scores['deep']:g} deep"
    if len(sides) == 2:
        winner, loser = sides
        return (
            winner,
            0.5,
            "conflicting constraints",
            f"hard constraints conflict ({', '.join(constrained[winner])} -> {winner}; "
            f"{', '.join(constrained[loser])} -> {loser}); {winner} wins by the precedence "
            f"{' > '.join(scoring.constraint_precedence)}; relax one requirement to decide",
        )
    if sides:
        side = sides[0]
        agreeing = margin if side == "deep" else -margin
        weights_confidence = confidence_from_margin(agreeing, scoring.confidence_scale)
        return (
            side,
            max(scoring.constraint_confidence, weights_confidence if agreeing > 0 else 0.0),
            "constraint",
            f"{side} is required by {', '.join(constrained[side])} ({weights})",
        )
    if abs(margin) < scoring.try_both_margin:
        verdict, comparison = "try_both", f"margin {abs(margin):g} < {scoring.try_both_margin:g}"
    else:
        verdict = "deep" if margin > 0 else "classical"
        comparison = f"margin {abs(margin):g} >= {scoring.try_both_margin:g}"
    return (
        verdict,
        confidence_from_margin(margin, scoring.confidence_scale),
        "weights",
        f"{weights}, {comparison}",
    )


def _suggestions(
    base: RuleBase, verdict: str, modality: str, values: dict
) -> tuple[SuggestedModel, ...]:
    """The verdict's models for the modality, less those whose condition is known to be false."""
    kept = []
    for model in base.models[verdict][modality]:
        try:
            keep = model.condition is None or model.condition.evaluate(values) is not False
        except ConditionError as exc:
            raise DlvsmlError(f"{base.path}: models.{verdict}.{modality}: {exc}") from None
        if keep:
            kept.append(model)
    return tuple(kept)


def _total(fired: list[Rule], side: Side) -> float:
    return float(sum(r.effect.weight or 0 for r in fired if r.effect.toward == side))


def _evaluate(rule: Rule, values: dict, base: RuleBase) -> object:
    try:
        return rule.condition.evaluate(values)
    except ConditionError as exc:
        raise DlvsmlError(f"{base.path}: rule {rule.id!r}: {exc}") from None


def _thresholds_decisive(
    rule: Rule, values: dict, threshold_uses: dict[str, ThresholdUse], base: RuleBase
) -> set[str]:
    """Thresholds this rule's outcome depends on: with the threshold unknown, the outcome would
    be unknown (``modality == 'image' and n_samples >= t`` does not use ``t`` on a table)."""
    return {
        name
        for name in rule.condition.names & threshold_uses.keys()
        if _evaluate(rule, {**values, name: None}, base) is UNKNOWN
    }


def _threshold_uses(
    base: RuleBase, overrides: Mapping[str, float], source: str | None
) -> dict[str, ThresholdUse]:
    unknown = sorted(set(overrides) - set(base.thresholds))
    if unknown:
        raise DlvsmlError(
            f"unknown threshold(s) {', '.join(unknown)}; thresholds of {base.path} are: "
            f"{', '.join(base.thresholds)}"
        )
    uses = {name: ThresholdUse(float(value), "default") for name, value in base.thresholds.items()}
    for name, value in overrides.items():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise DlvsmlError(f"threshold {name!r} must be a finite number, got {value!r}")
        uses[name] = ThresholdUse(float(value), "evidence", source)
    return uses


def _fired(rule: Rule) -> FiredRule:
    effect = rule.effect
    return FiredRule(rule.id, effect.kind, effect.side, effect.weight, rule.reason, rule.source)
