"""How ``dlvsml.recommend`` is both the recommender package and the notebook function.

``dlvsml.recommend(...)`` is the API's function, but ``dlvsml/recommend/`` is a package, and
Python sets ``dlvsml.recommend`` to the package whenever it is imported. So the ``dlvsml``
module gets a class whose ``recommend`` property returns the package made callable: imports
(``import dlvsml.recommend.engine``, ``from dlvsml.recommend import Facts``) and patching work
as before, and calling it runs `dlvsml._api.advice.recommend`.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class CallableRecommend(types.ModuleType):
    """The ``dlvsml.recommend`` package; calling it is ``dlvsml._api.advice.recommend``."""

    def __call__(self, data: Any = None, **kwargs: Any) -> Any:
        from dlvsml._api.advice import recommend

        return recommend(data, **kwargs)


class DlvsmlPackage(types.ModuleType):
    """The class of the ``dlvsml`` module: only ``recommend`` differs from a plain module."""

    @property
    def recommend(self) -> types.ModuleType:
        package = importlib.import_module("dlvsml.recommend")
        if type(package) is types.ModuleType:
            package.__class__ = CallableRecommend
        return package

    @recommend.setter
    def recommend(self, value: Any) -> None:
        """The import system sets the subpackage here; the property already returns it."""
