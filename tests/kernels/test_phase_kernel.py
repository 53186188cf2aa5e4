"""The phase-plane sum kernel (`numba_phases`) against torch 2.13 CPU, bit for bit.

Every window sum that is not tiled, not a 3x3 window and not one the strided kernel takes
(`_strided_sums`; forced onto the phase planes here too) runs over phase planes: a band of
input rows copied by the stride's phases, then one long vector loop per kernel cell. The
cells of each window still arrive in row-major order, so float32 averages are torch's own
bits; cells outside the input add ``+0``. Corners: strides above the kernel (unused phases),
padding wider than the stride, ceil mode's windows past the padding, bands that split a
plane (wide rows), chunks that split a band (two threads), 1d and 3d windows, dilation
(checked against a row-major sum in Python), integer sums.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import mmap

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_identical

import poolnd
import poolnd._kernels.sliding as K
from poolnd._args import make_window
from poolnd._kernels.sliding import _row_kernel, _strided_sums

F = poolnd.functional

GRID_2D = [  # (shape, kernel, stride, padding, ceil_mode)
    ((2, 3, 23, 29), (5, 5), (2, 2), (2, 2), False),
    ((2, 3, 23, 29), (7, 7), (3, 3), (3, 0), True),
    ((2, 3, 23, 29), (2, 4), (1, 3), (1, 2), True),
    ((2, 3, 23, 29), (4, 2), (5, 7), (0, 1), True),  # strides above the kernel
    ((1, 2, 40, 1500), (5, 6), (2, 3), (2, 3), False),  # several bands per plane
    ((3, 2, 7, 5), (6, 5), (1, 4), (3, 2), True),  # windows wider than the rows
    ((4, 16, 12, 57), (4, 4), (2, 2), (1, 1), False),
    ((2, 3, 23, 29), (5, 4), (2, 2), (2, 0), False),  # divisors varying down a band only
]


def _floats(rng, shape):
    x = (rng.standard_normal(shape) * 10).astype(np.float32)
    x[rng.random(shape) < 0.1] = -0.0
    x[rng.random(shape) < 0.002] = np.inf
    return x


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "ceil_mode"), GRID_2D)
def test_float32_averages_are_torch_bits(shape, kernel, stride, padding, ceil_mode, threads,
                                         rng, kernel_threads, monkeypatch):
    """The phase-plane kernel (forced where `_strided_sums` picks the strided one: both
    then run) gives torch's bits."""
    kernel_threads(threads)
    x = _floats(rng, shape)
    win = make_window("avg_pool2d", x.shape[2:], kernel, stride, padding, (1, 1), ceil_mode)
    chosen = _row_kernel("sum", win).name
    assert chosen == ("sum_strided" if _strided_sums(win) else "sum_phases")
    t = torch.from_numpy(x)
    for force in (False, True) if chosen != "sum_phases" else (False,):
        with monkeypatch.context() as m:
            if force:
                m.setattr(K, "_row_kernel", lambda *_: K._phase_kernels().SUM_PHASES)
            for include_pad in (True, False):
                got = F.avg_pool2d(x, kernel, stride, padding, ceil_mode, include_pad)
                assert_identical(got, tF.avg_pool2d(t, kernel, stride, padding, ceil_mode,
                                                    include_pad).numpy())
            got = F.avg_pool2d(x, kernel, stride, padding, ceil_mode, True, 7)
            assert_identical(got, tF.avg_pool2d(t, kernel, stride, padding, ceil_mode, True,
                                                7).numpy())


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(5, 3, 2), (4, 1, 2), (7, 2, 3)])
def test_1d_and_3d_averages_are_torch_bits(kernel, stride, padding, rng):
    x1 = _floats(rng, (3, 4, 301))
    assert_identical(F.avg_pool1d(x1, kernel, stride, padding),
                     tF.avg_pool1d(torch.from_numpy(x1), kernel, stride, padding).numpy())
    x3 = _floats(rng, (2, 3, 9, 11, 13))
    assert_identical(F.avg_pool3d(x3, kernel, stride, padding, True, False),
                     tF.avg_pool3d(torch.from_numpy(x3), kernel, stride, padding, True,
                                   False).numpy())


def _row_major_sums(x, kernel, stride, padding, dilation):
    """Each window's in-bounds cells added one at a time in row-major order, in float32."""
    h, w = x.shape[-2:]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((*x.shape[:-2], oh, ow), np.float32)
    for i, j in itertools.product(range(oh), range(ow)):
        acc = np.zeros(x.shape[:-2], np.float32)
        for a, c in itertools.product(range(kh), range(kw)):
            r, q = i * sh - ph + a * dh, j * sw - pw + c * dw
            if 0 <= r < h and 0 <= q < w:
                acc = acc + x[..., r, q]
        out[..., i, j] = acc
    return out


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"),
                         [((3, 4), (2, 3), (2, 3), (2, 2)), ((2, 3), (3, 1), (1, 2), (3, 2)),
                          ((5, 2), (1, 2), (4, 1), (2, 3))])
