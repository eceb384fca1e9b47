"""The report: every analysis of a suite in one self-contained HTML page, or as numbers (JSON).

This is the only analysis module that writes files. The page embeds its figures as base64 PNG and
its CSS inline, so it can be mailed or committed and opened anywhere without network access. The
verdict table (one row per dataset: who wins, by how much, from what size, how surely) comes
first: that is the answer; claims, learning curves and the rest are the evidence.

Example::

    build_report(results_frame("quick"), "quick", Path("reports/quick"))  # -> .../index.html
    json.dumps(report_numbers(results_frame("quick")))
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dlvsml.analysis.budget_map import (
    budget_crossovers,
    budget_map_figure,
    budget_squares,
    largest_budget,
)
from dlvsml.analysis.claims import ClaimSettings, evaluate_claims
from dlvsml.analysis.costs import cost_table, pareto_figure, pareto_front
from dlvsml.analysis.crossover import CROSSED, MISSING_FAMILY, crossover_summary, crossovers
from dlvsml.analysis.curves import MIN_SEEDS, curve_fits, family_curves, model_curves
from dlvsml.analysis.figures import learning_curve_figure
from dlvsml.analysis.frame import failures, tidy
from dlvsml.analysis.stats import FriedmanResult, cd_diagram, family_comparison, friedman_tests
from dlvsml.analysis.verdicts import DISPLAY_COLUMNS, display_rows, modality_sentences, verdicts
from dlvsml.guard import drop_unlearned, unlearned_pairs

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Analysis:
    """Every table the report shows, computed once from the results frame."""

    frame: pd.DataFrame
    failures: pd.DataFrame
    claims: pd.DataFrame
    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    family_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    fits: pd.DataFrame = field(default_factory=pd.DataFrame)
    crossovers: pd.DataFrame = field(default_factory=pd.DataFrame)
    crossover_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    friedman: list[FriedmanResult] = field(default_factory=list)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    family_costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    pareto: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget_squares: pd.DataFrame = field(default_factory=pd.DataFrame)  # every budget
    budget_crossovers: pd.DataFrame = field(default_factory=pd.DataFrame)


def analyse(
    results: pd.DataFrame, n_boot: int = 1000, settings: ClaimSettings | None = None
) -> Analysis:
    """Run every analysis on a results frame (`tracking.results_frame` shape); pure."""
    settings = settings or ClaimSettings()
    every_budget = tidy(results)
    frame = largest_budget(every_budget)  # the size x budget map alone reads every budget
    learned = drop_unlearned(frame)  # pairs where no model learned are not ties
    analysis = Analysis(frame, failures(results), evaluate_claims(learned, settings))
    if frame.empty:
        return analysis
    analysis.verdicts = verdicts(frame)
    analysis.budget_squares = budget_squares(every_budget)
    analysis.budget_crossovers = budget_crossovers(every_budget)
    analysis.model_points = model_curves(frame)
    analysis.family_points = family_curves(frame)
    analysis.fits = curve_fits(pd.concat([analysis.family_points, analysis.model_points]))
    analysis.crossovers = crossovers(frame, n_boot=n_boot)
    analysis.crossover_summary = crossover_summary(analysis.crossovers)
    analysis.friedman = friedman_tests(frame, settings.regimes)
    analysis.comparison = family_comparison(learned, settings.regimes)
    analysis.family_costs = cost_table(frame, by=("modality", "family"))
    analysis.model_costs = cost_table(frame)
    analysis.pareto = pareto_front(frame)
    return analysis


def report_numbers(
    results: pd.DataFrame, n_boot: int = 1000, settings: ClaimSettings | None = None
) -> dict[str, Any]:
    """The report's numbers as a JSON-serialisable dict (for ``dlvsml report --json``)."""
    analysis = analyse(results, n_boot, settings)
    return _jsonable(
        {
            "summary": _summary(analysis),
            "verdicts": analysis.verdicts,
            "verdict_sentences": modality_sentences(analysis.verdicts),
            "claims": analysis.claims,
            "crossovers": analysis.crossovers,
            "crossover_summary": analysis.crossover_summary,
            "curve_fits": analysis.fits,
            "friedman": [result.as_dict() for result in analysis.friedman],
            "family_comparison": analysis.comparison,
            "family_costs": analysis.family_costs,
            "model_costs": analysis.model_costs,
            "pareto": analysis.pareto,
            "failures": analysis.failures,
            "budget_map": {
                "squares": analysis.budget_squares,
                "crossovers": analysis.budget_crossovers,
            },
        }
    )


