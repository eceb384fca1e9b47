"""Texts: ``textcsv:PATH?text=COL&label=COL`` and the texts-to-Dataset step.

A column ``<label>_name`` beside an integer label column (``label_name`` for ``label``) names
the classes. Rows with a missing label, or an empty or missing text, are dropped with a
warning; a file where no row keeps both is an error.
"""

from __future__ import annotations

import logging

import pandas as pd

from dlvsml.data.dataset import Dataset
from dlvsml.data.sources import SourceURI, source
from dlvsml.data.tabular import dataset_name, existing_file, read_table, require_column
from dlvsml.data.targets import encode_with_names, missing_target_rows
from dlvsml.errors import DataError

log = logging.getLogger(__name__)


@source("textcsv", local=True)
def load_text_csv(uri: SourceURI) -> Dataset:
    uri.check_params(("text", "label", "task"))
    path = existing_file(uri)
    frame = read_table(path, uri.text)
    text_column = require_column(frame, uri.param("text", "text"), uri.text, option="text")
    label_column = require_column(frame, uri.param("label", "label"), uri.text, option="label")
    return texts_to_dataset(
        frame[text_column],
        frame[label_column],
        name=dataset_name(path),
        source=uri.text,
        class_names=_names_beside(frame, label_column),
        task=uri.param("task"),
    )


def texts_to_dataset(
    texts: pd.Series,
    labels: pd.Series,
    *,
    name: str,
    source: str,
    class_names: tuple[str, ...] | None = None,
    task: str | None = None,
) -> Dataset:
    """A text Dataset from a column of texts and a column of labels."""
    texts = texts.reset_index(drop=True)
    labels = labels.reset_index(drop=True)
    keep = missing_target_rows(labels, source)
    empty = texts.isna().to_numpy() | (texts.astype("str").str.strip() == "").to_numpy()
    if not (keep & ~empty).any():
        raise DataError(f"{source}: every text is empty (or unlabelled); check the text= column")
    n_empty = int((keep & empty).sum())
    if n_empty:
        log.warning("%s: dropped %d of %d rows whose text is empty", source, n_empty, len(texts))
    keep &= ~empty
    values = labels[keep]
    target = encode_with_names(values.to_numpy(), class_names, source, task)
    return Dataset(
        name=name,
        modality="text",
        task=target.task,
        X=texts[keep].astype("str").to_numpy(dtype=object),
        y=target.y,
        source=source,
        class_names=target.class_names,
    )


def _names_beside(frame: pd.DataFrame, label_column: str) -> tuple[str, ...] | None:
    """Class names from ``<label>_name`` when each integer label has exactly one name."""
    names_column = f"{label_column}_name"
    if names_column not in frame or not pd.api.types.is_integer_dtype(frame[label_column]):
        return None
    pairs = frame[[label_column, names_column]].dropna().drop_duplicates()
    if pairs[label_column].duplicated().any() or pairs.empty or pairs[label_column].min() < 0:
        return None
    by_label = dict(zip(pairs[label_column], pairs[names_column].astype(str), strict=True))
    return tuple(by_label.get(k, str(k)) for k in range(int(pairs[label_column].max()) + 1))
