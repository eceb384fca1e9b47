"""On-disk copies of loaded datasets, so a second load skips parsing, decoding and hashing.

Entries live under ``<cache_root()>/datasets`` (``$DLVSML_CACHE``, default
``~/.cache/dlvsml``; ``off`` disables every dlvsml cache): ``<key>.parquet`` (tabular, text) or
``<key>.npz`` (image) beside ``<key>.json``, which holds the metadata and the fingerprint. The
key hashes the source URI (a file's resolved path) and, for file sources, the file's size and
modification time, so an edited file reloads.
A damaged or unwritable cache is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dlvsml.data.dataset import Dataset

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: column roles and notes
TARGET_COLUMN = "__dlvsml_target__"


def cache_root() -> Path | None:
    """dlvsml's cache folder: ``$DLVSML_CACHE``, default ``~/.cache/dlvsml``; None when
    ``DLVSML_CACHE=off``, and then nothing (datasets, embeddings, in-memory data) is kept on disk.

    The one place that reads ``DLVSML_CACHE``, so every cache agrees on what ``off`` means.
    """
    configured = os.environ.get("DLVSML_CACHE", "").strip()
    if configured.lower() == "off":
        return None
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "dlvsml"


def cache_dir() -> Path | None:
    """The folder of cached datasets, or None when ``DLVSML_CACHE=off``."""
    root = cache_root()
    return None if root is None else root / "datasets"


def file_stamp(path: Path) -> str | None:
    """Size and mtime of a file, or of every file in the subfolders of a folder (what an image
    folder holds); None if it does not exist or cannot be read (then nothing is cached)."""
    try:
        if path.is_file():
            stat = path.stat()
            return f"{stat.st_size}:{stat.st_mtime_ns}"
        if path.is_dir():
            digest = hashlib.sha256()
            for item in sorted(path.glob("*/*")):
                if item.is_file():
                    stat = item.stat()
                    digest.update(
                        f"{item.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns};".encode()
                    )
            return digest.hexdigest()[:16]
    except OSError:  # unreadable: the loader reports it, or loads without a cache entry
        return None
    return None


def cache_key(identity: str, stamp: str | None) -> str:
    return hashlib.sha256(f"{FORMAT_VERSION}|{identity}|{stamp}".encode()).hexdigest()[:24]


def read_cached(key: str, source: str) -> Dataset | None:
    """The cached dataset for ``key`` (its ``source`` set to the URI as now written), or None."""
    folder = cache_dir()
    if folder is None or not (folder / f"{key}.json").is_file():
        return None
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
        X, y = _read_arrays(folder / key, meta["modality"])
        return Dataset(
            name=meta["name"],
            modality=meta["modality"],
            task=meta["task"],
            X=X,
            y=y,
            source=source,
            class_names=tuple(meta["class_names"]) if meta["class_names"] else None,
            categorical=tuple(meta["categorical"]),
            numeric=tuple(meta["numeric"]),
            fingerprint=meta["fingerprint"],
            roles=tuple(tuple(pair) for pair in meta["roles"]),
            notes=tuple(meta["notes"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        log.debug("ignoring damaged cache entry %s: %s", key, exc)
        return None


def write_cached(key: str, dataset: Dataset) -> None:
    """Store ``dataset`` under ``key``; data first, metadata last (its presence marks done)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_arrays(folder / key, dataset)
        meta = {
            "name": dataset.name,
            "modality": dataset.modality,
            "task": dataset.task,
            "source": dataset.source,
            "class_names": list(dataset.class_names) if dataset.class_names else None,
            "categorical": list(dataset.categorical),
            "numeric": list(dataset.numeric),
            "fingerprint": dataset.fingerprint,
            "roles": [list(pair) for pair in dataset.roles],
            "notes": list(dataset.notes),
        }
        atomic_write(folder / f"{key}.json", lambda tmp: tmp.write_text(json.dumps(meta)))
    except (OSError, ValueError, TypeError) as exc:
        log.debug("not caching %s: %s", dataset.source, exc)


def _write_arrays(stem: Path, dataset: Dataset) -> None:
    if dataset.modality == "image":
        atomic_write(stem.with_suffix(".npz"), lambda tmp: np.savez(tmp, X=dataset.X, y=dataset.y))
        return
    if dataset.modality == "tabular":
        frame = dataset.X.assign(**{TARGET_COLUMN: dataset.y})
    else:
        frame = pd.DataFrame({"text": dataset.X.astype(str), TARGET_COLUMN: dataset.y})
    atomic_write(stem.with_suffix(".parquet"), lambda tmp: frame.to_parquet(tmp, index=False))


def _read_arrays(stem: Path, modality: str) -> tuple[pd.DataFrame | np.ndarray, np.ndarray]:
    if modality == "image":
        with np.load(stem.with_suffix(".npz"), allow_pickle=False) as archive:
            return archive["X"], archive["y"]
    frame = pd.read_parquet(stem.with_suffix(".parquet"))
    y = frame.pop(TARGET_COLUMN).to_numpy()
    if modality == "tabular":
        return frame, y
    return frame["text"].to_numpy(dtype=object), y


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a temporary file in the same folder, then rename it to ``path``: a
    reader (another worker) never sees half a file. ``tmp`` keeps ``path``'s suffix, so writers
    that add one (``np.savez``) do not rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
