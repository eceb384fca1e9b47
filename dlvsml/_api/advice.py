"""``dlvsml.recommend`` and ``dlvsml.load``: the recommender and the data layer for notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlvsml._api.inputs import check_modality, source_uri
from dlvsml.errors import DlvsmlError
from dlvsml.recommender import (
    Recommendation,
    RuleBase,
    advise,
    dataset_facts,
    load_rules,
    make_facts,
)

if TYPE_CHECKING:
    import pandas as pd

    from dlvsml.data import Dataset


def recommend(
    data: Any = None,
    *,
    target: str | None = None,
    rules: str | Path | None = None,
    **facts: Any,
) -> Recommendation:
    """Classical ML, deep learning or both, with the rules behind the verdict (what
    ``dlvsml recommend`` prints).

    ``data`` (a URI, a DataFrame with ``target=``, ``(X, y)`` or ``(texts, labels)``) is
    profiled; ``facts`` (``modality``, ``n_samples``, ``gpu``, ``interpretability``, ...; see
    `dlvsml.recommender.Facts`) override the profile, or stand alone without data. ``rules`` is
    your own rules file.

    >>> import dlvsml
    >>> dlvsml.recommend(modality="image", n_samples=200_000, gpu=True).verdict
    'deep'
    >>> dlvsml.recommend("builtin:iris").verdict
    'classical'
    """
    if data is None:
        if target is not None:
            raise DlvsmlError("target= names a column of data=; give the DataFrame too")
        if facts.get("modality") is None:
            raise DlvsmlError(
                "recommend needs the kind of data: give modality='tabular'|'image'|'text' (with "
                "n_samples=... and other facts you know) or data to profile"
            )
        return advise(make_facts(facts), _rules(rules))
    uri = source_uri(data, target, facts.get("modality"))
    return recommend_for(uri, facts, rules=rules)


def recommend_for(
    uri: str,
    facts: dict[str, Any],
    *,
    rules: str | Path | None = None,
    results: pd.DataFrame | None = None,
    spec_name: str | None = None,
) -> Recommendation:
    """The recommendation for the dataset at ``uri``; ``results`` of a suite that measured it
    are the evidence (crossover sizes as thresholds, the measured classical win rate as a
    fact), exactly as ``dlvsml recommend --evidence SPEC`` uses them."""
    check_modality(facts.get("modality"))
    base = _rules(rules)
    evidence = None
    if results is not None and not results.empty:
        from dlvsml.recommender.evidence import derive_evidence  # the analysis stack

        evidence = derive_evidence(results, spec_name or "compare", base)
    return advise(dataset_facts(uri, facts), base, evidence)


def _rules(path: str | Path | None) -> RuleBase:
    return load_rules(Path(path) if path is not None else None)


def load(uri: str) -> Dataset:
    """The `Dataset` a source URI names (as every dlvsml command loads it).

    >>> import dlvsml
    >>> digits = dlvsml.load("builtin:digits")
    >>> digits.modality, digits.task, digits.X.shape
    ('image', 'multiclass', (1797, 8, 8))
    """
    from dlvsml.data import load_dataset

    if not isinstance(uri, str):
        raise DlvsmlError(
            f"load() takes a source URI such as 'builtin:digits', not a {type(uri).__name__}"
        )
    return load_dataset(uri)
