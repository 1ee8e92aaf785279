"""Benchmark protocols: named, versioned TOML specs (`protocols/`) of how to evaluate."""
