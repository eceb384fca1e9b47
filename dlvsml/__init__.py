"""dlvsml: measure whether traditional ML or deep learning wins on your data."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from dlvsml.errors import DlvsmlError

try:
    __version__ = version("dlvsml")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["DlvsmlError", "__version__"]
