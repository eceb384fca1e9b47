"""Tables: ``file:PATH?target=COL`` (CSV, CSV.gz, Parquet) and the DataFrame-to-Dataset step.

The target is the ``target`` parameter, else a column named ``target``, else the last column.
Every other column is a feature, kept as read (strings as ``str``, missing values missing), with
a role (`dlvsml.data.roles`) that decides how models encode it; ``roles=COLUMN:ROLE,...``
overrides them. A target that is an identifier, a date or free text is refused.
"""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pandas as pd

from dlvsml.data.dataset import Dataset
from dlvsml.data.roles import (
    CATEGORICAL,
    DATETIME,
    DROPPED_ROLES,
    IDENTIFIER,
    NUMERIC,
    TARGET,
    TEXT,
    format_roles,
    infer_role,
    infer_roles,
    parse_overrides,
    role_notes,
)
from dlvsml.data.sources import SourceURI, source
from dlvsml.data.targets import encode_target, missing_target_rows
from dlvsml.errors import DataError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


@source("file", local=True)
def load_table_file(uri: SourceURI) -> Dataset:
    uri.check_params(("target", "task", "roles"))
    path = existing_file(uri)
    frame = read_table(path, uri.text)
    return frame_to_dataset(
        frame,
        name=dataset_name(path),
        source=uri.text,
        target=uri.param("target"),
        task=uri.param("task"),
        roles=uri.param("roles"),
    )


def existing_file(uri: SourceURI) -> Path:
    """The URI's path, or a DataError saying it is missing or a folder."""
    path = uri.local_path()
    if not path.exists():
        raise DataError(
            f"{uri.text}: no such file {str(path.resolve())!r} (relative paths are from the "
            "working directory); check the path"
        )
    if path.is_dir():
        raise DataError(f"{uri.text}: {str(path)!r} is a folder, not a file")
    if not path.is_file():
        raise DataError(f"{uri.text}: {str(path)!r} is not a regular file (a device or pipe)")
    return path


def dataset_name(path: Path) -> str:
    """``reviews`` for ``reviews.csv.gz``: the file name without its data suffixes."""
    name = path.name
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES, ".npz", ".gz"):
        name = name.removesuffix(suffix)
    return name or path.name


def read_table(path: Path, where: str) -> pd.DataFrame:
    """Read CSV (optionally gzipped, ``.tsv`` tab-separated) or Parquet into a DataFrame."""
    name = path.name.lower()
    try:
        if name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(path)
        if name.endswith(CSV_SUFFIXES):
            sep = "\t" if ".tsv" in name else ","
            return pd.read_csv(path, sep=sep, low_memory=False, encoding=_encoding(path))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8 IN > OUT"
        ) from None
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        kind = "Parquet" if name.endswith(PARQUET_SUFFIXES) else "CSV"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{where}: cannot read {str(path)!r} as {kind} ({first_line}); "
            "check that the file is complete and in that format"
        ) from None
    supported = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    raise DataError(f"{where}: unsupported file type {path.name!r}; use one of {supported}")


def _encoding(path: Path) -> str:
    """UTF-8, unless the file starts with a UTF-16 byte-order mark (as Excel's "Unicode text")."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as stream:
        head = stream.read(2)
    return "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8"


def frame_to_dataset(
    frame: pd.DataFrame,
    *,
    name: str,
    source: str,
    target: str | None = None,
    task: str | None = None,
    roles: str | None = None,
) -> Dataset:
    """A tabular Dataset from a DataFrame holding features and a target column; ``roles`` is
    the ``COLUMN:ROLE,...`` override text."""
    frame = frame.rename(columns=str)
    if frame.empty:
        raise DataError(f"{source}: the table has no rows")
    column = pick_target(frame, target, source)
    overrides = parse_overrides(roles, frame, column, source)
    keep = missing_target_rows(frame[column], source)
    frame = frame.loc[keep].reset_index(drop=True)
    check_target_role(frame[column], column, source)
    encoded = encode_target(frame[column], f"{source} (target {column!r})", task)
    features = frame.drop(columns=[column])
    if features.shape[1] == 0:
        raise DataError(f"{source}: the table has only the target column {column!r}; no features")
    features = features.apply(_normalise_column)
    inferred, reasons = infer_roles(features, overrides)
    notes = role_notes(inferred, reasons)
    if all(role in DROPPED_ROLES for role in inferred.values()):
        raise DataError(
            f"{source}: every feature column is dropped ({'; '.join(notes)}); "
            "give one a role with ?roles=COLUMN:ROLE"
        )
    if overrides:
        notes.append(f"roles set by you: {format_roles(overrides)}")
    if encoded.note:
        notes.append(f"target {column!r}: {encoded.note}")
    categorical = tuple(c for c, r in inferred.items() if r == CATEGORICAL)
    numeric = tuple(c for c, r in inferred.items() if r == NUMERIC)
    return Dataset(
        name=name,
        modality="tabular",
        task=encoded.task,
        X=features,
        y=encoded.y,
        source=source,
        class_names=encoded.class_names,
        categorical=categorical,
        numeric=numeric,
        roles=(*inferred.items(), (column, TARGET)),
        notes=tuple(notes),
    )


def pick_target(frame: pd.DataFrame, target: str | None, where: str) -> str:
    """The ``target`` option, else a column named ``target``, else the last column."""
    if target is None:
        return "target" if "target" in frame.columns else str(frame.columns[-1])
    return require_column(frame, target, where, option="target")


def require_column(frame: pd.DataFrame, column: str, where: str, *, option: str) -> str:
    """``column`` if the table has it, else a DataError listing the columns there are."""
    if column not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:30]))
        more = f" (and {frame.shape[1] - 30} more)" if frame.shape[1] > 30 else ""
        raise DataError(
            f"{where}: no column {column!r}; the columns are {columns}{more}; "
            f"set ?{option}=COLUMN to one of them"
        )
    return column


def check_target_role(values: pd.Series, column: str, where: str) -> None:
    """Refuse a target that is an identifier, a date or free text: no model can learn those."""
    role, reason = infer_role(values)
    if role in (IDENTIFIER, DATETIME, TEXT):
        raise DataError(
            f"{where}: the target {column!r} looks like {_ROLE_WORDS[role]} ({reason}), which "
            "cannot be predicted; choose another column with ?target=COLUMN"
        )


_ROLE_WORDS = {IDENTIFIER: "an identifier", DATETIME: "a date", TEXT: "free text"}


def _normalise_column(column: pd.Series) -> pd.Series:
    """Mixed ``object`` columns become ``str`` (missing values stay missing)."""
    if column.dtype == object:
        return column.astype("str")
    return column
