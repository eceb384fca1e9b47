"""`dlvsml recommend`: the typer command and its rich output; the reasoning is `advise`'s.

Facts come from flags and/or a profiled dataset, evidence from a spec's results read through
`dlvsml.tracking`. `dlvsml.cli` registers it with ``app.command("recommend")(recommend)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from dlvsml.errors import DlvsmlError
from dlvsml.recommender.advisor import advise, dataset_facts
from dlvsml.recommender.facts import Facts, make_facts
from dlvsml.recommender.result import Recommendation
from dlvsml.recommender.rules import RuleBase, load_rules

if TYPE_CHECKING:  # evidence and evaluation pull in the analysis stack; import it when used
    from dlvsml.recommender.evaluate import EvaluationResult
    from dlvsml.recommender.evidence import Evidence

VERDICT_STYLE = {"classical": "bold cyan", "deep": "bold magenta", "try_both": "bold yellow"}

DataOption = Annotated[
    str | None,
    typer.Option(
        "--data", help="Profile this dataset (source URI, e.g. builtin:digits); flags override."
    ),
]
ModalityOption = Annotated[str | None, typer.Option("--modality", help="tabular, image or text.")]
SamplesOption = Annotated[
    int | None, typer.Option("--n-samples", help="Labelled examples you have.")
]
FeaturesOption = Annotated[
    int | None, typer.Option("--features", help="Number of features (columns).")
]
ClassesOption = Annotated[
    int | None, typer.Option("--classes", help="Number of classes (omit for regression).")
]
TaskOption = Annotated[str | None, typer.Option("--task", help="binary, multiclass or regression.")]
GpuOption = Annotated[
    bool | None, typer.Option("--gpu/--no-gpu", help="A GPU is available for training.")
]
InterpretabilityOption = Annotated[
    str | None, typer.Option("--interpretability", help="required, preferred or none.")
]
LatencyOption = Annotated[
    float | None, typer.Option("--latency-ms", help="Latency budget per prediction (ms).")
]
TimeBudgetOption = Annotated[
    float | None, typer.Option("--time-budget-min", help="Training time budget (minutes).")
]
PretrainedOption = Annotated[
    bool | None,
    typer.Option("--pretrained/--no-pretrained", help="A pretrained model exists for the domain."),
]
GrowthOption = Annotated[
    bool | None,
    typer.Option("--data-growth/--no-data-growth", help="More labelled data will come."),
]
RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Your own rules file (same format as rules.yaml).")
]
EvidenceOption = Annotated[
    Path | None,
    typer.Option(
        "--evidence", help="Take thresholds (crossover sizes) from this spec's measured results."
    ),
]
EvaluateOption = Annotated[
    Path | None,
    typer.Option(
        "--evaluate",
        help="Check the recommender against this spec's results, leaving one dataset out "
        "(fact flags are not used).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def recommend(
    data: DataOption = None,
    modality: ModalityOption = None,
    n_samples: SamplesOption = None,
    features: FeaturesOption = None,
    classes: ClassesOption = None,
    task: TaskOption = None,
    gpu: GpuOption = None,
    interpretability: InterpretabilityOption = None,
    latency_ms: LatencyOption = None,
    time_budget_min: TimeBudgetOption = None,
    pretrained: PretrainedOption = None,
    data_growth: GrowthOption = None,
    rules_path: RulesOption = None,
    evidence_spec: EvidenceOption = None,
    evaluate_spec: EvaluateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recommend traditional ML or deep learning for a problem, with the rules behind it."""
    rules = load_rules(rules_path)
    if evaluate_spec is not None:
        show_evaluation(evaluate_spec, rules, as_json)
        return
    overrides = {
        "modality": modality,
        "n_samples": n_samples,
        "n_features": features,
        "n_classes": classes,
        "task": task,
        "gpu": gpu,
        "interpretability": interpretability,
        "latency_budget_ms": latency_ms,
        "train_time_budget_minutes": time_budget_min,
        "pretrained_available": pretrained,
        "data_growth_expected": data_growth,
    }
    evidence = None if evidence_spec is None else spec_evidence(evidence_spec, rules)
    result = advise(gather_facts(data, overrides), rules, evidence)
    if as_json:
        payload = {"data": data, **result.to_dict()}
        payload["evidence"] = None if evidence is None else evidence.to_dict()
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    console = Console()
    console.print(render(result, title=data or f"{result.facts['modality']} problem"))
    console.print(describe_evidence(evidence, result), highlight=False)


