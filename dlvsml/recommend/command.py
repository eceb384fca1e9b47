"""`dlvsml recommend`: facts from flags and/or a profiled dataset, then the verdict and its trace.

The lead registers it on the app with ``app.command("recommend")(recommend)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from dlvsml.errors import DlvsmlError
from dlvsml.recommend.engine import recommend as recommend_for
from dlvsml.recommend.facts import Facts, facts_from_profile, make_facts, merge
from dlvsml.recommend.result import Recommendation
from dlvsml.recommend.rules import load_rules

VERDICT_STYLE = {"classical": "bold cyan", "deep": "bold magenta", "try_both": "bold yellow"}


def recommend(
    data: Annotated[
        str | None,
        typer.Option(
            "--data", help="Profile this dataset (source URI, e.g. builtin:digits); flags override."
        ),
    ] = None,
    modality: Annotated[
        str | None, typer.Option("--modality", help="tabular, image or text.")
    ] = None,
    n_samples: Annotated[
        int | None, typer.Option("--n-samples", help="Labelled examples you have.")
    ] = None,
    features: Annotated[
        int | None, typer.Option("--features", help="Number of features (columns).")
    ] = None,
    classes: Annotated[
        int | None, typer.Option("--classes", help="Number of classes (omit for regression).")
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", help="binary, multiclass or regression.")
    ] = None,
    gpu: Annotated[
        bool | None, typer.Option("--gpu/--no-gpu", help="A GPU is available for training.")
    ] = None,
    interpretability: Annotated[
        str | None, typer.Option("--interpretability", help="required, preferred or none.")
    ] = None,
    latency_ms: Annotated[
        float | None, typer.Option("--latency-ms", help="Latency budget per prediction (ms).")
    ] = None,
    time_budget_min: Annotated[
        float | None, typer.Option("--time-budget-min", help="Training time budget (minutes).")
    ] = None,
    pretrained: Annotated[
        bool | None,
        typer.Option(
            "--pretrained/--no-pretrained", help="A pretrained model exists for the domain."
        ),
    ] = None,
    data_growth: Annotated[
        bool | None,
        typer.Option("--data-growth/--no-data-growth", help="More labelled data will come."),
    ] = None,
    rules_path: Annotated[
        Path | None,
        typer.Option("--rules", help="Your own rules file (same format as rules.yaml)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Recommend traditional ML or deep learning for a problem, with the rules behind it."""
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
    rules = load_rules(rules_path)
    facts = gather_facts(data, overrides)
    result = recommend_for(facts, rules)
    if as_json:
        sys.stdout.write(json.dumps({"data": data, **result.to_dict()}, indent=2) + "\n")
        return
    Console().print(render(result, title=data or f"{facts.modality} problem"))


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
    from dlvsml.data import load_dataset, profile_dataset

    return merge(facts_from_profile(profile_dataset(load_dataset(data))), overrides)


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
