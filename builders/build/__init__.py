"""Build stage: read → aggregate → agreement → tables → write → card (`pipeline.build` runs them)."""
