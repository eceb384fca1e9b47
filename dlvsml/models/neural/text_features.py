"""Tokenisation for the text nets: a lowercase regex word tokenizer and a fitted vocabulary.

Ids: 0 is padding, 1 is out-of-vocabulary, 2.. are words seen at least ``min_count`` times in the
training texts (the ``max_size`` most frequent). No external tokenizer is needed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

PAD, OOV = 0, 1
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lowercase words and numbers (``"Don't stop!"`` → ``["don't", "stop"]``)."""
    return _WORD.findall(str(text).lower())


class Vocabulary:
    """Word → id map fitted on training texts; encodes texts as padded id matrices."""

    def __init__(self, min_count: int = 2, max_size: int = 30_000, max_length: int = 256) -> None:
        self.min_count, self.max_size, self.max_length = min_count, max_size, max_length

    def fit(self, texts: Iterable[str]) -> Vocabulary:
        token_lists = [tokenize(t) for t in texts]
        counts = Counter(token for tokens in token_lists for token in tokens)
        frequent = [w for w, c in counts.most_common(self.max_size) if c >= self.min_count]
        self.ids_ = {word: i + 2 for i, word in enumerate(frequent)}
        longest = max((len(tokens) for tokens in token_lists), default=1)
        self.length_ = max(1, min(self.max_length, longest))
        return self

    @property
    def size(self) -> int:
        return len(self.ids_) + 2

    def encode(self, texts: Iterable[str], min_length: int = 1) -> np.ndarray:
        """``N×L`` int64 ids, truncated/padded to the fitted length; empty texts become [OOV]."""
        length = max(self.length_, min_length)
        rows = [[self.ids_.get(t, OOV) for t in tokenize(text)][:length] or [OOV] for text in texts]
        out = np.full((len(rows), length), PAD, dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return out


def hashed_bigrams(ids: np.ndarray, n_buckets: int, offset: int) -> np.ndarray:
    """Ids of adjacent word pairs hashed into ``n_buckets`` slots after ``offset`` (fastText).

    Pairs that touch padding get the padding id, so they are ignored by the bag.
    """
    left, right = ids[:, :-1], ids[:, 1:]
    bigrams = (left * 1_000_003 + right) % n_buckets + offset
    return np.where((left == PAD) | (right == PAD), PAD, bigrams)
