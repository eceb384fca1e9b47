"""Import dlvsml's analysis without taking a notebook's matplotlib backend away.

The analysis modules select Agg on import, so reports render on machines without a display.
In Jupyter that would switch the inline backend off, and the user's own figures would stop
showing; the API imports them through `import_keeping_backend`, which switches it back.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_keeping_backend(name: str) -> ModuleType:
    """``importlib.import_module(name)``, restoring the matplotlib backend chosen before it."""
    if name in sys.modules:
        return sys.modules[name]
    import matplotlib

    before = matplotlib.get_backend(auto_select=False)
    module = importlib.import_module(name)
    if before is not None and matplotlib.get_backend(auto_select=False) != before:
        matplotlib.use(before)
    return module