def build_report(
    results: pd.DataFrame,
    spec_name: str,
    out_dir: Path,
    n_boot: int = 1000,
    settings: ClaimSettings | None = None,
    evaluation: pd.DataFrame | None = None,
    tables: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` (self-contained) and return its path.

    ``evaluation`` is the summary of `dlvsml.recommender.evaluate.evaluate` (strategy, agreement,
    mean_regret, max_regret, try_both_share, n), shown as "Recommender check" when given; it is
    passed in because the recommender depends on analysis, not the other way round.
    ``tables`` (`dlvsml.data.dataset_tables`) are the column roles and notes of each table.
    """
    analysis = analyse(results, n_boot, settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["num"] = _format_number
    environment.globals["interval"] = _format_interval
    page = environment.get_template("report.html.j2").render(
        spec_name=spec_name,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=_summary(analysis),
        verdict_columns=DISPLAY_COLUMNS,
        verdicts=display_rows(analysis.verdicts),
        verdict_sentences=modality_sentences(analysis.verdicts),
        min_seeds=MIN_SEEDS,
        claims=_records(analysis.claims),
        curves=_curve_figures(analysis),
        crossovers=_records(analysis.crossovers),
        crossover_summary=_records(analysis.crossover_summary),
        fits=_records(analysis.fits),
        friedman=[_friedman_view(result) for result in analysis.friedman],
        comparison=_records(analysis.comparison),
        family_costs=_records(analysis.family_costs),
        model_costs=_records(analysis.model_costs),
        pareto_png=_png(pareto_figure(analysis.pareto)) if len(analysis.pareto) else None,
        pareto=_records(analysis.pareto),
        failures=_records(analysis.failures),
        recommender_check=_records(evaluation) if evaluation is not None else [],
        budget_maps=_budget_maps(analysis),
        tables=tables or [],
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _summary(analysis: Analysis) -> dict[str, Any]:
    frame = analysis.frame
    verdicts = analysis.claims["verdict"].value_counts().to_dict()
    return {
        "n_finished_cells": len(frame),
        "n_unfinished_cells": len(analysis.failures),
        "datasets": sorted(frame["dataset"].unique().tolist()),
        "modalities": sorted(frame["modality"].unique().tolist()),
        "models": sorted(frame["model"].unique().tolist()),
        "train_sizes": sorted(int(size) for size in frame["train_size"].unique()),
        "seeds": int(frame["seed"].nunique()),
        "score_names": sorted(frame["score_name"].unique().tolist()),
        "verdicts": {str(key): int(value) for key, value in verdicts.items()},
        "head_to_head": _head_to_head(analysis),
    }


def _head_to_head(analysis: Analysis) -> dict[str, Any]:
    """Overall best-classical vs best-neural counts and crossovers, for the summary line."""
    overall = analysis.comparison
    overall = overall[overall["modality"] == "all"] if len(overall) else overall
    table = analysis.crossovers
    crossed = table[table["status"] == CROSSED] if len(table) else table
    return {
        "pairs": int(overall["n_pairs"].iloc[0]) if len(overall) else 0,
        "neural_wins": int(overall["neural_wins"].iloc[0]) if len(overall) else 0,
        "ties": int(overall["ties"].iloc[0]) if len(overall) else 0,
        "classical_wins": int(overall["classical_wins"].iloc[0]) if len(overall) else 0,
        "datasets_with_both": int((table["status"] != MISSING_FAMILY).sum()) if len(table) else 0,
        "datasets_crossed": len(crossed),
        "no_model_learned": _records(unlearned_pairs(analysis.frame)),
        "median_crossover_size": float(crossed["crossover_size"].median())
        if len(crossed)
        else None,
    }


def _curve_figures(analysis: Analysis) -> list[dict[str, Any]]:
    """One learning-curve PNG per dataset, with that dataset's crossover and curve flags."""
    if analysis.family_points.empty:
        return []
    crossings = {row["dataset"]: row for row in _records(analysis.crossovers)}
    figures = []
    for dataset in sorted(analysis.family_points["dataset"].unique()):
        models = analysis.model_points[analysis.model_points["dataset"] == dataset]
        families = analysis.family_points[analysis.family_points["dataset"] == dataset]
        score_name = analysis.frame.loc[analysis.frame["dataset"] == dataset, "score_name"].iloc[0]
        figure = learning_curve_figure(models, families, crossings.get(dataset), score_name)
        fits = analysis.fits[analysis.fits["dataset"] == dataset]
        flags = [
            f"{row['curve']}: {', '.join(name for name in _FLAGS if row[name])}"
            for row in _records(fits)
            if any(row[name] for name in _FLAGS)
        ]
        figures.append({"dataset": dataset, "png": _png(figure), "flags": flags})
    return figures


_FLAGS = ("non_monotone", "non_convex", "bad_fit")


def _budget_maps(analysis: Analysis) -> list[dict[str, Any]]:
    """One size x budget map per dataset, drawn only when the suite has several budgets."""
    squares, crossings = analysis.budget_squares, analysis.budget_crossovers
    if squares.empty or squares["budget_index"].nunique() < 2:
        return []
    return [
        {
            "dataset": dataset,
            "png": _png(budget_map_figure(squares, crossings, dataset)),
            "crossovers": _records(crossings[crossings["dataset"] == dataset]),
        }
        for dataset in sorted(squares["dataset"].unique())
    ]


def _friedman_view(result: FriedmanResult) -> dict[str, Any]:
    figure = cd_diagram(result)
    return result.as_dict() | {"png": _png(figure) if figure is not None else None}


def _png(figure: Figure) -> str:
    """A figure as base64 PNG text (figures are plain `Figure`s: no pyplot state to close)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return _jsonable(table) if len(table) else []


def _jsonable(value: Any) -> Any:
    """Plain Python values: tables as lists of records, NaN and NA as None."""
    if isinstance(value, pd.DataFrame):
        return [_jsonable(record) for record in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return _jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _format_number(value: Any, digits: int = 3) -> str:
    """Numbers for tables: blank for missing, thousands separators, 3 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _format_interval(low: Any, high: Any) -> str:
    return "–" if low is None or high is None else f"{_format_number(low)} – {_format_number(high)}"
