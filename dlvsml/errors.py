"""One exception type for everything a user can cause.

The CLI prints a `DlvsmlError` as one line and exits 2; anything else is a bug (exit 1).
Messages say what is wrong, where, and how to fix it.
"""

from __future__ import annotations


class DlvsmlError(Exception):
    """A problem with the user's input, data, spec or environment (not a bug in dlvsml)."""


class SpecError(DlvsmlError):
    """An experiment spec that cannot be used as written."""


class DataError(DlvsmlError):
    """A data source that cannot be loaded or used."""


class ModelError(DlvsmlError):
    """A model name or model parameters that cannot be used."""


class TrackingError(DlvsmlError):
    """The MLflow store or the Optuna storage cannot be used."""
