"""Custom operators: each applies one kind of planned operation and reports per-outcome counts."""
