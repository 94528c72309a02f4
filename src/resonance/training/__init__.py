"""Trainers (scikit-learn, LightGBM; torch optional) and federated apps."""
