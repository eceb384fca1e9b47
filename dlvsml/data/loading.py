"""``load_dataset(uri)``: parse, then memo (this process), disk cache, or the scheme's loader."""

from __future__ import annotations

from collections import OrderedDict

from dlvsml.data import builtin, images, remote, tabular, text  # noqa: F401  (register schemes)
from dlvsml.data.cache import cache_key, file_stamp, read_cached, write_cached
from dlvsml.data.dataset import Dataset
from dlvsml.data.sources import SOURCES, SourceURI, parse_uri

MEMO_SIZE = 16
_memo: OrderedDict[str, Dataset] = OrderedDict()


def load_dataset(uri: str) -> Dataset:
    """The Dataset a source URI names, e.g. ``load_dataset("builtin:digits")``.

    Repeated calls in one process return the same object (so per-dataset caches keyed by it
    hit); across processes the on-disk cache skips parsing and hashing.
    """
    parsed = parse_uri(uri)
    key = _key(parsed)
    if key is None:  # a local source whose files cannot be stamped: never cached
        return SOURCES[parsed.scheme].loader(parsed)
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    dataset = read_cached(key, uri)
    if dataset is None:
        dataset = SOURCES[parsed.scheme].loader(parsed)
        write_cached(key, dataset)
    _memo[key] = dataset
    while len(_memo) > MEMO_SIZE:
        _memo.popitem(last=False)
    return dataset


def dataset_notes(uris: list[str]) -> list[str]:
    """``name: note`` for each note of the datasets ``uris`` name (what a run tells its user)."""
    return [f"{d.name}: {note}" for d in map(load_dataset, uris) for note in d.notes]


def dataset_tables(uris: list[str]) -> list[dict]:
    """Column roles and notes of each table ``uris`` name, for the report (a source that no
    longer loads is left out: the report is about results already recorded)."""
    from dlvsml.data.profile import column_table
    from dlvsml.errors import DlvsmlError

    tables = []
    for uri in uris:
        try:
            dataset = load_dataset(uri)
        except DlvsmlError:
            continue
        if dataset.modality == "tabular":
            columns = column_table(dataset)
            tables.append({"dataset": dataset.name, "columns": columns, "notes": dataset.notes})
    return tables


def _key(parsed: SourceURI) -> str | None:
    """A cache key; file sources use the resolved path and the file's size and mtime (None
    when those cannot be read, e.g. a missing file)."""
    params = "&".join(f"{k}={v}" for k, v in sorted(parsed.params.items()))
    if not SOURCES[parsed.scheme].local:
        return cache_key(f"{parsed.scheme}:{parsed.path}?{params}", None)
    path = parsed.local_path().resolve()
    stamp = file_stamp(path)
    return None if stamp is None else cache_key(f"{parsed.scheme}:{path}?{params}", stamp)
