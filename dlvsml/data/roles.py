"""Column roles: what each column of a table is, by rules a user can read, and their overrides.

Rules, tried in this order on a feature column's non-missing values (the first that fits wins):

- ``constant``: at most one distinct value. Dropped (it cannot tell rows apart).
- ``datetime``: a datetime column, or strings of which at least ``DATE_MIN_SHARE`` look like
  dates (``2024-03-01``, ``01/03/2024``, ``Mar 1 2024``; formats may be mixed) and parse as
  such. Numbers are never dates (a year stays a number). Encoded as parts (year, month, day,
  hour, ...).
- ``text``: strings of ``TEXT_MIN_WORDS`` words or more on average, with more than
  ``CATEGORICAL_MAX_LEVELS`` distinct values. Encoded with TF-IDF.
- ``identifier``: strings distinct in at least ``ID_MIN_UNIQUE_SHARE`` of at least
  ``ID_MIN_ROWS`` rows; or integers distinct in every row that are named like an id
  (``id``, ``customer_id``, ``OrderID``, ``key``) or count up by one (a row number). Dropped:
  an id tells nothing about unseen rows.
- ``numeric``: any other number (booleans are categories).
- ``categorical``: strings, booleans or categories with at most ``CATEGORICAL_MAX_LEVELS``
  distinct values. One-hot, ordinal or native encoded, as each model wants.
- ``high_cardinality``: strings with more. Encoded with skrub's ``StringEncoder`` (char n-gram
  TF-IDF reduced by SVD), so similar spellings share a representation.

``drop`` is a role only a user sets. Any role can be overridden: ``?roles=comment:text,
customer_id:drop`` in a URI, ``roles:`` on a spec's dataset entry, or ``roles={...}`` in
``dlvsml.compare``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from urllib.parse import quote

import numpy as np
import pandas as pd

from dlvsml.errors import DataError

CATEGORICAL_MAX_LEVELS = 50
TEXT_MIN_WORDS = 3.0
ID_MIN_UNIQUE_SHARE = 0.95
ID_MIN_ROWS = 50
DATE_MIN_SHARE = 0.9
SAMPLE_VALUES = 2000

NUMERIC, CATEGORICAL, HIGH_CARDINALITY = "numeric", "categorical", "high_cardinality"
DATETIME, TEXT, IDENTIFIER, CONSTANT, DROP = "datetime", "text", "identifier", "constant", "drop"
TARGET = "target"
FEATURE_ROLES = (
    NUMERIC,
    CATEGORICAL,
    HIGH_CARDINALITY,
    DATETIME,
    TEXT,
    IDENTIFIER,
    CONSTANT,
    DROP,
)
# Roles a model never sees, and roles today's plain encoders handle (they leave fingerprints be).
DROPPED_ROLES = frozenset({IDENTIFIER, CONSTANT, DROP})
PLAIN_ROLES = frozenset({NUMERIC, CATEGORICAL, TARGET})

# ``id``, ``customer_id``, ``order-key`` in any case; ``customerId``, ``CustomerID`` in camel case.
_ID_NAME = re.compile(r"(?i:(?:^|[_\W])(?:id|key|uuid|guid)$)|[a-z0-9](?:Id|ID)$")
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d"
    r"|\d\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\S+")

Roles = tuple[tuple[str, str], ...]


def infer_role(column: pd.Series) -> tuple[str, str]:
    """``(role, reason)`` of one feature column by the module's rules."""
    values = column.dropna()
    n_rows, distinct = len(values), values.nunique()
    if distinct <= 1:
        return CONSTANT, f"{distinct} distinct value"
    is_number = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if pd.api.types.is_datetime64_any_dtype(column):
        return DATETIME, "a datetime column"
    if is_number:
        if _integer_id(column.name, values, distinct):
            return IDENTIFIER, f"integers distinct in all {n_rows} rows, named or counted as an id"
        return NUMERIC, "numbers"
    if pd.api.types.is_bool_dtype(column):
        return CATEGORICAL, "booleans"
    strings = values.astype(str)
    sample = strings.drop_duplicates().head(SAMPLE_VALUES)
    share = date_share(sample)
    if share >= DATE_MIN_SHARE:
        return DATETIME, f"{share:.0%} of values read as dates"
    words = float(sample.str.count(_WORD).mean())
    if words >= TEXT_MIN_WORDS and distinct > CATEGORICAL_MAX_LEVELS:
        return TEXT, f"{words:.1f} words per value on average, {distinct} distinct"
    if n_rows >= ID_MIN_ROWS and distinct >= ID_MIN_UNIQUE_SHARE * n_rows:
        return IDENTIFIER, f"distinct in {distinct} of {n_rows} rows"
    if distinct <= CATEGORICAL_MAX_LEVELS:
        return CATEGORICAL, f"{distinct} levels"
    return HIGH_CARDINALITY, f"{distinct} levels (> {CATEGORICAL_MAX_LEVELS})"


