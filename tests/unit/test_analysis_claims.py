"""Claims: supported in a world built to agree with them, contradicted in its mirror image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlvsml.analysis.claims import CLAIMS, evaluate_claims
from dlvsml.analysis.frame import tidy
from tests.unit.test_analysis_frame import synthetic_results


def _early(level: float, scale: float):  # saturates by a few times `scale`
    return lambda n: level - 0.1 * np.exp(-n / scale)


def _late(base: float, per_decade: float):  # keeps improving with every tenfold data
    return lambda n: base + per_decade * np.log10(n)


def world(mirrored: bool) -> pd.DataFrame:
    """Six tabular datasets at small sizes and six image datasets at larger sizes.

    In the primer's world classical models win on small tabular data, saturate early, and are
    faster; neural nets win on images, keep improving, and are slower. The mirror swaps families.
    """
    frames = []
    suites = [("tabular", (100, 300, 1000), _early(0.85, 100), _late(0.55, 0.08))]
    suites.append(("image", (2000, 6000, 20000), _early(0.70, 2000), _late(0.5, 0.1)))
    for modality, sizes, early, late in suites:
        for index in range(6):
            shift = 0.02 * index
            classical, neural = (late, early) if mirrored else (early, late)
            models = {
                "gbm": ("classical", lambda n, f=classical, s=shift: f(n) - s),
                "mlp": ("neural", lambda n, f=neural, s=shift: f(n) - s),
            }
            seconds = {"classical": 10.0, "neural": 1.0} if mirrored else None
            frames.append(
                synthetic_results(
                    models,
                    f"{modality}{index}",
                    modality,
                    sizes,
                    seeds=3,
                    rng_seed=index,
                    seconds=seconds,
                )
            )
    return tidy(pd.concat(frames))


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, str]]:
    return {
        name: evaluate_claims(world(mirrored)).set_index("key")["verdict"].to_dict()
        for name, mirrored in [("primer", False), ("mirror", True)]
    }


def test_every_claim_is_encoded_once_with_its_own_test() -> None:
    assert len(CLAIMS) >= 8
    assert len({claim.statement for claim in CLAIMS.values()}) == len(CLAIMS)


def test_claims_are_supported_in_the_world_built_to_support_them(verdicts) -> None:
    assert verdicts["primer"] == dict.fromkeys(CLAIMS, "supported")


def test_claims_are_contradicted_in_the_mirror_world(verdicts) -> None:
    # "On images, neural wins": the mirror makes classical win on images; likewise for the rest.
    assert verdicts["mirror"] == dict.fromkeys(CLAIMS, "contradicted")


def test_thin_evidence_is_inconclusive() -> None:
    tiny = world(mirrored=False)
    tiny = tiny[tiny["dataset"].isin(["tabular0", "image0"]) & (tiny["seed"] < 2)]
    table = evaluate_claims(tiny)
    assert (table["verdict"] == "inconclusive").all()
    assert table["summary"].str.contains("need").all()


def test_no_difference_is_inconclusive_not_support() -> None:
    same = lambda n: 0.8 + 0 * n  # noqa: E731
    frames = [
        synthetic_results(
            {"gbm": ("classical", same), "mlp": ("neural", same)},
            f"d{index}",
            rng_seed=index,
            seconds={"classical": 1.0, "neural": 1.0},
        )
        for index in range(6)
    ]
    table = evaluate_claims(tidy(pd.concat(frames))).set_index("key")
    # Many pairs make a tiny gap significant by chance; it must still not settle the claim.
    assert table.loc["tabular", "verdict"] == "inconclusive"
    assert table.loc["tabular", "evidence"]["p_value"] < 0.05
    assert "negligible" in table.loc["tabular", "summary"]
    assert table.loc["training_time", "verdict"] == "inconclusive"
    assert table.loc["tabular", "evidence"]["n_pairs"] == 42
