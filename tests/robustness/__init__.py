"""Robustness: the error catalogue, immutability, concurrency, differential fuzzing and
Hypothesis properties."""