def _spec_results(spec_path: Path) -> tuple[str, Any]:
    """(spec name, its results frame) from the spec's tracking store; none is an error."""
    from dlvsml.spec import load_spec
    from dlvsml.tracking import results_frame, tracking_uri

    spec = load_spec(spec_path)
    uri = tracking_uri(spec)
    frame = results_frame(spec.name, uri)
    if frame.empty:
        raise DlvsmlError(f"no results for {spec.name!r} in {uri}; run `dlvsml run {spec_path}`")
    return spec.name, frame


def spec_evidence(spec_path: Path, rules: RuleBase) -> Evidence:
    """Evidence measured by the spec at ``spec_path`` (its results must exist)."""
    from dlvsml.recommender.evidence import derive_evidence

    name, frame = _spec_results(spec_path)
    return derive_evidence(frame, name, rules)


def describe_evidence(evidence: Evidence | None, result: Recommendation) -> str:
    """Where the thresholds came from, in a line per measured threshold, and the measured
    classical win rate used as a fact."""
    if evidence is None:
        return (
            "thresholds: literature defaults from the knowledge base "
            "(give --evidence SPEC to use measured crossover sizes)"
        )
    if not evidence.used:
        return f"thresholds: literature defaults (suite {evidence.spec_name!r} measured none)"
    lines = [f"thresholds measured in suite {evidence.spec_name!r}:"]
    for item in evidence.used:
        lines.append(
            f"  {item.name} = {item.value:,.0f} (default {item.default:,.0f}): {item.basis}; "
            f"datasets {', '.join(item.datasets)}"
        )
    rate = result.facts.get("measured_classical_win_rate")
    if rate is not None:
        lines.append(f"  measured classical win rate at this modality and size regime: {rate:.2f}")
    return "\n".join(lines)


def show_evaluation(spec_path: Path, rules: RuleBase, as_json: bool) -> None:
    """Print the leave-one-dataset-out check of the recommender on a spec's results."""
    from dlvsml.recommender.evaluate import evaluate

    name, frame = _spec_results(spec_path)
    result = evaluate(frame, rules, spec_name=name)
    if as_json:
        sys.stdout.write(json.dumps({"spec": name, **result.to_dict()}, indent=2) + "\n")
        return
    console = Console()
    console.print(evaluation_table(result, name))
    console.print(
        f"agreement: 1 = named the winner (or the families tied within "
        f"{result.tie_tolerance:g}), 0.5 = try_both when one family won; regret: score lost "
        "following the verdict (0 for try_both)",
        style="dim",
    )


def evaluation_table(result: EvaluationResult, spec_name: str) -> Table:
    """The summary of an evaluation as a rich table."""
    table = Table(
        "strategy", "agreement", "mean regret", "max regret", "try_both share", "cells",
        title=f"recommender check on {spec_name!r}: {len(result.datasets)} datasets, "
        "each held out in turn",
    )  # fmt: skip
    for row in result.summary.to_dict("records"):
        table.add_row(
            row["strategy"],
            f"{row['agreement']:.3f}",
            f"{row['mean_regret']:.4f}",
            f"{row['max_regret']:.4f}",
            f"{row['try_both_share']:.2f}",
            str(row["n"]),
        )
    return table


def gather_facts(data: str | None, overrides: dict[str, Any]) -> Facts:
    """Facts of the dataset at ``data`` (profiled) with ``overrides`` on top, or of the flags
    alone; without either a modality or data there is nothing to reason about."""
    if data is None:
        if overrides.get("modality") is None:
            raise DlvsmlError(
                "recommend needs to know the kind of data: give --modality tabular|image|text "
                "(with --n-samples and other facts you know) or --data URI to profile a dataset"
            )
        return make_facts({k: v for k, v in overrides.items() if v is not None})
    return dataset_facts(data, overrides)


def render(result: Recommendation, title: str) -> Panel:
    """A rich panel: verdict, confidence, models to try, and the fired rules with reasons."""
    style = VERDICT_STYLE[result.verdict]
    headline = (
        f"[{style}]{result.verdict}[/]  confidence {result.confidence:.2f} "
        f"(decided by {result.decided_by})\n{escape(result.explanation)}"
    )
    models = Table("model to try first", "trials", "seconds", "", title=None, box=None)
    for model in result.models:
        models.add_row(
            model.model,
            str(model.trials),
            f"{model.seconds:g}",
            "baseline" if model.baseline else "",
        )
    fired = Table("rule", "effect", "reason", box=None)
    for rule in result.trace:
        fired.add_row(rule.id, rule.describe_effect(), escape(rule.reason))
    parts: list[Any] = [headline, "", models, "", fired]
    if result.unknown:
        names = ", ".join(rule.id for rule in result.unknown)
        parts += ["", f"[dim]undecided for lack of facts: {names}[/]"]
    return Panel(Group(*parts), title=f"dlvsml recommend: {escape(title)}", expand=False)
