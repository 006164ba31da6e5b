"""Migration scripts, one per revision, hand-written with fixed revision ids ("0001", "0002", ...)."""
