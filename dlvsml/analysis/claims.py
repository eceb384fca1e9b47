"""The usual "deep learning vs traditional ML" advice, restated as claims our results can test.

Each claim is written once, in our words, with the one test that decides it. A verdict is
``supported`` or ``contradicted`` only when the test is significant (p < alpha) in one direction,
and ``inconclusive`` when it is not or when the evidence is thin (too few datasets, pairs or
sizes). "No significant difference" is never read as support: absence of evidence is reported
as such, with the numbers.

Family scores are always those of the model chosen on validation (`curves.family_best`).

Example::

    evaluate_claims(tidy(results))[["key", "verdict", "summary"]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dlvsml.analysis.curves import family_curves
from dlvsml.analysis.stats import SizeRegimes, family_pairs, wilcoxon_test, win_tie_loss

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
UNSTRUCTURED = ("image", "text")


@dataclass(frozen=True)
class ClaimSettings:
    """Thresholds shared by the claim tests."""

    alpha: float = 0.05
    min_datasets: int = 3  # fewer datasets than this: too narrow to generalise from
    min_pairs: int = 6  # fewer paired values than this cannot reach p < 0.05 (Wilcoxon, sign)
    min_sizes: int = 3  # a learning-curve slope or saturation point needs this many sizes
    min_score_gap: float = 0.005  # smaller median score gaps (and slope gaps) are negligible
    min_ratio: float = 1.1  # smaller median time or cost ratios are negligible
    share_of_gain: float = 0.9  # (h): share of its own improvement a family must reach
    regimes: SizeRegimes = field(default_factory=SizeRegimes)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: verdict, a one-line summary, and the numbers behind it."""

    verdict: str
    summary: str
    evidence: dict


@dataclass(frozen=True)
class Claim:
    """A testable statement, where in the DL-vs-ML primer it comes from, and its test."""

    key: str
    statement: str
    basis: str
    test: Callable[[pd.DataFrame, ClaimSettings], Verdict]


CLAIMS: dict[str, Claim] = {}


def claim(key: str, statement: str, basis: str) -> Callable:
    """Register a claim test under ``key``."""

    def register(test: Callable[[pd.DataFrame, ClaimSettings], Verdict]) -> Callable:
        CLAIMS[key] = Claim(key, statement, basis, test)
        return test

    return register


def evaluate_claims(frame: pd.DataFrame, settings: ClaimSettings | None = None) -> pd.DataFrame:
    """Every registered claim's verdict on a tidy frame: key, claim, verdict, summary, evidence."""
    settings = settings or ClaimSettings()
    rows = []
    for item in CLAIMS.values():
        outcome = item.test(frame, settings)
        rows.append(
            {
                "key": item.key,
                "claim": item.statement,
                "basis": item.basis,
                "verdict": outcome.verdict,
                "summary": outcome.summary,
                "evidence": outcome.evidence,
            }
        )
    return pd.DataFrame(rows, columns=["key", "claim", "basis", "verdict", "summary", "evidence"])


def _decide(
    evidence: dict,
    expected: str,
    settings: ClaimSettings,
    what: str,
    verb: str = "better",
    negligible: bool = False,
) -> Verdict:
    """Verdict from a test result dict with n_datasets, p_value and ``better`` (family name).

    ``better`` names the family the test favours on its scale (for ratios: the one with more).
    ``negligible`` marks an effect too small to matter: with many pairs a gap of 0.001 can be
    significant, and calling a claim settled on it would be misleading.
    """
    n_datasets = evidence.get("n_datasets") or 0
    if n_datasets < settings.min_datasets:
        summary = f"only {n_datasets} dataset(s) ({what}); need ≥{settings.min_datasets}"
        return Verdict(INCONCLUSIVE, summary, evidence)
    if evidence.get("p_value") is None:
        return Verdict(INCONCLUSIVE, evidence.get("message") or "test not run", evidence)
    p_value = evidence["p_value"]
    summary = f"{what}; p = {p_value:.3g}"
    if p_value >= settings.alpha:
        return Verdict(INCONCLUSIVE, f"no significant difference: {summary}", evidence)
    if negligible:
        return Verdict(INCONCLUSIVE, f"significant but negligible difference: {summary}", evidence)
    if evidence["better"] == expected:
        return Verdict(SUPPORTED, f"{expected} {verb}: {summary}", evidence)
    return Verdict(CONTRADICTED, f"{evidence['better']} {verb}: {summary}", evidence)