def test_dilated_sums_add_in_row_major_order(kernel, stride, padding, dilation, rng):
    x = _floats(rng, (2, 3, 17, 19))
    got = poolnd.sum_pool(x, kernel, stride, padding, dilation)
    assert_identical(got, _row_major_sums(x, kernel, stride, padding, dilation))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), [
    ((1, 3, 150, 112), 7, 3, 3),  # bands of 9 rows, each taking 2 phase rows from the last
    ((1, 3, 150, 112), 7, 2, 3),
    ((1, 3, 150, 112), 5, 1, 2),  # stride 1 with padding: 4 rows (the stacks read them)
    ((2, 2, 90, 300), 6, 3, 3),  # bands of 2 rows and 3 rows taken: the moves overlap
])
def test_bands_that_follow_a_band_are_torch_bits(shape, kernel, stride, padding, threads, rng,
                                                 kernel_threads):
    """A band that follows another in its plane takes its first phase rows from the band
    before instead of the input: the same bits, with every chunk's first band filled whole
    (two threads split the planes' rows between bands)."""
    kernel_threads(threads)
    x = _floats(rng, shape)
    win = make_window("avg_pool2d", x.shape[2:], (kernel,) * 2, (stride,) * 2,
                      (padding,) * 2, (1, 1), False)
    assert _row_kernel("sum", win).name == "sum_phases"
    t = torch.from_numpy(x)
    for include_pad in (True, False):
        assert_identical(F.avg_pool2d(x, kernel, stride, padding, False, include_pad),
                         tF.avg_pool2d(t, kernel, stride, padding, False, include_pad).numpy())
    x3 = _floats(rng, (1, 2, 3, *shape[2:]))  # windows one plane deep: bands slide per depth
    assert_identical(
        F.avg_pool3d(x3, (1, kernel, kernel), (2, stride, stride), (0, padding, padding)),
        tF.avg_pool3d(torch.from_numpy(x3), (1, kernel, kernel), (2, stride, stride),
                      (0, padding, padding)).numpy())


def test_dilated_bands_that_follow_a_band_add_in_row_major_order(rng):
    x = _floats(rng, (1, 2, 400, 20))  # 200 output rows, in bands of 83
    got = poolnd.sum_pool(x, (3, 4), (2, 3), (2, 3), (2, 2))
    assert_identical(got, _row_major_sums(x, (3, 4), (2, 3), (2, 3), (2, 2)))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.int64])
def test_integer_averages_truncate_like_torch(dtype, rng):
    info = np.iinfo(dtype)
    x = rng.integers(max(info.min, -10**6), min(info.max, 10**6), size=(2, 3, 19, 23),
                     endpoint=True).astype(dtype)
    for kernel, stride, padding in [(5, 2, 2), (4, 3, 1), (6, 1, 3)]:
        got = F.avg_pool2d(x, kernel, stride, padding, True, False)
        ref = tF.avg_pool2d(torch.from_numpy(x.astype(np.float64)), kernel, stride, padding,
                            True, False).numpy()
        assert_identical(got, np.trunc(ref).astype(dtype))


