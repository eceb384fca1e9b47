"""Does the recommender pick the family that measurements say wins? Leave one dataset out.

For each held-out dataset and each measured train size, the recommender gets the held-out
dataset's facts (its profile, with ``n_samples`` set to the train size and ``gpu`` to whether its
cells ran on a GPU) and evidence (crossover thresholds, classical win rates) from the *other*
datasets only, so a dataset never informs the verdict about itself. The verdict is compared
with the measured winner of that cell:

- **winner**: the family whose best model (chosen on validation per seed, `family_best`) has
  the higher seed-mean test score; ``either`` when the two differ by at most ``tie_tolerance``.
- **agreement** of a verdict: 1 when it names the winner, or whenever the winner is ``either``
  (any choice loses nothing); 0.5 for ``try_both`` when one family clearly won (the winner is
  tried, but at twice the cost and without a decision); 0 otherwise.
- **regret**: score lost by following the verdict, the winner's seed-mean score minus the
  followed family's. ``try_both`` follows both families, so its regret is 0 by definition; the
  summary reports how often each strategy answered ``try_both`` so that free zero is visible.

Strategies compared (`STRATEGIES`): the rules with evidence, the rules with literature
thresholds only, always classical, and always deep.

Example::

    result = evaluate(results_frame("example"))
    result.summary  # strategy, agreement, mean_regret, max_regret, try_both_share, n
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlvsml.analysis.crossover import crossovers
from dlvsml.analysis.frame import tidy
from dlvsml.analysis.stats import family_pairs
from dlvsml.errors import DlvsmlError
from dlvsml.recommender.advisor import advise
from dlvsml.recommender.evidence import (
    TIE_TOLERANCE,
    Evidence,
    classical_win_rates,
    evidence_from_crossovers,
)
from dlvsml.recommender.facts import Facts, facts_from_profile, make_facts, merge
from dlvsml.recommender.rules import RuleBase, default_rules

Strategy = Callable[[Facts, Evidence, RuleBase], str]

STRATEGIES: dict[str, Strategy] = {
    "rules + evidence": lambda facts, evidence, rules: advise(facts, rules, evidence).verdict,
    "rules (literature thresholds)": lambda facts, evidence, rules: advise(facts, rules).verdict,
    "always classical": lambda facts, evidence, rules: "classical",
    "always deep": lambda facts, evidence, rules: "deep",
}
FOLLOWED = {"classical": "classical", "deep": "neural"}
CELL_COLUMNS = [
    "dataset", "modality", "train_size", "classical", "neural", "gap", "winner",
    "strategy", "verdict", "agreement", "regret", "facts_from",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "strategy", "agreement", "mean_regret", "max_regret", "try_both_share", "n",
]  # fmt: skip


@dataclass(frozen=True)
class EvaluationResult:
    """Per (dataset, size, strategy) verdicts against measured winners, and their summary."""

    cells: pd.DataFrame
    summary: pd.DataFrame
    tie_tolerance: float
    datasets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tie_tolerance": self.tie_tolerance,
            "datasets": list(self.datasets),
            "summary": _records(self.summary),
            "cells": _records(self.cells),
        }


def evaluate(
    results: pd.DataFrame,
    rules: RuleBase | None = None,
    profiles: Mapping[str, Mapping[str, Any]] | None = None,
    tie_tolerance: float = TIE_TOLERANCE,
    spec_name: str = "held-out suite",
) -> EvaluationResult:
    """Leave-one-dataset-out check of every strategy on a results frame.

    ``profiles`` (dataset name -> `profile_dataset` output) skips loading those datasets;
    the others are loaded from their ``dataset_uri`` (relative paths resolve against the
    working directory, as when the suite ran) and profiled once each. A dataset that
    cannot be loaded is judged on the facts the results carry (modality, task), which the
    ``facts_from`` column says. Needs two datasets with both families measured.
    """
    base = rules or default_rules()
    frame = tidy(results)
    pairs = family_pairs(frame) if len(frame) else pd.DataFrame()
    datasets = _comparable_datasets(pairs)
    table = crossovers(frame[frame["dataset"].isin(datasets)], n_boot=0)
    rows = []
    for dataset in datasets:
        evidence = evidence_from_crossovers(
            table[table["dataset"] != dataset],
            f"{spec_name} without {dataset}",
            base,
            classical_win_rates(frame[frame["dataset"] != dataset]),
        )
        facts, facts_from = _dataset_facts(
            frame[frame["dataset"] == dataset], (profiles or {}).get(dataset)
        )
        for cell in pairs[pairs["dataset"] == dataset].to_dict("records"):
            rows += _judge_cell(cell, facts, facts_from, evidence, base, tie_tolerance)
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    return EvaluationResult(cells, summarise(cells), tie_tolerance, tuple(datasets))


def _comparable_datasets(pairs: pd.DataFrame) -> list[str]:
    """Datasets measured with both families; fewer than two leave nothing to hold out."""
    datasets = sorted(pairs["dataset"].unique()) if len(pairs) else []
    if len(datasets) < 2:
        raise DlvsmlError(
            "evaluating the recommender needs at least 2 datasets measured with both a "
            f"classical and a neural model; found {len(datasets)}: run more of the suite first"
        )
    return datasets


def _judge_cell(
    cell: Mapping[str, Any],
    facts: Facts,
    facts_from: str,
    evidence: Evidence,
    rules: RuleBase,
    tie_tolerance: float,
) -> list[dict[str, Any]]:
    """One row per strategy: its verdict for the cell's dataset at the cell's train size,
    against the measured winner."""
    cell_facts = merge(facts, {"n_samples": int(cell["train_size"])})
    winner = _winner(cell["gap"], tie_tolerance)
    rows = []
    for strategy, decide in STRATEGIES.items():
        verdict = decide(cell_facts, evidence, rules)
        rows.append(
            {
                **{key: cell[key] for key in CELL_COLUMNS[:6]},
                "winner": winner,
                "strategy": strategy,
                "verdict": verdict,
                "agreement": agreement(verdict, winner),
                "regret": regret(verdict, cell),
                "facts_from": facts_from,
            }
        )
    return rows


def recommender_check(results: pd.DataFrame, spec_name: str) -> pd.DataFrame | None:
    """The evaluation summary for the report, or None when it cannot be computed (fewer than
    two datasets with both families measured)."""
    try:
        return evaluate(results, spec_name=spec_name).summary
    except DlvsmlError:
        return None


def agreement(verdict: str, winner: str) -> float:
    """1 for naming the winner (or any verdict when the winner is ``either``), 0.5 for
    ``try_both`` when one family clearly won, 0 for naming the loser."""
    if winner == "either" or FOLLOWED.get(verdict) == winner:
        return 1.0
    return 0.5 if verdict == "try_both" else 0.0


def regret(verdict: str, cell: Mapping[str, Any]) -> float:
    """Seed-mean score lost by following ``verdict`` in ``cell`` (0 for ``try_both``)."""
    if verdict == "try_both":
        return 0.0
    best = max(float(cell["classical"]), float(cell["neural"]))
    return best - float(cell[FOLLOWED[verdict]])


def summarise(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy (in `STRATEGIES` order): mean agreement and regret over cells."""
    rows = []
    for strategy in STRATEGIES:
        group = cells[cells["strategy"] == strategy]
        if group.empty:
            continue
        rows.append(
            {
                "strategy": strategy,
                "agreement": float(group["agreement"].mean()),
                "mean_regret": float(group["regret"].mean()),
                "max_regret": float(group["regret"].max()),
                "try_both_share": float((group["verdict"] == "try_both").mean()),
                "n": len(group),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _winner(gap: float, tolerance: float) -> str:
    if abs(gap) <= tolerance:
        return "either"
    return "neural" if gap > 0 else "classical"


def _dataset_facts(rows: pd.DataFrame, profile: Mapping[str, Any] | None) -> tuple[Facts, str]:
    """Facts of one dataset (and where they came from): its profile, given or loaded from its
    ``dataset_uri``, else what the results alone say."""
    devices = rows["device"].dropna().astype(str) if "device" in rows else pd.Series()
    gpu = bool(devices.str.startswith("cuda").any()) if len(devices) else None
    problem = "no dataset_uri in the results"
    if profile is None and "dataset_uri" in rows and rows["dataset_uri"].notna().any():
        profile, problem = _profile(str(rows["dataset_uri"].dropna().iloc[0]))
    if profile is not None:
        return merge(facts_from_profile(profile), {"gpu": gpu}), "profile"
    values = {"modality": rows["modality"].iloc[0], "task": rows["task"].iloc[0], "gpu": gpu}
    return make_facts(values), f"results only ({problem})"


def _profile(uri: str) -> tuple[dict[str, Any] | None, str]:
    """The dataset's profile, or None and why it could not be loaded."""
    from dlvsml.data import load_dataset, profile_dataset

    try:
        return profile_dataset(load_dataset(uri)), ""
    except DlvsmlError as exc:
        return None, f"cannot load {uri}: {exc}"


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    return [{key: _plain(value) for key, value in row.items()} for row in records]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
