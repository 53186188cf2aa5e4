"""Numba kernels: the windowed reduction compiled, parallel over output rows.

Arrays reach these kernels in one canonical layout, ``(planes, D, H, W)`` C-contiguous; 1d
and 2d calls come with unit leading spatial sizes (kernel 1, stride 1, no padding), so one
set of kernels serves every rank up to three. ``geom`` is an int64 (4, 3) array: kernel,
stride, low padding and dilation per spatial dimension.

The unit of work is one output row ``(plane, od, oh)``. Rows are split into contiguous
chunks that run in parallel, so many small planes and a few large ones both keep every
thread busy; the caller schedules chunks dynamically, so a thread stalled by a busy machine
does not hold up the rest. Each output is computed by exactly one thread in a fixed order,
so results are bitwise identical for any thread count. `window_rows` lists, in row-major
order, the input rows ``(id, ih)`` that a row's windows read: every kernel walks that list.

Exactness. Max pooling's combine step (take the new cell when it is greater or NaN) is
associative, and row-major order is what PyTorch scans, so:

* `argmax_rows` and the 3x3 sums fold the window in row-major order, across the output
  columns of a row.
* `max_rows` (values only) is the fast path: it first folds the window's input rows
  elementwise (contiguous, vectorised), then folds the columns. That is column-major order,
  which can pick a different cell only among equal values; equal floats have equal bits
  except zeros of either sign and NaNs, so every output that is zero or NaN (counted over
  each chunk's outputs, a cheap test) is recomputed in row-major order. Integers never
  need it.

`max_rows` comes in four forms, by how a row's columns are read: in place (stride 1),
``_triples`` (windows 3 cells wide at stride 2, no dilation), ``_split`` by phase (other
wide rows, stride > 1) and ``_strided``. Sums over 3x3 windows at column stride 1 and 2 take
``sum_rows_3x3`` and ``sum_rows_3x3_s2``, all nine cells at once; every other sum runs over
phase planes (`numba_phases`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..._threads import ACC_CELLS
from ..jit import SERIAL
from ..launch import Form

__all__ = [
    "ARGMAX_ROWS",
    "MAX_ROWS",
    "MAX_ROWS_SPLIT",
    "MAX_ROWS_STRIDED",
    "MAX_ROWS_TRIPLES",
    "SCATTER_ARGMAX",
    "SCATTER_WINDOWS",
    "SUM_ROWS_3X3",
    "SUM_ROWS_3X3_S2",
    "window_rows",
]


@nb.njit(**SERIAL)
def _column_ranges(out_w, in_w, k, s, p, d):  # pragma: no cover - compiled
    """For each kernel column: the first output column reading inside the input, and how
    many consecutive output columns do."""
    first = np.zeros(k, np.int64)
    count = np.zeros(k, np.int64)
    for c in range(k):
        shift = c * d - p
        f = max(0, -(shift // s))
        last = min(out_w - 1, (in_w - 1 - shift) // s)
        first[c] = f
        count[c] = max(0, last - f + 1)
    return first, count


@nb.njit(**SERIAL)
def window_rows(od, oh, geom, in_d, in_h, rows):  # pragma: no cover - compiled
    """Fill ``rows`` with the in-bounds input rows ``(id, ih)`` of output row ``(od, oh)``'s
    windows, in row-major order; return how many there are."""
    n = 0
    for a in range(geom[0, 0]):
        id_ = od * geom[1, 0] - geom[2, 0] + a * geom[3, 0]
        if id_ < 0 or id_ >= in_d:
            continue
        for b in range(geom[0, 1]):
            ih = oh * geom[1, 1] - geom[2, 1] + b * geom[3, 1]
            if ih < 0 or ih >= in_h:
                continue
            rows[n, 0] = id_
            rows[n, 1] = ih
            n += 1
    return n


@nb.njit(**SERIAL)
def _split(src, buf, s):  # pragma: no cover - compiled
    """The row ``src`` by phase of stride ``s``: ``buf[q, j] = src[j * s + q]``, so that a
    kernel column reads contiguous memory. Strides 2 to 4 read whole groups of ``s`` cells
    per step, which LLVM turns into shuffles."""
    n = src.shape[0] // s
    if s == 2:
        b0, b1 = buf[0], buf[1]
        for j in range(n):
            b0[j], b1[j] = src[2 * j], src[2 * j + 1]
    elif s == 3:
        b0, b1, b2 = buf[0], buf[1], buf[2]
        for j in range(n):
            b0[j], b1[j], b2[j] = src[3 * j], src[3 * j + 1], src[3 * j + 2]
    elif s == 4:
        b0, b1, b2, b3 = buf[0], buf[1], buf[2], buf[3]
        for j in range(n):
            b0[j], b1[j] = src[4 * j], src[4 * j + 1]
            b2[j], b3[j] = src[4 * j + 2], src[4 * j + 3]
    else:
        for j in range(n):
            for q in range(s):
                buf[q, j] = src[j * s + q]
    for m in range(n * s, src.shape[0]):
        buf[m - n * s, n] = src[m]


# Per-chunk buffers hold one input row (or less), never a size set by the window parameters:
# a window has at most ``min(k, in)`` in-bounds positions per dimension (`window_rows`' list),
# and `_split` of a row narrower than the stride needs one phase per cell, so a stride of
# 10**9 costs no memory (kernels wider than 2**16, whose column tables would grow, run on the
# NumPy passes). A kernel column reading only padding (count 0) may form an empty view past
# the phase buffer; its loop reads nothing.
#
# The loops below count from zero over slices that start where the outputs' reads start:
# Numba checks every signed index for negative wrap-around unless it can prove the index
# non-negative, and that check keeps LLVM from vectorising. Stride 1 gets its own loop
# (contiguous reads vectorise); other strides read ``a[j * s]``.


# The max kernels come in three forms, one per column read (`_row_kernel` in the package
# picks): stride 1 reads the folded row in place, wide rows at stride > 1 read its phases
# (`_split`), narrow ones read it at the stride. Each is a kernel of its own and the zero/NaN
# check runs once per chunk, after its rows: LLVM stops vectorising a loop that shares a
# function with sibling branches or a second inner loop per row (measured: 2.2x slower).


# Unsigned indices (`_U`): Numba checks a signed index for negative wrap-around (a branch
# per cell that keeps LLVM from vectorising), and a row taken as a slice costs two atomic
# reference-count updates; `_fold_rows` reads the input flat, by offsets valid by
# construction.
_U = nb.types.uint64


@nb.njit(**SERIAL)
def _fold_rows(flat, plane, in_d, in_h, rows, n_rows, fold, lowest):  # pragma: no cover
    """``fold[i]``: the max of column ``i`` over the input rows ``rows[:n_rows]`` of
    ``plane`` (``flat``: the C-contiguous ``(planes, in_d, in_h, W)`` input, flattened);
    ``lowest`` when there are none. The first row is copied rather than folded into
    ``lowest``: the same bits (no value beats ``lowest`` by equalling it), one pass less
    (measured with the flat reads: the fold 1.4x faster on 112-wide rows)."""
    w = fold.shape[0]
    if n_rows == 0:
        fold[:] = lowest
        return
    b = ((plane * in_d + rows[0, 0]) * in_h + rows[0, 1]) * w
    for i in range(w):
        fold[_U(i)] = flat[_U(b + i)]
    for t in range(1, n_rows):
        b = ((plane * in_d + rows[t, 0]) * in_h + rows[t, 1]) * w
        for i in range(w):
            v, cur = flat[_U(b + i)], fold[_U(i)]
            fold[_U(i)] = v if (v > cur) | (v != v) else cur


@nb.njit(**SERIAL)
def _fix_ties(x, out, geom, lowest, rows, start, stop):  # pragma: no cover - compiled
    """Recompute in row-major order the outputs of rows ``start .. stop - 1`` that are zero
    or NaN, where the column-major fold may have picked another zero or NaN than PyTorch's
    scan (counted first over the chunk: one contiguous loop that vectorises)."""
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    flat = out.reshape(-1)[start * out_w:stop * out_w]
    ties = 0
    for i in range(flat.shape[0]):
        ties += 0 if abs(flat[i]) > 0 else 1  # zero or NaN
    if ties == 0:
        return
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        n_rows = window_rows(od, oh, geom, x.shape[1], x.shape[2], rows)
        dst = out[p, od, oh]
        for ow in range(out_w):
            if dst[ow] == 0 or dst[ow] != dst[ow]:
                _refold(x[p], dst, geom, lowest, ow, rows, n_rows)


@nb.njit(**SERIAL)
def _max_rows_chunk(x, out, geom, lowest, floating, start, stop):  # pragma: no cover - compiled
    """Max values of every window of ``x`` (planes, D, H, W) into ``out`` (planes, Do, Ho, Wo),
    for a unit column stride.

    Work items: output rows ``start .. stop - 1`` (stride 1: contiguous columns)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, pw, dw = geom[0, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, 1, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    fold = np.empty(in_w, x.dtype)
    flat = x.reshape(-1)
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        _fold_rows(flat, p, in_d, in_h, rows, window_rows(od, oh, geom, in_d, in_h, rows), fold,
                   lowest)
        dst = out[p, od, oh]
        dst[:] = lowest
        for c in range(kw):
            f, n = col_first[c], col_count[c]
            d, a = dst[f:], fold[f + c * dw - pw:]
            for j in range(n):
                v, cur = a[j], d[j]
                d[j] = v if (v > cur) | (v != v) else cur
    if floating:
        _fix_ties(x, out, geom, lowest, rows, start, stop)


@nb.njit(**SERIAL)
def _max_rows_split_chunk(  # pragma: no cover - compiled
    x, out, geom, lowest, floating, start, stop
):
    """`max_rows` for a column stride > 1 on wide rows (split by phase).

    Work items: output rows ``start .. stop - 1`` (stride > 1: the folded row
    split by phase, then contiguous columns)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    fold = np.empty(in_w, x.dtype)
    phases = np.empty((min(sw, in_w), in_w // sw + 1), x.dtype)
    flat = x.reshape(-1)
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        _fold_rows(flat, p, in_d, in_h, rows, window_rows(od, oh, geom, in_d, in_h, rows), fold,
                   lowest)
        dst = out[p, od, oh]
        dst[:] = lowest
        _split(fold, phases, sw)
        for c in range(kw):
            f, n = col_first[c], col_count[c]
            i0 = f * sw + c * dw - pw
            d, a = dst[f:], phases[i0 % sw, i0 // sw:]
            for j in range(n):
                v, cur = a[j], d[j]
                d[j] = v if (v > cur) | (v != v) else cur
    if floating:
        _fix_ties(x, out, geom, lowest, rows, start, stop)


@nb.njit(**SERIAL)
def _max_rows_strided_chunk(  # pragma: no cover - compiled
    x, out, geom, lowest, floating, start, stop
):
    """`max_rows` for a column stride > 1 on narrow rows (strided reads).

    Work items: output rows ``start .. stop - 1`` (columns read at the
    stride)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    fold = np.empty(in_w, x.dtype)
    flat = x.reshape(-1)
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        _fold_rows(flat, p, in_d, in_h, rows, window_rows(od, oh, geom, in_d, in_h, rows), fold,
                   lowest)
        dst = out[p, od, oh]
        dst[:] = lowest
        for c in range(kw):
            f, n = col_first[c], col_count[c]
            d, a = dst[f:], fold[f * sw + c * dw - pw:]
            for j in range(n):
                v, cur = a[j * sw], d[j]
                d[j] = v if (v > cur) | (v != v) else cur
    if floating:
        _fix_ties(x, out, geom, lowest, rows, start, stop)


# ---- the ``_triples`` forms: windows 3 cells wide at column stride 2, no dilation (the
# ResNet stem's 3/2 pooling). The columns of the outputs whose whole window lies inside the
# row are folded in one pass, reading ``a[2 * j]``, ``a[2 * j + 1]``, ``a[2 * j + 2]``,
# which LLVM turns into shuffles; the few border outputs take `_max_edge`.
# Per output the cells come in window order, as in the other forms. Measured single-
# threaded against ``_strided`` (112-wide rows) and ``_split`` (1024-wide): 1.1-1.8x
# faster; the same fold of windows 2 cells wide was no faster, or slower.


@nb.njit(**SERIAL)
def _interior(col_first, col_count, out_w):  # pragma: no cover - compiled
    """The outputs ``lo .. hi - 1`` that every kernel column reads inside the row."""
    lo, hi = 0, out_w
    for c in range(col_first.shape[0]):
        lo = max(lo, col_first[c])
        hi = min(hi, col_first[c] + col_count[c])
    return lo, max(lo, hi)


@nb.njit(**SERIAL)
def _max_edge(dst, src, j, pw):  # pragma: no cover - compiled
    """Fold into ``dst[j]`` its window's cells of the row ``src`` (3 wide, stride 2)."""
    m = dst[j]
    for c in range(3):
        i = 2 * j + c - pw
        if 0 <= i < src.shape[0]:
            v = src[i]
            m = v if (v > m) | (v != v) else m
    dst[j] = m


@nb.njit(**SERIAL)
def _max_triples(d, a, n):  # pragma: no cover - compiled
    for j in range(n):
        v0, v1, v2, m = a[2 * j], a[2 * j + 1], a[2 * j + 2], d[j]
        m = v0 if (v0 > m) | (v0 != v0) else m
        m = v1 if (v1 > m) | (v1 != v1) else m
        d[j] = v2 if (v2 > m) | (v2 != v2) else m


@nb.njit(**SERIAL)
def _max_rows_triples_chunk(  # pragma: no cover - compiled
    x, out, geom, lowest, floating, start, stop
):
    """`max_rows` for windows 3 cells wide at column stride 2, no dilation.

    Work items: output rows ``start .. stop - 1``."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    pw = geom[2, 2]
    col_first, col_count = _column_ranges(out_w, in_w, 3, 2, pw, 1)
    lo, hi = _interior(col_first, col_count, out_w)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    fold = np.empty(in_w, x.dtype)
    flat = x.reshape(-1)
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        _fold_rows(flat, p, in_d, in_h, rows, window_rows(od, oh, geom, in_d, in_h, rows), fold,
                   lowest)
        dst = out[p, od, oh]
        dst[:] = lowest
        for j in range(lo):
            _max_edge(dst, fold, j, pw)
        _max_triples(dst[lo:hi], fold[2 * lo - pw:], hi - lo)
        for j in range(hi, out_w):
            _max_edge(dst, fold, j, pw)
    if floating:
        _fix_ties(x, out, geom, lowest, rows, start, stop)


@nb.njit(**SERIAL)
def _refold(plane, dst, geom, lowest, ow, rows, n_rows):  # pragma: no cover - compiled
    """Recompute output ``ow`` of a row in row-major order (signed zeros tie; NaN payloads
    differ): the cell PyTorch's scan takes."""
    in_w = plane.shape[2]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    best = lowest
    for t in range(n_rows):
        src = plane[rows[t, 0], rows[t, 1]]
        for c in range(kw):
            i = ow * sw + c * dw - pw
            if 0 <= i < in_w:
                u = src[i]
                best = u if (u > best) | (u != u) else best
    dst[ow] = best


@nb.njit(**SERIAL)
def _argmax_rows_chunk(x, out, idx, geom, lowest, start, stop):  # pragma: no cover - compiled
    """Max values and plane-flat argmax indices (-1: a window reading no input cell).

    Work items: output rows ``start .. stop - 1``."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    phases = np.empty((min(sw, in_w), in_w // sw + 1), x.dtype)
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
        acc, arg = out[p, od, oh], idx[p, od, oh]
        acc[:] = lowest
        arg[:] = -1
        for t in range(n_rows):
            src = x[p, rows[t, 0], rows[t, 1]]
            if sw > 1:
                _split(src, phases, sw)
            for c in range(kw):
                f, n = col_first[c], col_count[c]
                start_i = f * sw + c * dw - pw
                first = (rows[t, 0] * in_h + rows[t, 1]) * in_w + start_i
                # stride > 1: read the row's phase of this column, contiguous
                a = src[start_i:] if sw == 1 else phases[start_i % sw, start_i // sw:]
                d, g = acc[f:], arg[f:]
                for j in range(n):
                    v = a[j]
                    take = (v > d[j]) | (v != v)
                    d[j] = v if take else d[j]
                    g[j] = first + j * sw if take else g[j]
        if n_rows > 0:
            for ow in range(out_w):
                if arg[ow] < 0:  # every cell equals the lowest value: PyTorch's scan keeps
                    for c in range(kw):  # the first in-bounds cell; none: index -1
                        i = ow * sw + c * dw - pw
                        if 0 <= i < in_w:
                            arg[ow] = (rows[0, 0] * in_h + rows[0, 1]) * in_w + i
                            break


# The 3x3 sum kernels sum rows into an accumulator of `ACC_CELLS` cells (a block of rows),
# divided block by block (`_divide`, which `numba_phases` shares).


@nb.njit(**SERIAL)
def _divide(acc, out, floating, div_d, div_h, div_w, div_scale, start):  # pragma: no cover
    """Rows ``start ..`` of ``out`` (as many as ``acc`` holds): ``acc`` divided by
    ``div_d[od] * div_h[oh] * div_w[ow] * div_scale``; integers truncate toward zero."""
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    divisor = np.empty(out_w, acc.dtype)
    flat = out.reshape((-1, out_w))
    held, last = False, 0  # whether ``divisor`` holds the row of scale ``last``
    for k in range(acc.shape[0]):
        r = start + k
        od, oh = (r // out_h) % out_d, r % out_h
        scale = div_d[od] * div_h[oh] * div_scale
        if not held or scale != last:
            for ow in range(out_w):
                divisor[ow] = scale * div_w[ow]
            held, last = True, scale
        a, dst = acc[k], flat[r]
        if floating:
            for ow in range(out_w):  # + 0: PyTorch adds into a zeroed output (no -0.0)
                dst[ow] = a[ow] / divisor[ow] + 0
        else:
            for ow in range(out_w):
                q = abs(a[ow]) // abs(divisor[ow])
                dst[ow] = -q if (a[ow] < 0) != (divisor[ow] < 0) else q


@nb.njit(**SERIAL)
def _sum_triples(d, a, n):  # pragma: no cover - compiled
    for j in range(n):
        d[j] = d[j] + a[2 * j] + a[2 * j + 1] + a[2 * j + 2]


@nb.njit(**SERIAL)
def _rows_3x3(od, oh, geom, in_d, in_h):  # pragma: no cover - compiled
    """Output row ``(od, oh)``'s depth ``id`` and first window row ``ih``, the first window
    row inside the input and how many are (0 to 3)."""
    id_ = od * geom[1, 0] - geom[2, 0]
    ih = oh * geom[1, 1] - geom[2, 1]
    if id_ < 0 or id_ >= in_d:
        return id_, ih, ih, 0
    first, last = max(ih, 0), min(ih + 3, in_h)
    return id_, ih, first, max(0, last - first)


@nb.njit(**SERIAL)
def _sum9_s1(d, r0, r1, r2, n, zero, divisor):  # pragma: no cover - compiled
    for j in range(n):  # + 0: PyTorch adds into a zeroed output (no -0.0)
        d[j] = (zero + r0[j] + r0[j + 1] + r0[j + 2] + r1[j] + r1[j + 1] + r1[j + 2]
                + r2[j] + r2[j + 1] + r2[j + 2]) / divisor[j] + 0


@nb.njit(**SERIAL)
def _sum9_s2(d, r0, r1, r2, n):  # pragma: no cover - compiled
    for j in range(n):
        d[j] = (d[j] + r0[2 * j] + r0[2 * j + 1] + r0[2 * j + 2] + r1[2 * j] + r1[2 * j + 1]
                + r1[2 * j + 2] + r2[2 * j] + r2[2 * j + 1] + r2[2 * j + 2])


@nb.njit(**SERIAL)
def _sum_edges_9(row, r0, r1, r2, lo, hi, sw, pw):  # pragma: no cover - compiled
    """Add to the border columns ``row[:lo]`` and ``row[hi:]`` their windows' cells of the
    rows ``r0``, ``r1``, ``r2``, in order (one call a row: each call of a Numba function
    counts references to its arrays)."""
    in_w = r0.shape[0]
    for j0, j1 in ((0, lo), (hi, row.shape[0])):
        for j in range(j0, j1):
            i = j * sw - pw
            c0, c1 = max(0, -i), min(3, in_w - i)
            s = row[j]
            for c in range(c0, c1):
                s += r0[i + c]
            for c in range(c0, c1):
                s += r1[i + c]
            for c in range(c0, c1):
                s += r2[i + c]
            row[j] = s


@nb.njit(**SERIAL)
def _sum_border_3x3(row, x, p, id_, first, n, lo, hi, pw):  # pragma: no cover - compiled
    """Add to ``row`` the sums of a border row's ``n`` window rows from ``first`` on
    (stride 2)."""
    sw = 2
    a0 = lo * sw - pw
    for t in range(first, first + n):
        src = x[p, id_, t]
        in_w = src.shape[0]
        for j0, j1 in ((0, lo), (hi, row.shape[0])):
            for j in range(j0, j1):
                i = j * sw - pw
                s = row[j]
                for c in range(max(0, -i), min(3, in_w - i)):
                    s += src[i + c]
                row[j] = s
        _sum_triples(row[lo:hi], src[a0:], hi - lo)


@nb.njit(**SERIAL)
def _sum_rows_3x3_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """`sum_rows` for 3x3 windows (depth 1), no dilation, column stride 1, floating sums.

    Work items: output rows ``start .. stop - 1`` (stride 1, floating sums).

    Window rows are read from three zero-padded copies (``pad``, slot ``ih % 3`` for input
    row ``ih``; a fourth row of zeros stands for rows outside the input), so every output
    sums nine cells with no border case: zeros added to a sum that starts from ``+0`` leave
    its bits as they are (no partial sum is ``-0.0``), so the result is that of the cells
    alone. Consecutive output rows share two of their three rows: one copy per row. Each
    sum is divided as it is made (`_sum9_s1`), by a divisor row rebuilt only when its scale
    changes; integer sums, which truncate, take the other forms."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    pw = geom[2, 2]
    pad = np.zeros((4, max(out_w + 2, pw + in_w)), x.dtype)
    held = np.full((3, 2), -1, np.int64)  # the (plane, input row) each slot holds
    slots = np.empty(3, np.int64)
    divisor = np.empty(out_w, zero.dtype)
    have, last = False, 0  # whether ``divisor`` holds the row of scale ``last``
    for r in range(start, stop):
        p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        id_ = od * geom[1, 0] - geom[2, 0]
        ih = oh * geom[1, 1] - geom[2, 1]
        for t in range(3):
            h, slots[t] = ih + t, 3
            if 0 <= id_ < in_d and 0 <= h < in_h:
                slots[t] = h % 3
                if held[h % 3, 0] != p or held[h % 3, 1] != id_ * in_h + h:
                    pad[h % 3, pw:pw + in_w] = x[p, id_, h]
                    held[h % 3, 0], held[h % 3, 1] = p, id_ * in_h + h
        scale = div_d[od] * div_h[oh] * div_scale
        if not have or scale != last:
            for ow in range(out_w):
                divisor[ow] = scale * div_w[ow]
            have, last = True, scale
        _sum9_s1(out[p, od, oh], pad[slots[0]], pad[slots[1]], pad[slots[2]], out_w, zero[0],
                 divisor)


@nb.njit(**SERIAL)
def _sum_rows_3x3_s2_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """`sum_rows` for 3x3 windows (depth 1), no dilation, column stride 2.

    Work items: output rows ``start .. stop - 1`` (stride 2; `_sum_rows_3x3_chunk`
    but for the stride: one kernel each, since a branch on it slows both)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    pw = geom[2, 2]
    lo, hi = _interior(*_column_ranges(out_w, in_w, 3, 2, pw, 1), out_w)
    a0 = 2 * lo - pw  # the first cell the interior reads
    block = max(1, ACC_CELLS // out_w)
    acc = np.empty((min(block, stop - start), out_w), zero.dtype)
    for b0 in range(start, stop, block):
        b1 = min(b0 + block, stop)
        acc[:] = zero[0]
        for r in range(b0, b1):
            p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
            id_, ih, first, n = _rows_3x3(od, oh, geom, in_d, in_h)
            row = acc[r - b0]
            if n < 3:
                _sum_border_3x3(row, x, p, id_, first, n, lo, hi, pw)
                continue
            r0, r1, r2 = x[p, id_, ih], x[p, id_, ih + 1], x[p, id_, ih + 2]
            _sum9_s2(row[lo:hi], r0[a0:], r1[a0:], r2[a0:], hi - lo)
            _sum_edges_9(row, r0, r1, r2, lo, hi, 2, pw)
        _divide(acc[:b1 - b0], out, floating, div_d, div_h, div_w, div_scale, b0)


@nb.njit(**SERIAL)
def _scatter_argmax_chunk(grad_out, idx, grad_in, start, stop):  # pragma: no cover - compiled
    """``grad_in[p, idx[p, j]] += grad_out[p, j]`` in raster order of ``j``, skipping -1.

    Arrays are (planes, cells); ``grad_in`` is overwritten. Parallel over chunks of planes.

    Work items: planes ``start .. stop - 1``."""
    for p in range(start, stop):
        g, ix, gi = grad_out[p], idx[p], grad_in[p]
        gi[:] = 0  # zeroed here, plane by plane, while it is in cache
        for j in range(g.shape[0]):
            i = ix[j]
            if i >= 0:
                gi[i] += g[j]


@nb.njit(**SERIAL)
def _spread_s2(dst, e, out_w, in_w, kw, pw):  # pragma: no cover - compiled
    """``dst[ow * 2 + c - pw] += e[ow]`` for every output column ``ow`` and kernel column
    ``c < kw`` (``kw`` 2 or 3, stride 2, no dilation) whose cell is inside the row, each
    cell receiving its terms in ascending ``ow``.

    Cell by cell rather than kernel column by kernel column: in the pairs of cells ``2m -
    pw`` and ``2m + 1 - pw`` whose terms are all inside (``m`` in ``lo .. hi - 1``) the
    first takes ``e[m - 1]`` (kernel column 2, when ``kw`` is 3) and then ``e[m]``, the
    second ``e[m]``: one pass of two interleaved rows, which LLVM vectorises, where a
    kernel column at a time is a strided store per term. The cells outside those pairs
    gather their terms one by one."""
    lo = max(kw - 2, (pw + 1) // 2)  # 2m - pw >= 0 and e[m - 1] exists when kw is 3
    hi = max(lo, min(out_w, (in_w - 2 + pw) // 2 + 1))  # 2m + 1 - pw <= in_w - 1
    b = 2 * lo - pw
    if kw == 3:
        for j in range(hi - lo):
            m = lo + j
            dst[_U(b + 2 * j)] = dst[_U(b + 2 * j)] + e[_U(m - 1)] + e[_U(m)]
            dst[_U(b + 2 * j + 1)] += e[_U(m)]
    else:
        for j in range(hi - lo):
            dst[_U(b + 2 * j)] += e[_U(lo + j)]
            dst[_U(b + 2 * j + 1)] += e[_U(lo + j)]
    inner_lo = min(max(b, 0), in_w)
    inner_hi = max(inner_lo, min(2 * hi - pw, in_w))
    i = 0
    while i < in_w:
        if i == inner_lo:
            i = inner_hi  # the cells past the pairs
            if i == in_w:
                break
        for c in range(kw - 1, -1, -1):  # ascending output columns
            t = i + pw - c
            if t >= 0 and t % 2 == 0 and t // 2 < out_w:
                dst[i] += e[t // 2]
        i += 1


@nb.njit(**SERIAL)
def _scatter_windows_chunk(  # pragma: no cover - compiled
    grad_out, grad_in, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """Backward of average pooling: add each output's ``grad / divisor`` to its window.

    ``grad_out`` (P, Do, Ho, Wo); ``grad_in`` (P, D, H, W) is overwritten. Each input cell
    receives its contributions in output raster order (kernel columns run backwards so that
    output columns ascend), in the gradient dtype, as PyTorch accumulates. Parallel over
    chunks of planes.

    Work items: planes ``start .. stop - 1``."""
    in_d, in_h, in_w = grad_in.shape[1], grad_in.shape[2], grad_in.shape[3]
    out_d, out_h, out_w = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    delta = np.empty(out_w, grad_out.dtype)
    divisor = np.empty(out_w, grad_out.dtype)
    for p in range(start, stop):
        grad_in[p] = 0  # zeroed here, plane by plane, while it is in cache
        for od in range(out_d):
            for oh in range(out_h):
                n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
                scale = div_d[od] * div_h[oh] * div_scale
                for ow in range(out_w):
                    divisor[ow] = scale * div_w[ow]
                g = grad_out[p, od, oh]
                for ow in range(out_w):
                    delta[ow] = g[ow] / divisor[ow]
                for t in range(n_rows):
                    dst = grad_in[p, rows[t, 0], rows[t, 1]]
                    if sw == 2 and dw == 1 and (kw == 2 or kw == 3):
                        _spread_s2(dst, delta, out_w, in_w, kw, pw)
                        continue
                    for c in range(kw - 1, -1, -1):
                        f, n = col_first[c], col_count[c]
                        a, e = dst[f * sw + c * dw - pw:], delta[f:]
                        if sw == 1:
                            for j in range(n):
                                a[j] += e[j]
                        else:
                            for j in range(n):
                                a[j * sw] += e[j]


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
ARGMAX_ROWS = Form(_argmax_rows_chunk)
MAX_ROWS = Form(_max_rows_chunk)
MAX_ROWS_SPLIT = Form(_max_rows_split_chunk)
MAX_ROWS_STRIDED = Form(_max_rows_strided_chunk)
MAX_ROWS_TRIPLES = Form(_max_rows_triples_chunk)
SCATTER_ARGMAX = Form(_scatter_argmax_chunk, reads=2)
SCATTER_WINDOWS = Form(_scatter_windows_chunk)
SUM_ROWS_3X3 = Form(_sum_rows_3x3_chunk)
SUM_ROWS_3X3_S2 = Form(_sum_rows_3x3_s2_chunk)
