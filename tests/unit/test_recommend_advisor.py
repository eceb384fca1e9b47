"""`advise`: the one path from facts, rules and evidence to a recommendation."""

from __future__ import annotations

import doctest

import pandas as pd

from dlvsml.recommender import advise, advisor, make_facts
from dlvsml.recommender.evidence import Evidence


def _evidence(rate: float, n_cells: int) -> Evidence:
    rates = pd.DataFrame(
        [{"modality": "tabular", "regime": "small", "n_cells": n_cells, "classical_win_rate": rate}]
    )
    return Evidence("suite", {"dl_min_samples_tabular": 400.0}, (), rates)


def test_evidence_sets_thresholds_and_the_measured_win_rate() -> None:
    facts = make_facts({"modality": "tabular", "n_samples": 500})
    plain = advise(facts)
    measured = advise(facts, evidence=_evidence(0.9, n_cells=3))
    assert plain.facts["measured_classical_win_rate"] is None
    assert measured.facts["measured_classical_win_rate"] == 0.9
    use = measured.thresholds_used["dl_min_samples_tabular"]
    assert (use.origin, use.value) == ("evidence", 400.0) and "'suite'" in use.source
    too_few = advise(facts, evidence=_evidence(0.9, n_cells=2))
    assert too_few.facts["measured_classical_win_rate"] is None


def test_docstring_example_runs() -> None:
    assert doctest.testmod(advisor).failed == 0
