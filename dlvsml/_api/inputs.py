"""In-memory data as a source URI, so worker processes (and a later session) can load it.

A DataFrame, an ``(X, y)`` pair of arrays or ``(texts, labels)`` is written once to a file named
by the hash of its content under the dlvsml cache folder (``$DLVSML_CACHE``, default
``~/.cache/dlvsml``; with ``off`` a temporary folder removed at exit, see `api_cache_dir`):

- tables: ``frames/frame-<hash>.parquet`` → ``file:...?target=COLUMN``
- images (``X`` of shape N×H×W or N×H×W×C): ``arrays/images-<hash>.npz`` → ``npz:...``
- texts: ``texts/texts-<hash>.csv.gz`` → ``textcsv:...`` (columns ``text`` and ``label``)

The same data always give the same URI, hence the same cell keys: a second ``compare`` on the
same data resumes instead of recomputing. A string is taken as a source URI as it is.

Datasets are named after their file, so named data (``name=``, or a DataFrame's ``name``
attribute or ``attrs["name"]``) are linked as ``<folder>/<prefix>-<hash>/<name><suffix>``: the
report then says ``sales``, not ``frame-3731004b12aa1d3c``.
"""

from __future__ import annotations

import atexit
import functools
import gzip
import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from dlvsml.data.cache import atomic_write, cache_root
from dlvsml.errors import DataError

MODALITIES = ("tabular", "image", "text")
HASH_CHARS = 16
_SHAPES = "a DataFrame with target='column', an (X, y) pair of arrays, (texts, labels), or a URI"


def api_cache_dir() -> Path:
    """Where in-memory data are written: dlvsml's cache folder (`cache_root`), or with
    ``DLVSML_CACHE=off`` a temporary folder of this session, removed when Python exits: the
    workers still need a file to load, but nothing outlives the session (a later session
    writes the data again, so its cells do not resume)."""
    root = cache_root()
    return root if root is not None else _session_folder()


@functools.cache
def _session_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="dlvsml-data-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def check_modality(modality: str | None) -> None:
    if modality is not None and modality not in MODALITIES:
        raise DataError(f"unknown modality {modality!r}; use one of {', '.join(MODALITIES)}")


def source_uri(
    data: Any, target: str | None = None, modality: str | None = None, name: str | None = None
) -> str:
    """The source URI of ``data`` (written to the cache first when it is in memory), its dataset
    named ``name`` (default: a DataFrame's own name) when it is in memory.

    >>> source_uri("builtin:digits")
    'builtin:digits'
    """
    check_modality(modality)
    if isinstance(data, str):
        return _uri_as_given(data, target)
    if isinstance(data, os.PathLike):
        return _path_uri(Path(data), target)
    name = name or _frame_name(data)
    uri = _memory_uri(data, target, modality)
    return _named(uri, name) if name else uri


def _frame_name(data: Any) -> str | None:
    """``df.name = "sales"`` or ``df.attrs["name"]``; a column called ``name`` is not a name."""
    if not isinstance(data, pd.DataFrame):
        return None
    name = vars(data).get("name") or data.attrs.get("name")
    return str(name) if isinstance(name, str) else None


