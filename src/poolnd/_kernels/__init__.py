"""Compute kernels, kept apart from the API: they take canonical `Window` geometry only."""
