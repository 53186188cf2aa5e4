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

`max_rows` serves every stride (its column reads: in place at stride 1, by triples for
windows 3 cells wide at stride 2 or 3, by pairs for 2 wide at stride 2, by phase
otherwise). At stride 1, windows 5 wide or more first fold threes of columns into a row of
their own, then ceil(k / 3) of those, the last overlapping the one before (a max may take
a cell twice): two passes where windows 6 to 9 wide took three or four. One thread,
float32, (8, 64, 57, 57): 6x6 windows 2.13-2.29 -> 1.78-1.91 ms, 7x7 with padding 3
2.49-2.57 -> 2.23-2.41 ms, 5x5 1.77-1.79 -> 1.65-1.70 ms; 7x7 on (1, 64, 112, 112)
0.83-0.87 -> 0.67-0.78 ms. Folding threes of rows likewise (each three of input rows
folded once, kept for the output rows below) was no faster (0.96-1.09 of the time).

2d 3x3 windows at stride 1 with padding 1 take `max_plane_3x3`, the same folds a whole
plane a loop (its work items are planes, not rows). Sums over 3x3 windows at column
stride 1 (floating) and 2 take ``sum_rows_3x3``, all nine cells of an output at once (but
float32 sums at stride 2 on rows of 18 to 48 outputs, `poolnd._kernels.sliding._phases_over_3x3`);
floating sums at column stride 2 or 3 where `poolnd._kernels.sliding._strided_sums` says
take ``sum_strided``, reading the input rows at the stride; every other sum runs over phase
planes (`numba_phases`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import SERIAL
from ..launch import Form
from ..raster import next_row, row_before
from .numba_folds import FOLD2, FOLD3

__all__ = [
    "ARGMAX_MAX_ROWS",
    "ARGMAX_ROWS",
    "GATHER_ARGMAX",
    "MAX_PLANE_3X3",
    "MAX_ROWS",
    "SCATTER_ARGMAX",
    "SCATTER_WINDOWS",
    "SUM_ROWS_3X3",
    "SUM_STRIDED",
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


# Per-chunk buffers of `argmax_rows` hold one input row (or less) and four of one output
# row (its scratch rows), never a size set by the window parameters alone: a window has at
# most ``min(k, in)`` in-bounds positions per dimension (`window_rows`' list), and `_split`
# of a row narrower than the stride needs one phase per cell, so a stride of 10**9 costs no
# memory (kernels wider than 2**16, whose column tables would grow, run on the NumPy
# passes). A kernel column reading only padding (count 0) reads nothing. `max_rows`' padded row
# is bounded by the selector (`_padded_row_fits`): beyond twice the input row, the argmax
# kernel gives the values.
#
# The loops below count from zero over slices that start where the outputs' reads start:
# Numba checks every signed index for negative wrap-around unless it can prove the index
# non-negative, and that check keeps LLVM from vectorising.


# Unsigned indices (`_U`): Numba checks a signed index for negative wrap-around (a branch
# per cell that keeps LLVM from vectorising); the max kernel addresses its rows by flat
# offsets, valid by construction.
_U = nb.types.uint64

# Integer averages divide in float64 where that is exact: for integers |a| < 2**53 and
# 0 < |d| < 2**53, ``trunc(fl(a / d))`` is ``a / d`` truncated toward zero (the quotient is
# at least ``1 / |d|`` from the next integer, more than float64 rounding moves it), and a
# float64 division costs a tenth of a 64-bit integer one (measured in Numba on the AMD EPYC:
# 3.5 against 35 ms for 2 million). Rows outside those bounds take the integer division.
_EXACT = 1 << 53

# ---- max values. A window's input rows are folded elementwise into a *padded row* (cell
# ``i`` is input column ``i - pw``; cells outside the input hold the lowest value, which no
# cell is taken over), then its columns are folded from that row into the output row: at
# stride 1 in place, undilated windows 3 cells wide at stride 2 (the ResNet stem's 3/2
# pooling) or 3 by triples ``a[2 * j]``, ``a[2 * j + 1]``, ``a[2 * j + 2]`` (or ``3 * j``;
# LLVM turns them into shuffles), 2 wide at stride 2 by pairs likewise, at other strides
# from the row dealt out by phase, so that each kernel column reads one phase
# contiguously. Two rules keep the loops fast, each measured on an AMD EPYC
# (single-threaded, 2-2.4x and 2x):
#
# * no loop stores into the array it reads the running maximum from: every pass reads one
#   or two buffers and writes another. A loop that reads ``d[j]`` and writes it back under
#   the take rule is turned by LLVM into masked stores (``vmaskmovps``), which AMD's Zen
#   cores run microcoded, many cycles each;
# * nothing in the per-row loop calls a function with array arguments: Numba counts every
#   array passed to a call in and out with atomic reference-count updates, which cost more
#   than the row's arithmetic (and contend across threads on arrays they share).


@nb.njit(**SERIAL)
def _max_rows_chunk(x, out, geom, lowest, floating, start, stop):  # pragma: no cover - compiled
    """Max values of every window of ``x`` (planes, D, H, W) into ``out`` (planes, Do, Ho, Wo).

    Work items: output rows ``start .. stop - 1``."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kd, kh, kw = geom[0, 0], geom[0, 1], geom[0, 2]
    sd, sh, sw = geom[1, 0], geom[1, 1], geom[1, 2]
    pd, ph, pw = geom[2, 0], geom[2, 1], geom[2, 2]
    dd, dh, dw = geom[3, 0], geom[3, 1], geom[3, 2]
    width = max(1, (out_w - 1) * sw + (kw - 1) * dw + 1)  # the padded row's cells
    n = max(0, min(in_w, width - pw))  # the input columns it holds, from cell pw
    triples = kw == 3 and dw == 1 and (sw == 2 or sw == 3)  # read in place at the stride
    pairs = kw == 2 and sw == 2 and dw == 1
    plen = (width + sw - 1) // sw  # cells per phase
    n_ph = min(sw, width)  # phases holding a cell (a stride of 10**9 costs no memory)
    # scratch, by offsets (an array variable reassigned in the loop would cost reference
    # counts): two padded rows at 0 and `width`, the phases at `ph0`, two output rows at
    # `acc0` and `acc0 + out_w`
    ph0 = 2 * width
    acc0 = ph0 + (plen * n_ph if sw > 1 and not (triples or pairs) else 0)
    # at stride 1, windows 5 wide or more fold their columns three at a time first (into
    # the row at `t0`), then those threes: ceil(kw / 3) columns, the last overlapping
    threes = sw == 1 and kw >= 5
    t0 = acc0 + 2 * out_w
    buf = np.full(t0 + (width if threes else 0), lowest, x.dtype)
    kc = (kw + 2) // 3 if threes else kw  # the columns folded into the output row
    off = np.empty(kc, np.int64)  # column c of output j: cell off[c] + j of its source
    for c in range(kc):
        if threes:
            off[c] = t0 + min(3 * c, kw - 3) * dw
        else:
            off[c] = c * dw if sw == 1 else ph0 + (c * dw % sw) * plen + c * dw // sw
    bases = np.empty(min(kd, in_d) * min(kh, in_h), np.int64)
    flat, of = x.reshape(-1), out.reshape(-1)
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        o = r * out_w
        n_rows = 0  # the window's input rows, in row-major order (as `window_rows`)
        for a in range(kd):
            id_ = od * sd - pd + a * dd
            if 0 <= id_ < in_d:
                for b in range(kh):
                    ih = oh * sh - ph + b * dh
                    if 0 <= ih < in_h:
                        bases[n_rows] = ((p * in_d + id_) * in_h + ih) * in_w
                        n_rows += 1
        if n_rows == 0:
            for j in range(out_w):
                of[_U(o + j)] = lowest
            continue
        # the rows, folded into the padded row at `f` (input column i at cell f + pw + i):
        # the first pass takes three rows at row stride 1 (two of them read for the output
        # row before: cached), else two; then two a pass. (A first pass of three at row
        # stride 2 ran 1.3x slower on 112-wide rows, single-threaded on the AMD EPYC.)
        b0, f, t = bases[0], 0, min(n_rows, 3 if sh == 1 else 2)
        if n_rows == 1:
            for i in range(n):
                buf[_U(pw + i)] = flat[_U(b0 + i)]
        elif t == 2:
            FOLD2(buf, pw, flat, b0, flat, bases[1], n)
        else:
            FOLD3(buf, pw, flat, b0, flat, bases[1], flat, bases[2], n)
        while t < n_rows:
            g, bt = width - f, bases[t]
            if t + 1 < n_rows:
                FOLD3(buf, g + pw, buf, f + pw, flat, bt, flat, bases[t + 1], n)
                t += 2
            else:
                FOLD2(buf, g + pw, buf, f + pw, flat, bt, n)
                t += 1
            f = g
        # the columns, folded into output row r
        if triples and sw == 2:
            for j in range(out_w):
                m, v, u = buf[_U(f + 2 * j)], buf[_U(f + 2 * j + 1)], buf[_U(f + 2 * j + 2)]
                m = v if (v > m) | (v != v) else m
                of[_U(o + j)] = u if (u > m) | (u != u) else m
            continue
        if triples:
            for j in range(out_w):
                m, v, u = buf[_U(f + 3 * j)], buf[_U(f + 3 * j + 1)], buf[_U(f + 3 * j + 2)]
                m = v if (v > m) | (v != v) else m
                of[_U(o + j)] = u if (u > m) | (u != u) else m
            continue
        if pairs:
            for j in range(out_w):
                m, v = buf[_U(f + 2 * j)], buf[_U(f + 2 * j + 1)]
                of[_U(o + j)] = v if (v > m) | (v != v) else m
            continue
        src = f  # kernel column c of output j: cell src + off[c] + j
        if threes:
            src = 0
            FOLD3(buf, t0, buf, f, buf, f + dw, buf, f + 2 * dw, out_w + (kw - 3) * dw)
        elif sw > 1:  # padded cell i to phase i % sw, cell i // sw
            src = 0
            if sw == 2:
                for j in range(width // 2):
                    buf[_U(ph0 + j)] = buf[_U(f + 2 * j)]
                    buf[_U(ph0 + plen + j)] = buf[_U(f + 2 * j + 1)]
            elif sw == 3:
                for j in range(width // 3):
                    buf[_U(ph0 + j)] = buf[_U(f + 3 * j)]
                    buf[_U(ph0 + plen + j)] = buf[_U(f + 3 * j + 1)]
                    buf[_U(ph0 + 2 * plen + j)] = buf[_U(f + 3 * j + 2)]
            else:
                for q in range(n_ph):
                    for j in range(width // sw):
                        buf[_U(ph0 + q * plen + j)] = buf[_U(f + j * sw + q)]
            for i in range(width - width % sw, width):
                buf[_U(ph0 + i % sw * plen + i // sw)] = buf[_U(f + i)]
        o0 = src + off[0]
        if kc == 1:
            for j in range(out_w):
                of[_U(o + j)] = buf[_U(o0 + j)]
            continue
        o1 = src + off[1]
        if kc == 2:
            FOLD2(of, o, buf, o0, buf, o1, out_w)
            continue
        o2 = src + off[2]
        if kc == 3:
            FOLD3(of, o, buf, o0, buf, o1, buf, o2, out_w)
            continue
        FOLD3(buf, acc0, buf, o0, buf, o1, buf, o2, out_w)
        a, c = acc0, 3
        while kc - c > 2:  # two more columns a pass, into the other output row
            g = 2 * acc0 + out_w - a
            FOLD3(buf, g, buf, a, buf, src + off[c], buf, src + off[c + 1], out_w)
            a, c = g, c + 2
        oc = src + off[c]
        if kc - c == 2:
            FOLD3(of, o, buf, a, buf, oc, buf, src + off[c + 1], out_w)
        else:
            FOLD2(of, o, buf, a, buf, oc, out_w)
    if floating:
        _fix_ties(x, out, geom, lowest,
                  np.empty((min(kd, in_d) * min(kh, in_h), 2), np.int64), start, stop)


@nb.njit(**SERIAL)
def _max_plane_3x3_chunk(x, out, geom, lowest, floating, start, stop):  # pragma: no cover
    """`max_rows` for 3x3 windows at stride 1 with padding 1 on planes of at least 3x3
    cells (``x`` and ``out`` (planes, 1, H, W)): the same folds (each column's rows top to
    bottom, then the columns left to right, then `_fix_ties`), a whole plane a loop.

    Work items: planes ``start .. stop - 1``.

    The row kernel's loops run over one 56-cell row at a time on a 56x56 plane, and a row's
    loop set-up and scalar tail cost as much as its vector body; here the columns are folded
    in one loop over the plane (the first and last rows apart) and the rows in another, the
    two cells at each row's ends fixed after. Single-threaded on planes in cache: 0.42 ns an
    output against 1.02 (the row kernel, 56-wide rows) and 0.74 (448-wide)."""
    h, w = x.shape[2], x.shape[3]
    n = h * w
    v = np.empty(n + 2, x.dtype)  # column folds, with a cell before and after
    rows = np.empty((3, 2), np.int64)
    flat, of = x.reshape(-1), out.reshape(-1)
    for p in range(start, stop):
        b = p * n
        for i in range(w):  # the first row: rows 0 and 1
            m, u = flat[_U(b + i)], flat[_U(b + w + i)]
            v[_U(1 + i)] = u if (u > m) | (u != u) else m
        for i in range(n - 2 * w):  # the rows between: rows r - 1, r, r + 1
            m, u, t = flat[_U(b + i)], flat[_U(b + w + i)], flat[_U(b + 2 * w + i)]
            m = u if (u > m) | (u != u) else m
            v[_U(1 + w + i)] = t if (t > m) | (t != t) else m
        for i in range(n - w, n):  # the last row: rows h - 2 and h - 1
            m, u = flat[_U(b + i - w)], flat[_U(b + i)]
            v[_U(1 + i)] = u if (u > m) | (u != u) else m
        for i in range(n):  # columns j - 1, j, j + 1 (across row ends: fixed below)
            m, u, t = v[_U(i)], v[_U(i + 1)], v[_U(i + 2)]
            m = u if (u > m) | (u != u) else m
            of[_U(b + i)] = t if (t > m) | (t != t) else m
        for r in range(h):
            i = r * w  # the first column: the padding cell, columns 0 and 1
            m, u, t = lowest, v[_U(i + 1)], v[_U(i + 2)]
            m = u if (u > m) | (u != u) else m
            of[_U(b + i)] = t if (t > m) | (t != t) else m
            i += w - 1  # the last column: columns w - 2 and w - 1, the padding cell
            m, u = v[_U(i)], v[_U(i + 1)]
            of[_U(b + i)] = u if (u > m) | (u != u) else m
        if floating:  # the plane's zeros and NaN, while its outputs are in cache
            _fix_ties(x, out, geom, lowest, rows, p * h, (p + 1) * h)


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
    p, od, oh = row_before(start, out_d, out_h)
    for _ in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        n_rows = window_rows(od, oh, geom, x.shape[1], x.shape[2], rows)
        dst = out[p, od, oh]
        for ow in range(out_w):
            if dst[ow] == 0 or dst[ow] != dst[ow]:
                _refold(x[p], dst, geom, lowest, ow, rows, n_rows)


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


# `argmax_rows` records the winning cell of each output as an int32 code, ``(t << 16) | c``
# for kernel column ``c`` of the window's ``t``-th input row: the selector keeps windows of
# ``ARGMAX_MAX_ROWS`` input rows or more (and kernels wider than 2**16) from it.
ARGMAX_MAX_ROWS = 1 << 15


@nb.njit(**SERIAL)
def _argmax_rows_chunk(x, out, idx, geom, lowest, start, stop):  # pragma: no cover - compiled
    """Max values and plane-flat argmax indices (-1: a window reading no input cell).

    Work items: output rows ``start .. stop - 1``.

    Each kernel cell of the window (row-major order) is one pass over the output row from
    one pair of scratch rows (values, int32 cell codes) into the other, written out in the
    kernel rather than through helpers or row views (each of those costs reference counts
    a pass); the codes become plane-flat indices once per output row. Single-threaded,
    ``max_pool2d(x, 3, 1, 1, return_indices=True)`` on (8, 64, 56, 56): 20.5 ms, against
    38.4 for the row-view form that wrote back into the output under the take rule."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    rows = np.empty((min(geom[0, 0], in_d) * min(geom[0, 1], in_h), 2), np.int64)
    phases = np.empty((min(sw, in_w), in_w // sw + 1), x.dtype)
    ph, plen = phases.reshape(-1), phases.shape[1]
    m_a, m_b = np.empty(out_w, x.dtype), np.empty(out_w, x.dtype)  # the scratch rows
    q_a, q_b = np.empty(out_w, np.int32), np.empty(out_w, np.int32)
    flat, of, ix = x.reshape(-1), out.reshape(-1), idx.reshape(-1)
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
        for j in range(out_w):
            m_a[_U(j)], q_a[_U(j)] = lowest, -1
        cur = 0  # 0: the running maxima are in m_a / q_a
        for t in range(n_rows):
            row = ((p * in_d + rows[t, 0]) * in_h + rows[t, 1]) * in_w
            if sw > 1:
                _split(x[p, rows[t, 0], rows[t, 1]], phases, sw)
            for c in range(kw):
                # a column reading only padding may start past the row (count 0)
                f, n = min(col_first[c], out_w), col_count[c]
                code = np.int32((t << 16) | c)
                start_i = f * sw + c * dw - pw
                # output j (f <= j < f + n) reads flat[e + j] at stride 1, else ph[e + j]
                e = row + start_i - f if sw == 1 else \
                    (start_i % sw) * plen + start_i // sw - f
                if cur == 0:
                    for j in range(f):
                        m_b[_U(j)], q_b[_U(j)] = m_a[_U(j)], q_a[_U(j)]
                    for j in range(f + n, out_w):
                        m_b[_U(j)], q_b[_U(j)] = m_a[_U(j)], q_a[_U(j)]
                    if sw == 1:
                        for j in range(f, f + n):
                            v, m, q = flat[_U(e + j)], m_a[_U(j)], q_a[_U(j)]
                            take = (v > m) | (v != v)
                            m_b[_U(j)] = v if take else m
                            q_b[_U(j)] = code if take else q
                    else:
                        for j in range(f, f + n):
                            v, m, q = ph[_U(e + j)], m_a[_U(j)], q_a[_U(j)]
                            take = (v > m) | (v != v)
                            m_b[_U(j)] = v if take else m
                            q_b[_U(j)] = code if take else q
                else:
                    for j in range(f):
                        m_a[_U(j)], q_a[_U(j)] = m_b[_U(j)], q_b[_U(j)]
                    for j in range(f + n, out_w):
                        m_a[_U(j)], q_a[_U(j)] = m_b[_U(j)], q_b[_U(j)]
                    if sw == 1:
                        for j in range(f, f + n):
                            v, m, q = flat[_U(e + j)], m_b[_U(j)], q_b[_U(j)]
                            take = (v > m) | (v != v)
                            m_a[_U(j)] = v if take else m
                            q_a[_U(j)] = code if take else q
                    else:
                        for j in range(f, f + n):
                            v, m, q = ph[_U(e + j)], m_b[_U(j)], q_b[_U(j)]
                            take = (v > m) | (v != v)
                            m_a[_U(j)] = v if take else m
                            q_a[_U(j)] = code if take else q
                cur = 1 - cur
        o = r * out_w
        for j in range(out_w):
            m, q = (m_a[_U(j)], q_a[_U(j)]) if cur == 0 else (m_b[_U(j)], q_b[_U(j)])
            of[_U(o + j)] = m
            if q < 0:  # every cell equals the lowest value: PyTorch's scan keeps the
                i = -1  # first in-bounds cell; none: index -1
                if n_rows > 0:
                    for c in range(kw):
                        k = j * sw + c * dw - pw
                        if 0 <= k < in_w:
                            i = (rows[0, 0] * in_h + rows[0, 1]) * in_w + k
                            break
                ix[_U(o + j)] = i
            else:
                t, c = q >> 16, q & 0xFFFF
                ix[_U(o + j)] = (rows[t, 0] * in_h + rows[t, 1]) * in_w + j * sw + c * dw - pw


# Window sums divided into output rows (`numba_phases`' kernel divides by blocks of rows).


@nb.njit(**SERIAL)
def _truncated(a, d):  # pragma: no cover - compiled
    """The integer quotient ``a / d`` truncated toward zero (C's and PyTorch's integer
    division), by integers: where the float64 division would not be exact."""
    q = abs(a) // abs(d)
    return -q if (a < 0) != (d < 0) else q


@nb.njit(**SERIAL)
def _divide(acc, out, floating, div_d, div_h, div_w, div_scale, start):  # pragma: no cover
    """Rows ``start ..`` of ``out`` (as many as ``acc`` holds): ``acc`` divided by
    ``div_d[od] * div_h[oh] * div_w[ow] * div_scale``; integers truncate toward zero."""
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    divisor = np.empty(out_w, acc.dtype)
    flat = out.reshape((-1, out_w))
    held, last = False, 0  # whether ``divisor`` holds the row of scale ``last``
    _, od, oh = row_before(start, out_d, out_h)
    for k in range(acc.shape[0]):
        r = start + k
        _, od, oh = next_row(0, od, oh, out_d, out_h)
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
            exact = True  # (`_EXACT`)
            for ow in range(out_w):
                exact &= (-_EXACT < a[ow] < _EXACT) & (divisor[ow] != 0) & \
                    (-_EXACT < divisor[ow] < _EXACT)
            if exact:
                for ow in range(out_w):
                    dst[ow] = np.int64(a[ow] / divisor[ow])
            else:
                for ow in range(out_w):
                    dst[ow] = _truncated(a[ow], divisor[ow])


@nb.njit(**SERIAL)
def _sum_rows_3x3_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """`sum_rows` for 3x3 windows (depth 1), no dilation, column stride 1 or 2, sums
    accumulated in ``zero.dtype`` and divided as `_divide` does.

    Work items: output rows ``start .. stop - 1``.

    Window rows are read from three zero-padded copies in ``zero.dtype`` (slot ``ih % 3``
    for input row ``ih``; a fourth row of zeros stands for rows outside the input), so every
    output sums nine cells with no border case: zeros added to a sum that starts from ``+0``
    leave its bits as they are (no partial sum is ``-0.0``), so the result is that of the
    cells alone, in PyTorch's row-major order. Consecutive output rows share their rows (two
    of three at stride 1): one copy per new row. Each sum is divided as it is made, by a
    divisor row rebuilt only when its scale changes. The rows are addressed by flat offsets
    (as in `_max_rows_chunk`: no array is passed to a call or reassigned per row)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    sd, sh, sw = geom[1, 0], geom[1, 1], geom[1, 2]
    pd, ph, pw = geom[2, 0], geom[2, 1], geom[2, 2]
    width = max((out_w - 1) * sw + 3, pw + in_w)  # a padded row's cells
    pad = np.zeros(4 * width, zero.dtype)  # slots 0-2 and the zero row
    held = np.full(6, -1, np.int64)  # the (plane, input row) each slot holds
    at = np.empty(3, np.int64)  # each window row's slot offset
    divisor = np.empty(out_w, zero.dtype)
    have, last = False, 0  # whether ``divisor`` holds the row of scale ``last``
    flat, of, z = x.reshape(-1), out.reshape(-1), zero[0]
    # integer sums of nine cells of at most 32 bits are below 2**53: `_EXACT` holds where
    # the divisors are nonzero and below 2**53 too
    narrow, exact = x.itemsize <= 4, False
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        id_, ih = od * sd - pd, oh * sh - ph
        for t in range(3):
            h = ih + t
            at[t] = 3 * width
            if 0 <= id_ < in_d and 0 <= h < in_h:
                slot = h % 3
                at[t] = slot * width
                if held[2 * slot] != p or held[2 * slot + 1] != id_ * in_h + h:
                    b, a = ((p * in_d + id_) * in_h + h) * in_w, slot * width + pw
                    for i in range(in_w):
                        pad[_U(a + i)] = flat[_U(b + i)]
                    held[2 * slot], held[2 * slot + 1] = p, id_ * in_h + h
        scale = div_d[od] * div_h[oh] * div_scale
        if not have or scale != last:
            exact = narrow
            for ow in range(out_w):
                divisor[ow] = scale * div_w[ow]
                exact &= (divisor[ow] != 0) & (-_EXACT < divisor[ow] < _EXACT)
            have, last = True, scale
        a0, a1, a2, o = at[0], at[1], at[2], r * out_w
        if sw == 1 and floating:
            for j in range(out_w):  # + 0: PyTorch adds into a zeroed output (no -0.0)
                of[_U(o + j)] = (
                    z + pad[_U(a0 + j)] + pad[_U(a0 + j + 1)] + pad[_U(a0 + j + 2)]
                    + pad[_U(a1 + j)] + pad[_U(a1 + j + 1)] + pad[_U(a1 + j + 2)]
                    + pad[_U(a2 + j)] + pad[_U(a2 + j + 1)] + pad[_U(a2 + j + 2)]
                ) / divisor[_U(j)] + 0
        elif floating:
            for j in range(out_w):
                of[_U(o + j)] = (
                    z + pad[_U(a0 + 2 * j)] + pad[_U(a0 + 2 * j + 1)] + pad[_U(a0 + 2 * j + 2)]
                    + pad[_U(a1 + 2 * j)] + pad[_U(a1 + 2 * j + 1)] + pad[_U(a1 + 2 * j + 2)]
                    + pad[_U(a2 + 2 * j)] + pad[_U(a2 + 2 * j + 1)] + pad[_U(a2 + 2 * j + 2)]
                ) / divisor[_U(j)] + 0
        elif exact:  # integers truncate toward zero, by float64 division (`_EXACT`)
            for j in range(out_w):
                i = j * sw
                s = (z + pad[_U(a0 + i)] + pad[_U(a0 + i + 1)] + pad[_U(a0 + i + 2)]
                     + pad[_U(a1 + i)] + pad[_U(a1 + i + 1)] + pad[_U(a1 + i + 2)]
                     + pad[_U(a2 + i)] + pad[_U(a2 + i + 1)] + pad[_U(a2 + i + 2)])
                of[_U(o + j)] = np.int64(s / divisor[_U(j)])
        else:  # integers truncate toward zero
            for j in range(out_w):
                i = j * sw
                s = (z + pad[_U(a0 + i)] + pad[_U(a0 + i + 1)] + pad[_U(a0 + i + 2)]
                     + pad[_U(a1 + i)] + pad[_U(a1 + i + 1)] + pad[_U(a1 + i + 2)]
                     + pad[_U(a2 + i)] + pad[_U(a2 + i + 1)] + pad[_U(a2 + i + 2)])
                dv = divisor[_U(j)]
                of[_U(o + j)] = _truncated(s, dv)


@nb.njit(**SERIAL)
def _sum_strided_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """Window sums at column stride 2 or 3 (no column dilation) read straight from the
    input rows, accumulated in ``zero.dtype`` and divided as `_divide` does.

    Work items: output rows ``start .. stop - 1``.

    For each input row of the window (row-major order) the kernel columns are added a
    stride's worth at a time (``acc + a + b + c`` at stride 3), each group one loop over the
    output row reading consecutive input cells at the stride, which LLVM vectorises with
    shuffles: no copy of the input, which is what the phase-plane kernel spends most of its
    time on at these strides (`poolnd._kernels.sliding._strided_sums` says where this
    kernel runs). Outputs whose windows cross the row's ends add their cells inside the
    input one by one; the cells outside, like rows outside, add ``+0`` in the phase-plane
    kernel, which changes no bit of a sum that starts at ``+0``, so skipping them gives
    the same bits: PyTorch's row-major order."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kd, kh, kw = geom[0, 0], geom[0, 1], geom[0, 2]
    sd, sh, sw = geom[1, 0], geom[1, 1], geom[1, 2]
    pd, ph, pw = geom[2, 0], geom[2, 1], geom[2, 2]
    dd, dh = geom[3, 0], geom[3, 1]
    # outputs j in lo .. hi - 1 read only cells inside the row
    lo = min(out_w, (pw + sw - 1) // sw)
    hi = max(lo, min(out_w, (in_w - kw + pw) // sw + 1))
    acc = np.empty(out_w, zero.dtype)
    divisor = np.empty(out_w, zero.dtype)
    have, last = False, 0  # whether ``divisor`` holds the row of scale ``last``
    flat, of, z = x.reshape(-1), out.reshape(-1), zero[0]
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        for j in range(out_w):
            acc[_U(j)] = z
        for a in range(kd):
            id_ = od * sd - pd + a * dd
            if id_ < 0 or id_ >= in_d:
                continue
            for b in range(kh):
                ih = oh * sh - ph + b * dh
                if ih < 0 or ih >= in_h:
                    continue
                row = ((p * in_d + id_) * in_h + ih) * in_w  # input column i: row + i
                c = 0
                while c < kw:  # kernel columns c .. c + g - 1
                    g = min(sw, kw - c)
                    for j in range(lo):  # the ends, cell by cell
                        for t in range(c, c + g):
                            i = j * sw - pw + t
                            if 0 <= i < in_w:
                                acc[_U(j)] = acc[_U(j)] + flat[_U(row + i)]
                    for j in range(hi, out_w):
                        for t in range(c, c + g):
                            i = j * sw - pw + t
                            if 0 <= i < in_w:
                                acc[_U(j)] = acc[_U(j)] + flat[_U(row + i)]
                    e = row - pw + c  # output j's first cell of the group: e + j * sw
                    if sw == 2:  # (g is at most the stride)
                        if g == 2:
                            for j in range(lo, hi):
                                acc[_U(j)] = (acc[_U(j)] + flat[_U(e + 2 * j)]
                                              + flat[_U(e + 2 * j + 1)])
                        else:
                            for j in range(lo, hi):
                                acc[_U(j)] = acc[_U(j)] + flat[_U(e + 2 * j)]
                    else:
                        if g == 3:
                            for j in range(lo, hi):
                                acc[_U(j)] = (acc[_U(j)] + flat[_U(e + 3 * j)]
                                              + flat[_U(e + 3 * j + 1)] + flat[_U(e + 3 * j + 2)])
                        elif g == 2:
                            for j in range(lo, hi):
                                acc[_U(j)] = (acc[_U(j)] + flat[_U(e + 3 * j)]
                                              + flat[_U(e + 3 * j + 1)])
                        else:
                            for j in range(lo, hi):
                                acc[_U(j)] = acc[_U(j)] + flat[_U(e + 3 * j)]
                    c += g
        scale = div_d[od] * div_h[oh] * div_scale
        if not have or scale != last:
            for ow in range(out_w):
                divisor[ow] = scale * div_w[ow]
            have, last = True, scale
        o = r * out_w
        if floating:
            for j in range(out_w):  # + 0: PyTorch adds into a zeroed output (no -0.0)
                of[_U(o + j)] = acc[_U(j)] / divisor[_U(j)] + 0
        else:  # integers truncate toward zero
            for j in range(out_w):
                s, dv = acc[_U(j)], divisor[_U(j)]
                of[_U(o + j)] = _truncated(s, dv)


@nb.njit(**SERIAL)
def _scatter_argmax_chunk(grad_out, idx, grad_in, start, stop):  # pragma: no cover - compiled
    """``grad_in[p, idx[p, j]] += grad_out[p, j]`` in raster order of ``j``, skipping -1.

    Arrays are (planes, cells); ``grad_in`` is overwritten. Parallel over chunks of planes.

    Work items: planes ``start .. stop - 1``."""
    n_out, n_in = grad_out.shape[1], grad_in.shape[1]
    g, ix, gi = grad_out.reshape(-1), idx.reshape(-1), grad_in.reshape(-1)
    for p in range(start, stop):  # planes by flat offsets: no view, no reference count
        b, o = p * n_in, p * n_out
        for i in range(n_in):  # zeroed here, plane by plane, while it is in cache
            gi[_U(b + i)] = 0
        for j in range(n_out):
            i = ix[_U(o + j)]
            if i >= 0:
                gi[_U(b + i)] += g[_U(o + j)]


@nb.njit(**SERIAL)
def _gather_argmax_chunk(  # pragma: no cover - compiled
    grad_out, idx, grad_in, zero, offsets, cells, start, stop
):
    """`_scatter_argmax_chunk` as a gather, for windows at stride 1 whose outputs lie on
    the input's grid after the first spatial axis (`poolnd._kernels.sliding.
    _gather_offsets`): the outputs whose windows hold input cell ``c`` are ``c + d`` for
    the plane-flat ``offsets`` ``d`` (ascending, so in raster order), and ``c`` receives
    ``grad_out[c + d]`` where ``idx[c + d] == c``, else ``+0``, which adds nothing (the
    running sum starts at ``+0`` and so is never ``-0``). An output past a row's end names
    a cell of another row, never ``c``. One loop over the plane per offset, which LLVM
    vectorises, where the scatter adds one output at a time and waits, at stride 1, for
    the addition before to the same cell. ``cells`` is ``arange(plane size)`` in the
    indices' dtype: compared with it, int32 indices are compared as int32 (eight a vector
    on AVX2 instead of four).

    Work items: planes ``start .. stop - 1``."""
    n_out, n_in = grad_out.shape[1], grad_in.shape[1]
    g, ix, gi = grad_out.reshape(-1), idx.reshape(-1), grad_in.reshape(-1)
    z = zero[0]  # a local: a load from ``zero`` may alias the stores, and stop vectorising
    n = offsets.shape[0]
    # nine offsets (3x3 windows): the cells all nine reach take their nine terms in one loop
    mid_lo = max(0, -offsets[0]) if n == 9 else 0
    mid_hi = max(mid_lo, min(n_in, n_out - offsets[n - 1])) if n == 9 else 0
    for p in range(start, stop):
        b, o = p * n_in, p * n_out
        for c in range(n_in):
            gi[_U(b + c)] = z
        for k in range(n):  # one loop per offset, outside the nine-term loop's cells
            d = offsets[k]
            lo, hi = max(0, -d), min(n_in, n_out - d)
            _gather_term(g, ix, gi, z, cells, b, o, d, lo, min(hi, mid_lo))
            _gather_term(g, ix, gi, z, cells, b, o, d, max(lo, mid_hi), hi)
        if mid_hi > mid_lo:
            _gather9(g, ix, gi, z, offsets, cells, b, o, mid_lo, mid_hi)


@nb.njit(**SERIAL)
def _gather_term(g, ix, gi, z, cells, b, o, d, lo, hi):  # pragma: no cover - compiled
    """`_gather_argmax_chunk`'s term of offset ``d`` added to cells ``lo .. hi - 1``."""
    for c in range(lo, hi):
        j = o + c + d
        t = g[_U(j)] if ix[_U(j)] == cells[_U(c)] else z
        gi[_U(b + c)] = gi[_U(b + c)] + t


@nb.njit(**SERIAL)
def _gather9(g, ix, gi, z, offsets, cells, b, o, lo, hi):  # pragma: no cover - compiled
    """`_gather_argmax_chunk`'s nine terms of cells ``lo .. hi - 1`` of one plane in one
    loop, added in the offsets' order."""
    d0, d1, d2, d3, d4 = offsets[0], offsets[1], offsets[2], offsets[3], offsets[4]
    d5, d6, d7, d8 = offsets[5], offsets[6], offsets[7], offsets[8]
    for c in range(lo, hi):
        j, cc = o + c, cells[_U(c)]
        acc = z + (g[_U(j + d0)] if ix[_U(j + d0)] == cc else z)
        acc = acc + (g[_U(j + d1)] if ix[_U(j + d1)] == cc else z)
        acc = acc + (g[_U(j + d2)] if ix[_U(j + d2)] == cc else z)
        acc = acc + (g[_U(j + d3)] if ix[_U(j + d3)] == cc else z)
        acc = acc + (g[_U(j + d4)] if ix[_U(j + d4)] == cc else z)
        acc = acc + (g[_U(j + d5)] if ix[_U(j + d5)] == cc else z)
        acc = acc + (g[_U(j + d6)] if ix[_U(j + d6)] == cc else z)
        acc = acc + (g[_U(j + d7)] if ix[_U(j + d7)] == cc else z)
        gi[_U(b + c)] = acc + (g[_U(j + d8)] if ix[_U(j + d8)] == cc else z)


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
MAX_PLANE_3X3 = Form(_max_plane_3x3_chunk)
GATHER_ARGMAX = Form(_gather_argmax_chunk, reads=2)
SCATTER_ARGMAX = Form(_scatter_argmax_chunk, reads=2)
SCATTER_WINDOWS = Form(_scatter_windows_chunk)
SUM_ROWS_3X3 = Form(_sum_rows_3x3_chunk)
SUM_STRIDED = Form(_sum_strided_chunk)
