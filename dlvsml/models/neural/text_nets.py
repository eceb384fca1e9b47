"""Text architectures over padded id matrices (0 = padding): fastText, TextCNN, Transformer."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dlvsml.models.neural.text_features import PAD


def trim_padding(ids: Tensor, min_length: int = 1) -> Tensor:
    """Drop the all-padding tail of a batch: compute scales with the batch's longest text.

    Texts are left-aligned, so the batch's longest text bounds the useful columns. (One host
    sync per batch, cheaper than convolving or attending over padding.)
    """
    keep = max(min_length, int((ids != PAD).sum(1).max()))
    return ids[:, :keep]


class FastText(nn.Module):
    """Joulin et al. 2016: mean of word and hashed-bigram embeddings, then a linear layer."""

    def __init__(self, n_embeddings: int, n_outputs: int, d_embedding: int, dropout: float) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(n_embeddings, d_embedding, mode="mean", padding_idx=PAD)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_embedding, n_outputs))

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(self.bag(ids))


class TextCNN(nn.Module):
    """Kim 2014: parallel 1-d convolutions (widths 3, 4, 5), max over time, dropout, linear."""

    def __init__(
        self,
        vocab_size: int,
        n_outputs: int,
        d_embedding: int,
        n_filters: int,
        dropout: float,
        widths: tuple[int, ...] = (3, 4, 5),
    ) -> None:
        super().__init__()
        self.widths = widths
        self.embedding = nn.Embedding(vocab_size, d_embedding, padding_idx=PAD)
        self.convs = nn.ModuleList(nn.Conv1d(d_embedding, n_filters, w) for w in widths)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(n_filters * len(widths), n_outputs)
        )

    def forward(self, ids: Tensor) -> Tensor:
        x = self.embedding(trim_padding(ids, min_length=max(self.widths))).transpose(1, 2)
        pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.head(torch.cat(pooled, dim=1))


class TextTransformer(nn.Module):
    """A small Transformer encoder with learned positions and masked mean pooling."""

    def __init__(
        self,
        vocab_size: int,
        n_outputs: int,
        max_length: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.position = nn.Parameter(torch.zeros(1, max_length, d_model).normal_(std=0.02))
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            4 * d_model,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, n_outputs))

    def forward(self, ids: Tensor) -> Tensor:
        ids = trim_padding(ids)
        pad = ids == PAD
        x = self.embedding(ids) + self.position[:, : ids.shape[1]]
        x = self.encoder(x, src_key_padding_mask=pad)
        weights = (~pad).unsqueeze(-1).to(x.dtype)
        return self.head((x * weights).sum(1) / weights.sum(1))
