"""NumPy forms of max unpooling's scatter and gather: the same results as the Numba forms,
for small calls (where a parallel launch costs more than it saves) and empty ones."""

from __future__ import annotations

import numpy as np

__all__ = ["gather_numpy", "scatter_numpy"]


def scatter_numpy(values: np.ndarray, indices: np.ndarray, plane_size: int) -> np.ndarray:
    """NumPy `scatter`: duplicates are resolved explicitly (the last one in raster order),
    since NumPy does not define which write of a repeated fancy index survives."""
    planes = values.shape[0]
    out = np.zeros((planes, plane_size), dtype=values.dtype)
    if values.size == 0:
        return out
    targets = (np.arange(planes, dtype=np.int64)[:, None] * plane_size + indices).ravel()
    # np.unique's return_index gives each target's first occurrence: in the reversed order,
    # that is the last write
    unique, first = np.unique(targets[::-1], return_index=True)
    out.reshape(-1)[unique] = values.reshape(-1)[::-1][first]
    return out


def gather_numpy(grad: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """NumPy `gather`."""
    return np.take_along_axis(grad, indices, axis=1)
