"""Numba kernels: windows on small planes, a vector of outputs at a time, each kernel cell
gathered for all of them.

The row and phase kernels work an output row at a time, and their set-up (the padded row or
the phase planes, the row's loops) is paid again each row: on planes of a few dozen cells
(the 7x7 and 14x14 planes of a network's last stages) it is most of the time, and the rows
fill a fraction of a vector. Here the outputs are taken in raster order across planes, a
vector of them at a time: each output's first window cell and which of its window's depth,
row and column offsets fall inside the input come from a table made once per launch for
the positions of one output plane (`_positions`), and every kernel cell is gathered for all
the vector's outputs at once (`numba_registers.SUM_WINDOWS`, `MAX_WINDOWS`), the cells
outside the input masked off.

A gather costs about what loading its cells one by one does (on the Intel Xeon, 12-15 ns
of a thread's time per vector of 16 float32 outputs and kernel cell, set-up included): this
wins where the row kernels' set-up per row is
most of their time, not where windows overlap much. So `poolnd._kernels.sliding._gathered`
gives these kernels output rows of at most 3 outputs, or 4 without padding. Measured there,
two threads, float32, alternated with the row and phase kernels (`benchmarks/sweep.py
--small`): 0.10-0.91 of their time on 32x2048x7x7 and 32x512x14x14 (a lone output a plane,
as ``avg_pool2d(x, 7, 1)`` on 7x7 planes: 0.17-0.20; 5x5 windows at stride 3 on 7x7 planes
0.13-0.37); 0.58-1.26 on rows of 4 with padding, and 1.4-2.7 on the longer rows of stride 1
with padding, which stay with the row kernels.

Exactness. Each output's cells are folded in row-major window order, those outside the
input skipped (a sum's +0 changes no bit: the sums start at +0 and cannot be -0), with
PyTorch's max rule (the new cell taken when greater or NaN), so values are the row kernels'
and PyTorch's; sums are divided as `numba_rows._divide` divides them.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import SERIAL
from ..launch import Form
from .numba_registers import AXIS_BITS, LANE_BYTES, MAX_WINDOWS, SUM_WINDOWS
from .numba_rows import _EXACT, _U, _truncated

__all__ = ["GATHER_MAX", "GATHER_SUM"]


@nb.njit(**SERIAL)
def _positions(x, out, geom, div_d, div_h, div_w, div_scale, acc):  # pragma: no cover
    """For each output position of a plane (raster order): the offset of its window's first
    cell from its input plane's first cell, the bits of its window offsets inside the input
    (`numba_registers.AXIS_BITS` apart for depth, rows and columns), and, where ``acc`` (an
    array of the sums' dtype) is not empty, its divisor ``div_d[od] * div_h[oh] *
    div_scale * div_w[ow]`` in that dtype."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    cells = out_d * out_h * out_w
    first, bits = np.empty(cells, np.int64), np.zeros(cells, np.int64)
    divisor = np.empty(cells if acc.shape[0] else 0, acc.dtype)
    t = 0
    for od in range(out_d):
        i_d = od * geom[1, 0] - geom[2, 0]
        for oh in range(out_h):
            i_h = oh * geom[1, 1] - geom[2, 1]
            for ow in range(out_w):
                i_w = ow * geom[1, 2] - geom[2, 2]
                first[t] = (i_d * in_h + i_h) * in_w + i_w
                b = 0
                for a in range(geom[0, 0]):
                    if 0 <= i_d + a * geom[3, 0] < in_d:
                        b |= 1 << a
                for a in range(geom[0, 1]):
                    if 0 <= i_h + a * geom[3, 1] < in_h:
                        b |= 1 << (AXIS_BITS + a)
                for a in range(geom[0, 2]):
                    if 0 <= i_w + a * geom[3, 2] < in_w:
                        b |= 1 << (2 * AXIS_BITS + a)
                bits[t] = b
                if divisor.shape[0]:
                    divisor[t] = div_d[od] * div_h[oh] * div_scale * div_w[ow]
                t += 1
    return first, bits, divisor


@nb.njit(**SERIAL)
def _scratch(x, geom, vector):  # pragma: no cover - compiled
    """A launch's lanes of first cells and bits (``vector`` each), `SUM_WINDOWS`' ``steps``
    (the kernel's extent, then a step's cells along each axis) and an input plane's cells."""
    in_h, in_w = x.shape[2], x.shape[3]
    steps = np.empty(6, np.int64)
    for t in range(3):
        steps[t] = geom[0, t]
    steps[3], steps[4], steps[5] = geom[3, 0] * in_h * in_w, geom[3, 1] * in_w, geom[3, 2]
    return np.zeros(vector, np.int64), np.zeros(vector, np.int64), steps, \
        x.shape[1] * in_h * in_w


@nb.njit(**SERIAL)
def _lanes(first, bits, divisor, plane_in, p, t, n, starts, lane_bits, lane_div):
    # pragma: no cover - compiled
    """The next ``n`` outputs from position ``t`` of plane ``p``: each one's first cell (in
    the flat input), bits and (where ``divisor`` is not empty) divisor into ``starts``,
    ``lane_bits``, ``lane_div``; the plane and position after them. Outputs of one plane
    are copied in one loop (vectorised), those past its end in another."""
    cells = first.shape[0]
    m = min(n, cells - t)
    base = p * plane_in
    for j in range(m):
        starts[j] = base + first[t + j]
        lane_bits[j] = bits[t + j]
    if divisor.shape[0]:
        for j in range(m):
            lane_div[j] = divisor[t + j]
    t += m
    for j in range(m, n):  # (the next planes)
        if t == cells:
            p, t = p + 1, 0
            base += plane_in
        starts[j] = base + first[t]
        lane_bits[j] = bits[t]
        if divisor.shape[0]:
            lane_div[j] = divisor[t]
        t += 1
    if t == cells:
        p, t = p + 1, 0
    return p, t


@nb.njit(**SERIAL)
def _gather_max_chunk(x, out, geom, lowest, floating, start, stop):  # pragma: no cover
    """Max values of every window (any stride, padding, dilation); a window wholly outside
    the input gives ``lowest``. Work items: output rows ``start .. stop - 1``."""
    out_w = out.shape[3]
    first, bits, none = _positions(x, out, geom, geom[0], geom[0], geom[0], 1, x[0, 0, 0, :0])
    vector = LANE_BYTES // x.itemsize
    starts, lane_bits, steps, plane_in = _scratch(x, geom, vector)
    acc, flat, dst = np.empty(vector, x.dtype), x.reshape(-1), out.reshape(-1)
    o, end = start * out_w, stop * out_w
    p, t = o // first.shape[0], o % first.shape[0]
    while o < end:
        n = min(vector, end - o)
        p, t = _lanes(first, bits, none, plane_in, p, t, n, starts, lane_bits, none)
        acc[:] = lowest
        MAX_WINDOWS(acc, flat, starts, lane_bits, steps, n)
        for j in range(n):
            dst[_U(o + j)] = acc[j]
        o += n


@nb.njit(**SERIAL)
def _gather_sum_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """Window sums accumulated in ``zero.dtype`` (any stride, padding, dilation), divided
    by ``div_d[od] * div_h[oh] * div_w[ow] * div_scale`` (integers truncate toward zero).
    Work items: output rows ``start .. stop - 1``."""
    out_w = out.shape[3]
    first, bits, divisor = _positions(x, out, geom, div_d, div_h, div_w, div_scale, zero)
    vector = LANE_BYTES // zero.itemsize
    starts, lane_bits, steps, plane_in = _scratch(x, geom, vector)
    acc, lane_div = zero.repeat(vector), zero.repeat(vector)
    flat, dst = x.reshape(-1), out.reshape(-1)
    o, end = start * out_w, stop * out_w
    p, t = o // first.shape[0], o % first.shape[0]
    while o < end:
        n = min(vector, end - o)
        p, t = _lanes(first, bits, divisor, plane_in, p, t, n, starts, lane_bits, lane_div)
        acc[:] = zero[0]
        SUM_WINDOWS(acc, flat, starts, lane_bits, steps, n)
        if floating:
            for j in range(n):  # + 0: PyTorch adds into a zeroed output (no -0.0)
                dst[_U(o + j)] = acc[j] / lane_div[j] + 0
        else:
            for j in range(n):  # (as `numba_rows._divide`: exact in float64, else by //)
                a, d = acc[j], lane_div[j]
                if (-_EXACT < a < _EXACT) & (d != 0) & (-_EXACT < d < _EXACT):
                    dst[_U(o + j)] = np.int64(a / d)
                else:
                    dst[_U(o + j)] = _truncated(a, d)
        o += n


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
GATHER_MAX = Form(_gather_max_chunk)
GATHER_SUM = Form(_gather_sum_chunk)
