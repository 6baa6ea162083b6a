"""Baseline model: candidates, features, training, evaluation, predictions (issue 16)."""

# `khc model evaluate`'s committed figures, read by the build for the card (recorded.py); named
# here so the CLI's help can say it without importing the model's libraries.
EVALUATION_FILE = "annotations/baseline-evaluation.json"
DEFAULT_SEED = 16  # of `khc model train|evaluate` (here so the CLI's help needs no scikit-learn)
