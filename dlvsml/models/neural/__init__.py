"""Neural models (PyTorch) registered by name.

Importing this package registers every net with the model registry (torch loads here, so the
registry imports it lazily). The estimators are sklearn-compatible and take raw features.
"""

from dlvsml.models.neural import image, sentence, tabular, text
from dlvsml.models.neural.estimator import NeuralEstimator
from dlvsml.models.neural.image import ImageNet
from dlvsml.models.neural.sentence import SentenceEmbeddingNet
from dlvsml.models.neural.tabular import TabularNet
from dlvsml.models.neural.text import TextNet
from dlvsml.models.neural.trainer import NonFiniteLossError, Trainer

__all__ = [
    "ImageNet",
    "NeuralEstimator",
    "NonFiniteLossError",
    "SentenceEmbeddingNet",
    "TabularNet",
    "TextNet",
    "Trainer",
    "image",
    "sentence",
    "tabular",
    "text",
]
