"""Analysis of a suite's results: learning curves, crossover sizes, significance, costs, claims.

Everything here is a pure function of the frame `dlvsml.tracking.results_frame` returns (first
passed through `tidy`), except `build_report`, which writes the HTML report.

Example::

    frame = tidy(results_frame("quick"))
    crossovers(frame)[["dataset", "status", "crossover_size", "ci_low", "ci_high"]]
    evaluate_claims(frame)[["claim", "verdict", "summary"]]
    verdicts(frame)  # the headline: one row per dataset
"""

from dlvsml.analysis.claims import CLAIMS, ClaimSettings, evaluate_claims
from dlvsml.analysis.costs import cost_table, pareto_figure, pareto_front
from dlvsml.analysis.crossover import crossover, crossover_summary, crossovers
from dlvsml.analysis.curves import curve_fits, family_best, family_curves, fit_curve, model_curves
from dlvsml.analysis.figures import learning_curve_figure
from dlvsml.analysis.frame import failures, tidy
from dlvsml.analysis.report import analyse, build_report, report_numbers
from dlvsml.analysis.stats import (
    SizeRegimes,
    cd_diagram,
    family_comparison,
    family_pairs,
    friedman_tests,
    wilcoxon_test,
    win_tie_loss,
)
from dlvsml.analysis.verdicts import display_rows, modality_sentences, verdicts

__all__ = [
    "CLAIMS",
    "ClaimSettings",
    "SizeRegimes",
    "analyse",
    "build_report",
    "cd_diagram",
    "cost_table",
    "crossover",
    "crossover_summary",
    "crossovers",
    "curve_fits",
    "display_rows",
    "evaluate_claims",
    "failures",
    "family_best",
    "family_comparison",
    "family_curves",
    "family_pairs",
    "fit_curve",
    "friedman_tests",
    "learning_curve_figure",
    "modality_sentences",
    "model_curves",
    "pareto_figure",
    "pareto_front",
    "report_numbers",
    "tidy",
    "verdicts",
    "wilcoxon_test",
    "win_tie_loss",
]