def _integer_id(name: object, values: pd.Series, distinct: int) -> bool:
    if not pd.api.types.is_integer_dtype(values) or distinct < len(values):
        return False
    if len(values) < ID_MIN_ROWS:
        return False
    steps = np.diff(values.to_numpy())
    return bool(_ID_NAME.search(str(name))) or bool(len(steps) and np.all(steps == 1))


def date_share(strings: pd.Series) -> float:
    """The share of ``strings`` that look like dates and parse as dates."""
    if strings.empty:
        return 0.0
    looks = strings.str.contains(_DATE_LIKE, na=False)
    if looks.mean() < DATE_MIN_SHARE:
        return float(looks.mean())
    return float(parse_dates(strings[looks]).notna().sum() / len(strings))


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates from strings in any mix of formats (unparseable values become NaT)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values.astype(object), format="mixed", errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def infer_roles(
    features: pd.DataFrame, overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """``(roles, reasons)`` of every feature column; ``overrides`` win over the rules."""
    roles, reasons = {}, {}
    for name in features.columns:
        if overrides and name in overrides:
            roles[name], reasons[name] = overrides[name], "set by you"
        else:
            roles[name], reasons[name] = infer_role(features[name])
    return roles, reasons


def parse_overrides(text: str | None, frame: pd.DataFrame, target: str, where: str) -> dict:
    """``{"comment": "text", ...}`` from ``comment:text,customer_id:drop``, checked against the
    table's columns and each column's values."""
    if not text:
        return {}
    overrides = {}
    for item in text.split(","):
        column, sep, role = item.strip().rpartition(":")
        if not sep or not column:
            raise DataError(
                f"{where}: roles={text!r}: {item!r} is not COLUMN:ROLE; "
                f"write e.g. roles=comment:text,customer_id:drop"
            )
        overrides[column] = check_override(frame, column, role.strip(), target, where)
    return overrides


def check_override(frame: pd.DataFrame, column: str, role: str, target: str, where: str) -> str:
    """``role`` if ``column`` may take it, else a DataError saying why."""
    if role not in FEATURE_ROLES:
        raise DataError(
            f"{where}: unknown role {role!r} for column {column!r}; "
            f"the roles are {', '.join(FEATURE_ROLES)}"
        )
    if column not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:30]))
        raise DataError(f"{where}: roles names no column {column!r}; the columns are {columns}")
    if column == target:
        raise DataError(f"{where}: {column!r} is the target; it cannot take a feature role")
    values = frame[column]
    if role == NUMERIC and not pd.api.types.is_numeric_dtype(values):
        raise DataError(
            f"{where}: column {column!r} holds non-numbers, so it cannot be numeric; "
            "use categorical, high_cardinality or text"
        )
    if role == DATETIME and not pd.api.types.is_datetime64_any_dtype(values):
        parsed = parse_dates(values.dropna().astype(str).head(SAMPLE_VALUES))
        if parsed.notna().mean() < 0.5:
            raise DataError(
                f"{where}: column {column!r} does not hold dates (most values do not parse); "
                "give it another role"
            )
    return role


def format_roles(roles: Mapping[str, str]) -> str:
    """The ``roles=`` URI value of a mapping, e.g. ``comment:text,customer_id:drop``."""
    return ",".join(f"{column}:{role}" for column, role in roles.items())


def with_roles(uri: str, roles: Mapping[str, str] | None) -> str:
    """``uri`` with ``roles=...`` added to its query (unchanged when there are none)."""
    if not roles:
        return uri
    if not isinstance(roles, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in roles.items()
    ):
        raise DataError(f"roles must map column names to role names, got {roles!r}")
    joiner = "&" if "?" in uri else "?"
    return f"{uri}{joiner}roles={quote(format_roles(roles), safe=':,')}"


def role_notes(roles: Mapping[str, str], reasons: Mapping[str, str]) -> list[str]:
    """One line per dropped or overridden kind of column (never one per column)."""
    notes = []
    for role in (IDENTIFIER, CONSTANT, DROP):
        columns = [c for c, r in roles.items() if r == role]
        if not columns:
            continue
        shown = ", ".join(f"{c} ({reasons[c]})" for c in columns[:5])
        more = f" and {len(columns) - 5} more" if len(columns) > 5 else ""
        label = {DROP: "dropped as you asked"}.get(role, f"dropped as {role}")
        keep = "" if role == DROP else f"; keep one with ?roles={columns[0]}:categorical"
        notes.append(f"{label}: {shown}{more}{keep}")
    return notes