def test_phase_slots_are_the_sorted_distinct_phases():
    """`_phases` (and its in-place sort) against NumPy: each kernel cell's slot holds its
    phase, the phases are the distinct ``cell * d % s`` ascending, the shifts ``cell * d //
    s``; kernels long enough that the sort sees many repeats and unordered runs."""
    from poolnd._kernels.sliding.numba_phases import _phases, _sort

    for k, s, d in itertools.product((1, 2, 3, 5, 7, 40, 257), (1, 2, 3, 4, 9, 64), (1, 2, 3, 5)):
        slot, shift, seen = _phases(k, s, d)
        cells = np.arange(k) * d
        np.testing.assert_array_equal(seen, np.unique(cells % s))
        np.testing.assert_array_equal(seen[slot], cells % s)
        np.testing.assert_array_equal(shift, cells // s)
    v = np.random.default_rng(0).integers(-9, 9, 1000)
    w = v.copy()
    _sort(w)
    np.testing.assert_array_equal(w, np.sort(v))


def test_column_plan_lists_every_input_cell_outside_the_dealt_groups():
    """`_columns` against a cell-by-cell account: when every column phase is used at stride
    2 or 3, the phase-row cells ``lo .. hi - 1`` are whole groups inside the input, and
    ``edges`` lists exactly the other cells that read an input column (with that column);
    else nothing is dealt and ``spans`` bounds each phase's cells inside the input."""
    from poolnd._kernels.sliding.numba_phases import _columns, _phases

    plane_cells = 1000
    for in_w, k, s, pad in itertools.product((1, 2, 3, 4, 5, 8, 11, 57), (1, 2, 3, 4, 5, 7),
                                             (1, 2, 3, 4), (0, 1, 2, 3)):
        if pad > k // 2 or in_w + 2 * pad < k:
            continue
        out_w = (in_w + 2 * pad - k) // s + 1
        _, _, phase = _phases(k, s, 1)
        wq = out_w + (k - 1) // s
        dealt, lo, hi, spans, edges = _columns(wq, in_w, phase, s, pad, plane_cells)
        assert dealt == (len(phase) == s and s in (2, 3))
        source = {(cs, m): m * s + phase[cs] - pad for cs in range(len(phase))
                  for m in range(wq)}
        if dealt:
            inside = {(cs, m) for cs, m in source if lo <= m < hi}
            assert all(0 <= source[c] < in_w for c in inside)
            want = sorted((cs * plane_cells + m, c) for (cs, m), c in source.items()
                          if (cs, m) not in inside and 0 <= c < in_w)
            assert sorted(zip(*edges.tolist())) == want
        else:
            for cs in range(len(phase)):
                first, last = spans[2 * cs], spans[2 * cs + 1]
                assert [m for m in range(wq) if 0 <= source[(cs, m)] < in_w] == \
                    list(range(first, last))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [2, 3])
