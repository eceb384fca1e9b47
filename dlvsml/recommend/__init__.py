"""Recommend classical ML or deep learning from facts about a problem, with the reasons why.

Measured results refine it: `dlvsml.recommend.evidence.derive_evidence` turns a suite's crossover
sizes into thresholds, and `dlvsml.recommend.evaluate.evaluate` checks verdicts against measured
winners, leaving one dataset out (both import the analysis stack, so they are not re-exported).

>>> from dlvsml.recommend import Facts, recommend
>>> recommend(Facts(modality="image", n_samples=200_000, gpu=True)).verdict
'deep'
"""

from dlvsml.recommend.engine import recommend
from dlvsml.recommend.facts import Facts, facts_from_profile, make_facts, merge
from dlvsml.recommend.result import Recommendation
from dlvsml.recommend.rules import RuleBase, default_rules, load_rules

__all__ = [
    "Facts",
    "Recommendation",
    "RuleBase",
    "default_rules",
    "facts_from_profile",
    "load_rules",
    "make_facts",
    "merge",
    "recommend",
]
