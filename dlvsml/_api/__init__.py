"""Private modules behind the notebook API that `dlvsml/__init__.py` re-exports.

Users see ``dlvsml.compare``, ``dlvsml.Comparison``, ``dlvsml.recommend`` and ``dlvsml.load``;
the code can move between these modules freely.
"""
