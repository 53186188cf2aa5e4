"""Numba kernels: window sums over phase planes, every kernel cell added to a block of
outputs held in vector registers.

Adding a window's cells to an output row one kernel cell at a time, in loops as long as
the output row, is slow: on rows of a few dozen outputs the loops' set-up costs more
than their additions, and a strided read does not vectorise. Here a band of up to
`poolnd._threads.PHASE_CELLS` input cells (whole output rows of one plane; with the
accumulator, L1-sized) is first copied into *phase planes*: the input cell at padded
row ``i * sh + rho`` and column ``m * sw + kappa`` goes to ``buf[rho, kappa, i, m]``,
each phase plane with rows of ``wq = out_w + (kw - 1) * dw // sw`` cells, and cells
outside the input are zeros. Kernel cell ``(a, c)`` of output ``(oh, j)`` then sits at
``(a * dh // sh + oh) * wq + j + c * dw // sw`` of its phase plane, so adding one
kernel cell to every output of the band reads ``rows * wq`` consecutive cells (``wq -
out_w`` of each row are unused). The band's sums are then made a block of consecutive
outputs at a time, every kernel cell added to the block in vector registers
(`numba_registers`): one load of the block's sums and one store for all the window's
additions, where loops over the band, three kernel cells a loop, loaded and stored them
once per three (measured there: 1.51 -> 1.18 ms for 7x7 windows, one thread). For
float32 at column stride 1 or 2 (undilated, kernel rows 2 to 8 cells wide, 64-byte
vectors), a block takes each kernel row's cells out of that row's vectors, loaded once,
by shifts in registers (`numba_runs`; the blocks whose longer reads would pass the band's
end keep `ADD_BLOCK`): the whole kernel, two threads, (8, 64, 57, 57), alternated in one
process, 0.82-0.95 of the time at stride 1 with windows 4 to 7 wide (7x7 with padding 3
1.54 -> 1.41 ms, without 1.16 -> 1.03 ms), 0.92-1.01 at stride 2. Windows one plane
deep, 2 to 7 rows tall, undilated at stride 1, sum a band's rows eight at a time first
(`numba_stacks`: each input row's shifted vectors made once for all the output rows that
read it), the rest of the band as above: 0.81-0.87 of that time again for windows 4 to 7
wide (two threads, as above; 7x7 with padding 3 1.37 -> 1.13 ms), 0.86-0.99 on (1, 64,
112, 112), whose bands of 28 to 30 rows leave four to six to the blocks. Undilated
windows at stride 1 with no padding (low or high) skip the copy: their one phase plane
would be the input rows themselves, so the blocks read those in place, up to where a
block's reads would pass the end of the plane (the band's last ``kw - 1`` cells, which no
output uses), and the few outputs left are added one at a time (one thread, float32,
(8, 64, 57, 57): 2x2 windows 1.10 -> 0.87 ms, 5x5 1.69 -> 1.47 ms).

A plane taller than one band is copied a band at a time, and the windows of two bands that
follow each other share ``(kh - 1) * dh // sh`` phase rows: the first band's last rows are
the second's first. Where windows are one plane deep, the second band moves them to the
front of its buffer (`_slide`, within L1) and deals only its own rows out of the input, where
it dealt them all again before: at batch 1 on 112-wide planes, 7x7 windows at stride 3 in
bands of 9 output rows re-dealt 2 of each band's 11 phase rows, at stride 1 with padding 3, 6
of 34. One thread (`benchmarks/sweep.py --ops avg --threads 1`, two runs of each tree,
alternated): the 24 such configurations on (1, 64, 112, 112) 0.96 of their time (geometric
mean; 0.89-1.09), the others 1.00; two threads, within the runs' spread (1.01).

Exactness. Each output receives its window's cells in row-major order (kernel cells are
visited depth, then row, then column), as PyTorch adds them, so the sums are PyTorch's bit
for bit. A cell outside the input adds ``+0``: the accumulator starts at ``+0`` and can
never be ``-0`` (a sum is ``-0`` only when both terms are), so adding ``+0`` changes no bit,
and NaN and infinities pass through it. Only the rows the stride's phases use are copied:
a stride far larger than the kernel costs no memory.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..._threads import PHASE_CELLS
from ..jit import SERIAL
from ..launch import Form
from .numba_quotients import divide_run
from .numba_registers import ACCUMULATORS, ADD_BLOCK, ADD_VECTOR, LANE_BYTES
from .numba_rows import _U, _divide
from .numba_runs import ADD_RUNS, ADD_RUNS2, RUN_CELLS, runs_pay
from .numba_shuffles import DEAL2, DEAL3
from .numba_stacks import stack_rows

__all__ = ["SUM_PHASES"]


@nb.njit(**SERIAL)
def _sort(v):  # pragma: no cover - compiled
    """Sort the int64 vector ``v`` in place (Shell's sort, Knuth's gaps: a few lines that
    compile in a fraction of the seconds ``np.sort``'s quicksort takes, for the few dozen
    values a window has)."""
    n = v.shape[0]
    gap = 1
    while gap < n // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, n):
            t, j = v[i], i
            while j >= gap and v[j - gap] > t:
                v[j] = v[j - gap]
                j -= gap
            v[j] = t
        gap //= 3


@nb.njit(**SERIAL)
def _phases(k, s, d):  # pragma: no cover - compiled
    """For kernel cells ``0 .. k - 1`` (dilation ``d``, stride ``s``): each cell's phase
    slot and offset in phase rows (``cell * d // s``), and the phases the slots hold
    (``cell * d % s``, ascending; at most ``min(k, s)``: all ``s`` of them when the slot of
    phase ``q`` is ``q``)."""
    phases = np.empty(k, np.int64)
    for a in range(k):
        phases[a] = a * d % s
    order = phases.copy()
    _sort(order)
    seen = np.empty(k, np.int64)
    slots = 0
    for a in range(k):
        if slots == 0 or order[a] != seen[slots - 1]:
            seen[slots] = order[a]
            slots += 1
    slot = np.empty(k, np.int64)
    shift = np.empty(k, np.int64)
    for a in range(k):
        shift[a] = a * d // s
        for t in range(slots):
            if seen[t] == phases[a]:
                slot[a] = t
    return slot, shift, seen[:slots].copy()


# Indices below are cast to unsigned (`numba_rows._U`: Numba checks a signed index for
# negative wrap-around, a branch per cell that keeps LLVM from vectorising); every index
# here is a valid offset by construction. Slicing instead would cost two atomic reference
# count updates per slice, per input row. That is also why `_fill` deals a row out to its
# phases itself rather than calling `numba_rows._split`, which writes through row slices:
# the slice form was measured 2-3x slower here, where every input row of a band is dealt.
@nb.njit(**SERIAL)
def _columns(wq, in_w, col_phase, sw, pw, plane_cells):  # pragma: no cover - compiled
    """Where each phase row's cells come from, the same for every row: ``(dealt, lo, hi,
    spans, edges)``. ``dealt``: every column phase is used at stride 2 or 3, so that the
    cells ``lo .. hi - 1`` of the phase rows are whole groups of ``sw`` input cells, dealt
    out at once. Then ``edges`` (``(2, e)``) lists the cells outside those groups that hold
    an input cell, as offsets from their phase row's first cell (``cs * plane_cells + m``)
    and input columns; the others are zeros, which `_fill` never writes (the buffer starts
    zeroed, and a row outside the input writes zeros). Else ``spans`` holds, per column
    phase, its cells inside the input (``m`` in ``first .. last - 1``), and the cells
    outside them are such zeros too (rewriting them each row, two short loops, took a
    third of a stride-1 row's copy: 9.7 -> 7.0 ns a 61-cell row, one thread, in cache)."""
    n_cs = col_phase.shape[0]
    dealt = n_cs == sw and 1 < sw <= 3
    lo = min(wq, (pw + sw - 1) // sw) if dealt else 0  # m of the first whole group inside
    hi = max(lo, min(wq, (in_w + pw) // sw)) if dealt else 0  # past the last one
    spans = np.empty(2 * n_cs, np.int64)
    edges = np.empty((2, n_cs * (wq - hi + lo)), np.int64)
    e = 0
    for cs in range(n_cs):
        off = col_phase[cs] - pw
        spans[2 * cs] = min(wq, max(0, (sw - 1 - off) // sw))
        spans[2 * cs + 1] = max(spans[2 * cs], min(wq, (in_w - 1 - off) // sw + 1))
        for m in range(wq):
            c = m * sw + off
            if (m < lo or m >= hi) and 0 <= c < in_w:
                edges[0, e], edges[1, e] = cs * plane_cells + m, c
                e += 1
    return dealt, lo, hi, spans, edges[:, :e].copy()


@nb.njit(**SERIAL)
def _fill(  # pragma: no cover - compiled
    flat, plane_cells, wq, src, base, in_h, in_w, first, skip, rows, row_phase, col_phase, sh,
    sw, ph, pw, columns,
):
    """Phase rows ``skip .. rows - 1`` of every phase plane of the band starting at phase row
    ``first`` (planes ``plane_cells`` apart in ``flat``, rows ``wq`` cells) from the input
    plane at ``base`` in ``src`` (flat, ``in_h`` rows of ``in_w``): cell ``m`` of slot ``(rs,
    cs)``'s row ``i`` is input cell ``((first + i) * sh + row_phase[rs] - ph, m * sw +
    col_phase[cs] - pw)``, zero outside the input. ``columns`` is `_columns`' plan: when
    every column phase is used, a row's groups of ``sw`` cells inside the input are dealt out
    a vector of groups at a time (`numba_shuffles.DEAL2`, `DEAL3`), the row's last vector
    ending at its last group (over groups dealt already), and its few other input cells
    copied one by one; else each phase is read at the stride.

    The rows are taken by counters in one loop, and the deal is written out here: three loops
    nested with bounds that depended on the order, and a call of a dealing function a row,
    cost a third of the time or more (one thread, in cache, float32, a band's fill: 5x5
    windows at stride 3 on 57-wide rows 18.9 -> 11.5 ns an input row, 7x7 on 112-wide rows
    30.2 -> 19.8 ns; stride 1 with padding 2, 14.0 -> 11.5 ns). The last vector's overlap
    took these stride-3 fills on to 10.0-10.4 and 16.7-16.9 ns."""
    dealt, lo, hi, spans, edges = columns
    n_cs, n_rs = col_phase.shape[0], row_phase.shape[0]
    # three row phases or more are filled an input row at a time, in the input's order (each
    # phase a row in turn): one thread, (8, 64, 57, 57), windows 3 to 7 wide at stride 3
    # 0.87-0.96 of the time phase by phase; fewer, a phase at a time, which ran as fast or
    # faster at row stride 2
    in_order = n_rs > 2
    lanes = LANE_BYTES // flat.itemsize
    i, rs = skip, 0  # (the row's phase row and phase)
    for t in range(n_rs * (rows - skip)):
        if t > 0:
            if in_order:
                i, rs = (i + 1, 0) if rs == n_rs - 1 else (i, rs + 1)
            else:
                i, rs = (skip, rs + 1) if i == rows - 1 else (i + 1, rs)
        ih = (first + i) * sh + row_phase[rs] - ph
        at = rs * n_cs * plane_cells + i * wq
        if ih < 0 or ih >= in_h:
            for cs in range(n_cs):
                for m in range(wq):
                    flat[_U(at + cs * plane_cells + m)] = 0
            continue
        row = base + ih * in_w
        if not dealt:  # (the cells outside ``first .. last - 1`` stay zeros)
            for cs in range(n_cs):  # this phase's cells inside the row: first .. last - 1
                a, b = at + cs * plane_cells, row + col_phase[cs] - pw
                first_m, last_m = spans[2 * cs], spans[2 * cs + 1]
                if sw == 1:
                    for m in range(first_m, last_m):
                        flat[_U(a + m)] = src[_U(b + m)]
                else:
                    for m in range(first_m, last_m):
                        flat[_U(a + m)] = src[_U(b + m * sw)]
            continue
        for e in range(edges.shape[1]):
            flat[_U(at + edges[0, e])] = src[_U(row + edges[1, e])]
        g, n = row + lo * sw - pw, hi - lo
        a0, a1, a2 = at + lo, at + plane_cells + lo, at + 2 * plane_cells + lo
        if n < lanes:  # (a group at a time)
            for j in range(n):
                for q in range(sw):
                    flat[_U(a0 + q * plane_cells + j)] = src[_U(g + sw * j + q)]
            continue
        # a vector of groups at a time, the last one ending at the last group (over groups
        # dealt already); a loop for each stride, where one loop choosing its deal each
        # vector ran a band's fill 1.3x slower (14.2 against 10.4-11.0 ns a 57-cell row)
        j = 0
        if sw == 2:
            while j + lanes < n:
                DEAL2(flat, src, g, j, a0, a1)
                j += lanes
            DEAL2(flat, src, g, n - lanes, a0, a1)
        else:
            while j + lanes < n:
                DEAL3(flat, src, g, j, a0, a1, a2)
                j += lanes
            DEAL3(flat, src, g, n - lanes, a0, a1, a2)


@nb.njit(**SERIAL)
def _sum_phases_chunk(  # pragma: no cover - compiled
    x, out, zero, floating, geom, div_d, div_h, div_w, div_scale, start, stop
):
    """Window sums in row-major order, accumulated in ``zero.dtype``, divided per output by
    ``div_d[od] * div_h[oh] * div_w[ow] * div_scale`` (integers truncate toward zero), over
    phase planes (any stride, padding and dilation).

    Work items: output rows ``start .. stop - 1``, taken in bands of consecutive rows of one
    plane and depth."""
    in_d, in_h, in_w = x.shape[1], x.shape[2], x.shape[3]
    out_d, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    kd, kh, kw = geom[0, 0], geom[0, 1], geom[0, 2]
    sd, sh, sw = geom[1, 0], geom[1, 1], geom[1, 2]
    pd, ph, pw = geom[2, 0], geom[2, 1], geom[2, 2]
    dd, dh, dw = geom[3, 0], geom[3, 1], geom[3, 2]
    row_slot, row_shift, row_phase = _phases(kh, sh, dh)
    col_slot, col_shift, col_phase = _phases(kw, sw, dw)
    n_rs, n_cs = row_phase.shape[0], col_phase.shape[0]
    wq = out_w + (kw - 1) * dw // sw
    extra = (kh - 1) * dh // sh  # phase rows past a band's last output row
    per_row = n_rs * n_cs * wq  # buffer cells per phase row
    band = max(1, min(out_h, PHASE_CELLS // per_row - extra))
    plane_cells = (band + extra) * wq
    # (slack: a kernel cell's reads run up to ``col_shift`` cells past its phase plane, and
    # a band's last vector up to ``lanes - 1`` past its last output)
    lanes = LANE_BYTES // zero.itemsize
    block = ACCUMULATORS * lanes
    # undilated windows at stride 1 with no padding, low or high, read the input rows where
    # they are: the phase plane would be a copy of them
    direct = sh == 1 and sw == 1 and ph == 0 and pw == 0 and dh == 1 and dw == 1 \
        and wq == in_w and out_h + kh - 1 == in_h
    flat = np.zeros(0 if direct else n_rs * n_cs * plane_cells + (kw - 1) * dw // sw + block,
                    zero.dtype)
    cells = np.empty(kh * kw, np.int64)  # kernel cell (a, c): its phase plane's first cell
    for a in range(kh):
        for c in range(kw):
            cells[a * kw + c] = a * in_w + c if direct else \
                (row_slot[a] * n_cs + col_slot[c]) * plane_cells + row_shift[a] * wq \
                + col_shift[c]
    acc = np.zeros(band * wq + block, zero.dtype)
    dst, ahead = out.reshape(-1), np.zeros(4, np.int64)  # (prefetched by the stacks)
    # (the input as one flat array, made once, its planes passed as offsets: the views of
    # planes and slices made each band cost their reference counts' atomic updates; one
    # thread, 0.93-0.95 of the time on 8x64x57x57 and 1x64x112x112, strides 2 and 3)
    xf, plane_in, z = x.reshape(-1), in_h * in_w, zero[0]
    # undilated stride-1 kernel rows of float32 cells, with 64-byte vectors: each row's cells
    # shifted out of its vectors in registers (`numba_runs`); else no rows (``kh`` of them
    # at most: the first cell of each)
    runs = sw <= 2 and dw == 1 and max(2, sw) <= kw <= min(RUN_CELLS, lanes) \
        and runs_pay(acc, x)
    rows_at = np.empty(kh * sw if runs else 0, np.int64)
    for t in range(rows_at.shape[0]):
        rows_at[t] = cells[t // sw * kw + t % sw]
    # windows one input plane deep, undilated at stride 1: a band's first rows by stacks
    # (`numba_stacks`, which start their sums at +0: the one depth's sums are all there is)
    stacks = kd == 1 and sh == 1 and sw == 1 and dh == 1 and dw == 1
    columns = _columns(wq, in_w, col_phase, sw, pw, plane_cells)
    same_w = _same(div_w, 0, out_w)  # (then a band of rows with one divisor each row shares it)
    # a band that follows the band before it in its plane and depth (windows one plane deep)
    # takes its first ``extra`` phase rows from the buffer, where that band's last ones are
    held, held_rows = -1, 0
    r = start
    while r < stop:
        p, od, oh0 = r // (out_d * out_h), (r // out_h) % out_d, r % out_h
        rows = min(band, out_h - oh0, stop - r)
        n = rows * wq
        for m in range(n + block):
            acc[m] = z
        skip, held = extra if r == held else 0, -1
        for a_d in range(kd):
            id_ = od * sd - pd + a_d * dd
            if id_ < 0 or id_ >= in_d:
                continue  # cells outside the input add +0: nothing
            # the stacks prefetch the next band's input rows, if this chunk has a next band,
            # and this band's outputs (`numba_ahead`)
            nr = r + rows
            np_, nid, noh = nr // (out_d * out_h), (nr // out_h) % out_d * sd - pd, nr % out_h
            ahead[0] = ahead[1] = 0
            if stacks and nr < stop and 0 <= nid < in_d:  # (the next band's plane and depth)
                nrows, nbase = min(band, out_h - noh, stop - nr), (np_ * in_d + nid) * plane_in
                ahead[0] = nbase + max(0, noh - ph) * in_w
                ahead[1] = nbase + max(0, min(in_h, noh + nrows - ph + kh - 1)) * in_w
            base = (p * in_d + id_) * plane_in  # (the band's input plane in ``xf``)
            ahead[2], ahead[3] = r * out_w, nr * out_w
            if direct:  # (vectors stop where their reads would pass the plane's end)
                used = n - (kw - 1)
                done = stack_rows(acc, xf, wq, kh, kw, rows, base + oh0 * in_w, in_h - oh0, xf,
                                  dst, ahead) if stacks else 0
                _add_band(acc, xf, cells, rows_at, kw, sw, base + oh0 * in_w, done * wq, used,
                          used - lanes + 1, block, lanes)
                continue
            if skip:
                _slide(flat, n_rs * n_cs, plane_cells, held_rows * wq, skip * wq)
            _fill(flat, plane_cells, wq, xf, base, in_h, in_w, oh0, skip, rows + extra,
                  row_phase, col_phase, sh, sw, ph, pw, columns)
            if kd == 1 and oh0 + rows < out_h:
                held, held_rows = r + rows, rows
            # (the plane's rows past the band's, then the slack: ``rows + kh`` rows readable)
            done = stack_rows(acc, flat, wq, kh, kw, rows, 0, rows + kh, xf, dst, ahead) \
                if stacks else 0
            _add_band(acc, flat, cells, rows_at, kw, sw, 0, done * wq, n, n, block, lanes)
        d = div_d[od] * div_h[oh0] * div_w[0] * div_scale
        if floating and same_w and _same(div_h, oh0, oh0 + rows):
            _divide_band(acc, n, rows, wq, dst, r * out_w, out_w, zero.dtype.type(d))
        else:
            _divide(acc[:n].reshape((rows, wq)), out, floating, div_d, div_h, div_w, div_scale, r)
        r += rows


@nb.njit(**SERIAL)
def _slide(flat, planes, plane_cells, shift, cells):  # pragma: no cover - compiled
    """Move the cells ``shift .. shift + cells - 1`` of each of the ``planes`` phase planes
    (``plane_cells`` apart in ``flat``) to the plane's start (in ascending order: safe where
    the two overlap, ``shift`` being positive)."""
    for q in range(planes):
        at = q * plane_cells
        for t in range(cells):
            flat[_U(at + t)] = flat[_U(at + shift + t)]


@nb.njit(**SERIAL)
def _add_band(acc, flat, cells, rows, kw, sw, shift, first, n, vectors, block,
              lanes):  # pragma: no cover - compiled
    """Every kernel cell, in row-major order, added to the sums ``acc[m]``, ``first <= m <
    n``, from
    ``flat[cells[t] + shift + m]``: by blocks while a block fits below ``n``, by vectors
    while one starts below ``vectors`` (``n`` where the arrays hold a vector's slack past
    it, less where reads must stop at ``n``: the input plane read in place), then one
    output at a time. Where ``rows`` holds the first cell of each kernel row (rows of
    ``kw`` consecutive cells), the blocks that end below ``vectors`` add whole rows
    (`numba_runs.ADD_RUNS`, which reads a vector further: below ``n`` then)."""
    m0 = first
    while m0 + block <= n:
        if rows.shape[0] == 0 or m0 + block >= vectors:
            ADD_BLOCK(acc, flat, cells, m0, shift)
        elif sw == 1:
            ADD_RUNS(acc, flat, rows, kw, m0, shift)
        else:
            ADD_RUNS2(acc, flat, rows, kw, m0, shift)
        m0 += block
    while m0 < vectors:
        ADD_VECTOR(acc, flat, cells, m0, shift)
        m0 += lanes
    for m in range(m0, n):
        s = acc[m]
        for t in range(cells.shape[0]):
            s += flat[cells[t] + shift + m]
        acc[m] = s


@nb.njit(**SERIAL)
def _same(v, lo, hi):  # pragma: no cover - compiled
    """Whether ``v[lo .. hi - 1]`` are all equal (a loop: Numba compiles no generator
    argument to ``all``)."""
    same = True
    for i in range(lo + 1, hi):
        same &= v[i] == v[lo]
    return same


@nb.njit(**SERIAL)
def _divide_band(acc, n, rows, wq, out, o, out_w, d):  # pragma: no cover - compiled
    """A band's float sums (``rows`` rows of ``wq`` in ``acc``) divided by the one divisor
    ``d`` of all its outputs into ``out`` from flat offset ``o`` (rows of ``out_w``): one long
    loop over the band (`numba_quotients.divide_run`: float32 sums by a whole divisor through
    its reciprocal and one correction, the division's bits), then the rows copied, where
    `_divide` runs a short loop per row. ``+ 0`` as there."""
    divide_run(acc, 0, acc, 0, n, d)
    for i in range(rows):
        a, b = i * wq, o + i * out_w
        for j in range(out_w):
            out[_U(b + j)] = acc[_U(a + j)]


# the kernels as the selectors launch them (`poolnd._kernels.launch.Form`)
SUM_PHASES = Form(_sum_phases_chunk)
