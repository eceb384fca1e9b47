"""Transfer learning for text: frozen sentence embeddings plus a small trained MLP head.

The encoder (default all-MiniLM-L6-v2, Reimers & Gurevych 2019) is never fine-tuned, so its
embeddings are computed once per text and cached (`embedding_cache`); the budget still pays
their cold cost. The head's search space
follows the tabular MLP (Grinsztajn 2022), shallower because the inputs are already features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dlvsml.models.neural.embedding_cache import DEFAULT_ENCODER, embed_texts
from dlvsml.models.neural.estimator import NeuralEstimator, check_texts
from dlvsml.models.neural.tabular_nets import MLP
from dlvsml.models.time_budget import fit_clock


class SentenceEmbeddingNet(NeuralEstimator):
    """An MLP head on frozen sentence embeddings of a 1-d array of ``str``."""

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        n_blocks: int = 1,
        d_hidden: int = 256,
        dropout: float = 0.1,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = 50,
        patience: int = 8,
        **training: Any,
    ) -> None:
        super().__init__(
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            patience=patience,
            **training,
        )
        self.encoder = encoder
        self.n_blocks = n_blocks
        self.d_hidden = d_hidden
        self.dropout = dropout

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        return check_texts(self, X, reset)

    def fit(self, X: Any, y: Any, validation_data: tuple[Any, Any] | None = None):
        """Fit the head; embedding the texts counts against ``time_limit`` (at its cold cost
        when the cache serves them), as featurisation does for every model."""
        with fit_clock(self.time_limit):
            return super().fit(X, y, validation_data)

    def _fit_features(self, X: np.ndarray) -> None:
        # Embeds (and caches) the training texts; the net's input width is the encoder's.
        self.embedding_dim_ = embed_texts(list(X), self.encoder, self.device_.type).shape[1]

    def _to_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        vectors = embed_texts(list(X), self.encoder, self.device_.type)
        return torch.from_numpy(vectors), torch.zeros((len(X), 0), dtype=torch.int64)

    def _build_module(self, n_outputs: int) -> nn.Module:
        return MLP(self.embedding_dim_, [], n_outputs, self.n_blocks, self.d_hidden, self.dropout)
