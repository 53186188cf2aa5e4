"""The raster order of output rows that every compiled kernel family walks.

A kernel's work items are output rows ``(plane, od, oh)`` numbered in raster order; a chunk
finds its first row once (`row_before`) and counts the rest (`next_row`) rather than
dividing each row's number by the output's height and depth: three 64-bit divisions a row
were 14-20% of max pooling on 28- and 56-wide planes (single-threaded, AMD EPYC).

Imported only by the Numba modules (``numba_*.py``), like `poolnd._kernels.jit`.
"""

from __future__ import annotations

import numba as nb

from .jit import SERIAL

__all__ = ["next_row", "row_before"]


@nb.njit(**SERIAL)
def row_before(start, out_d, out_h):  # pragma: no cover - compiled
    """``(plane, od, oh)`` of output row ``start``, less one ``oh``: the first `next_row`
    call gives row ``start``."""
    return start // (out_d * out_h), (start // out_h) % out_d, start % out_h - 1


@nb.njit(**SERIAL)
def next_row(p, od, oh, out_d, out_h):  # pragma: no cover - compiled
    """``(plane, od, oh)`` of the output row after ``(p, od, oh)`` in raster order."""
    oh += 1
    if oh == out_h:
        oh = 0
        od += 1
        if od == out_d:
            od = 0
            p += 1
    return p, od, oh
