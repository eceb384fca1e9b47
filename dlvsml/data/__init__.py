"""Data: datasets of three modalities from source URIs, fixed test splits, nested subsamples."""

from dlvsml.data.builtin import builtin_catalogue
from dlvsml.data.dataset import Dataset
from dlvsml.data.loading import dataset_notes, dataset_tables, load_dataset
from dlvsml.data.profile import column_table, profile_dataset
from dlvsml.data.sources import SOURCES, parse_uri, source
from dlvsml.data.splits import (
    lcdb_anchors,
    nested_subsamples,
    resolve_train_sizes,
    test_split,
    train_validation_split,
)

__all__ = [
    "SOURCES",
    "Dataset",
    "builtin_catalogue",
    "column_table",
    "dataset_notes",
    "dataset_tables",
    "lcdb_anchors",
    "load_dataset",
    "nested_subsamples",
    "parse_uri",
    "profile_dataset",
    "resolve_train_sizes",
    "source",
    "test_split",
    "train_validation_split",
]
