"""Numba kernels of max unpooling: the scatter and the gather, a chunk of planes at a time.

Each plane is written by one thread in raster order, so the last of duplicate indices wins
for any thread count. They run on unsigned integer views (`poolnd._kernels.unpool` makes
them), so four compiled signatures serve every dtype.
"""

from __future__ import annotations

import numba as nb

from ..jit import SERIAL
from ..launch import Form

__all__ = ["GATHER_PLANES", "SCATTER_PLANES"]


@nb.njit(**SERIAL)
def _scatter_planes_chunk(src, idx, dst, start, stop):  # pragma: no cover - compiled
    """``dst[p, idx[p, i]] = src[p, i]`` in increasing ``i`` for planes ``start .. stop - 1``."""
    for p in range(start, stop):
        s, k, d = src[p], idx[p], dst[p]
        for i in range(s.shape[0]):
            d[k[i]] = s[i]


@nb.njit(**SERIAL)
def _gather_planes_chunk(src, idx, dst, start, stop):  # pragma: no cover - compiled
    """``dst[p, i] = src[p, idx[p, i]]`` for planes ``start .. stop - 1``."""
    for p in range(start, stop):
        s, k, d = src[p], idx[p], dst[p]
        for i in range(d.shape[0]):
            d[i] = s[k[i]]


# the kernels as the selector launches them (`poolnd._kernels.launch.Form`)
GATHER_PLANES = Form(_gather_planes_chunk, reads=2)
SCATTER_PLANES = Form(_scatter_planes_chunk, reads=2)
