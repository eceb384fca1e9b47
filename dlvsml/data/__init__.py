"""Data: datasets of three modalities from source URIs, fixed test splits, nested subsamples."""

from dlvsml.data.dataset import Dataset

__all__ = ["Dataset"]
