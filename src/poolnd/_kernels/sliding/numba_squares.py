"""Numba kernel for LP pooling of order 2 over tilings (the `blocks` kernels' case), in one
pass over the input.

``lp_pool(x, 2, k)`` is ``sqrt(avg_pool(x * x) * K)``, ``K`` the kernel volume. Run as
separate passes it writes an input-sized array of squares and reads the input twice, on one
thread for the elementwise steps. Here each block of output rows squares just the input rows
it reads into a small scratch array (it stays in cache), sums them with the `blocks` tile
sum bodies, then scales and roots its rows: the same operations in the same order and dtype
as the separate passes, so the same bits.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..._threads import SCRATCH_CELLS
from ..jit import SERIAL
from ..launch import Form
from .numba_tiles import _block_sum2_chunk, _block_sum_chunk

__all__ = [
    "LP2_TILES",
]


@nb.njit(**SERIAL)
def _square_rows(x, p, d0, h0, kd, rows, sq):  # pragma: no cover - compiled
    """``sq[0, a, b] = x[p, d0 + a, h0 + b] ** 2`` for ``a < kd``, ``b < rows``."""
    for a in range(kd):
        for b in range(rows):
            src, dst = x[p, d0 + a, h0 + b], sq[0, a, b]
            for j in range(src.shape[0]):
                dst[j] = src[j] * src[j]


@nb.njit(**SERIAL)
def _lp2_tiles_chunk(  # pragma: no cover - compiled
    x, out, two, kd, kh, kw, lanes, start, stop
):
    """``sqrt(avg_pool(x * x) * K)`` over ``kd x kh x kw`` tiles (with ``lanes`` values a
    cell) of floating ``x``; ``two`` picks `blocks.block_sum2`'s body (``kw == 2``, no
    lanes) over `blocks.block_sum`'s, as `_tile_kernel` does for the average.

    Work items: output rows ``start .. stop - 1``."""
    out_d, out_h, out_w, in_w = out.shape[1], out.shape[2], out.shape[3], x.shape[3]
    block = max(1, SCRATCH_CELLS // (kd * kh * in_w))
    buf = np.empty(kd * kh * in_w * min(block, stop - start), x.dtype)
    zero = np.zeros(1, x.dtype)
    volume = np.full(1, kd * kh * kw, x.dtype)
    k = volume[0]
    r = start
    while r < stop:  # blocks of rows within one (plane, od): their input rows are adjacent
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        n = min(block, out_h - oh, stop - r)
        sq = buf[: kd * kh * n * in_w].reshape((1, kd, kh * n, in_w))
        _square_rows(x, p, od * kd, oh * kh, kd, kh * n, sq)
        rows = out[p, od, oh:oh + n]
        tile_out = rows.reshape((1, 1, n, out_w))
        if two:
            _block_sum2_chunk(sq, tile_out, zero, True, volume, kd, kh, 0, n)
        else:
            _block_sum_chunk(sq, tile_out, zero, True, volume, kd, kh, kw, lanes, 0, n)
        for i in range(n):  # the average times K, then the root
            row = rows[i]
            for j in range(out_w):
                row[j] = np.sqrt(row[j] * k)
        r += n


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
LP2_TILES = Form(_lp2_tiles_chunk)