def test_dealt_rows_with_edge_cells_are_torch_bits(stride, threads, rng, kernel_threads,
                                                   monkeypatch):
    """Dealt phase rows (every column phase used) whose edges hold input cells on the
    left (padding wider than the stride) and on the right (widths of every remainder),
    forced onto the phase planes, against torch bit for bit; the zeros of the edges are
    never written, so bands of a plane and planes after one another must not leave values
    in them (the plane whose band starts inside the padding comes after a full one)."""
    kernel_threads(threads)
    monkeypatch.setattr(K, "_row_kernel", lambda *_: K._phase_kernels().SUM_PHASES)
    for width in range(2 * stride + 1, 3 * stride + 3):
        for kernel in range(stride, 8):
            for pad in range(kernel // 2 + 1):
                for ceil in (False, True):
                    if width + 2 * pad < kernel:
                        continue
                    x = _floats(rng, (2, 3, 9, width))
                    t = torch.from_numpy(x)
                    got = F.avg_pool2d(x, (3, kernel), (2, stride), (1, pad), ceil, True)
                    want = tF.avg_pool2d(t, (3, kernel), (2, stride), (1, pad), ceil, True)
                    assert_identical(got, want.numpy())



@contextlib.contextmanager
def _before_a_guard_page(values):
    """A copy of ``values`` whose last byte is the last of a page followed by a page that
    may not be read: a kernel reading past the array's end crashes the test."""
    page = mmap.PAGESIZE
    pages = -(-values.nbytes // page) + 1
    region = mmap.mmap(-1, pages * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    end = (pages - 1) * page
    x = np.frombuffer(region, np.uint8)[end - values.nbytes:end].view(values.dtype)
    x = x.reshape(values.shape)
    x[...] = values
    guard = ctypes.c_void_p(x.ctypes.data + values.nbytes)
    libc = ctypes.CDLL(None)
    assert libc.mprotect(guard, page, 0) == 0  # PROT_NONE
    try:
        yield x
    finally:  # (the region is unmapped with the last array on it)
        libc.mprotect(guard, page, mmap.PROT_READ | mmap.PROT_WRITE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16, np.int64])
@pytest.mark.parametrize(("shape", "kernel"), [
    ((2, 3, 23, 29), (5, 5)), ((1, 2, 9, 7), (2, 7)), ((1, 1, 40, 1500), (4, 6)),
    ((3, 2, 12, 57), (7, 4)), ((1, 2, 29, 40), (5, 7)), ((2, 1, 28, 64), (4, 8))])
def test_unpadded_stride_one_sums_read_the_input_in_place(shape, kernel, dtype, rng):
    """Stride 1, no padding, no dilation: the kernel adds the input rows where they are (no
    phase copy), by stacks of rows (float32, `numba_stacks`: the last two shapes end their
    last stack's reads in the plane's last row), blocks and vectors while their reads stay
    inside the plane, then one output at a time; the input's last plane ends where a page
    that may not be read begins."""
    if dtype == np.float32:
        values = _floats(rng, shape)
        expected = _row_major_sums(values, kernel, (1, 1), (0, 0), (1, 1))
    elif dtype == np.float64:
        values = _floats(rng, shape).astype(dtype)
        expected = tF.avg_pool2d(torch.from_numpy(values), kernel, 1, divisor_override=1)
        expected = expected.numpy()
    else:  # integer sums are exact, in (u)int64 as NumPy's
        values = rng.integers(0, 200, shape).astype(dtype)
        expected = tF.avg_pool2d(torch.from_numpy(values.astype(np.float64)), kernel, 1,
                                 divisor_override=1).numpy()
        expected = expected.astype(np.uint64 if values.dtype.kind == "u" else np.int64)
    with _before_a_guard_page(values) as x:
        assert_identical(poolnd.sum_pool(x, kernel, 1, 0), expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_unpadded_stride_one_averages_are_torch_bits(threads, rng, kernel_threads):
    kernel_threads(threads)
    for shape, kernel in [((2, 3, 23, 29), (5, 5)), ((4, 16, 12, 57), (4, 4)),
                          ((1, 2, 40, 1500), (3, 7))]:
        x = _floats(rng, shape)
        win = make_window("avg_pool2d", x.shape[2:], kernel, (1, 1), (0, 0), (1, 1), False)
        assert _row_kernel("sum", win).name == "sum_phases"
        assert_identical(F.avg_pool2d(x, kernel, 1),
                         tF.avg_pool2d(torch.from_numpy(x), kernel, 1).numpy())
    x1, x3 = _floats(rng, (3, 4, 301)), _floats(rng, (2, 3, 9, 11, 13))
    assert_identical(F.avg_pool1d(x1, 6, 1), tF.avg_pool1d(torch.from_numpy(x1), 6, 1).numpy())
    assert_identical(F.avg_pool3d(x3, (2, 4, 5), 1),
                     tF.avg_pool3d(torch.from_numpy(x3), (2, 4, 5), 1).numpy())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_kernel_rows_added_as_runs_are_torch_bits(stride, threads, rng, kernel_threads):
    """Float32 windows at column stride 1 or 2, 2 to 8 wide, add each kernel row from
    vectors shifted in registers (`numba_runs`; 9 wide and more cell by cell): with and
    without padding, in place and on phase planes, over bands of several blocks and the
    blocks at a band's end that the runs leave to `ADD_BLOCK`."""
    kernel_threads(threads)
    for shape in [(2, 3, 23, 57), (1, 2, 9, 301)]:
        x = _floats(rng, shape)
        for kw in range(max(2, stride[1]), 10):
            for pad in sorted({0, kw // 2}):
                kernel, padding = (3, kw), (1, pad)
                win = make_window("avg_pool2d", x.shape[2:], kernel, stride, padding, (1, 1),
                                  False)
                if _row_kernel("sum", win).name != "sum_phases":
                    continue
                assert_identical(F.avg_pool2d(x, kernel, stride, padding),
                                 tF.avg_pool2d(torch.from_numpy(x), kernel, stride,
                                               padding).numpy())


@pytest.mark.parametrize("threads", [1, 2])
def test_stacks_of_rows_are_torch_bits(threads, rng, kernel_threads):
    """Float32 windows 2 to 7 rows tall at stride 1 (one plane deep) sum a band's rows eight
    at a time (`numba_stacks`), the rest as before: windows 8 rows tall, rows of fewer than
    32 columns, bands or chunks with fewer than eight rows left; padded (phase planes) and
    not (in place), with the last stack of columns overlapping the one before."""
    kernel_threads(threads)
    for shape in [(2, 3, 30, 57), (1, 2, 45, 118), (1, 1, 20, 31)]:
        x = _floats(rng, shape)
        t = torch.from_numpy(x)
        for kh, kw in [(2, 2), (3, 5), (4, 4), (5, 7), (6, 3), (7, 7), (7, 8), (8, 5), (5, 9)]:
            for padding in sorted({(0, 0), (kh // 2, kw // 2), (0, kw // 2)}):
                assert_identical(F.avg_pool2d(x, (kh, kw), 1, padding),
                                 tF.avg_pool2d(t, (kh, kw), 1, padding).numpy())
    x3 = _floats(rng, (1, 2, 3, 30, 40))
    assert_identical(F.avg_pool3d(x3, (1, 5, 6), 1, (0, 2, 3)),
                     tF.avg_pool3d(torch.from_numpy(x3), (1, 5, 6), 1, (0, 2, 3)).numpy())
