"""Numba kernels: order statistics of each window, compiled (the median of `poolnd.pool`).

Arrays come in `numba_rows`' canonical layout, ``(planes, D, H, W)`` C-contiguous with
``geom`` the int64 (4, 3) kernel, stride, low padding and dilation, and the unit of work is
one output row ``(plane, od, oh)``. The windows of ``lanes`` consecutive outputs of a row are
copied into a per-chunk ``(cells, lanes)`` buffer, each window a column, its cells row-major
(cells outside the input hold ``fill``, as the reducer sees them on the NumPy path), and
the middle cells are selected by compare-exchanges across the rows, each one vectorised
over the lanes (`_network`). That costs about the square of the cells per output, where a
quickselect costs their number but mispredicts its branches: the network is the faster up
to about a hundred cells, and beyond it NumPy's own (SIMD) partition is as fast as a
compiled quickselect, so the selector takes this kernel for small windows only
(`poolnd._threads.MEDIAN_NETWORK_MAX`).

Exactness: the values are ``np.median``'s, bit for bit.

* NumPy takes the mean of the middle cell (odd count) or the two middle cells (even count),
  as a sum from the additive identity ``+0.0`` divided by the count, in the input's float
  dtype: ``(0 + lo + hi) / 2`` (``(0 + mid) / 1``), so a median is never ``-0.0``, and a
  float32 sum of two large cells overflows to ``inf`` as NumPy's does. The additions here
  run in the buffer's dtype (Numba keeps ``float32 + float32`` in float32); the halving is
  exact in float64 and rounds once, as NumPy's float32 division does.
* A window holding a NaN gives that NaN: the selector takes this kernel only when every NaN
  of the input and ``fill`` has the same bits (NumPy returns whichever NaN its partition
  puts last).
* Which of several equal cells is selected cannot matter: equal floats have equal bits but
  for ``+-0.0``, which the ``+0.0`` start makes ``+0.0`` either way.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import SERIAL
from ..launch import Form
from ..raster import next_row, row_before

__all__ = ["MEDIAN_ROWS"]


@nb.njit(**SERIAL)
def _network(a, b, n, m, carry, dst, zero):  # pragma: no cover - compiled
    """``dst[j]``, for each lane ``j < m``, the median of the column ``a[:n, j]`` (no NaN):
    bubble passes of compare-exchanges, each moving the largest cell of the rows not yet
    final to the end, until the middle rows are final. The passes read one of ``a`` and
    ``b`` and write the other (rows of one array read and written in one loop would keep
    LLVM from vectorising across the lanes)."""
    k = n // 2
    high, low = a, a
    for p in range(n - k + 1 - n % 2):
        src, out = (a, b) if p % 2 == 0 else (b, a)
        end = n - p
        first = src[0]
        for j in range(m):
            carry[j] = first[j]
        for i in range(1, end):
            row, prev = src[i], out[i - 1]
            for j in range(m):
                v, c = row[j], carry[j]
                prev[j] = v if v < c else c
                carry[j] = c if v < c else v
        last = out[end - 1]
        for j in range(m):
            last[j] = carry[j]
        if end - 1 == k:
            high = out
        if end - 1 == k - 1:
            low = out
    hi = high[k]
    if n % 2:
        for j in range(m):
            dst[j] = zero + hi[j]
    else:
        lo = low[k - 1]
        for j in range(m):
            dst[j] = (zero + lo[j] + hi[j]) / 2  # sum in the dtype; the halving is exact


@nb.njit(**SERIAL)
def _gather(x, p, rows, n_rows, kw, first, sw, dw, fill, m, a):  # pragma: no cover
    """``a[cell, j]``: the window cells, row-major, of the ``m`` outputs whose first columns
    are ``first + j * sw``; cells outside ``x`` are ``fill``."""
    in_w = x.shape[3]
    whole = first >= 0 and first + (m - 1) * sw + (kw - 1) * dw < in_w
    for t in range(n_rows):
        for c in range(kw):
            dst = a[t * kw + c]
            if rows[t, 0] < 0:
                for j in range(m):
                    dst[j] = fill
            elif whole:
                src = x[p, rows[t, 0], rows[t, 1], first + c * dw:]
                if sw == 1:
                    for j in range(m):
                        dst[j] = src[j]
                else:
                    for j in range(m):
                        dst[j] = src[j * sw]
            else:
                src = x[p, rows[t, 0], rows[t, 1]]
                for j in range(m):
                    iw = first + j * sw + c * dw
                    dst[j] = src[iw] if 0 <= iw < in_w else fill


@nb.njit(**SERIAL)
def _median_rows_chunk(x, out, geom, fill, lanes, start, stop):  # pragma: no cover - compiled
    """The median of every window of ``x`` (planes, D, H, W) into ``out`` (planes, Do, Ho, Wo),
    cells outside ``x`` being ``fill``: ``lanes`` outputs of a row at a time, by `_network`.

    Work items: output rows ``start .. stop - 1``."""
    in_d, in_h = x.shape[1], x.shape[2]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kd, kh, kw = geom[0, 0], geom[0, 1], geom[0, 2]
    sw, pw, dw = geom[1, 2], geom[2, 2], geom[3, 2]
    size = kd * kh * kw
    a = np.empty((size, lanes), x.dtype)
    b = np.empty((size, lanes), x.dtype)
    carry = np.empty(lanes, x.dtype)
    nan = np.empty(lanes, x.dtype)  # per lane: a NaN of its window, else 0
    zero = np.zeros(1, out.dtype)[0]
    rows = np.empty((kd * kh, 2), np.int64)  # the window's input rows (id, ih); -1 outside
    p, od, oh = row_before(start, out_d, out_h)
    for _ in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        t = 0
        for i in range(kd):
            id_ = od * geom[1, 0] - geom[2, 0] + i * geom[3, 0]
            for j in range(kh):
                ih = oh * geom[1, 1] - geom[2, 1] + j * geom[3, 1]
                inside = 0 <= id_ < in_d and 0 <= ih < in_h
                rows[t, 0] = id_ if inside else -1
                rows[t, 1] = ih
                t += 1
        dst = out[p, od, oh]
        for o0 in range(0, out_w, lanes):
            m = min(lanes, out_w - o0)
            _gather(x, p, rows, kd * kh, kw, o0 * sw - pw, sw, dw, fill, m, a)
            nan[:m] = zero
            for i in range(size):
                row = a[i]
                for j in range(m):
                    nan[j] = row[j] if row[j] != row[j] else nan[j]
            flagged = False
            for j in range(m):
                if nan[j] != nan[j]:  # the network sees zeros, the lane gets its NaN after
                    flagged = True
                    for i in range(size):
                        a[i, j] = zero
            d = dst[o0:]
            _network(a, b, size, m, carry, d, zero)
            if flagged:
                for j in range(m):
                    if nan[j] != nan[j]:
                        d[j] = nan[j]


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
MEDIAN_ROWS = Form(_median_rows_chunk)
