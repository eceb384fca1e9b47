"""Tabular nets (MLP, ResNet, FT-Transformer) as one sklearn estimator.

Their registered specs (defaults and search spaces, with sources) are in `specs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import validate_data
from torch import Tensor, nn

from dlvsml.models.neural.estimator import NeuralEstimator, check_min_rows
from dlvsml.models.neural.tabular_features import TabularFeatures
from dlvsml.models.neural.tabular_nets import MLP, FTTransformer, ResNet
from dlvsml.models.role_features import RoleFeatures, needs_role_features

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
        n_blocks: int = 4,
        d_hidden: int = 256,
        d_token: int = 192,
        n_heads: int = 8,
        dropout: float = 0.1,
        d_embedding: int = 8,
        roles: tuple[tuple[str, str], ...] = (),
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.arch = arch
        self.n_blocks = n_blocks
        self.d_hidden = d_hidden
        self.d_token = d_token
        self.n_heads = n_heads
        self.dropout = dropout
        self.d_embedding = d_embedding
        self.roles = roles

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
        # Dates, high-cardinality strings and free text become numbers; ids and constants go.
        self.roles_ = RoleFeatures(self.roles).fit(X) if needs_role_features(self.roles) else None
        self.features_ = TabularFeatures(seed=int(self.random_state or 0)).fit(self._by_role(X))

    def _by_role(self, X: Any) -> Any:
        return X if self.roles_ is None else self.roles_.transform(X)

    def _to_inputs(self, X: Any) -> tuple[Tensor, ...]:
        numbers, codes = self.features_.transform(self._by_role(X))
        return torch.from_numpy(numbers), torch.from_numpy(codes)

    def _build_module(self, n_outputs: int) -> nn.Module:
        if self.arch not in ARCHITECTURES:
            from dlvsml.errors import ModelError

            raise ModelError(f"arch {self.arch!r} is not one of {', '.join(ARCHITECTURES)}")
        builder = ARCHITECTURES[self.arch]
        return builder(self, self.features_.n_numeric, self.features_.cardinalities, n_outputs)
