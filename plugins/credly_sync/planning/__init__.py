"""Pure planning: desired state vs actual state -> operations. No I/O in this package."""
