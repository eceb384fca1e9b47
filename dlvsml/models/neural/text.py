"""Text nets (fastText, TextCNN, a small Transformer) as one sklearn estimator, and specs.

Sources of defaults and search spaces:
- Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification" (fastText): mean of word
  + hashed bigram embeddings, a linear classifier, high learning rate, few epochs.
- Kim 2014, "Convolutional Neural Networks for Sentence Classification": widths 3/4/5, 100 maps
  each, dropout 0.5.
- Vaswani et al. 2017 for the encoder; sizes kept small so a trial fits a CPU budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import optuna
import torch
from torch import Tensor, nn

from dlvsml.errors import ModelError
from dlvsml.models.neural.estimator import NeuralEstimator, check_min_rows, context_params
from dlvsml.models.neural.text_features import Vocabulary, hashed_bigrams
from dlvsml.models.neural.text_nets import FastText, TextCNN, TextTransformer
from dlvsml.models.registry import ModelContext, ModelSpec, register

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
        task: str = "classification",
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
        weight_decay: float = 1e-5,
        batch_size: int = 64,
        max_epochs: int = 20,
        patience: int = 4,
        scheduler: str = "constant",
        grad_clip: float | None = 1.0,
        validation_fraction: float = 0.2,
        random_state: int | None = 0,
        device: str = "auto",
        n_threads: int | None = None,
        time_limit: float | None = None,
        trial: Any = None,
    ) -> None:
        self.arch = arch
        self.task = task
        self.d_embedding = d_embedding
        self.n_filters = n_filters
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dropout = dropout
        self.n_buckets = n_buckets
        self.min_count = min_count
        self.max_vocabulary = max_vocabulary
        self.max_length = max_length
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


def check_texts(estimator: NeuralEstimator, X: Any, reset: bool) -> np.ndarray:
    """A 1-d object array of str (missing texts become empty strings)."""
    X = np.asarray(X, dtype=object)
    if X.ndim != 1:
        raise ValueError(
            f"{type(estimator).__name__} expects a 1-d array of texts, got shape {X.shape}"
        )
    if reset:
        check_min_rows(len(X))
    return np.array(["" if t is None or t != t else str(t) for t in X], dtype=object)


def _text_space(arch: str) -> Callable[[optuna.Trial, ModelContext], dict[str, Any]]:
    lr_range = {"fasttext": (1e-3, 1e-1), "textcnn": (1e-4, 1e-2), "text_transformer": (1e-5, 1e-3)}

    def space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
        params = {
            "lr": trial.suggest_float("lr", *lr_range[arch], log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
            "d_embedding": trial.suggest_categorical("d_embedding", [32, 64, 128]),
            "max_epochs": trial.suggest_int("max_epochs", 5, 30, step=5),
        }
        if arch == "fasttext":
            params["n_buckets"] = trial.suggest_categorical("n_buckets", [10_000, 20_000, 50_000])
        if arch == "textcnn":
            params["n_filters"] = trial.suggest_categorical("n_filters", [50, 100, 200])
        if arch == "text_transformer":
            params["n_layers"] = trial.suggest_int("n_layers", 1, 3)
        return params

    return space


def _register(name: str, defaults: dict[str, Any], description: str) -> None:
    def build(params: Mapping[str, Any], ctx: ModelContext) -> TextNet:
        return TextNet(arch=name, **{**defaults, **params, **context_params(ctx)})

    register(
        ModelSpec(
            name=name,
            family="neural",
            modalities=frozenset({"text"}),
            tasks=frozenset({"binary", "multiclass", "regression"}),
            search_space=_text_space(name),
            build=build,
            defaults=defaults,
            description=description,
        )
    )


_register(
    "fasttext",
    {
        "d_embedding": 64,
        "dropout": 0.0,
        "lr": 2e-2,
        "weight_decay": 1e-6,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
        "n_buckets": 20_000,
    },
    "fastText: averaged word + hashed bigram embeddings, linear classifier (Joulin 2016)",
)
_register(
    "textcnn",
    {
        "d_embedding": 128,
        "n_filters": 100,
        "dropout": 0.5,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
    },
    "TextCNN: 3/4/5-word convolutions with max-over-time pooling (Kim 2014)",
)
_register(
    "text_transformer",
    {
        "d_embedding": 64,
        "n_heads": 4,
        "n_layers": 2,
        "dropout": 0.1,
        "lr": 5e-4,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "max_epochs": 20,
        "patience": 4,
    },
    "small Transformer encoder trained from scratch, masked mean pooling",
)
