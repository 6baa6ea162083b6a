"""Corpus stage: article records, cleaning, ingest and split assignment (the layer labels are keyed on)."""
