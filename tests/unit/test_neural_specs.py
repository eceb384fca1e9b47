"""Every neural spec is registered, samples a valid search space and builds its estimator."""

from __future__ import annotations

import optuna
import pytest
from sklearn.base import clone

from dlvsml.models import all_models, models_for
from tests.unit.neural_data import context

NEURAL = {
    "mlp": "tabular",
    "resnet": "tabular",
    "ft_transformer": "tabular",
    "cnn": "image",
    "resnet_small": "image",
    "fasttext": "text",
    "textcnn": "text",
    "text_transformer": "text",
    "sentence_embeddings": "text",
}


def test_all_neural_models_are_registered() -> None:
    neural = {n: s for n, s in all_models().items() if s.family == "neural"}
    assert set(neural) == set(NEURAL)
    assert {m.name for m in models_for("image", "multiclass", family="neural")} == {
        "cnn",
        "resnet_small",
    }


@pytest.mark.parametrize("name", sorted(NEURAL))
def test_search_space_params_build_an_estimator_that_accepts_them(name: str) -> None:
    if name == "sentence_embeddings":
        pytest.importorskip("sentence_transformers")
    spec = all_models()[name]
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    ctx = context(NEURAL[name], "binary", seed=7, trial=trial, time_limit=60.0)
    params = spec.search_space(trial, ctx)
    assert {"lr", "weight_decay", "batch_size", "max_epochs"} <= set(params)
    assert "dropout" in params and params["max_epochs"] <= 100
    est = spec.build(params, ctx)
    got = est.get_params()
    assert all(got[k] == v for k, v in params.items())
    assert got["random_state"] == 7 and got["time_limit"] == 60.0 and got["trial"].obj is trial
    assert clone(est).get_params()["lr"] == params["lr"]
    assert "max_epochs" in spec.defaults  # the conformance test can make fits cheap
