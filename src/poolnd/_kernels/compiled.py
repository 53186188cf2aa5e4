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

* `argmax_rows` and `sum_rows` fold the window in row-major order, vectorised across the
  output columns of a row.
* `max_rows` (values only) is the fast path: it first folds the window's input rows
  elementwise (contiguous, vectorised), then folds the columns. That is column-major order,
  which can pick a different cell only among equal values; equal floats have equal bits
  except zeros of either sign and NaNs, so every output that is zero or NaN (checked on the
  output row, a cheap test) is recomputed in row-major order. Integers never need it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "argmax_rows",
    "max_rows",
    "scatter_argmax",
    "scatter_windows",
    "sum_rows",
    "window_rows",
]

_SERIAL = {"nogil": True, "cache": True, "error_model": "numpy"}
_PARALLEL = {**_SERIAL, "parallel": True}


@nb.njit(**_SERIAL)
def _column_ranges(out_w, in_w, k, s, p, d):  # pragma: no cover - compiled
    """Per kernel column ``c``: the first output column reading inside the input, and how
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


@nb.njit(**_SERIAL)
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


@nb.njit(**_SERIAL)
def _chunk(chunk, n_chunks, total):  # pragma: no cover - compiled
    return chunk * total // n_chunks, (chunk + 1) * total // n_chunks


@nb.njit(**_PARALLEL)
def max_rows(x, out, geom, lowest, floating, n_chunks):  # pragma: no cover - compiled
    """Max values of every window of ``x`` into ``out`` (planes, Do, Ho, Wo)."""
    planes, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    total = planes * out_d * out_h
    for chunk in nb.prange(n_chunks):
        rows = np.empty((geom[0, 0] * geom[0, 1], 2), np.int64)
        fold = np.empty(in_w, x.dtype)
        start, stop = _chunk(chunk, n_chunks, total)
        for r in range(start, stop):
            p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
            n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
            fold[:] = lowest
            for t in range(n_rows):
                src = x[p, rows[t, 0], rows[t, 1]]
                for i in range(in_w):
                    v = src[i]
                    cur = fold[i]
                    fold[i] = v if (v > cur) | (v != v) else cur
            dst = out[p, od, oh]
            dst[:] = lowest
            for c in range(kw):
                off = c * dw - pw
                for ow in range(col_first[c], col_first[c] + col_count[c]):
                    v = fold[ow * sw + off]
                    cur = dst[ow]
                    dst[ow] = v if (v > cur) | (v != v) else cur
            if floating:
                for ow in range(out_w):
                    v = dst[ow]
                    if v == 0 or v != v:  # ties of signed zeros or NaN payloads: row-major
                        best = lowest
                        for t in range(n_rows):
                            src = x[p, rows[t, 0], rows[t, 1]]
                            for c in range(kw):
                                i = ow * sw + c * dw - pw
                                if 0 <= i < in_w:
                                    u = src[i]
                                    best = u if (u > best) | (u != u) else best
                        dst[ow] = best


@nb.njit(**_PARALLEL)
def argmax_rows(x, out, idx, geom, lowest, n_chunks):  # pragma: no cover - compiled
    """Max values and plane-flat argmax indices (-1: a window reading no input cell)."""
    planes, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    total = planes * out_d * out_h
    for chunk in nb.prange(n_chunks):
        rows = np.empty((geom[0, 0] * geom[0, 1], 2), np.int64)
        start, stop = _chunk(chunk, n_chunks, total)
        for r in range(start, stop):
            p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
            n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
            acc = out[p, od, oh]
            arg = idx[p, od, oh]
            acc[:] = lowest
            arg[:] = -1
            for t in range(n_rows):
                src = x[p, rows[t, 0], rows[t, 1]]
                base = (rows[t, 0] * in_h + rows[t, 1]) * in_w
                for c in range(kw):
                    off = c * dw - pw
                    f, n = col_first[c], col_count[c]
                    if t == 0:  # the first in-bounds cell of each window seeds it
                        for ow in range(f, f + n):
                            i = ow * sw + off
                            v = src[i]
                            take = (v > acc[ow]) | (v != v) | (arg[ow] < 0)
                            acc[ow] = v if take else acc[ow]
                            arg[ow] = base + i if take else arg[ow]
                    else:
                        for ow in range(f, f + n):
                            i = ow * sw + off
                            v = src[i]
                            take = (v > acc[ow]) | (v != v)
                            acc[ow] = v if take else acc[ow]
                            arg[ow] = base + i if take else arg[ow]


@nb.njit(**_PARALLEL)
def sum_rows(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, n_chunks
):
    """Window sums in row-major order, accumulated in ``zero.dtype``, divided per output by
    ``div_d[od] * div_h[oh] * div_w[ow] * div_scale`` (integers truncate toward zero)."""
    planes, in_d, in_h, in_w = x.shape
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    total = planes * out_d * out_h
    for chunk in nb.prange(n_chunks):
        rows = np.empty((geom[0, 0] * geom[0, 1], 2), np.int64)
        acc = np.empty(out_w, zero.dtype)
        divisor = np.empty(out_w, zero.dtype)
        start, stop = _chunk(chunk, n_chunks, total)
        for r in range(start, stop):
            p, od, oh = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
            n_rows = window_rows(od, oh, geom, in_d, in_h, rows)
            acc[:] = zero[0]
            for t in range(n_rows):
                src = x[p, rows[t, 0], rows[t, 1]]
                for c in range(kw):
                    off = c * dw - pw
                    for ow in range(col_first[c], col_first[c] + col_count[c]):
                        acc[ow] += src[ow * sw + off]
            scale = div_d[od] * div_h[oh] * div_scale
            for ow in range(out_w):
                divisor[ow] = scale * div_w[ow]
            dst = out[p, od, oh]
            if floating:
                for ow in range(out_w):
                    dst[ow] = acc[ow] / divisor[ow]
            else:
                for ow in range(out_w):
                    q = abs(acc[ow]) // abs(divisor[ow])
                    dst[ow] = -q if (acc[ow] < 0) != (divisor[ow] < 0) else q


@nb.njit(**_PARALLEL)
def scatter_argmax(grad_out, idx, grad_in, n_chunks):  # pragma: no cover - compiled
    """``grad_in[p, idx[p, j]] += grad_out[p, j]`` in raster order of ``j``, skipping -1.

    Arrays are (planes, cells); ``grad_in`` starts zeroed. Parallel over chunks of planes.
    """
    planes = grad_out.shape[0]
    for chunk in nb.prange(n_chunks):
        start, stop = _chunk(chunk, n_chunks, planes)
        for p in range(start, stop):
            g = grad_out[p]
            ix = idx[p]
            gi = grad_in[p]
            for j in range(g.shape[0]):
                i = ix[j]
                if i >= 0:
                    gi[i] += g[j]


@nb.njit(**_PARALLEL)
def scatter_windows(  # pragma: no cover - compiled
    grad_out, grad_in, geom, div_d, div_h, div_w, div_scale, n_chunks
):
    """Backward of average pooling: add each output's ``grad / divisor`` to its window.

    ``grad_out`` (P, Do, Ho, Wo); ``grad_in`` (P, D, H, W) starts zeroed. Each input cell
    receives its contributions in output raster order (kernel columns run backwards so that
    output columns ascend), in the gradient dtype, as PyTorch accumulates. Parallel over
    planes.
    """
    planes, in_d, in_h, in_w = grad_in.shape
    out_d, out_h, out_w = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kw, sw, pw, dw = geom[0, 2], geom[1, 2], geom[2, 2], geom[3, 2]
    col_first, col_count = _column_ranges(out_w, in_w, kw, sw, pw, dw)
    for chunk in nb.prange(n_chunks):
        rows = np.empty((geom[0, 0] * geom[0, 1], 2), np.int64)
        delta = np.empty(out_w, grad_out.dtype)
        divisor = np.empty(out_w, grad_out.dtype)
        start, stop = _chunk(chunk, n_chunks, planes)
        for p in range(start, stop):
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
                        for c in range(kw - 1, -1, -1):
                            off = c * dw - pw
                            for ow in range(col_first[c], col_first[c] + col_count[c]):
                                dst[ow * sw + off] += delta[ow]
