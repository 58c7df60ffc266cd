"""postbot benchmarks: `python -m benchmarks.run` (see benchmarks/README-section.md)."""
