"""Baseline model: candidates, features, training, evaluation, predictions (issue 16)."""
