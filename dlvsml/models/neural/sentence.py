"""Transfer learning for text: frozen sentence embeddings plus a small trained MLP head.

The encoder (default all-MiniLM-L6-v2, Reimers & Gurevych 2019) is never fine-tuned, so its
embeddings are computed once per text and cached (`embedding_cache`). The head's search space
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


class SentenceEmbeddingNet(NeuralEstimator):
    """An MLP head on frozen sentence embeddings of a 1-d array of ``str``."""

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        task: str = "classification",
        n_blocks: int = 1,
        d_hidden: int = 256,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = 50,
        patience: int = 8,
        scheduler: str = "constant",
        grad_clip: float | None = 1.0,
        validation_fraction: float = 0.2,
        random_state: int | None = 0,
        device: str = "auto",
        n_threads: int | None = None,
        time_limit: float | None = None,
        trial: Any = None,
    ) -> None:
        self.encoder = encoder
        self.task = task
        self.n_blocks = n_blocks
        self.d_hidden = d_hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.time_limit = time_limit
        self.trial = trial

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        return check_texts(self, X, reset)

    def _fit_features(self, X: np.ndarray) -> None:
        # Embeds (and caches) the training texts; the net's input width is the encoder's.
        self.embedding_dim_ = embed_texts(list(X), self.encoder, self.device_.type).shape[1]

    def _to_inputs(self, X: np.ndarray) -> tuple[Tensor, ...]:
        vectors = embed_texts(list(X), self.encoder, self.device_.type)
        return torch.from_numpy(vectors), torch.zeros((len(X), 0), dtype=torch.int64)

    def _build_module(self, n_outputs: int) -> nn.Module:
        return MLP(self.embedding_dim_, [], n_outputs, self.n_blocks, self.d_hidden, self.dropout)
