"""Evidence: thresholds of the knowledge base replaced by what a suite measured.

Per modality, ``dl_min_samples_<modality>`` (from what size nets win) becomes the measured
crossover size, taken over that modality's datasets (`dlvsml.analysis.crossovers`):

- each dataset gives one value: its crossover size when it crossed; its smallest measured size
  when neural led at every size (the crossover is at or below it); *beyond the range* when
  classical still led (or tied) at the largest size;
- the threshold is the median of those values, with *beyond the range* counted as larger than
  any number (a right-censored median: datasets that never crossed pull it up instead of being
  dropped, which would bias it low);
- when that median is beyond the range (half or more of the datasets did not cross), the evidence
  only says "nets need more than the largest size measured". The threshold then becomes the
  knowledge base's value if that is larger (the evidence does not contradict it), else twice the
  largest size measured: one step of a doubling grid past what was seen, the smallest claim the
  data allow without extrapolating further.

Alongside, the win rate of the best classical model (linear, GBDT, ... chosen on validation) per
modality and size regime (`dlvsml.analysis.SizeRegimes`) becomes the fact
``measured_classical_win_rate`` of a problem of that modality whose size falls in a regime with
at least `MIN_CELLS` measured comparisons (`Evidence.facts_for`); outside the measured regimes
it stays unknown, so the rules that read it do not fire (no extrapolation).

Example::

    evidence = derive_evidence(results_frame("example"), "example")
    recommend(facts, thresholds=evidence.thresholds)  # thresholds_used origin "evidence"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlvsml.analysis.crossover import CROSSED, NEURAL_AHEAD, NOT_IN_RANGE, crossovers
from dlvsml.analysis.frame import tidy
from dlvsml.analysis.stats import SizeRegimes, family_pairs
from dlvsml.guard import drop_unlearned
from dlvsml.recommender.facts import Facts, merge
from dlvsml.recommender.rules import RuleBase, default_rules

TIE_TOLERANCE = 0.005  # score difference below which two families tie (as in analysis.stats)
MIN_CELLS = 3  # fewer measured (dataset, size) comparisons in a regime say too little
BEYOND = np.inf


def threshold_name(modality: str) -> str:
    """The knowledge base's "enough data for deep learning" threshold of ``modality``."""
    return f"dl_min_samples_{modality}"


@dataclass(frozen=True)
class EvidenceItem:
    """One threshold set from measurements: its value, how it was derived, from which data."""

    name: str
    value: float
    default: float
    modality: str
    basis: str
    datasets: tuple[str, ...]
    train_sizes: tuple[int, ...]
    spec_name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "default": self.default,
            "modality": self.modality,
            "basis": self.basis,
            "datasets": list(self.datasets),
            "train_sizes": list(self.train_sizes),
            "spec": self.spec_name,
        }


@dataclass(frozen=True)
class Evidence:
    """Thresholds measured in suite ``spec_name``, what they rest on, and classical win rates."""

    spec_name: str
    thresholds: dict[str, float]
    used: tuple[EvidenceItem, ...]
    win_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    regimes: SizeRegimes = field(default_factory=SizeRegimes)

    def facts_for(self, facts: Facts) -> Facts:
        """``facts`` with ``measured_classical_win_rate`` for its modality and size regime, when
        at least `MIN_CELLS` comparisons were measured there (else unchanged)."""
        if facts.n_samples is None or self.win_rates.empty:
            return facts
        regime = self.regimes.label(np.array([facts.n_samples]))[0]
        rates = self.win_rates
        row = rates[(rates["modality"] == facts.modality) & (rates["regime"] == regime)]
        if row.empty or int(row["n_cells"].iloc[0]) < MIN_CELLS:
            return facts
        return merge(
            facts, {"measured_classical_win_rate": float(row["classical_win_rate"].iloc[0])}
        )

    @property
    def source(self) -> str:
        """How recommendations name this evidence (``ThresholdUse.source``)."""
        return f"measured in suite {self.spec_name!r}"

    def to_dict(self) -> dict[str, Any]:
        rates = self.win_rates.replace({np.nan: None}).to_dict("records")
        return {
            "spec": self.spec_name,
            "thresholds": self.thresholds,
            "used": [item.to_dict() for item in self.used],
            "classical_win_rates": rates,
        }


