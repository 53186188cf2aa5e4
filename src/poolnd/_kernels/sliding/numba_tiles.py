"""Numba kernels for non-overlapping tilings: kernel == stride, no padding, no dilation, and
every window inside the input (the most common pooling, ``max_pool2d(x, 2)``).

Arrays come as in `compiled`: ``(planes, D, H, W)`` C-contiguous, one output row
``(plane, od, oh)`` per work item. A window's input rows are the ``kd * kh`` rows
``(od * kd + a, oh * kh + b)``, all inside the input, so each row is folded straight into
the output row, in row-major window order: row by row, and within a row the ``kw`` cells of
each output left to right. That is exactly PyTorch's scan order, so values (signed zeros and
NaN payloads too), indices and sums come out as PyTorch's with no second pass. A row of a
window of width 2, 3 or 4 (2 or 4 with indices) is read as interleaved groups
(``src[2 * j]``, ``src[2 * j + 1]``), which LLVM vectorises with shuffles; other widths take
a scalar loop. LLVM runs those loops vector-wide only on long rows: max values on short
rows or over windows 5 wide or more, and floating sums 3 wide on short rows, are given to
the row kernels (`poolnd._kernels.sliding._rows_over_tiles`), which fold whole rows first.
Sums of windows 5 to 7 wide gather each kernel column's cells a vector of outputs at a time
(`numba_registers.ADD_TILES`), wider ones add cell by cell; both address the input by
offsets, with no view or call per row. Measured on the Intel Xeon, float32 averages, two
threads, against onnxruntime (two alternated runs): on 8x64x57x57, 5x5 tiles 1.45-1.52 ->
0.83-0.84, 6x6 1.41-1.43 -> 0.94, 7x7 1.34-1.40 -> 1.02-1.06; 7x7 on 1x64x112x112 1.19-1.26
-> 0.74-0.75; 5x5 on 1x3x1024x1024 0.86 -> 0.50, 5-wide on 16x64x8192 1.00-1.01 ->
0.54-0.59; 8x8 on 8x64x56x56 0.94-1.00 -> 0.73-0.78.

Short rows. A row of at most half a vector of outputs (8 float32 sums or max values with
64-byte vectors: small planes, windows as large as the plane) left most of each gather's
lanes empty and paid a row's set-up for a few outputs. There the sums and max values
(without indices) of windows 3 wide or more take several whole rows, of any planes, a vector
at a time: `_pack` lists each output's first input cell, and every kernel cell is gathered
for all of them at once (`ADD_TILES`, `MAX_TILES`: per-lane offsets), in the same order as
before (`packs` tells the selectors; 2-wide tiles keep their own forms, which were as fast
or faster there). Measured on the Intel Xeon, float32, two threads, against onnxruntime
(two alternated runs): averages of 7x7 tiles on 32x2048x7x7 (a lone output a plane) 4.9-5.3
-> 0.83-0.85, on 32x256x14x14 3.2-3.3 -> 0.81-0.82, on 8x64x57x57 1.06-1.07 -> 0.73-0.78;
3x3 on 32x2048x7x7 1.52-1.67 -> 0.83-0.87, 4x4 on 32x512x14x14 2.0 -> 0.86-0.88; max values
of 7x7 tiles on 32x2048x7x7 2.5-2.8 -> 0.77-0.80, 3x3 2.1 -> 0.71-0.78, 4x4 on 32x512x14x14
1.5-1.6 -> 0.76, 6x6 on 32x256x28x28 0.88-0.93 -> 0.68-0.69.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..._threads import ACC_CELLS
from ..jit import SERIAL
from ..launch import Form
from ..raster import next_row, row_before
from .numba_registers import ADD_TILES, LANE_BYTES, MAX_TILES
from .numba_rows import _EXACT, _U, _truncated

__all__ = [
    "BLOCK_ARGMAX",
    "BLOCK_ARGMAX2",
    "BLOCK_MAX",
    "BLOCK_MAX2",
    "BLOCK_MAX_PACKED",
    "BLOCK_SPREAD",
    "BLOCK_SUM",
    "BLOCK_SUM2",
    "BLOCK_SUM_PACKED",
    "FOLD_DEPTH",
]


# ---- max: ``take`` is PyTorch's rule, the new cell when greater or NaN


@nb.njit(**SERIAL)
def _take(v, cur):  # pragma: no cover - compiled
    return (v > cur) | (v != v)


@nb.njit(**SERIAL)
def _max_first(src, dst, n, kw):  # pragma: no cover - compiled
    """The first row of each window: its ``kw`` cells folded into ``dst``."""
    if kw == 1:
        for j in range(n):
            dst[j] = src[j]
    elif kw == 2:
        for j in range(n):
            v0, v1 = src[2 * j], src[2 * j + 1]
            dst[j] = v1 if _take(v1, v0) else v0
    elif kw == 3:
        for j in range(n):
            v0, v1, v2 = src[3 * j], src[3 * j + 1], src[3 * j + 2]
            m = v1 if _take(v1, v0) else v0
            dst[j] = v2 if _take(v2, m) else m
    elif kw == 4:
        for j in range(n):
            v0, v1, v2, v3 = src[4 * j], src[4 * j + 1], src[4 * j + 2], src[4 * j + 3]
            m = v1 if _take(v1, v0) else v0
            m = v2 if _take(v2, m) else m
            dst[j] = v3 if _take(v3, m) else m
    else:
        for j in range(n):
            m = src[j * kw]
            for c in range(1, kw):
                v = src[j * kw + c]
                m = v if _take(v, m) else m
            dst[j] = m


@nb.njit(**SERIAL)
def _max_more(src, dst, n, kw):  # pragma: no cover - compiled
    """A later row of each window folded into ``dst``."""
    if kw == 1:
        for j in range(n):
            v, m = src[j], dst[j]
            dst[j] = v if _take(v, m) else m
    elif kw == 2:
        for j in range(n):
            v0, v1, m = src[2 * j], src[2 * j + 1], dst[j]
            m = v0 if _take(v0, m) else m
            dst[j] = v1 if _take(v1, m) else m
    elif kw == 3:
        for j in range(n):
            v0, v1, v2, m = src[3 * j], src[3 * j + 1], src[3 * j + 2], dst[j]
            m = v0 if _take(v0, m) else m
            m = v1 if _take(v1, m) else m
            dst[j] = v2 if _take(v2, m) else m
    elif kw == 4:
        for j in range(n):
            v0, v1, v2, v3 = src[4 * j], src[4 * j + 1], src[4 * j + 2], src[4 * j + 3]
            m = dst[j]
            m = v0 if _take(v0, m) else m
            m = v1 if _take(v1, m) else m
            m = v2 if _take(v2, m) else m
            dst[j] = v3 if _take(v3, m) else m
    else:
        for j in range(n):
            m = dst[j]
            for c in range(kw):
                v = src[j * kw + c]
                m = v if _take(v, m) else m
            dst[j] = m


# Channels-last rows: a row holds ``lanes`` channels per cell, so a window column is a
# contiguous run of ``lanes`` values, folded lane by lane (vectorised across channels).


@nb.njit(**SERIAL)
def _max_lanes(src, dst, n, kw, lanes, first):  # pragma: no cover - compiled
    for j in range(n):
        d = dst[j * lanes:(j + 1) * lanes]
        for b in range(kw):
            a = src[(j * kw + b) * lanes:(j * kw + b + 1) * lanes]
            if first and b == 0:
                d[:] = a
            else:
                for c in range(lanes):
                    v, m = a[c], d[c]
                    d[c] = v if _take(v, m) else m


@nb.njit(**SERIAL)
def _block_max_chunk(x, out, kd, kh, kw, lanes, start, stop):  # pragma: no cover - compiled
    """Max of every ``kd x kh x kw`` tile of ``x`` (planes, D, H, W * lanes) into ``out``.

    Work items: output rows ``start .. stop - 1``."""
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3] // lanes
    p, od, oh = row_before(start, out_d, out_h)
    for _ in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        dst = out[p, od, oh]
        for a in range(kd):
            for b in range(kh):
                src = x[p, od * kd + a, oh * kh + b]
                if lanes > 1:
                    _max_lanes(src, dst, out_w, kw, lanes, a == 0 and b == 0)
                elif a == 0 and b == 0:
                    _max_first(src, dst, out_w, kw)
                else:
                    _max_more(src, dst, out_w, kw)


@nb.njit(**SERIAL)
def _block_max_packed_chunk(x, out, kd, kh, kw, lanes, start, stop):  # pragma: no cover - compiled
    """`_block_max_chunk` of output rows of at most half a vector of outputs (no ``lanes``:
    `packs`), a vector of them at a time (`_pack`), every cell folded by `MAX_TILES` (each
    output starts from its first cell, which the fold then takes again: a no-op, a NaN
    being replaced by itself)."""
    out_d, out_h, n_out = out.shape[1], out.shape[2], out.shape[3]
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    vector = LANE_BYTES // x.itemsize
    flat, dst = x.reshape(-1), out.reshape(-1)
    starts, acc = np.zeros(vector, np.int64), np.empty(vector, x.dtype)
    row = row_before(start, out_d, out_h)
    r = start
    while r < stop:
        n, row = _pack(starts, row, r, stop, vector, n_out, out_d, out_h, in_d, in_h, in_w,
                       kd, kh, kw)
        for j in range(n):
            acc[j] = flat[starts[j]]
        for a in range(kd):
            for b in range(kh):
                MAX_TILES(acc, flat, starts, (a * in_h + b) * in_w, kw, n)
        for j in range(n):
            dst[_U(r * n_out + j)] = acc[j]
        r += n // n_out


@nb.njit(**SERIAL)
def _pack(  # pragma: no cover - compiled
    starts, row, r, stop, vector, n_out, out_d, out_h, in_d, in_h, in_w, kd, kh, kw
):
    """The first input cell of each tile of the output rows ``r`` onward (as many whole
    rows of ``n_out`` outputs as a ``vector`` holds, up to ``stop``) into ``starts``; the
    number of outputs, and the ``(plane, od, oh)`` of the last row (``row``: the one
    before ``r``)."""
    p, od, oh = row
    rows = min(vector // n_out, stop - r)
    for q in range(rows):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        first = ((p * in_d + od * kd) * in_h + oh * kh) * in_w
        for j in range(n_out):
            starts[q * n_out + j] = first + j * kw
    return rows * n_out, (p, od, oh)


# ---- argmax: the same folds, carrying the plane-flat index of the cell taken


@nb.njit(**SERIAL)
def _argmax_first(src, dst, idx, n, kw, base):  # pragma: no cover - compiled
    if kw == 2:
        for j in range(n):
            v0, v1 = src[2 * j], src[2 * j + 1]
            t = _take(v1, v0)
            dst[j] = v1 if t else v0
            idx[j] = base + 2 * j + 1 if t else base + 2 * j
    elif kw == 4:
        for j in range(n):
            v0, v1, v2, v3 = src[4 * j], src[4 * j + 1], src[4 * j + 2], src[4 * j + 3]
            t = _take(v1, v0)
            m, c = (v1, 1) if t else (v0, 0)
            t = _take(v2, m)
            m, c = (v2, 2) if t else (m, c)
            t = _take(v3, m)
            dst[j] = v3 if t else m
            idx[j] = base + 4 * j + (3 if t else c)
    else:
        for j in range(n):
            m, i = src[j * kw], base + j * kw
            for c in range(1, kw):
                v = src[j * kw + c]
                t = _take(v, m)
                m = v if t else m
                i = base + j * kw + c if t else i
            dst[j], idx[j] = m, i


@nb.njit(**SERIAL)
def _argmax_more(src, dst, idx, n, kw, base):  # pragma: no cover - compiled
    if kw == 2:
        for j in range(n):
            v0, v1, m, i = src[2 * j], src[2 * j + 1], dst[j], idx[j]
            t = _take(v0, m)
            m, i = (v0, base + 2 * j) if t else (m, i)
            t = _take(v1, m)
            dst[j] = v1 if t else m
            idx[j] = base + 2 * j + 1 if t else i
    elif kw == 4:
        for j in range(n):
            v0, v1, v2, v3 = src[4 * j], src[4 * j + 1], src[4 * j + 2], src[4 * j + 3]
            m, i = dst[j], idx[j]
            t = _take(v0, m)
            m, i = (v0, base + 4 * j) if t else (m, i)
            t = _take(v1, m)
            m, i = (v1, base + 4 * j + 1) if t else (m, i)
            t = _take(v2, m)
            m, i = (v2, base + 4 * j + 2) if t else (m, i)
            t = _take(v3, m)
            dst[j] = v3 if t else m
            idx[j] = base + 4 * j + 3 if t else i
    else:
        for j in range(n):
            m, i = dst[j], idx[j]
            for c in range(kw):
                v = src[j * kw + c]
                t = _take(v, m)
                m = v if t else m
                i = base + j * kw + c if t else i
            dst[j], idx[j] = m, i


@nb.njit(**SERIAL)
def _argmax_lanes(src, dst, idx, n, kw, lanes, base, first):  # pragma: no cover - compiled
    for j in range(n):
        d = dst[j * lanes:(j + 1) * lanes]
        g = idx[j * lanes:(j + 1) * lanes]
        for b in range(kw):
            start = (j * kw + b) * lanes
            a = src[start:start + lanes]
            if first and b == 0:
                d[:] = a
                for c in range(lanes):
                    g[c] = base + start + c
            else:
                for c in range(lanes):
                    v, m = a[c], d[c]
                    t = _take(v, m)
                    d[c] = v if t else m
                    g[c] = base + start + c if t else g[c]


@nb.njit(**SERIAL)
def _block_argmax_chunk(  # pragma: no cover - compiled
    x, out, idx, kd, kh, kw, lanes, start, stop
):
    """Max values and plane-flat argmax indices of every tile.

    Work items: output rows ``start .. stop - 1``."""
    in_h, in_w = x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3] // lanes
    p, od, oh = row_before(start, out_d, out_h)
    for _ in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        dst, arg = out[p, od, oh], idx[p, od, oh]
        for a in range(kd):
            for b in range(kh):
                id_, ih = od * kd + a, oh * kh + b
                src, base = x[p, id_, ih], (id_ * in_h + ih) * in_w
                if lanes > 1:
                    _argmax_lanes(src, dst, arg, out_w, kw, lanes, base, a == 0 and b == 0)
                elif a == 0 and b == 0:
                    _argmax_first(src, dst, arg, out_w, kw, base)
                else:
                    _argmax_more(src, dst, arg, out_w, kw, base)


# ---- sum: cells added left to right from zero, in the accumulator dtype


@nb.njit(**SERIAL)
def _add_row(src, acc, n, kw):  # pragma: no cover - compiled
    """A row of tiles 1 to 4 cells wide added to their sums ``acc``."""
    if kw == 1:
        for j in range(n):
            acc[j] += src[j]
    elif kw == 2:
        for j in range(n):
            acc[j] = acc[j] + src[2 * j] + src[2 * j + 1]
    elif kw == 3:
        for j in range(n):
            acc[j] = acc[j] + src[3 * j] + src[3 * j + 1] + src[3 * j + 2]
    else:
        for j in range(n):
            acc[j] = acc[j] + src[4 * j] + src[4 * j + 1] + src[4 * j + 2] + src[4 * j + 3]


@nb.njit(**SERIAL)
def _add_lanes(src, acc, n, kw, lanes):  # pragma: no cover - compiled
    for j in range(n):
        d = acc[j * lanes:(j + 1) * lanes]
        for b in range(kw):
            a = src[(j * kw + b) * lanes:(j * kw + b + 1) * lanes]
            for c in range(lanes):
                d[c] += a[c]


def packs(out_w: int, itemsize: int, lanes: int = 1) -> bool:
    """Whether the tile sums take rows of ``out_w`` outputs (sums of ``itemsize`` bytes, no
    ``lanes``) a vector of them at a time (`_packed_sums`): rows of at most half a vector.
    The selectors then launch `BLOCK_MAX_PACKED` / `BLOCK_SUM_PACKED` (kept apart from the
    general forms, which need not compile them)."""
    return lanes == 1 and 2 * out_w * itemsize <= LANE_BYTES


@nb.njit(**SERIAL)
def _block_sum_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, divisor, kd, kh, kw, lanes, start, stop
):
    """Tile sums accumulated in ``zero.dtype``, divided by ``divisor[0]`` (of that dtype;
    integers truncate toward zero).

    Work items: output rows ``start .. stop - 1``."""
    out_d, out_h, n_out = out.shape[1], out.shape[2], out.shape[3]
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    vector = LANE_BYTES // zero.itemsize
    flat, dst = x.reshape(-1), out.reshape(-1)
    acc = zero.repeat(n_out)
    starts = np.empty(vector, np.int64)  # (a row of tiles: `ADD_TILES`)
    for j in range(vector):
        starts[j] = j * kw
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        acc[:] = zero[0]
        for a in range(kd):
            for b in range(kh):
                if lanes > 1:
                    _add_lanes(x[p, od * kd + a, oh * kh + b], acc, n_out // lanes, kw, lanes)
                elif kw <= 4:
                    _add_row(x[p, od * kd + a, oh * kh + b], acc, n_out, kw)
                else:  # (by offsets: no view or call a row)
                    row = ((p * in_d + od * kd + a) * in_h + oh * kh + b) * in_w
                    if kw <= 7:
                        ADD_TILES(acc, flat, starts, row, kw, n_out)
                        continue
                    for j in range(n_out):
                        s = acc[j]
                        for c in range(kw):
                            s += flat[_U(row + j * kw + c)]
                        acc[j] = s
        _divide_sums(acc, dst, r * n_out, n_out, divisor[0], floating)


@nb.njit(**SERIAL)
def _block_sum_packed_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, divisor, kd, kh, kw, lanes, start, stop
):
    """`_block_sum_chunk` of output rows of at most half a vector of outputs (no ``lanes``:
    `packs`): the tiles of as many consecutive output rows (of any planes) as a vector holds
    summed in one vector (`_pack` puts each output's first cell in ``starts``), every kernel
    cell gathered for all of them at once (`ADD_TILES`), where a row at a time filled at most
    half a vector (a lone output, on planes no wider than a window)."""
    out_d, out_h, n_out = out.shape[1], out.shape[2], out.shape[3]
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    vector, div = LANE_BYTES // zero.itemsize, divisor[0]
    flat, dst = x.reshape(-1), out.reshape(-1)
    starts, acc = np.zeros(vector, np.int64), zero.repeat(vector)
    row = row_before(start, out_d, out_h)
    r = start
    while r < stop:
        n, row = _pack(starts, row, r, stop, vector, n_out, out_d, out_h, in_d, in_h, in_w,
                       kd, kh, kw)
        acc[:] = zero[0]
        for a in range(kd):
            for b in range(kh):
                ADD_TILES(acc, flat, starts, (a * in_h + b) * in_w, kw, n)
        _divide_sums(acc, dst, r * n_out, n, div, floating)
        r += n // n_out


@nb.njit(**SERIAL)
def _divide_sums(acc, dst, o, n, div, floating):  # pragma: no cover - compiled
    """``acc[:n] / div`` into ``dst[o:o + n]`` (integers truncated toward zero)."""
    if floating:
        for j in range(n):  # + 0: PyTorch adds into a zeroed output (no -0.0)
            dst[_U(o + j)] = acc[j] / div + 0
        return
    exact = div != 0 and -_EXACT < div < _EXACT  # float64 division where exact
    for j in range(n):
        exact &= -_EXACT < acc[j] < _EXACT
    if exact:
        for j in range(n):
            dst[_U(o + j)] = np.int64(acc[j] / div)
    else:
        for j in range(n):
            dst[_U(o + j)] = _truncated(acc[j], div)


# ---- tiles two cells wide (``max_pool2d(x, 2)`` and kin): kernels of their own, with no
# branch on the width or the lanes. LLVM stops vectorising a loop that sits in sibling
# branches of one function, and the kernels above pick their loop per call. Measured single-
# threaded against those: max 1.0-1.8x and argmax 1.1-1.3x faster on 28- to 224-wide rows;
# sums 1.4-1.5x faster on rows of up to 32 outputs, slower on wider ones (SUM2_MAX_WIDTH).


@nb.njit(**SERIAL)
def _next_tile_row(a, b, kh):  # pragma: no cover - compiled
    """The input row after row ``b`` of depth slice ``a`` of a tile ``kh`` rows high,
    counted: a division by ``kh`` per row costs more than a 2-wide tile row's arithmetic."""
    return (a, b + 1) if b + 1 < kh else (a + 1, 0)


# Output rows narrower than PAD_BELOW run `_block_max2_chunk`'s passes over a scratch row
# a multiple of 16 outputs wide (reading on into the next input row, where that stays
# inside the input), then copy the row out: the vector loop has no remainder, where a
# 28-wide row ran 24 outputs vectorised and 4 one by one. Intel Xeon (AVX-512), one
# thread: 2x2x2 tiles of (128, 16, 56, 56) 1.19-1.27 -> 1.01-1.04 ms, 2x2 tiles of 28x28
# planes 0.47-0.49 -> 0.39-0.40 ms, 57x57 0.31-0.33 -> 0.30; 20x20 and 112x112 unchanged.
# Two threads, interleaved with onnxruntime: the 3d case 0.89 -> 0.76 ms (ort 0.87).
PAD_BELOW = 64


@nb.njit(**SERIAL)
def _block_max2_chunk(x, out, kd, kh, start, stop):  # pragma: no cover - compiled
    """`block_max` for ``kd x kh x 2`` tiles without lanes.

    Work items: output rows ``start .. stop - 1``. The passes over a row narrower than
    `PAD_BELOW` run in a scratch row (they are the others' loops with the scratch row for
    the output: one function for both measured 1.2-1.4x slower, its stores possibly into
    the input it reads)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    flat, of = x.reshape(-1), out.reshape(-1)
    wide = (out_w + 15) // 16 * 16
    m = np.empty(wide, x.dtype)
    reach = ((kd - 1) * in_h + kh - 1) * in_w + 2 * wide  # past a tile's first cell
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        o = r * out_w
        e = ((p * in_d + od * kd) * in_h + oh * kh) * in_w
        if out_w < PAD_BELOW and e + reach <= flat.shape[0]:
            for j in range(wide):
                v0, v1 = flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)]
                m[j] = v1 if _take(v1, v0) else v0
            a, b = 0, 0
            for _ in range(1, kd * kh):
                a, b = _next_tile_row(a, b, kh)
                f = e + (a * in_h + b) * in_w
                for j in range(wide):
                    v0, v1, c = flat[_U(f + 2 * j)], flat[_U(f + 2 * j + 1)], m[j]
                    c = v0 if _take(v0, c) else c
                    m[j] = v1 if _take(v1, c) else c
            for j in range(out_w):
                of[_U(o + j)] = m[j]
            continue
        for j in range(out_w):
            v0, v1 = flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)]
            of[_U(o + j)] = v1 if _take(v1, v0) else v0
        a, b = 0, 0
        for _ in range(1, kd * kh):
            a, b = _next_tile_row(a, b, kh)
            f = e + (a * in_h + b) * in_w
            for j in range(out_w):
                v0, v1, c = flat[_U(f + 2 * j)], flat[_U(f + 2 * j + 1)], of[_U(o + j)]
                c = v0 if _take(v0, c) else c
                of[_U(o + j)] = v1 if _take(v1, c) else c


@nb.njit(**SERIAL)
def _fold_pair(v0, v1, m, i, c):  # pragma: no cover - compiled
    """The running maximum ``m`` at index ``i`` after cells ``c`` (value ``v0``) and
    ``c + 1`` (``v1``), taken in that order."""
    t = _take(v0, m)
    m, i = (v0, c) if t else (m, i)
    t = _take(v1, m)
    return (v1, c + 1) if t else (m, i)


# Output rows narrower than SHORT_ROW run `_block_argmax2_chunk`'s passes PADDED_ROW
# outputs wide (measured on the AMD EPYC, AVX2: loops of 28 or more run vectorised).
SHORT_ROW, PADDED_ROW = 28, 32


@nb.njit(**SERIAL)
def _block_argmax2_chunk(x, out, idx, kd, kh, start, stop):  # pragma: no cover - compiled
    """`block_argmax` for ``kd x kh x 2`` tiles without lanes.

    Work items: output rows ``start .. stop - 1``.

    The running maxima of a row of tiles pass between two scratch rows, one tile row a
    pass, the last pass writing the output: a loop that read and wrote back the output
    under the take rule became masked stores, microcoded on AMD's Zen cores (2x slower on
    2x2x2 tiles). Rows narrower than `SHORT_ROW` outputs are too short for the vector loop,
    and LLVM's scalar loop branches on each take, mispredicted half the time on data in no
    order (20 ns an output on 14-wide rows, single-threaded on the AMD EPYC; 8 padded):
    those run their passes `PADDED_ROW` outputs wide in the scratch rows (reading on into
    the next input row; the row is copied out), unless that would read past the input's
    end."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    flat, of, ix = x.reshape(-1), out.reshape(-1), idx.reshape(-1)
    n, plane, size = kd * kh, in_d * in_h * in_w, flat.shape[0]
    width = max(out_w, PADDED_ROW)
    mv = np.empty(2 * width, x.dtype)  # scratch rows at 0 and width
    mi = np.empty(2 * width, np.int64)
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        o = r * out_w
        base = (od * kd * in_h + oh * kh) * in_w  # the tile row's first cell in its plane
        e = p * plane + base
        last = p * plane + ((od * kd + kd - 1) * in_h + oh * kh + kh - 1) * in_w
        w = PADDED_ROW if out_w < SHORT_ROW and last + 2 * PADDED_ROW <= size else out_w
        padded = w > out_w
        if n == 1 and not padded:
            for j in range(w):
                v0, v1 = flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)]
                t = _take(v1, v0)
                of[_U(o + j)] = v1 if t else v0
                ix[_U(o + j)] = base + 2 * j + 1 if t else base + 2 * j
            continue
        for j in range(w):
            v0, v1 = flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)]
            t = _take(v1, v0)
            mv[_U(j)] = v1 if t else v0
            mi[_U(j)] = base + 2 * j + 1 if t else base + 2 * j
        cur, a, b = 0, 0, 0
        for q in range(1, n):
            a, b = _next_tile_row(a, b, kh)
            base = ((od * kd + a) * in_h + oh * kh + b) * in_w
            e = p * plane + base
            if q < n - 1 or padded:
                nxt = width - cur
                for j in range(w):
                    m, i = _fold_pair(flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)],
                                      mv[_U(cur + j)], mi[_U(cur + j)], base + 2 * j)
                    mv[_U(nxt + j)], mi[_U(nxt + j)] = m, i
                cur = nxt
            else:
                for j in range(w):
                    m, i = _fold_pair(flat[_U(e + 2 * j)], flat[_U(e + 2 * j + 1)],
                                      mv[_U(cur + j)], mi[_U(cur + j)], base + 2 * j)
                    of[_U(o + j)], ix[_U(o + j)] = m, i
        if padded:
            for j in range(out_w):
                of[_U(o + j)], ix[_U(o + j)] = mv[_U(cur + j)], mi[_U(cur + j)]


