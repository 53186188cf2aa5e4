"""Dispatch: other array libraries (Array API backends) and the Dask planner."""
