"""Numba kernels of the table-driven reduction (`tables`), parallel over output rows.

Arrays arrive as ``(planes, D, H, W)`` C-contiguous, 1d and 2d calls padded with unit
leading dimensions (a table with one window ``[0, 1)``). Per dimension a table is
``start, size`` (int64 ``(P, O)``, ``P`` 1 or the number of planes) and, for averages, the
sizes as divisors in the accumulator type. Every output is computed by one thread in a fixed
order, so results do not depend on the thread count.

`table_max` and `table_avg` read each window in row-major order, as PyTorch's adaptive and
fractional kernels do; `table_scatter` adds each output's share to its window in output
raster order; `plane_mean` (adaptive averages to size 1, which PyTorch computes with
``torch.mean``) lets LLVM reorder the plane's sum so that it vectorises.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import SERIAL
from ..launch import Form
from ..raster import next_row

__all__ = [
    "LANES_AVG",
    "LANES_MAX",
    "PLANE_MEAN",
    "TABLE_AVG",
    "TABLE_MAX",
    "TABLE_SCATTER",
]


@nb.njit(**SERIAL)
def _table_max_chunk(  # pragma: no cover - compiled
    x, out, idx, with_idx, sd, zd, sh, zh, sw, zw, lowest, start, stop
):
    """Max of every window (a cell replaces the running max when greater or NaN) and, with
    ``with_idx``, its plane-flat index; the running max starts at ``lowest``.

    Work items: output rows ``start .. stop - 1``."""
    in_h, in_w = x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    p, od, oh = start // (out_d * out_h), (start // out_h) % out_d, start % out_h
    for _ in range(start, stop):
        pd = p if sd.shape[0] > 1 else 0
        ph = p if sh.shape[0] > 1 else 0
        pw = p if sw.shape[0] > 1 else 0
        d0, dn, h0, hn = sd[pd, od], zd[pd, od], sh[ph, oh], zh[ph, oh]
        plane = x[p]
        for ow in range(out_w):
            w0, wn = sw[pw, ow], zw[pw, ow]
            best = lowest
            if with_idx:
                arg = (d0 * in_h + h0) * in_w + w0
                for a in range(dn):
                    for b in range(hn):
                        row = plane[d0 + a, h0 + b, w0:]
                        base = ((d0 + a) * in_h + h0 + b) * in_w + w0
                        for c in range(wn):
                            v = row[c]
                            take = (v > best) | (v != v)
                            best = v if take else best
                            arg = base + c if take else arg
                idx[p, od, oh, ow] = arg
            else:
                for a in range(dn):
                    for b in range(hn):
                        row = plane[d0 + a, h0 + b, w0:]
                        for c in range(wn):
                            v = row[c]
                            best = v if (v > best) | (v != v) else best
            out[p, od, oh, ow] = best
        p, od, oh = next_row(p, od, oh, out_d, out_h)


@nb.njit(**SERIAL)
def _divide_row(acc, div_d, div_h, fw, dst):  # pragma: no cover - compiled
    """``dst = acc / div_d / div_h / fw`` elementwise (three roundings, in ``acc``'s dtype).
    A division by 1 is exact, so it is skipped (the padded dimensions of 1d and 2d calls)."""
    n = acc.shape[0]
    if div_d != 1:
        for i in range(n):
            acc[i] = acc[i] / div_d
    if div_h != 1:
        for i in range(n):
            acc[i] = acc[i] / div_h
    for i in range(n):
        dst[i] = acc[i] / fw[i]


@nb.njit(**SERIAL)
def _table_avg_chunk(  # pragma: no cover - compiled
    x, out, zero, sd, zd, fd, sh, zh, fh, sw, zw, fw, start, stop
):
    """Window sums in row-major order from ``zero[0]`` (its dtype is the accumulator), then
    divided by the window's depth, height and width in turn (``fd``, ``fh``, ``fw``).

    Work items: output rows ``start .. stop - 1``."""
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    w_start, w_size, w_div = sw[0], zw[0], fw[0]
    acc = np.empty(out_w, zero.dtype)
    p, od, oh = start // (out_d * out_h), (start // out_h) % out_d, start % out_h
    for _ in range(start, stop):
        d0, dn, h0, hn = sd[0, od], zd[0, od], sh[0, oh], zh[0, oh]
        plane = x[p]
        acc[:] = zero[0]
        for a in range(dn):  # window rows in order; each output's cells in row-major order
            for b in range(hn):
                row = plane[d0 + a, h0 + b]
                for ow in range(out_w):
                    cells = row[w_start[ow]:]
                    total = acc[ow]
                    for c in range(w_size[ow]):
                        total += cells[c]
                    acc[ow] = total
        _divide_row(acc, fd[0, od], fh[0, oh], w_div, out[p, od, oh])
        p, od, oh = next_row(p, od, oh, out_d, out_h)


@nb.njit(**SERIAL)
def _table_scatter_chunk(  # pragma: no cover - compiled
    g, grad, sd, zd, fd, sh, zh, fh, sw, zw, fw, start, stop
):
    """Backward of `table_avg`: each output's ``g / depth / height / width`` added to every
    cell of its window, outputs in raster order; ``grad`` starts zeroed. Parallel over
    chunks of planes.

    Work items: planes ``start .. stop - 1``."""
    out_d, out_h, out_w = g.shape[1], g.shape[2], g.shape[3]
    w_start, w_size, w_div = sw[0], zw[0], fw[0]
    delta = np.empty(out_w, g.dtype)
    for p in range(start, stop):
        plane = grad[p]
        for od in range(out_d):
            d0, dn = sd[0, od], zd[0, od]
            for oh in range(out_h):
                h0, hn = sh[0, oh], zh[0, oh]
                delta[:] = g[p, od, oh]
                _divide_row(delta, fd[0, od], fh[0, oh], w_div, delta)
                for a in range(dn):  # each cell gets its outputs in raster order
                    for b in range(hn):
                        row = plane[d0 + a, h0 + b]
                        for ow in range(out_w):
                            cells = row[w_start[ow]:]
                            e = delta[ow]
                            for c in range(w_size[ow]):
                                cells[c] += e


# Plane-minor kernels: many small planes sharing one table (adaptive pooling of the small
# maps of a network's head). A block of ``lanes`` planes is transposed into ``buf[cell, lane]``
# so that the window loops run once per block, every step a contiguous vector operation
# across planes: each lane still reads its window in row-major order, so the results are
# bit-identical to the row kernels'.


@nb.njit(**SERIAL)
def _load_block(xf, p0, n, buf):  # pragma: no cover - compiled
    """``buf[c, l] = xf[p0 + l, c]`` for the block's ``n`` planes."""
    for lane in range(n):
        src = xf[p0 + lane]
        for c in range(src.shape[0]):
            buf[c, lane] = src[c]


@nb.njit(**SERIAL)
def _store_block(obuf, of, p0, n):  # pragma: no cover - compiled
    """``of[p0 + l, c] = obuf[c, l]`` for the block's ``n`` planes."""
    for lane in range(n):
        dst = of[p0 + lane]
        for c in range(dst.shape[0]):
            dst[c] = obuf[c, lane]


@nb.njit(**SERIAL)
def _lanes_max_chunk(  # pragma: no cover - compiled
    x, out, idx, with_idx, sd, zd, sh, zh, sw, zw, lowest, lanes, start, stop
):
    """`table_max` for shared tables, ``lanes`` planes at a time (parallel over blocks).

    Work items: blocks ``start .. stop - 1``."""
    planes, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    xf = x.reshape(planes, in_d * in_h * in_w)
    of = out.reshape(planes, out_d * out_h * out_w)
    buf = np.empty((xf.shape[1], lanes), x.dtype)
    obuf = np.empty((of.shape[1], lanes), x.dtype)
    ibuf = np.empty((of.shape[1], lanes), np.int64)
    for block in range(start, stop):
        p0 = block * lanes
        n = min(lanes, planes - p0)
        _load_block(xf, p0, n, buf)
        o = 0
        for od in range(out_d):
            d0, dn = sd[0, od], zd[0, od]
            for oh in range(out_h):
                h0, hn = sh[0, oh], zh[0, oh]
                for ow in range(out_w):
                    w0, wn = sw[0, ow], zw[0, ow]
                    best, arg = obuf[o], ibuf[o]
                    first = (d0 * in_h + h0) * in_w + w0
                    for lane in range(n):
                        best[lane] = lowest
                        arg[lane] = first
                    for a in range(dn):
                        for b in range(hn):
                            base = ((d0 + a) * in_h + h0 + b) * in_w + w0
                            for c in range(wn):
                                cell = buf[base + c]
                                if with_idx:
                                    for lane in range(n):
                                        v, cur = cell[lane], best[lane]
                                        take = (v > cur) | (v != v)
                                        best[lane] = v if take else cur
                                        arg[lane] = base + c if take else arg[lane]
                                else:
                                    for lane in range(n):
                                        v, cur = cell[lane], best[lane]
                                        best[lane] = v if (v > cur) | (v != v) else cur
                    o += 1
        _store_block(obuf, of, p0, n)
        if with_idx:
            _store_block(ibuf, idx.reshape(planes, of.shape[1]), p0, n)


@nb.njit(**SERIAL)
def _lanes_avg_chunk(  # pragma: no cover - compiled
    x, out, zero, sd, zd, fd, sh, zh, fh, sw, zw, fw, lanes, start, stop
):
    """`table_avg`, ``lanes`` planes at a time (parallel over blocks).

    Work items: blocks ``start .. stop - 1``."""
    planes, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    xf = x.reshape(planes, in_d * in_h * in_w)
    of = out.reshape(planes, out_d * out_h * out_w)
    buf = np.empty((xf.shape[1], lanes), x.dtype)
    obuf = np.empty((of.shape[1], lanes), x.dtype)
    acc = np.empty(lanes, zero.dtype)
    for block in range(start, stop):
        p0 = block * lanes
        n = min(lanes, planes - p0)
        _load_block(xf, p0, n, buf)
        o = 0
        for od in range(out_d):
            d0, dn = sd[0, od], zd[0, od]
            for oh in range(out_h):
                h0, hn = sh[0, oh], zh[0, oh]
                for ow in range(out_w):
                    w0, wn = sw[0, ow], zw[0, ow]
                    for lane in range(n):
                        acc[lane] = zero[0]
                    for a in range(dn):
                        for b in range(hn):
                            base = ((d0 + a) * in_h + h0 + b) * in_w + w0
                            for c in range(wn):
                                cell = buf[base + c]
                                for lane in range(n):
                                    acc[lane] += cell[lane]
                    dst = obuf[o]
                    div_d, div_h, div_w = fd[0, od], fh[0, oh], fw[0, ow]
                    if div_d != 1:
                        for lane in range(n):
                            acc[lane] = acc[lane] / div_d
                    if div_h != 1:
                        for lane in range(n):
                            acc[lane] = acc[lane] / div_h
                    for lane in range(n):
                        dst[lane] = acc[lane] / div_w
                    o += 1
        _store_block(obuf, of, p0, n)


@nb.njit(**{**SERIAL, "fastmath": {"reassoc"}})
def _plane_mean_chunk(x, out, zero, count, start, stop):  # pragma: no cover - compiled
    """Mean of each row of ``x`` (planes, cells): sum in ``zero.dtype`` (reassociated, so
    vectorised), divided once by ``count``.

    Work items: planes ``start .. stop - 1``."""
    n = x.shape[1]
    for p in range(start, stop):
        row = x[p]
        acc = zero[0]
        for i in range(n):
            acc += row[i]
        out[p] = acc / count


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
LANES_AVG = Form(_lanes_avg_chunk)
LANES_MAX = Form(_lanes_max_chunk)
PLANE_MEAN = Form(_plane_mean_chunk)
TABLE_AVG = Form(_table_avg_chunk)
TABLE_MAX = Form(_table_max_chunk)
TABLE_SCATTER = Form(_table_scatter_chunk)