@nb.njit(**SERIAL)
def _divide_rows(acc, out, floating, div, start):  # pragma: no cover - compiled
    """Output rows ``start ..`` (as many as ``acc`` holds) = ``acc / div``; integers
    truncate toward zero."""
    flat = out.reshape(-1)[start * acc.shape[1]:(start + acc.shape[0]) * acc.shape[1]]
    a = acc.reshape(-1)
    if floating:
        for j in range(flat.shape[0]):  # + 0: PyTorch adds into a zeroed output (no -0.0)
            flat[j] = a[j] / div + 0
    else:
        exact = div != 0 and -_EXACT < div < _EXACT  # float64 division where exact
        for j in range(flat.shape[0]):
            exact &= -_EXACT < a[j] < _EXACT
        if exact:
            for j in range(flat.shape[0]):
                flat[j] = np.int64(a[j] / div)
        else:
            for j in range(flat.shape[0]):
                flat[j] = _truncated(a[j], div)


@nb.njit(**SERIAL)
def _block_sum2_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, divisor, kd, kh, start, stop
):
    """`block_sum` for ``kd x kh x 2`` tiles without lanes.

    Work items: output rows ``start .. stop - 1``, summed a block of rows at a time into
    ``acc`` and divided together. Each row's passes run a multiple of 16 outputs wide
    where the reads stay inside the input (as `_block_max2_chunk`'s rows narrower than
    `PAD_BELOW`), writing on into the next row's cells, which that row's first pass then
    overwrites (``acc`` has room past the block's last row)."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    flat = x.reshape(-1)
    wide = (out_w + 15) // 16 * 16
    reach = ((kd - 1) * in_h + kh - 1) * in_w + 2 * wide  # past a tile's first cell
    block = max(1, ACC_CELLS // out_w)
    acc = np.empty(min(block, stop - start) * out_w + wide - out_w, zero.dtype)
    z = zero[0]  # a local: a load from ``zero`` may alias the stores, and stop vectorising
    p, od, oh = row_before(start, out_d, out_h)
    for b0 in range(start, stop, block):
        b1 = min(b0 + block, stop)
        for r in range(b0, b1):
            p, od, oh = next_row(p, od, oh, out_d, out_h)
            e = ((p * in_d + od * kd) * in_h + oh * kh) * in_w
            n = wide if e + reach <= flat.shape[0] else out_w
            o = (r - b0) * out_w
            for j in range(n):
                acc[_U(o + j)] = z + flat[_U(e + 2 * j)] + flat[_U(e + 2 * j + 1)]
            a, b = 0, 0
            for _ in range(1, kd * kh):
                a, b = _next_tile_row(a, b, kh)
                f = e + (a * in_h + b) * in_w
                for j in range(n):
                    acc[_U(o + j)] = acc[_U(o + j)] + flat[_U(f + 2 * j)] \
                        + flat[_U(f + 2 * j + 1)]
        rows = b1 - b0
        _divide_rows(acc[:rows * out_w].reshape((rows, out_w)), out, floating, divisor[0], b0)


# ---- average backward: each input cell of a tile gets exactly one contribution, written
# directly (``+ 0`` as PyTorch's ``zero += grad`` turns -0.0 into +0.0); tail columns no
# window reads are zeroed here, tail rows by the caller. (Max backward stays a scatter into
# a zeroed plane: writing whole tiles of selected-or-zero cells measured slower.)


@nb.njit(**SERIAL)
def _block_spread_chunk(  # pragma: no cover - compiled
    grad_out, grad_in, zero, divisor, kd, kh, kw, start, stop
):
    """Backward of tile averages: each tile cell gets ``grad / divisor[0]`` (in the gradient
    dtype), and the columns past a row's last tile ``zero[0]``; input rows past the last
    tile are left to the caller.

    Work items: output rows ``start .. stop - 1``. Rows are addressed by flat offsets (row
    views and a helper call per tile row cost more than the writes on short rows: 2x2 tiles
    of 28x28 planes, two threads, 0.95 -> 0.41 ms, which made this kernel faster than the
    windowed scatter on rows of any width)."""
    out_d, out_h, out_w = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    in_d, in_h, in_w = grad_in.shape[1], grad_in.shape[2], grad_in.shape[3]
    g, gi = grad_out.reshape(-1), grad_in.reshape(-1)
    z, d = zero[0], divisor[0]
    delta = np.empty(out_w, zero.dtype)
    covered = out_w * kw
    p, od, oh = row_before(start, out_d, out_h)
    for r in range(start, stop):
        p, od, oh = next_row(p, od, oh, out_d, out_h)
        o = r * out_w
        for j in range(out_w):  # + zero: PyTorch adds into a zeroed gradient (no -0.0)
            delta[j] = g[_U(o + j)] / d + z
        a, b = 0, 0
        for _ in range(kd * kh):
            e = ((p * in_d + od * kd + a) * in_h + oh * kh + b) * in_w
            if kw == 2:
                for j in range(out_w):
                    v = delta[j]
                    gi[_U(e + 2 * j)], gi[_U(e + 2 * j + 1)] = v, v
            elif kw == 4:
                for j in range(out_w):
                    v = delta[j]
                    f = e + 4 * j
                    gi[_U(f)], gi[_U(f + 1)], gi[_U(f + 2)], gi[_U(f + 3)] = v, v, v, v
            else:
                for j in range(out_w):
                    for c in range(kw):
                        gi[_U(e + j * kw + c)] = delta[j]
            for i in range(covered, in_w):
                gi[_U(e + i)] = z
            a, b = _next_tile_row(a, b, kh)


# ---- channels-last 3d max: partial results per depth slice, folded over each depth window


@nb.njit(**SERIAL)
def _fold_depth_chunk(  # pragma: no cover - compiled
    part_v, part_i, values, indices, with_idx, k, s, lo, dil, cells, start, stop
):
    """``values[n, od]`` (and ``indices``): the depth window ``od * s - lo + a * dil`` of the
    per-slice partial maxima ``part_v[n, i]`` folded in window order (indices offset by
    ``i * cells``, -1 kept where the slice's window lies wholly in padding); rows whose window
    holds no slice are left as the caller filled them.

    Work items: output depth rows ``start .. stop - 1`` (over ``(n, od)``)."""
    d, out_d = part_v.shape[1], values.shape[1]
    for r in range(start, stop):
        n, od = r // out_d, r % out_d
        cur = values[n, od]
        idx = indices[n, od]
        first = True
        for a in range(k):
            i = od * s - lo + a * dil
            if i < 0 or i >= d:
                continue
            new = part_v[n, i]
            if first:
                cur[:] = new
                if with_idx:
                    src = part_i[n, i]
                    for j in range(cur.shape[0]):  # -1: the (H, W, C) window is padding
                        idx[j] = src[j] + i * cells if src[j] >= 0 else -1
                first = False
            elif with_idx:
                src = part_i[n, i]
                for j in range(cur.shape[0]):
                    v, m = new[j], cur[j]
                    t = _take(v, m)
                    cur[j] = v if t else m
                    idx[j] = src[j] + i * cells if t and src[j] >= 0 else idx[j]
            else:
                for j in range(cur.shape[0]):
                    v, m = new[j], cur[j]
                    cur[j] = v if _take(v, m) else m


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
BLOCK_ARGMAX = Form(_block_argmax_chunk)
BLOCK_ARGMAX2 = Form(_block_argmax2_chunk)
BLOCK_MAX = Form(_block_max_chunk)
BLOCK_MAX2 = Form(_block_max2_chunk)
BLOCK_MAX_PACKED = Form(_block_max_packed_chunk)
BLOCK_SPREAD = Form(_block_spread_chunk)
BLOCK_SUM = Form(_block_sum_chunk)
BLOCK_SUM2 = Form(_block_sum2_chunk)
BLOCK_SUM_PACKED = Form(_block_sum_packed_chunk)
FOLD_DEPTH = Form(_fold_depth_chunk)
