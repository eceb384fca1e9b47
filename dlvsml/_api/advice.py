"""``dlvsml.recommend`` and ``dlvsml.load``: the recommender and the data layer for notebooks."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlvsml._api.inputs import check_modality, source_uri
from dlvsml.errors import DlvsmlError

if TYPE_CHECKING:
    import pandas as pd

    from dlvsml.data import Dataset
    from dlvsml.recommend import Recommendation


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
    `dlvsml.recommend.Facts`) override the profile, or stand alone without data. ``rules`` is
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
        return _recommend(None, facts, rules)
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
    supply the thresholds (crossover sizes) when the evidence module is there."""
    check_modality(facts.get("modality"))
    command = importlib.import_module("dlvsml.recommend.command")
    return _recommend(command.gather_facts(uri, facts), {}, rules, results, spec_name)


def _recommend(
    known: Any,
    facts: dict[str, Any],
    rules: str | Path | None,
    results: pd.DataFrame | None = None,
    spec_name: str | None = None,
) -> Recommendation:
    package = importlib.import_module("dlvsml.recommend")
    engine_recommend = importlib.import_module("dlvsml.recommend.engine").recommend
    base = package.load_rules(Path(rules) if rules is not None else None)
    known = known if known is not None else package.make_facts(facts)
    if results is None or results.empty:
        return engine_recommend(known, base)
    try:
        measured = importlib.import_module("dlvsml.recommend.evidence")
    except ImportError:  # a recommender without measured evidence: its static thresholds
        return engine_recommend(known, base)
    evidence = measured.derive_evidence(results, spec_name or "compare", base)
    return engine_recommend(known, base, evidence.thresholds, evidence.source)


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
