"""Text nets: tokenizer and vocabulary, and each net learns SMS spam."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score

from dlvsml.models import get_model
from dlvsml.models.neural.text_features import OOV, PAD, Vocabulary, hashed_bigrams, tokenize
from tests.unit.neural_data import context, sms_spam


def test_tokenizer_lowercases_words_and_keeps_contractions() -> None:
    assert tokenize("Don't STOP me now, 2 nights!") == ["don't", "stop", "me", "now", "2", "nights"]


def test_vocabulary_keeps_frequent_words_and_maps_the_rest_to_oov() -> None:
    vocab = Vocabulary(min_count=2, max_size=10, max_length=3).fit(["a b a", "b c", "a"])
    ids = vocab.encode(["a b c d e", "", "b"])
    assert vocab.size == 4 and vocab.length_ == 3
    assert ids[0].tolist() == [vocab.ids_["a"], vocab.ids_["b"], OOV]  # truncated to length 3
    assert ids[1].tolist() == [OOV, PAD, PAD]  # an empty text still has one token
    assert ids[2].tolist() == [vocab.ids_["b"], PAD, PAD]


def test_hashed_bigrams_skip_padding() -> None:
    ids = np.array([[2, 3, 4, PAD]])
    bigrams = hashed_bigrams(ids, n_buckets=100, offset=10)
    assert bigrams[0, 2] == PAD and (bigrams[0, :2] >= 10).all() and (bigrams[0, :2] < 110).all()


CHEAP = {
    "fasttext": {"max_epochs": 6},
    "textcnn": {"max_epochs": 12, "d_embedding": 64, "n_filters": 50, "lr": 3e-3},
    "text_transformer": {"max_epochs": 6, "d_embedding": 32, "n_layers": 1, "lr": 2e-3},
}


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_beats_dummy_on_sms_spam(name: str) -> None:
    X_train, X_test, y_train, y_test = sms_spam()
    spec = get_model(name)
    est = spec.build({**spec.defaults, **CHEAP[name]}, context("text", "binary"))
    est.fit(X_train, y_train)
    # Dummy (majority class) has balanced accuracy 0.5; spam is ~13% of messages.
    assert balanced_accuracy_score(y_test, est.predict(X_test)) > 0.8
    assert est.predict_proba(X_test).shape == (len(y_test), 2)


def test_text_input_must_be_one_dimensional() -> None:
    X_train, _, y_train, _ = sms_spam()
    spec = get_model("fasttext")
    est = spec.build({**spec.defaults, "max_epochs": 1}, context("text", "binary"))
    with pytest.raises(ValueError, match="1-d array of texts"):
        est.fit(X_train.reshape(-1, 1), y_train)


def test_regression_on_text_reports_r2_per_epoch() -> None:
    X_train, X_test, y_train, y_test = sms_spam()
    spec = get_model("fasttext")
    est = spec.build({**spec.defaults, "max_epochs": 6}, context("text", "regression"))
    est.fit(X_train, y_train.astype(float))  # the spam indicator as a numeric target
    assert r2_score(y_test, est.predict(X_test)) > 0.4  # a mean predictor scores about 0
    assert 0.3 < max(h["val_score"] for h in est.history_) <= 1.0  # validation R² per epoch
