"""What `recommend` returns: the verdict, how sure it is, what to try, and why (the trace)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from dlvsml.recommender.rules import Side, SuggestedModel, Verdict

DecidedBy = Literal["weights", "constraint", "conflicting constraints"]


@dataclass(frozen=True)
class FiredRule:
    """A rule whose condition held: its effect on the balance and why."""

    id: str
    effect: Literal["toward", "require", "exclude"]
    side: Side
    weight: float | None
    reason: str
    source: str

    @property
    def hard(self) -> bool:
        return self.effect != "toward"

    def describe_effect(self) -> str:
        if self.effect == "toward":
            return f"+{self.weight:g} {self.side}"
        excluded = "deep" if self.side == "classical" else "classical"
        return f"require {self.side}" if self.effect == "require" else f"exclude {excluded}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "effect": self.effect,
            "side": self.side,
            "weight": self.weight,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class UnknownRule:
    """A rule that could not be decided because facts it needs are unknown."""

    id: str
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "missing": list(self.missing)}


@dataclass(frozen=True)
class ThresholdUse:
    """A threshold a decided rule depended on, and where its value came from: the knowledge
    base ("default") or measurements ("evidence", with ``source`` naming them, e.g. a suite)."""

    value: float
    origin: Literal["default", "evidence"]
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "origin": self.origin, "source": self.source}


@dataclass(frozen=True, repr=False)
class Recommendation:
    """Classical ML, deep learning or both, with a confidence in [0.5, 1) and the trace behind it.

    ``scores`` sums the weights of fired rules per side; ``margin`` is deep minus classical.
    ``decided_by`` says whether the weights or a hard constraint set the verdict.
    """

    verdict: Verdict
    confidence: float
    decided_by: DecidedBy
    leaning: Side | None
    scores: dict[str, float]
    margin: float
    explanation: str
    models: tuple[SuggestedModel, ...]
    trace: tuple[FiredRule, ...]
    unknown: tuple[UnknownRule, ...]
    thresholds_used: dict[str, ThresholdUse]
    facts: dict[str, Any]
    rules_path: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what `dlvsml recommend --json` prints."""
        return {
            "verdict": self.verdict,
            "confidence": round(self.confidence, 4),
            "decided_by": self.decided_by,
            "leaning": self.leaning,
            "scores": self.scores,
            "margin": self.margin,
            "explanation": self.explanation,
            "models": [model.to_dict() for model in self.models],
            "trace": [rule.to_dict() for rule in self.trace],
            "unknown": [rule.to_dict() for rule in self.unknown],
            "thresholds_used": {name: use.to_dict() for name, use in self.thresholds_used.items()},
            "facts": {name: value for name, value in self.facts.items() if value is not None},
            "rules": self.rules_path,
        }

    def __repr__(self) -> str:
        return (
            f"Recommendation(verdict={self.verdict!r}, confidence={self.confidence:.2f}, "
            f"decided_by={self.decided_by!r}, fired={[rule.id for rule in self.trace]})"
        )

    def __str__(self) -> str:
        lines = [
            f"verdict: {self.verdict} (confidence {self.confidence:.2f})",
            self.explanation,
            "models to try first: " + ", ".join(_model_label(m) for m in self.models),
            "rules that fired:",
            *(f"  {rule.id} [{rule.describe_effect()}]: {rule.reason}" for rule in self.trace),
        ]
        if self.unknown:
            lines.append("undecided for lack of facts: " + ", ".join(r.id for r in self.unknown))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{escape(rule.id)}</code></td><td>{escape(rule.describe_effect())}</td>"
            f"<td>{escape(rule.reason)}</td><td><small>{escape(rule.source)}</small></td></tr>"
            for rule in self.trace
        )
        models = ", ".join(escape(_model_label(m)) for m in self.models)
        return (
            f"<div><p><b>Verdict: {escape(self.verdict)}</b> "
            f"(confidence {self.confidence:.2f}, decided by {escape(self.decided_by)})</p>"
            f"<p>{escape(self.explanation)}</p><p>Models to try first: {models}</p>"
            "<table><thead><tr><th>rule</th><th>effect</th><th>reason</th><th>source</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>"
        )


def _model_label(model: SuggestedModel) -> str:
    budget = f"{model.trials} trials/{model.seconds:g} s"
    return f"{model.model} ({budget}{', baseline' if model.baseline else ''})"