def _named(uri: str, name: str) -> str:
    """The URI of a hard link (or copy) of the cached file under ``name``, hash kept as folder."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._")
    if not safe:
        return uri
    scheme, _, rest = uri.partition(":")
    path_text, mark, query = rest.partition("?")
    path = Path(path_text)
    stem, dot, suffix = path.name.partition(".")
    named = path.parent / stem / f"{safe}{dot}{suffix}"
    if not named.is_file():
        try:
            named.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, named)
            except OSError:  # a file system without hard links
                shutil.copyfile(path, named)
        except OSError as exc:
            raise DataError(
                f"cannot write the data to {named.parent} ({exc.strerror or exc}); set "
                "DLVSML_CACHE to a writable folder"
            ) from None
    return f"{scheme}:{named}{mark}{query}"


def _memory_uri(data: Any, target: str | None, modality: str | None) -> str:
    if isinstance(data, pd.DataFrame):
        return _frame_uri(data, target, modality)
    if isinstance(data, tuple | list) and len(data) == 2 and not _is_texts(data):
        if target is not None:
            raise DataError(
                "target= names a DataFrame column; with an (X, y) pair the labels are y, so "
                "leave target out"
            )
        return _pair_uri(data[0], data[1], modality)
    raise DataError(f"cannot compare a {type(data).__name__}; give {_SHAPES}")


def _is_texts(data: Sequence) -> bool:
    """A list of exactly two texts is texts without labels, not an (X, y) pair."""
    return all(isinstance(item, str) for item in data)


def _uri_as_given(uri: str, target: str | None) -> str:
    if target is not None:
        raise DataError(
            f"target={target!r} is for DataFrames; a URI names its target itself, e.g. "
            f"'file:data.csv?target={target}'"
        )
    return uri


def _path_uri(path: Path, target: str | None) -> str:
    """A path is a table file: ``file:PATH`` with its target, if given."""
    resolved = path.expanduser().resolve()
    return f"file:{resolved}" + (f"?target={quote(target, safe='')}" if target else "")


def _frame_uri(frame: pd.DataFrame, target: str | None, modality: str | None) -> str:
    if frame.empty:
        raise DataError("the DataFrame is empty; give one with rows and a target column")
    frame = _string_columns(frame).reset_index(drop=True)
    column = _target_column(frame, target)
    if modality == "text":
        return _frame_texts_uri(frame, column)
    if modality == "image":
        raise DataError(
            "images cannot come in a DataFrame; give (X, y) with X of shape N×H×W or N×H×W×C"
        )
    path = _write_once("frames", "frame", ".parquet", _parquet_bytes(frame))
    return f"file:{path}?target={quote(column, safe='')}"


def _string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = frame.rename(columns=str)
    duplicated = renamed.columns[renamed.columns.duplicated()]
    if len(duplicated):
        raise DataError(
            f"the DataFrame has more than one column named {duplicated[0]!r}; rename them"
        )
    return renamed


def _target_column(frame: pd.DataFrame, target: str | None) -> str:
    if target is None:
        if "target" in frame.columns:
            return "target"
        raise DataError(
            "which column is the target? give target='column' "
            f"(the columns are {', '.join(map(str, frame.columns[:20]))})"
        )
    if str(target) not in frame.columns:
        raise DataError(
            f"target {target!r} is not a column of the DataFrame; "
            f"the columns are {', '.join(map(str, frame.columns[:20]))}"
        )
    if frame.shape[1] < 2:
        raise DataError(f"the DataFrame has only the target column {target!r}; no features")
    return str(target)


def _frame_texts_uri(frame: pd.DataFrame, target: str) -> str:
    features = [column for column in frame.columns if column != target]
    if len(features) != 1:
        raise DataError(
            f"modality='text' needs one text column beside the target; the DataFrame has "
            f"{len(features)} ({', '.join(features[:10])}); pass (df[TEXT], df[{target!r}])"
        )
    return _texts_uri(frame[features[0]], frame[target])


def _pair_uri(X: Any, y: Any, modality: str | None) -> str:
    labels = _labels(y)
    if isinstance(X, pd.DataFrame):
        _same_length(len(X), len(labels))
        return _frame_uri(_with_target(X, labels), _target_name(X), modality)
    features = _as_array(X)
    if features.ndim == 1 and features.dtype.kind in "OUS":
        if modality not in (None, "text"):
            raise DataError(f"X is 1-d (texts), which does not fit modality={modality!r}")
        return _texts_uri(features, labels)
    _same_length(len(features), len(labels))
    if features.ndim in (3, 4):
        if modality not in (None, "image"):
            raise DataError(f"X of shape {features.shape} is images, not {modality!r} data")
        return _images_uri(features, labels)
    if features.ndim == 2:
        if modality not in (None, "tabular"):
            raise DataError(
                f"X of shape {features.shape} is a table; for {modality} data give "
                + ("texts as a 1-d list of str" if modality == "text" else "N×H×W[×C] images")
            )
        columns = [f"x{index}" for index in range(features.shape[1])]
        frame = pd.DataFrame(features, columns=columns)
        return _frame_uri(_with_target(frame, labels), "target", "tabular")
    raise DataError(
        f"X has shape {features.shape}; give a table (N×D), images (N×H×W or N×H×W×C) or a "
        "1-d list of texts (for one numeric feature use X.reshape(-1, 1))"
    )


def _as_array(X: Any) -> np.ndarray:
    """An array of ``X``; a list holding strings stays 1-d objects (numpy would turn 1 into '1',
    hiding a non-text from the check)."""
    if isinstance(X, np.ndarray):
        return X
    if isinstance(X, pd.Series):
        return X.to_numpy() if pd.api.types.is_numeric_dtype(X) else X.to_numpy(dtype=object)
    if isinstance(X, list | tuple) and any(isinstance(item, str) for item in X):
        items = np.empty(len(X), dtype=object)
        items[:] = list(X)
        return items
    try:
        return np.asarray(X)
    except ValueError as exc:
        raise DataError(
            f"X cannot be read as an array ({exc}); give rows of equal length"
        ) from None


def _labels(y: Any) -> np.ndarray:
    labels = y.to_numpy() if isinstance(y, pd.Series | pd.Index) else np.asarray(y)
    if labels.ndim != 1:
        raise DataError(f"y has shape {labels.shape}; give one label per row (a 1-d array)")
    if labels.size == 0:
        raise DataError("the data are empty (y has no labels)")
    return labels


def _same_length(n_rows: int, n_labels: int) -> None:
    if n_rows != n_labels:
        raise DataError(f"X has {n_rows} rows but y has {n_labels} labels; give one label per row")


def _target_name(frame: pd.DataFrame) -> str:
    name = "target"
    while name in frame.columns.astype(str):
        name = f"_{name}"
    return name


def _with_target(frame: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    return frame.reset_index(drop=True).assign(**{_target_name(frame): labels})


def _texts_uri(texts: Any, labels: Any) -> str:
    texts = pd.Series(np.asarray(texts, dtype=object)).reset_index(drop=True)
    labels = pd.Series(_labels(labels))
    _same_length(len(texts), len(labels))
    if texts.empty:
        raise DataError("the data are empty (no texts)")
    bad = texts[~texts.map(lambda item: isinstance(item, str))]
    if len(bad):
        raise DataError(
            f"texts must be str; item {bad.index[0]} is a {type(bad.iloc[0]).__name__} "
            f"({bad.iloc[0]!r}); convert them, e.g. [str(t) for t in texts]"
        )
    frame = pd.DataFrame({"text": texts, "label": labels})
    content = frame.to_csv(index=False).encode("utf-8")
    packed = gzip.compress(content, mtime=0)  # mtime=0: the same texts give the same bytes
    key = hashlib.sha256(content).hexdigest()  # of the texts, so URIs do not depend on zlib
    path = _write_once("texts", "texts", ".csv.gz", packed, key=key)
    return f"textcsv:{path}"


def _images_uri(images: np.ndarray, labels: np.ndarray) -> str:
    if len(images) == 0:
        raise DataError("the data are empty (no images)")
    if labels.dtype == object:
        labels = labels.astype(str)
    buffer = io.BytesIO()
    np.savez(buffer, X=images, y=labels)
    digest = hashlib.sha256(f"{images.shape}{images.dtype}{labels.dtype}".encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    path = _write_once("arrays", "images", ".npz", buffer.getvalue(), key=digest.hexdigest())
    return f"npz:{path}"


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (TypeError, ValueError, ImportError) as exc:
        raise DataError(
            f"the DataFrame cannot be stored as Parquet ({str(exc).splitlines()[0]}); give "
            "columns of numbers, strings, booleans or categories"
        ) from None
    except Exception as exc:  # pyarrow's own errors (ArrowInvalid, ArrowTypeError, ...)
        if type(exc).__module__.startswith("pyarrow"):
            raise DataError(
                f"the DataFrame cannot be stored as Parquet ({str(exc).splitlines()[0]}); "
                "give columns of numbers, strings, booleans or categories"
            ) from None
        raise
    return buffer.getvalue()


def _write_once(
    folder: str, prefix: str, suffix: str, content: bytes, *, key: str | None = None
) -> Path:
    """``<cache>/<folder>/<prefix>-<hash><suffix>``, written only if it is not there yet."""
    digest = (key or hashlib.sha256(content).hexdigest())[:HASH_CHARS]
    path = api_cache_dir() / folder / f"{prefix}-{digest}{suffix}"
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_bytes(content))
    except OSError as exc:
        raise DataError(
            f"cannot write the data to {path.parent} ({exc.strerror or exc}); set DLVSML_CACHE "
            "to a writable folder"
        ) from None
    return path
