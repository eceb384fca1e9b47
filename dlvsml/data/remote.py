"""Datasets fetched over the network: ``openml:ID_OR_NAME`` and ``hf:NAME`` (Hugging Face).

Both are cached by their libraries after the first download; offline, the first download
fails with a DataError that says to connect or to use a local file instead.
"""

from __future__ import annotations

import importlib.util
import warnings

import pandas as pd

from dlvsml.data.dataset import Dataset
from dlvsml.data.sources import SourceURI, source
from dlvsml.data.tabular import frame_to_dataset
from dlvsml.data.text import texts_to_dataset
from dlvsml.errors import DataError

OFFLINE_HINT = "check the network connection, or download the data and load it with file:PATH"


@source("openml")
def load_openml(uri: SourceURI) -> Dataset:
    """An OpenML dataset by id (``openml:1590``) or name (``openml:adult?version=2``)."""
    uri.check_params(("target", "task", "version", "roles"))
    from sklearn.datasets import fetch_openml

    key = {"data_id": int(uri.path)} if uri.path.isdigit() else {"name": uri.path}
    if "version" in uri.params:
        if not uri.params["version"].isdigit():
            raise DataError(f"{uri.text}: version must be a number, e.g. ?version=1")
        key["version"] = int(uri.params["version"])
    try:
        with warnings.catch_warnings():  # sklearn warns on each retry; the error says it all
            warnings.simplefilter("ignore")
            bunch = fetch_openml(**key, as_frame=True, parser="auto")
    except OSError as exc:
        raise DataError(
            f"{uri.text}: cannot download from OpenML ({exc}); {OFFLINE_HINT}"
        ) from None
    except ValueError as exc:
        raise DataError(f"{uri.text}: OpenML refused the request ({exc})") from None
    frame = bunch.frame
    target = uri.param("target") or _openml_target(bunch, uri.text)
    return frame_to_dataset(
        frame,
        name=str(bunch.details.get("name", uri.path)),
        source=uri.text,
        target=target,
        task=uri.param("task"),
        roles=uri.param("roles"),
    )


def _openml_target(bunch, where: str) -> str:
    names = list(getattr(bunch, "target_names", None) or [])
    if len(names) != 1:
        raise DataError(
            f"{where}: OpenML gives {len(names)} default targets; choose one with ?target=COLUMN"
        )
    return names[0]


@source("hf")
def load_hugging_face(uri: SourceURI) -> Dataset:
    """A Hugging Face text dataset (``hf:imdb?split=train&text=text&label=label``)."""
    uri.check_params(("split", "text", "label", "config", "task"))
    if importlib.util.find_spec("datasets") is None:
        raise DataError(
            f"{uri.text}: hf: sources need the `datasets` package; pip install 'dlvsml[hf]'"
        )
    import datasets

    try:
        table = datasets.load_dataset(
            uri.path, uri.param("config"), split=uri.param("split", "train")
        )
    except (OSError, ConnectionError) as exc:
        raise DataError(
            f"{uri.text}: cannot download from Hugging Face ({exc}); {OFFLINE_HINT}"
        ) from None
    except ValueError as exc:
        raise DataError(f"{uri.text}: Hugging Face refused the request ({exc})") from None
    frame: pd.DataFrame = table.to_pandas()
    text_column, label_column = uri.param("text", "text"), uri.param("label", "label")
    for column in (text_column, label_column):
        if column not in frame:
            raise DataError(
                f"{uri.text}: no column {column!r}; columns are {', '.join(frame.columns)}; "
                "set ?text=COLUMN&label=COLUMN"
            )
    label_feature = table.features.get(label_column)
    names = tuple(label_feature.names) if hasattr(label_feature, "names") else None
    return texts_to_dataset(
        frame[text_column],
        frame[label_column],
        name=uri.path.replace("/", "_"),
        source=uri.text,
        class_names=names,
        task=uri.param("task"),
    )
