"""Benchmarks: each prints its time as a ratio to a baseline measured in the same run."""
