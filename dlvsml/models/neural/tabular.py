"""Tabular nets (MLP, ResNet, FT-Transformer) as one sklearn estimator, and their specs.

Defaults and search spaces follow the papers, narrowed so a trial fits a CPU budget:
- Gorishniy et al. 2021, "Revisiting Deep Learning Models for Tabular Data" (rtdl): MLP, ResNet,
  FT-Transformer (3 blocks, d_token 192, 8 heads, AdamW 1e-4, batch 256, patience 16).
- Grinsztajn et al. 2022, "Why do tree-based models still outperform deep learning on tabular
  data?": MLP lr 1e-5..1e-2 log, width/depth ranges, batch 512.
- McElfresh et al. 2023 (TabZilla): same families, weight decay 1e-6..1e-3 log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from sklearn.utils.validation import validate_data
from torch import Tensor, nn

from dlvsml.models.neural.estimator import NeuralEstimator, check_min_rows, context_params
from dlvsml.models.neural.tabular_features import TabularFeatures
from dlvsml.models.neural.tabular_nets import MLP, FTTransformer, ResNet
from dlvsml.models.registry import ModelContext, ModelSpec, register

ArchBuilder = Callable[["TabularNet", int, list[int], int], nn.Module]

ARCHITECTURES: dict[str, ArchBuilder] = {
    "mlp": lambda e, d_num, cards, n_out: MLP(
        d_num, cards, n_out, e.n_blocks, e.d_hidden, e.dropout, e.d_embedding
    ),
    "resnet": lambda e, d_num, cards, n_out: ResNet(
        d_num, cards, n_out, e.n_blocks, e.d_hidden, e.dropout, e.d_embedding
    ),
    "ft_transformer": lambda e, d_num, cards, n_out: FTTransformer(
        d_num, cards, n_out, e.n_blocks, e.d_token, e.n_heads, e.dropout
    ),
}


class TabularNet(NeuralEstimator):
    """A net on a DataFrame (categorical columns as strings/category, NaNs allowed) or array.

    Example::

        TabularNet(arch="mlp", task="classification", max_epochs=20).fit(X, y).predict(X)
    """

    def __init__(
        self,
        arch: str = "mlp",
        task: str = "classification",
        n_blocks: int = 4,
        d_hidden: int = 256,
        d_token: int = 192,
        n_heads: int = 8,
        dropout: float = 0.1,
        d_embedding: int = 8,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 512,
        max_epochs: int = 100,
        patience: int = 16,
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
        self.n_blocks = n_blocks
        self.d_hidden = d_hidden
        self.d_token = d_token
        self.n_heads = n_heads
        self.dropout = dropout
        self.d_embedding = d_embedding
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
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    def _check_X(self, X: Any, reset: bool) -> Any:
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            X = validate_data(
                self, X, reset=reset, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
            )
        if reset:
            check_min_rows(len(X))
        return X

    def _fit_features(self, X: Any) -> None:
        self.features_ = TabularFeatures(seed=int(self.random_state or 0)).fit(X)

    def _to_inputs(self, X: Any) -> tuple[Tensor, ...]:
        numbers, codes = self.features_.transform(X)
        return torch.from_numpy(numbers), torch.from_numpy(codes)

    def _build_module(self, n_outputs: int) -> nn.Module:
        if self.arch not in ARCHITECTURES:
            from dlvsml.errors import ModelError

            raise ModelError(f"arch {self.arch!r} is not one of {', '.join(ARCHITECTURES)}")
        builder = ARCHITECTURES[self.arch]
        return builder(self, self.features_.n_numeric, self.features_.cardinalities, n_outputs)


def _common_space(trial: optuna.Trial, lr: tuple[float, float]) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", *lr, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "max_epochs": trial.suggest_int("max_epochs", 20, 100, step=20),
    }


def _mlp_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Grinsztajn 2022 / Gorishniy 2021: depth 1-8, width up to 1024; narrowed for CPU.
    return {
        **_common_space(trial, (1e-4, 1e-2)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 4),
        "d_hidden": trial.suggest_categorical("d_hidden", [64, 128, 256, 512]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
    }


def _resnet_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Gorishniy 2021 ResNet: blocks 1-8, d 64-512, hidden factor 1-4; narrowed for CPU.
    return {
        **_common_space(trial, (1e-4, 1e-2)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 4),
        "d_hidden": trial.suggest_categorical("d_hidden", [64, 128, 256]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
    }


def _ft_space(trial: optuna.Trial, ctx: ModelContext) -> dict[str, Any]:
    # Gorishniy 2021 FT-Transformer: blocks 1-6, d_token 64-512, lr 1e-5..1e-3; narrowed for CPU.
    return {
        **_common_space(trial, (1e-5, 1e-3)),
        "n_blocks": trial.suggest_int("n_blocks", 1, 3),
        "d_token": trial.suggest_categorical("d_token", [64, 128, 192]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256]),
    }


def _builder(arch: str, defaults: Mapping[str, Any]) -> Callable[..., TabularNet]:
    def build(params: Mapping[str, Any], ctx: ModelContext) -> TabularNet:
        return TabularNet(arch=arch, **{**defaults, **params, **context_params(ctx)})

    return build


def _register(name: str, space: Any, defaults: dict[str, Any], description: str) -> None:
    register(
        ModelSpec(
            name=name,
            family="neural",
            modalities=frozenset({"tabular"}),
            tasks=frozenset({"binary", "multiclass", "regression"}),
            search_space=space,
            build=_builder(name, defaults),
            defaults=defaults,
            description=description,
        )
    )


_register(
    "mlp",
    _mlp_space,
    {
        "n_blocks": 4,
        "d_hidden": 256,
        "dropout": 0.1,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 512,
        "max_epochs": 100,
        "patience": 16,
    },
    "MLP on quantile-normal numbers and categorical embeddings (Grinsztajn 2022 defaults)",
)
_register(
    "resnet",
    _resnet_space,
    {
        "n_blocks": 2,
        "d_hidden": 256,
        "dropout": 0.2,
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "max_epochs": 100,
        "patience": 16,
    },
    "rtdl ResNet-MLP: residual blocks with BatchNorm (Gorishniy 2021)",
)
_register(
    "ft_transformer",
    _ft_space,
    {
        "n_blocks": 3,
        "d_token": 192,
        "n_heads": 8,
        "dropout": 0.1,
        "lr": 1e-4,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "max_epochs": 100,
        "patience": 16,
    },
    "FT-Transformer: feature tokens through a Transformer encoder (Gorishniy 2021 defaults)",
)