def _gap_claim(pairs: pd.DataFrame, expected: str, settings: ClaimSettings, scope: str) -> Verdict:
    """Wilcoxon of neural - classical score gaps over (dataset, size) pairs."""
    evidence = wilcoxon_test(pairs, "gap", settings.min_pairs)
    evidence["n_datasets"] = int(pairs["dataset"].nunique())
    evidence |= win_tie_loss(pairs, settings.min_score_gap)
    median = evidence["median"]
    what = (
        f"median neural − classical score {median:+.3f} over {evidence['n_pairs']} "
        f"(dataset, size) pairs, {evidence['n_datasets']} datasets, {scope}"
        if median is not None
        else f"no (dataset, size) pairs {scope}"
    )
    negligible = median is not None and abs(median) < settings.min_score_gap
    return _decide(evidence, expected, settings, what, negligible=negligible)


@claim(
    "small_data",
    "On small training sets, the best classical model beats the best neural one.",
    'primer: "Small Datasets" row (traditional ML better; DL prone to overfitting)',
)
def _small_data(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    pairs = family_pairs(frame, settings.regimes)
    small = settings.regimes.labels[0]
    scope = f"train size ≤ {settings.regimes.bounds[0]:,}"
    return _gap_claim(pairs[pairs["regime"] == small], "classical", settings, scope)


@claim(
    "tabular",
    "On tabular (structured) data, classical models beat neural networks.",
    'primer: "Structured Data" row and "Structured Tabular Data" (XGBoost often wins)',
)
def _tabular(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    pairs = family_pairs(frame, settings.regimes)
    return _gap_claim(pairs[pairs["modality"] == "tabular"], "classical", settings, "tabular")


@claim(
    "unstructured",
    "On images and text, neural networks beat classical models once there is enough data.",
    'primer: "Unstructured Data" row and "Use Deep Learning When" list',
)
def _unstructured(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    pairs = family_pairs(frame, settings.regimes)
    enough = pairs["modality"].isin(UNSTRUCTURED) & (pairs["regime"] != settings.regimes.labels[0])
    scope = f"image/text, train size > {settings.regimes.bounds[0]:,}"
    return _gap_claim(pairs[enough], "neural", settings, scope)


def family_slopes(frame: pd.DataFrame, min_sizes: int = 3) -> pd.DataFrame:
    """Per dataset: each family's score gain per tenfold train size (least squares on log10)."""
    points = family_curves(frame)
    rows = []
    for dataset, group in points.groupby("dataset", sort=True):
        row = {"dataset": dataset}
        for family, curve in group.groupby("family"):
            if len(curve) >= min_sizes:
                fit = stats.linregress(np.log10(curve["train_size"]), curve["mean"])
                row[family] = float(fit.slope)
        rows.append(row)
    slopes = pd.DataFrame(rows, columns=["dataset", "classical", "neural"]).dropna()
    return slopes.assign(gap=slopes["neural"] - slopes["classical"])


@claim(
    "steeper_curves",
    "Neural networks gain more from extra data: their learning curves are steeper.",
    'primer: "Large Datasets" row (DL improves with scale)',
)
def _steeper(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    slopes = family_slopes(frame, settings.min_sizes)
    evidence = wilcoxon_test(slopes, "gap", settings.min_pairs)
    evidence["n_datasets"] = len(slopes)
    evidence["slopes"] = slopes.set_index("dataset")[["classical", "neural"]].to_dict("index")
    median = evidence["median"]
    what = (
        f"median neural − classical gain per tenfold data {median:+.3f} over {len(slopes)} "
        f"datasets with ≥{settings.min_sizes} sizes"
        if median is not None
        else f"no dataset has both families at ≥{settings.min_sizes} sizes"
    )
    negligible = median is not None and abs(median) < settings.min_score_gap
    return _decide(evidence, "neural", settings, what, negligible=negligible)


def family_ratios(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per (dataset, size): median ``column`` of each family's cells and the log10 ratio."""
    usable = frame[np.isfinite(frame[column]) & (frame[column] > 0)]
    table = usable.pivot_table(
        index=["dataset", "train_size"], columns="family", values=column, aggfunc="median"
    )
    if not {"classical", "neural"} <= set(table.columns):
        return pd.DataFrame(columns=["dataset", "train_size", "classical", "neural", "log_ratio"])
    table = table[["classical", "neural"]].dropna().reset_index()
    return table.assign(log_ratio=np.log10(table["neural"] / table["classical"]))


def _ratio_claim(frame: pd.DataFrame, settings: ClaimSettings, column: str, noun: str) -> Verdict:
    """Neural slower/costlier than classical? Wilcoxon of log10(neural / classical) ratios."""
    ratios = family_ratios(frame, column)
    evidence = wilcoxon_test(ratios, "log_ratio", settings.min_pairs)
    evidence["n_datasets"] = int(ratios["dataset"].nunique())
    median = evidence.pop("median")
    evidence["median_ratio"] = None if median is None else float(10**median)
    what = (
        f"median neural / classical {noun} ratio {10**median:.3g}× over {len(ratios)} "
        f"(dataset, size) pairs, {evidence['n_datasets']} datasets"
        if median is not None
        else f"no (dataset, size) with {noun} recorded for both families"
    )
    # A positive log ratio means neural needs more: the test's "better" family is the costlier.
    negligible = median is not None and abs(median) < np.log10(settings.min_ratio)
    verb = f"has the higher {noun}"
    return _decide(evidence, "neural", settings, what, verb=verb, negligible=negligible)


@claim(
    "training_time",
    "Neural networks take longer to train (final fit time).",
    'primer: "Training Time" row (minutes-hours vs hours-weeks)',
)
def _training_time(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    return _ratio_claim(frame, settings, "fit_seconds", "fit time")


@claim(
    "compute_cost",
    "Neural networks cost more compute money (tuning time × hourly price).",
    'primer: "Cost" row (low vs high)',
)
def _compute_cost(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    return _ratio_claim(frame, settings, "cost_usd", "cost")


@claim(
    "inference_speed",
    "Classical models predict at least as fast as neural networks "
    "(supported only when they are measurably faster; equal speed stays inconclusive).",
    'primer: "Inference" row (very fast vs fast to moderate)',
)
def _inference_speed(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    return _ratio_claim(frame, settings, "predict_seconds_per_1k", "prediction latency")


def saturation_sizes(frame: pd.DataFrame, share: float = 0.9, min_sizes: int = 3) -> pd.DataFrame:
    """Per dataset and family: the train size where the curve first reaches ``share`` of its gain.

    The gain is from the family's score at the smallest size to its best score, interpolated on
    log size. A family's own gain, not a share of its raw score: with accuracy-type scores the
    floor is chance, so "95% of the best accuracy" is met by a near-useless model.
    """
    points = family_curves(frame)
    rows = []
    for (dataset, family), curve in points.groupby(["dataset", "family"], sort=True):
        curve = curve.sort_values("train_size")
        if len(curve) < min_sizes:
            continue
        sizes, means = curve["train_size"].to_numpy(float), curve["mean"].to_numpy(float)
        target = means[0] + share * (means.max() - means[0])
        reached = int(np.flatnonzero(means >= target)[0])
        size = sizes[reached]
        if reached > 0:
            low, high = means[reached - 1], means[reached]
            step = (target - low) / (high - low)
            size = float(
                np.exp(
                    np.log(sizes[reached - 1]) + step * np.log(sizes[reached] / sizes[reached - 1])
                )
            )
        rows.append({"dataset": dataset, "family": family, "saturation_size": float(size)})
    table = pd.DataFrame(rows, columns=["dataset", "family", "saturation_size"])
    return table.pivot_table(
        index="dataset", columns="family", values="saturation_size"
    ).reset_index()


@claim(
    "data_efficiency",
    "Classical models are more data-efficient: they reach most of their attainable score with "
    "fewer examples, while neural networks need more data to get there.",
    'primer: "Data Size" row (hundreds-thousands vs tens of thousands-millions)',
)
def _data_efficiency(frame: pd.DataFrame, settings: ClaimSettings) -> Verdict:
    sizes = saturation_sizes(frame, settings.share_of_gain, settings.min_sizes)
    if not {"classical", "neural"} <= set(sizes.columns):
        sizes = pd.DataFrame(columns=["dataset", "classical", "neural"])
    sizes = sizes.dropna(subset=["classical", "neural"])
    later = int((sizes["neural"] > sizes["classical"] * 1.05).sum())
    earlier = int((sizes["neural"] < sizes["classical"] / 1.05).sum())
    evidence: dict = {
        "n_datasets": len(sizes),
        "neural_later": later,
        "neural_earlier": earlier,
        "ties": len(sizes) - later - earlier,
        "share_of_gain": settings.share_of_gain,
        "p_value": None,
        "better": None,
    }
    what = (
        f"neural reaches {settings.share_of_gain:.0%} of its gain later on {later} and earlier on "
        f"{earlier} of {len(sizes)} datasets (sign test)"
    )
    if later + earlier >= settings.min_pairs:
        evidence["p_value"] = float(stats.binomtest(later, later + earlier).pvalue)
        evidence["better"] = "classical" if later > earlier else "neural"
    else:
        evidence["message"] = f"{what}; need ≥{settings.min_pairs} datasets that differ"
    return _decide(evidence, "classical", settings, what)
