"""Neural models (PyTorch) registered by name."""
