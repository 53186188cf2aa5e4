"""Numba kernels of max unpooling: the scatter and the gather, parallel over planes.

Each plane is written by one thread in raster order, so the last of duplicate indices wins
for any thread count. They run on unsigned integer views (`poolnd._kernels.unpool` makes
them), so four compiled signatures serve every dtype.
"""

from __future__ import annotations

from typing import Any

import numba as nb

__all__ = ["gather_planes", "scatter_planes"]

# parallel=True with its own prange over planes: each kernel splits its work itself
# (`poolnd._kernels.launch.run_parallel` launches it), no serial body is needed
_OPTIONS: dict[str, Any] = {"nogil": True, "cache": True, "parallel": True}


@nb.njit(**_OPTIONS)
def scatter_planes(src, idx, dst):  # pragma: no cover - compiled
    """``dst[p, idx[p, i]] = src[p, i]`` in increasing ``i`` for every plane ``p``."""
    for p in nb.prange(src.shape[0]):
        s, k, d = src[p], idx[p], dst[p]
        for i in range(s.shape[0]):
            d[k[i]] = s[i]


@nb.njit(**_OPTIONS)
def gather_planes(src, idx, dst):  # pragma: no cover - compiled
    """``dst[p, i] = src[p, idx[p, i]]`` for every plane ``p``."""
    for p in nb.prange(dst.shape[0]):
        s, k, d = src[p], idx[p], dst[p]
        for i in range(d.shape[0]):
            d[i] = s[k[i]]
