"""Tabular architectures: MLP, ResNet and FT-Transformer (Gorishniy et al. 2021, "rtdl").

Each takes ``(x_num, x_cat)``: float numbers ``N×d_num`` and category codes ``N×n_cat``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CategoryEmbeddings(nn.Module):
    """One embedding table per categorical column, concatenated."""

    def __init__(self, cardinalities: list[int], d_embedding: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(k, d_embedding) for k in cardinalities)
        self.d_out = len(cardinalities) * d_embedding

    def forward(self, x_cat: Tensor) -> Tensor:
        if not self.tables:
            return x_cat.new_zeros((len(x_cat), 0), dtype=torch.float32)
        return torch.cat([table(x_cat[:, j]) for j, table in enumerate(self.tables)], dim=1)


class MLP(nn.Module):
    """Blocks of Linear → ReLU → Dropout, then a linear head."""

    def __init__(
        self,
        d_num: int,
        cardinalities: list[int],
        n_outputs: int,
        n_blocks: int = 4,
        d_hidden: int = 256,
        dropout: float = 0.1,
        d_embedding: int = 8,
    ) -> None:
        super().__init__()
        self.embeddings = CategoryEmbeddings(cardinalities, d_embedding)
        layers: list[nn.Module] = []
        d_in = d_num + self.embeddings.d_out
        for _ in range(n_blocks):
            layers += [nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Dropout(dropout)]
            d_in = d_hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(d_in, n_outputs)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        x = torch.cat([x_num, self.embeddings(x_cat)], dim=1)
        return self.head(self.body(x))


class ResidualBlock(nn.Module):
    """rtdl ResNet block: x + Dropout(Linear(Dropout(ReLU(Linear(BatchNorm(x))))))."""

    def __init__(self, d: int, d_hidden: int, dropout_hidden: float, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm1d(d),
            nn.Linear(d, d_hidden),
            nn.ReLU(),
            nn.Dropout(dropout_hidden),
            nn.Linear(d_hidden, d),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.layers(x)


class ResNet(nn.Module):
    """rtdl ResNet-MLP: a linear stem, residual blocks, BatchNorm → ReLU → Linear head."""

    def __init__(
        self,
        d_num: int,
        cardinalities: list[int],
        n_outputs: int,
        n_blocks: int = 2,
        d_hidden: int = 256,
        dropout: float = 0.1,
        d_embedding: int = 8,
        hidden_factor: float = 2.0,
    ) -> None:
        super().__init__()
        self.embeddings = CategoryEmbeddings(cardinalities, d_embedding)
        self.stem = nn.Linear(d_num + self.embeddings.d_out, d_hidden)
        d_inner = int(d_hidden * hidden_factor)
        self.blocks = nn.Sequential(
            *(ResidualBlock(d_hidden, d_inner, dropout, dropout / 2) for _ in range(n_blocks))
        )
        self.head = nn.Sequential(
            nn.BatchNorm1d(d_hidden), nn.ReLU(), nn.Linear(d_hidden, n_outputs)
        )

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        x = self.stem(torch.cat([x_num, self.embeddings(x_cat)], dim=1))
        return self.head(self.blocks(x))


class FeatureTokenizer(nn.Module):
    """One d_token vector per feature: w_j * x_j + b_j for numbers, an embedding for categories."""

    def __init__(self, d_num: int, cardinalities: list[int], d_token: int) -> None:
        super().__init__()
        scale = d_token**-0.5
        self.weight = nn.Parameter(torch.empty(d_num, d_token).uniform_(-scale, scale))
        self.bias = nn.Parameter(torch.empty(d_num, d_token).uniform_(-scale, scale))
        self.categories = nn.ModuleList(nn.Embedding(k, d_token) for k in cardinalities)
        self.cls = nn.Parameter(torch.empty(1, 1, d_token).uniform_(-scale, scale))

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        tokens = [self.cls.expand(len(x_num), -1, -1), x_num[..., None] * self.weight + self.bias]
        tokens += [table(x_cat[:, j])[:, None] for j, table in enumerate(self.categories)]
        return torch.cat(tokens, dim=1)


class FTTransformer(nn.Module):
    """Feature tokenizer → pre-norm Transformer encoder → head on the [CLS] token."""

    def __init__(
        self,
        d_num: int,
        cardinalities: list[int],
        n_outputs: int,
        n_blocks: int = 3,
        d_token: int = 192,
        n_heads: int = 8,
        dropout: float = 0.1,
        ffn_factor: float = 4 / 3,
    ) -> None:
        super().__init__()
        self.tokenizer = FeatureTokenizer(d_num, cardinalities, d_token)
        layer = nn.TransformerEncoderLayer(
            d_token,
            n_heads,
            dim_feedforward=int(d_token * ffn_factor),
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, n_blocks, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_token), nn.ReLU(), nn.Linear(d_token, n_outputs))

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        tokens = self.encoder(self.tokenizer(x_num, x_cat))
        return self.head(tokens[:, 0])
