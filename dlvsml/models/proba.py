"""Classes and probabilities from one pass, for classifiers whose class is the most probable.

dlvsml's boosters, calibrated SVMs and nets predict the argmax of their probabilities, so
`dlvsml.metrics.predict` asks them once (``predict_with_proba``) instead of twice: on a large
test split the second pass (trees, a forward pass) is measurable in the latency it reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def predict_with_proba(classifier: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, probabilities)`` from one call of ``classifier.predict_proba``."""
    proba = classifier.predict_proba(X)
    return classifier.classes_[np.argmax(proba, axis=1)], proba


class ProbaPredictionsMixin:
    """``predict`` and ``predict_with_proba`` from ``predict_proba`` and ``classes_``."""

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_with_proba(X)[0]

    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and probabilities from one pass (see `dlvsml.metrics.predict`)."""
        return predict_with_proba(self, X)
