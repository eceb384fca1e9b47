"""Neural models (PyTorch) behind scikit-learn's API.

`specs` registers every net with the model registry without importing torch; the estimators
(`tabular.TabularNet`, `image.ImageNet`, `text.TextNet`, `sentence.SentenceEmbeddingNet`, on
`estimator.NeuralEstimator` and `trainer.Trainer`) load torch when imported.
"""
