"""Text nets (fastText, TextCNN, a small Transformer) as one sklearn estimator.

Their registered specs (defaults and search spaces, with sources) are in `specs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dlvsml.errors import ModelError
from dlvsml.models.neural.estimator import NeuralEstimator, check_texts
from dlvsml.models.neural.text_features import Vocabulary, hashed_bigrams
from dlvsml.models.neural.text_nets import FastText, TextCNN, TextTransformer

ArchBuilder = Callable[["TextNet", int, int], nn.Module]

ARCHITECTURES: dict[str, ArchBuilder] = {
    "fasttext": lambda e, vocab, n_out: FastText(
        vocab + e.n_buckets, n_out, e.d_embedding, e.dropout
    ),
    "textcnn": lambda e, vocab, n_out: TextCNN(vocab, n_out, e.d_embedding, e.n_filters, e.dropout),
    "text_transformer": lambda e, vocab, n_out: TextTransformer(
        vocab, n_out, e.vocabulary_.length_, e.d_embedding, e.n_heads, e.n_layers, e.dropout
    ),
}
# TextCNN's widest filter needs texts at least this long (padding makes up the rest).
MIN_LENGTH = {"textcnn": 5}


class TextNet(NeuralEstimator):
    """A net on a 1-d array of ``str``; tokenisation and vocabulary are fitted on training texts."""

    def __init__(
        self,
        arch: str = "fasttext",
        d_embedding: int = 64,
        n_filters: int = 100,
        n_heads: int = 4,
        n_layers: int = 2,
        dropout: float = 0.1,
        n_buckets: int = 20_000,
        min_count: int = 2,
        max_vocabulary: int = 30_000,
        max_length: int = 256,
        lr: float = 1e-2,
        batch_size: int = 64,
        max_epochs: int = 20,
        patience: int = 4,
        **training: Any,
    ) -> None:
        super().__init__(
            lr=lr, batch_size=batch_size, max_epochs=max_epochs, patience=patience, **training
        )
        self.arch = arch
        self.d_embedding = d_embedding
        self.n_filters = n_filters
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dropout = dropout
        self.n_buckets = n_buckets
        self.min_count = min_count
        self.max_vocabulary = max_vocabulary
        self.max_length = max_length

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        return check_texts(self, X, reset)

    def _fit_features(self, X: np.ndarray) -> None:
        if self.arch not in ARCHITECTURES:
            raise ModelError(f"arch {self.arch!r} is not one of {', '.join(ARCHITECTURES)}")
        self.vocabulary_ = Vocabulary(self.min_count, self.max_vocabulary, self.max_length).fit(X)

    def _to_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        ids = self.vocabulary_.encode(X, MIN_LENGTH.get(self.arch, 1))
        if self.arch == "fasttext":
            bigrams = hashed_bigrams(ids, self.n_buckets, self.vocabulary_.size)
            ids = np.hstack([ids, bigrams])
        return (torch.from_numpy(ids),)

    def _build_module(self, n_outputs: int) -> nn.Module:
        return ARCHITECTURES[self.arch](self, self.vocabulary_.size, n_outputs)
