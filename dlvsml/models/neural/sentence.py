"""Transfer learning for text: frozen sentence embeddings plus a small trained MLP head.

The encoder (default all-MiniLM-L6-v2, Reimers & Gurevych 2019) is never fine-tuned, so its
embeddings are computed once per text and cached (`embedding_cache`). The head's search space
follows the tabular MLP (Grinsztajn 2022), shallower because the inputs are already features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
import torch
from torch import Tensor, nn

from dlvsml.models.neural.embedding_cache import (
    DEFAULT_ENCODER,
    embed_texts,
    require_sentence_transformers,
)
from dlvsml.models.neural.estimator import NeuralEstimator, context_params
from dlvsml.models.neural.tabular_nets import MLP
from dlvsml.models.neural.text import check_texts
from dlvsml.models.registry import ModelContext, ModelSpec, register


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


def _space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
        "n_blocks": trial.suggest_int("n_blocks", 0, 2),
        "d_hidden": trial.suggest_categorical("d_hidden", [128, 256, 512]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "max_epochs": trial.suggest_int("max_epochs", 20, 60, step=10),
    }


_DEFAULTS = {
    "encoder": DEFAULT_ENCODER,
    "n_blocks": 1,
    "d_hidden": 256,
    "dropout": 0.1,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "max_epochs": 50,
    "patience": 8,
}


def _build(params: Mapping[str, Any], ctx: ModelContext) -> SentenceEmbeddingNet:
    require_sentence_transformers()
    return SentenceEmbeddingNet(**{**_DEFAULTS, **params, **context_params(ctx)})


register(
    ModelSpec(
        name="sentence_embeddings",
        family="neural",
        modalities=frozenset({"text"}),
        tasks=frozenset({"binary", "multiclass", "regression"}),
        search_space=_space,
        build=_build,
        defaults=_DEFAULTS,
        description="frozen all-MiniLM-L6-v2 sentence embeddings + a trained MLP head (transfer)",
    )
)
