"""Release stage: release records, verify, publish, and the Croissant / CFF / licence metadata."""
