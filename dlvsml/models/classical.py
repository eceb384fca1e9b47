"""Classical models (scikit-learn, XGBoost, LightGBM) registered by name."""
