"""Crocevia benchmarks: `make bench` (or `python -m bench`) runs them all and prints tables."""