def derive_evidence(
    results: pd.DataFrame,
    spec_name: str,
    rules: RuleBase | None = None,
    regimes: SizeRegimes | None = None,
) -> Evidence:
    """Evidence from a results frame (`dlvsml.tracking.results_frame` shape)."""
    frame = drop_unlearned(tidy(results))  # where no model learned, nothing was measured
    regimes = regimes or SizeRegimes()
    rates = classical_win_rates(frame, regimes)
    if frame.empty:
        return Evidence(spec_name, {}, (), rates, regimes)
    return evidence_from_crossovers(crossovers(frame, n_boot=0), spec_name, rules, rates, regimes)


def evidence_from_crossovers(
    table: pd.DataFrame,
    spec_name: str,
    rules: RuleBase | None = None,
    win_rates: pd.DataFrame | None = None,
    regimes: SizeRegimes | None = None,
) -> Evidence:
    """Evidence from a `crossovers` table (one row per dataset); rows of datasets lacking a
    family are ignored. Lets leave-one-dataset-out reuse one table (see `evaluate`)."""
    base = rules or default_rules()
    usable = table[table["status"].isin([CROSSED, NEURAL_AHEAD, NOT_IN_RANGE])]
    thresholds: dict[str, float] = {}
    used = []
    for modality, group in usable.groupby("modality", sort=True):
        name = threshold_name(str(modality))
        if name not in base.thresholds:
            continue
        value, basis = measured_threshold(group, base.thresholds[name])
        thresholds[name] = value
        sizes = sorted({int(s) for col in ("min_size", "max_size") for s in group[col]})
        used.append(
            EvidenceItem(
                name=name,
                value=value,
                default=float(base.thresholds[name]),
                modality=str(modality),
                basis=basis,
                datasets=tuple(sorted(group["dataset"].astype(str))),
                train_sizes=tuple(sizes),
                spec_name=spec_name,
            )
        )
    rates = win_rates if win_rates is not None else pd.DataFrame()
    return Evidence(spec_name, thresholds, tuple(used), rates, regimes or SizeRegimes())


def measured_threshold(group: pd.DataFrame, default: float) -> tuple[float, str]:
    """(threshold, how it was derived) from one modality's rows of a crossovers table."""
    values = np.array([_crossover_value(row) for row in group.to_dict("records")])
    median = float(np.median(values))  # inf when half or more never crossed
    counts = (
        f"{(group['status'] == CROSSED).sum()} crossed, "
        f"{(group['status'] == NEURAL_AHEAD).sum()} neural ahead throughout, "
        f"{(group['status'] == NOT_IN_RANGE).sum()} classical ahead or tied at the largest size"
    )
    if np.isfinite(median):
        return median, f"median crossover size of {len(values)} datasets ({counts})"
    largest = float(group["max_size"].max())
    if default > largest:
        return float(default), (
            f"no crossover up to {largest:g} ({counts}); the default {default:g} is beyond the "
            "measured range, so the evidence does not contradict it"
        )
    return 2 * largest, (
        f"no crossover up to {largest:g} ({counts}); nets need more than the largest size "
        f"measured, so twice it (the default {default:g} is contradicted)"
    )


def _crossover_value(row: Mapping[str, Any]) -> float:
    if row["status"] == CROSSED:
        return float(row["crossover_size"])
    if row["status"] == NEURAL_AHEAD:
        return float(row["min_size"])
    return BEYOND


def classical_win_rates(
    frame: pd.DataFrame, regimes: SizeRegimes | None = None, tolerance: float = TIE_TOLERANCE
) -> pd.DataFrame:
    """Per modality and size regime: how often the best classical model beat the best net.

    One vote per (dataset, train size), on seed-averaged scores; a tie (|gap| ≤ tolerance)
    counts half, so ``classical_win_rate`` is 0.5 when neither family leads.
    """
    columns = ["modality", "regime", "n_cells", "classical_wins", "ties", "neural_wins"]
    pairs = family_pairs(frame, regimes) if len(frame) else pd.DataFrame()
    if pairs.empty:
        return pd.DataFrame(columns=[*columns, "classical_win_rate"])
    gap = pairs["gap"].astype(float)
    pairs = pairs.assign(
        classical_wins=(gap < -tolerance).astype(int),
        ties=(gap.abs() <= tolerance).astype(int),
        neural_wins=(gap > tolerance).astype(int),
    )
    rates = (
        pairs.groupby(["modality", "regime"], sort=True)
        .agg(
            n_cells=("gap", "size"),
            classical_wins=("classical_wins", "sum"),
            ties=("ties", "sum"),
            neural_wins=("neural_wins", "sum"),
        )
        .reset_index()
    )
    rates["classical_win_rate"] = (rates["classical_wins"] + 0.5 * rates["ties"]) / rates["n_cells"]
    return rates[[*columns, "classical_win_rate"]]
