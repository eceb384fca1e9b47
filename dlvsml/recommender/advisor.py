"""The one way from facts to a recommendation: the rules, refined by measured evidence if any.

``dlvsml recommend``, the notebook API (``dlvsml.recommend``, ``Comparison.recommend``) and the
leave-one-dataset-out evaluation all call `advise`, so a change to how evidence refines a verdict
reaches all three at once.

>>> from dlvsml.recommender import advise, make_facts
>>> advise(make_facts({"modality": "image", "n_samples": 200_000, "gpu": True})).verdict
'deep'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dlvsml.recommender.engine import recommend
from dlvsml.recommender.facts import Facts, facts_from_profile, merge
from dlvsml.recommender.result import Recommendation
from dlvsml.recommender.rules import RuleBase

if TYPE_CHECKING:  # evidence imports the analysis stack (pandas); only its objects are used here
    from dlvsml.recommender.evidence import Evidence


def advise(
    facts: Facts, rules: RuleBase | None = None, evidence: Evidence | None = None
) -> Recommendation:
    """The recommendation for ``facts`` under ``rules`` (default: the packaged knowledge base).

    ``evidence`` (`derive_evidence` of a suite's results) replaces the thresholds it measured
    and adds the fact ``measured_classical_win_rate`` for the modality and size regime of
    ``facts`` (`Evidence.facts_for`); without it the literature thresholds stand.
    """
    if evidence is None:
        return recommend(facts, rules)
    return recommend(evidence.facts_for(facts), rules, evidence.thresholds, evidence.source)


def dataset_facts(uri: str, overrides: Mapping[str, Any]) -> Facts:
    """Facts of the dataset at ``uri`` (loaded and profiled) with every non-``None`` override
    on top: what the user says beats what profiling measured."""
    from dlvsml.data import load_dataset, profile_dataset

    return merge(facts_from_profile(profile_dataset(load_dataset(uri))), overrides)
