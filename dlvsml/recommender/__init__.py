"""Recommend classical ML or deep learning from facts about a problem, with the reasons why.

Measured results refine it: `dlvsml.recommender.evidence.derive_evidence` turns a suite's crossover
sizes into thresholds, and `dlvsml.recommender.evaluate.evaluate` checks verdicts against measured
winners, leaving one dataset out (both import the analysis stack, so they are not re-exported).

`advise` is the one entry point the CLI, the notebook API and the evaluation share: the rules,
with evidence when it is given; `recommend` is the engine under it (rules and thresholds only).

>>> from dlvsml.recommender import Facts, advise
>>> advise(Facts(modality="image", n_samples=200_000, gpu=True)).verdict
'deep'
"""

from dlvsml.recommender.advisor import advise, dataset_facts
from dlvsml.recommender.engine import recommend
from dlvsml.recommender.facts import Facts, facts_from_profile, make_facts, merge
from dlvsml.recommender.result import Recommendation
from dlvsml.recommender.rules import RuleBase, default_rules, load_rules

__all__ = [
    "Facts",
    "Recommendation",
    "RuleBase",
    "advise",
    "dataset_facts",
    "default_rules",
    "facts_from_profile",
    "load_rules",
    "make_facts",
    "merge",
    "recommend",
]
