"""Every form of the compiled row kernels against torch 2.13 CPU.

Max pooling runs one row kernel (`max_rows`), whose column reads depend on the column
stride and kernel: in place at stride 1 (windows 5 wide or more by threes of columns
first), triples for undilated windows 3 wide at stride 2
(overlapping) or 3, pairs for 2 wide at stride 2, by phase otherwise (strides 2 and 3
dealt by name, others in general); its rows and columns are folded in passes of up to
three rows or columns at a time, so the window height and width each pick a sequence of
passes. Where its padded row would be
more than twice the input row (`_padded_row_fits`), the argmax kernel gives the values.
Sums take the 3x3 kernel, the strided kernel (undilated columns at stride 2 or 3, where
`_strided_sums` says) or the phase-plane kernel (`numba_phases`). Each is run serially
and in parallel chunks, on data with ties, signed zeros and NaN (the max kernel's
per-chunk check recomputes those outputs in PyTorch's scan order), and compared with
torch bit for bit (max values and indices) or within float rounding (averages).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_identical, to_torch

import poolnd

# private units tested directly: the window record the kernels take, and the choice of row
# kernel (called, and replaced to force the general form)
import poolnd._kernels.sliding as K
import poolnd._kernels.sliding.numba_rows
from poolnd._args import Padding, make_window
from poolnd._kernels.sliding import (
    _padded_row_fits,
    _phases_over_3x3,
    _row_kernel,
    _strided_sums,
)

F = poolnd.functional

# (column read, width, kernel, stride, padding, dilation): each column read of `max_rows`
# (kernel widths 1 to 7 fold their columns in one to three passes; at stride 1, windows 5
# wide or more fold threes of columns first, then ceil(k / 3) of those, the last
# overlapping the one before where 3 does not divide k)
FORMS = [
    ("in-place", 40, 3, 1, 1, 1),
    ("in-place", 40, 2, 1, 0, 2),
    ("in-place", 9, 1, 1, 0, 1),
    ("threes", 41, 7, 1, 3, 1),
    ("threes", 40, 5, 1, 2, 1),
    ("threes", 40, 6, 1, 0, 2),
    ("threes", 45, 9, 1, 4, 1),
    ("threes", 50, 11, 1, 5, 1),
    ("threes", 12, 8, 1, 4, 1),
    ("triples", 45, 3, 2, 1, 1),
    ("triples", 3, 3, 2, 1, 1),
    ("triples", 517, 3, 2, 0, 1),
    ("pairs", 44, 2, 2, 1, 1),
    ("pairs", 7, 2, 2, 1, 1),
    ("phase-2", 45, 4, 2, 2, 1),
    ("phase-2", 45, 3, 2, 1, 2),
    ("phase-2", 46, 6, 2, 3, 1),
    ("phase-3", 45, 2, 3, 1, 2),
    ("triples-3", 512, 3, 3, 1, 1),
    ("triples-3", 4, 3, 3, 1, 1),
    ("phase-3", 47, 3, 3, 1, 2),
    ("phase-3", 519, 4, 3, 2, 1),
    ("phase-3", 47, 5, 3, 2, 1),
    ("phase-n", 45, 5, 4, 2, 1),
    ("phase-n", 43, 7, 5, 3, 2),
]


def _assert_max_matches_torch(op, top, x, *args, **kwargs):
    """poolnd's values (with and without indices) and indices are torch's, bit for bit
    (integers through float64, which holds them exactly)."""
    values = op(x, *args, **kwargs)
    values_i, indices = op(x, *args, **kwargs, return_indices=True)
    t = to_torch(x if x.dtype.kind == "f" else x.astype(np.float64))
    tv, ti = top(t, *args, **kwargs, return_indices=True)
    expected = tv.numpy().astype(x.dtype)
    assert_identical(values, expected)
    assert_identical(values_i, expected)
    assert_identical(indices, ti.numpy())


def _input(rng, width, dtype):
    x = rng.integers(-3, 4, size=(4, 16, 9, width)).astype(dtype)  # many ties; parallel
    if x.dtype.kind == "f":
        x[rng.random(x.shape) < 0.2] = -0.0
        x[rng.random(x.shape) < 0.01] = np.nan
    return x


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize(("form", "width", "k", "s", "p", "d"), FORMS,
                         ids=[f"{f[0]}-w{f[1]}-k{f[2]}s{f[3]}" for f in FORMS])
def test_max_row_kernels_match_torch(form, width, k, s, p, d, dtype, threads, rng,
                                     kernel_threads):
    kernel_threads(threads)
    x = _input(rng, width, dtype)
    win = make_window("max_pool2d", x.shape[-2:], (2, k), (1, s), (1, p),
                      (1, d), False)
    assert _row_kernel("max", win).name == "max_rows" and _padded_row_fits(win)
    _assert_max_matches_torch(F.max_pool2d, tF.max_pool2d, x, (2, k), (1, s), (1, p), (1, d))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.int16])
@pytest.mark.parametrize(("kernel", "stride"), [
    ((1, 3), (1, 1)), ((2, 3), (1, 2)), ((3, 3), (1, 1)), ((3, 5), (2, 3)), ((4, 1), (1, 1)),
    ((5, 3), (1, 2)), ((5, 4), (2, 4)), ((6, 3), (3, 1)), ((2, 2, 3), (1, 1, 2)),
    ((3, 4, 2), (2, 1, 1))])
def test_max_rows_folds_every_window_height(kernel, stride, dtype, threads, rng,
                                            kernel_threads):
    """A window's input rows (depth by height) are folded into the padded row three (row
    stride 1) or two in the first pass and two a pass after it: one row is copied, two are
    a pair, three a triple or a pair and a single, more take further pairs and a last
    single; every sequence against torch."""
    kernel_threads(threads)
    x = _input(rng, 23, dtype)
    padding = tuple(k // 2 for k in kernel)
    if len(kernel) == 3:
        x = np.stack([x[:, :, :, :17]] * 4, axis=2) * rng.integers(
            1, 3, size=(1, 1, 4, 1, 1)).astype(dtype)
        op, top = F.max_pool3d, tF.max_pool3d
    else:
        op, top = F.max_pool2d, tF.max_pool2d
    win = make_window("max_pool", x.shape[2:], kernel, stride,
                      padding, (1,) * len(kernel), False)
    assert _row_kernel("max", win).name == "max_rows" and _padded_row_fits(win)
    _assert_max_matches_torch(op, top, x, kernel, stride, padding)


@pytest.mark.parametrize("threads", [1, 2])
def test_max_of_a_padded_row_past_twice_the_input_comes_from_the_argmax_kernel(
    threads, rng, kernel_threads
):
    """A dilation and padding far wider than the input row would make `max_rows`' padded
    row hundreds of cells for five: the argmax kernel (buffers of one input row) gives the
    values, which are the windows' maxima over the cells inside the input."""
    kernel_threads(threads)
    x = rng.integers(-50, 50, size=(2, 3, 4, 5)).astype(np.float32)
    kernel, dilation, pad = (1, 3), (1, 200), ((0, 0), (300, 300))
    win = make_window("max_pool", x.shape[2:], kernel, (1, 1), Padding("pairs", pad),
                      dilation, False)
    assert not _padded_row_fits(win)
    got = poolnd.max_pool(x, kernel, 1, pad, dilation=dilation)
    padded = np.pad(x, ((0, 0), (0, 0), (0, 0), (300, 300)), constant_values=-np.inf)
    cols = np.arange(got.shape[-1])[:, None] + 200 * np.arange(3)
    assert_identical(got, padded[..., cols].max(axis=-1))
    assert np.isfinite(got).sum() > 0 and np.isneginf(got).sum() > 0


def test_windows_of_more_rows_than_the_argmax_codes_hold_take_the_numpy_passes(
    rng, monkeypatch
):
    """`argmax_rows` codes a cell as (window row << 16 | column) in an int32: windows of
    ARGMAX_MAX_ROWS input rows or more take the NumPy passes, with torch's values and
    indices; one row fewer runs the kernel."""
    x = rng.integers(-5, 6, size=(1, 2, 8, 6, 7)).astype(np.float32)
    calls = []
    real = K.launch
    monkeypatch.setattr(K, "launch", lambda form, *a, **k: calls.append(form) or real(
        form, *a, **k))
    rows = poolnd._kernels.sliding.numba_rows
    for limit, kernel_runs in ((8 * 5 + 1, True), (8 * 5, False)):
        calls.clear()
        monkeypatch.setattr(rows, "ARGMAX_MAX_ROWS", limit)
        got = F.max_pool3d(x, (8, 5, 3), 1, (0, 0, 1), return_indices=True)
        want = tF.max_pool3d(to_torch(x), (8, 5, 3), 1, (0, 0, 1), return_indices=True)
        assert_identical(got[0], want[0].numpy())
        assert_identical(got[1], want[1].numpy())
        assert (rows.ARGMAX_ROWS in calls) == kernel_runs


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize(("form", "width", "k", "s", "p", "d"),
                         [f for f in FORMS if f[5] == 1],
                         ids=[f"{f[0]}-w{f[1]}-k{f[2]}s{f[3]}" for f in FORMS if f[5] == 1])
def test_sum_row_kernels_match_torch(form, width, k, s, p, d, dtype, threads, rng,
                                     kernel_threads):
    kernel_threads(threads)
    x = _input(rng, width, dtype)
    x = np.nan_to_num(x) if x.dtype.kind == "f" else x
    win = make_window("avg_pool2d", x.shape[-2:], (2, k), (1, s), (1, p),
                      (1, 1), False)
    strided = x.dtype.kind == "f" and _strided_sums(win)
    assert _row_kernel("sum", win, x.dtype.kind == "f").name == (
        "sum_strided" if strided else "sum_phases")
    t = torch.from_numpy(x.astype(np.float64))
    for include_pad in (True, False):
        got = F.avg_pool2d(x, (2, k), (1, s), (1, p), False, include_pad)
        ref = tF.avg_pool2d(t, (2, k), (1, s), (1, p), False, include_pad).numpy()
        assert got.dtype == x.dtype
        if x.dtype.kind == "f":
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
        else:  # integer averages truncate toward zero (exact here: small sums)
            assert_identical(got, np.trunc(ref).astype(x.dtype))
    sums = poolnd.sum_pool(x, (2, k), (1, s), (1, p))
    ref = tF.avg_pool2d(t, (2, k), (1, s), (1, p), divisor_override=1).numpy()
    np.testing.assert_allclose(sums, ref, rtol=1e-6, atol=1e-5)


# 3x3 windows (depth 1) at column stride 1 or 2: sums take the ``_3x3`` forms (at stride 2
# on rows of 18 to 48 float32 sums, the phase planes: below), max the row forms (compared
# here on the same corners): (spatial shape, stride, padding, ceil_mode); widths 1 and 3
# have no interior column, height 2 no full window row
FORMS_3X3 = [
    ((9, 40), (1, 1), (1, 1), False),
    ((9, 31), (2, 2), (1, 1), False),
    ((9, 29), (2, 2), (1, 1), True),
    ((9, 28), (1, 2), (0, 1), True),
    ((2, 3), (2, 1), (1, 0), False),
    ((9, 1), (1, 1), (1, 1), False),
    ((9, 515), (3, 2), (1, 1), False),
    ((9, 515), (2, 1), (1, 0), True),
    ((3, 9, 30), (1, 2, 1), (0, 1, 1), False),
]
IDS_3X3 = ["x".join(map(str, f[0])) + f"-s{f[1]}-p{f[2]}{'-ceil' if f[3] else ''}"
           for f in FORMS_3X3]


def _sum_input(rng, shape, dtype):
    """Sums whose bits depend on the order of the cells: real-valued floats (with -0.0 and
    an occasional inf), or integers up to 10**6."""
    if np.dtype(dtype).kind != "f":
        return rng.integers(-10**6, 10**6, size=shape).astype(dtype)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    x[rng.random(shape) < 0.1] = -0.0
    x[rng.random(shape) < 0.002] = np.inf
    return x


def _pool_3x3(spatial, stride, padding, ceil_mode):
    kernel = (1,) * (len(spatial) - 2) + (3, 3)
    return kernel, dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize(("spatial", "stride", "padding", "ceil_mode"), FORMS_3X3, ids=IDS_3X3)
def test_max_3x3_kernels_match_torch(spatial, stride, padding, ceil_mode, dtype, threads, rng,
                                     kernel_threads):
    kernel_threads(threads)
    nd = len(spatial)
    kernel, kw = _pool_3x3(spatial, stride, padding, ceil_mode)
    x = _input(rng, spatial[-1], dtype)[:, :, : spatial[-2]]
    if nd == 3:
        x = np.stack([x] * spatial[0], axis=2) * rng.integers(1, 3, size=(1, 1, spatial[0], 1, 1)
                                                             ).astype(dtype)
    win = make_window("max_pool", x.shape[2:], kernel, stride, padding,
                      (1,) * nd, ceil_mode)
    assert _row_kernel("max", win).name == "max_rows"
    op, top = (F.max_pool2d, tF.max_pool2d) if nd == 2 else (F.max_pool3d, tF.max_pool3d)
    _assert_max_matches_torch(op, top, x, **kw)


def _general_form(kind, win, *_):
    """`_row_kernel` without the 3x3 forms: the max kernel and the phase-plane sums."""
    if kind == "sum":
        return K._phase_kernels().SUM_PHASES
    return poolnd._kernels.sliding.numba_rows.MAX_ROWS


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize(("spatial", "stride", "padding", "ceil_mode"), FORMS_3X3, ids=IDS_3X3)
def test_sum_3x3_kernels_match_torch_and_the_general_form(
    spatial, stride, padding, ceil_mode, dtype, threads, rng, kernel_threads, monkeypatch
):
    kernel_threads(threads)
    nd = len(spatial)
    kernel, kw = _pool_3x3(spatial, stride, padding, ceil_mode)
    x = _sum_input(rng, (4, 16, *spatial), dtype)
    win = make_window("avg_pool", x.shape[2:], kernel, stride, padding,
                      (1,) * nd, ceil_mode)
    floating = x.dtype.kind == "f"
    assert _row_kernel("sum", win, floating, x.dtype == np.float32).name == (
        "sum_rows_3x3" if stride[-1] == 2 or floating else "sum_phases")
    op, top = (F.avg_pool2d, tF.avg_pool2d) if nd == 2 else (F.avg_pool3d, tF.avg_pool3d)
    t = torch.from_numpy(x.astype(np.float64))
    for include_pad in (True, False):
        got = op(x, **kw, count_include_pad=include_pad)
        ref = top(t, **kw, count_include_pad=include_pad).numpy()
        if x.dtype.kind == "f":
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        else:
            assert_identical(got, np.trunc(ref).astype(x.dtype))
        # the same cells in the same order as the phase-plane kernel: the same bits
        with monkeypatch.context() as m:
            m.setattr(K, "_row_kernel", _general_form)
            assert_identical(op(x, **kw, count_include_pad=include_pad), got)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 1)])
@pytest.mark.parametrize("padding", [((2, 0), (2, 4)), ((0, 3), (0, 2)), ((1, 1), (2, 0))])
def test_sum_3x3_kernels_with_padding_pairs_equal_the_general_form(
    padding, stride, threads, rng, kernel_threads, monkeypatch
):
    kernel_threads(threads)
    x = _sum_input(rng, (3, 16, 8, 27), np.float32)  # (at stride 2, under 18 outputs a row)
    win = make_window("avg_pool", x.shape[2:], (3, 3), stride,
                      Padding("pairs", padding), (1, 1), True)
    assert _row_kernel("sum", win, True, True).name == "sum_rows_3x3"
    for include_pad in (True, False):
        got = F.avg_pool2d(x, 3, stride, padding, True, include_pad)
        with monkeypatch.context() as m:
            m.setattr(K, "_row_kernel", _general_form)
            assert_identical(F.avg_pool2d(x, 3, stride, padding, True, include_pad), got)


def _rows_3x3_form(kind, win, *_):
    """`_row_kernel` forcing the 3x3 sums (whatever `_phases_over_3x3` would choose)."""
    assert kind == "sum"
    return poolnd._kernels.sliding.numba_rows.SUM_ROWS_3X3


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [33, 35, 57, 95, 97])
def test_float32_3x3_sums_on_rows_of_18_to_48_take_the_phase_planes_with_the_same_bits(
    width, dtype, threads, rng, kernel_threads, monkeypatch
):
    """3x3 windows at stride 2 with padding 1: rows of 17, 18, 29, 48 and 49 outputs. Float32
    sums on rows of 18 to 48 take the phase planes, the others the 3x3 kernel; either gives
    the other's bits (PyTorch's order) and torch's values."""
    kernel_threads(threads)
    x = _sum_input(rng, (2, 8, 7, width), dtype)
    win = make_window("avg_pool", x.shape[2:], (3, 3), (2, 2), (1, 1), (1, 1), False)
    routed = dtype == np.float32 and 18 <= win.out_shape[-1] <= 48
    assert _phases_over_3x3(win) == (18 <= win.out_shape[-1] <= 48)
    assert _row_kernel("sum", win, True, dtype == np.float32).name == (
        "sum_phases" if routed else "sum_rows_3x3")
    t = torch.from_numpy(x.astype(np.float64))
    for include_pad in (True, False):
        got = F.avg_pool2d(x, 3, 2, 1, False, include_pad)
        ref = tF.avg_pool2d(t, 3, 2, 1, False, include_pad).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        with monkeypatch.context() as m:
            m.setattr(K, "_row_kernel", _rows_3x3_form if routed else _general_form)
            assert_identical(F.avg_pool2d(x, 3, 2, 1, False, include_pad), got)


def _strided_form(kind, win, *_):
    """`_row_kernel` forcing the strided sums (whatever `_strided_sums` would choose)."""
    assert kind == "sum"
    return poolnd._kernels.sliding.numba_rows.SUM_STRIDED


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strided_sums_equal_the_phase_planes_and_torch_on_every_corner(
    dtype, threads, rng, kernel_threads, monkeypatch
):
    """Windows 2 to 7 wide at column strides 2 and 3, on rows narrower than a window to
    wider than a vector, with padding on either side (pairs), ceil mode, 1d to 3d, counts
    with and without padding and a divisor override: the strided kernel (forced) gives the
    phase-plane kernel's bits (PyTorch's order) and torch's values within rounding (where
    torch takes the padding)."""
    kernel_threads(threads)
    cases = 0
    for kw in range(2, 8):
        for sw in (2, 3):
            for width in (1, kw - 1, kw + 1, 23, 61):
                if width < 1:
                    continue
                for pads, ceil in (((0, 0), False), ((kw // 2, kw // 2), True),
                                   ((kw - 1, 0), False), ((1, kw - 1), True)):
                    spatial = [(width,), (5, width), (3, 4, width)][cases % 3]
                    nd = len(spatial)
                    x = _sum_input(rng, (2, 3, *spatial), dtype)
                    kernel = (2, 3, kw)[3 - nd:]
                    stride = (1, 2, sw)[3 - nd:]
                    padding = ((1, 1), (1, 1), pads)[3 - nd:]
                    if x.shape[-1] + sum(pads) < kw:
                        continue  # no window fits the padded row
                    cases += 1
                    for include_pad, override in ((True, None), (False, None), (True, 5)):
                        def run(x=x, kernel=kernel, stride=stride, padding=padding,
                                ceil=ceil, include_pad=include_pad, override=override):
                            return poolnd.avg_pool(x, kernel, stride, padding, ceil_mode=ceil,
                                                   count_include_pad=include_pad,
                                                   divisor_override=override)
                        with monkeypatch.context() as m:
                            m.setattr(K, "_row_kernel", _strided_form)
                            got = run()
                        with monkeypatch.context() as m:
                            m.setattr(K, "_row_kernel", _general_form)
                            assert_identical(got, run())
                        if pads[0] == pads[1] and pads[0] <= kw // 2 and width >= kw:
                            top = (tF.avg_pool1d, tF.avg_pool2d, tF.avg_pool3d)[nd - 1]
                            ref = top(torch.from_numpy(x.astype(np.float64)), kernel, stride,
                                      (1, 1, pads[0])[3 - nd:], ceil, include_pad,
                                      *(() if nd == 1 else (override,))).numpy()
                            if nd > 1 or override is None:
                                np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert cases > 200


def test_strided_sums_take_the_strides_and_widths_they_were_measured_faster_on():
    """`_strided_sums`: undilated stride-3 windows up to 3 wide, 4 wide without column
    padding on output rows of 32 or more, and 2-wide windows at stride 2; not wider ones
    (the phase planes, with their shuffled stride-3 deal, were faster there), not wider
    ones at stride 2, dilated ones or windows narrower than the stride; integer sums keep
    the phase planes."""
    def win(width, k, s, d=1, pad=0):
        return make_window("avg_pool2d", (4, width), (2, k), (1, s), (0, pad), (1, d), False)

    assert [_strided_sums(win(57, k, 3)) for k in (2, 3, 4, 5, 6, 7)] == \
        [False, True, False, False, False, False]  # rows of 17 to 19 outputs
    assert [_strided_sums(win(57, k, 3, pad=k // 2)) for k in (3, 4, 5)] == \
        [True, False, False]
    assert [_strided_sums(win(112, k, 3)) for k in (3, 4, 5, 6, 7)] == \
        [True, True, False, False, False]  # 36 to 37 outputs
    assert [_strided_sums(win(112, k, 3, pad=k // 2)) for k in (3, 4, 5, 6, 7)] == \
        [True, False, False, False, False]
    assert [_strided_sums(win(57, k, 2)) for k in (2, 3, 4, 5)] == [True, False, False, False]
    assert not _strided_sums(win(57, 3, 3, d=2))
    assert _row_kernel("sum", win(112, 4, 3), True).name == "sum_strided"
    assert _row_kernel("sum", win(112, 4, 3), False).name == "sum_phases"
    assert _row_kernel("sum", win(57, 4, 3), True).name == "sum_phases"


# `max_plane_3x3`: 3x3 windows at stride 1 with padding 1 take whole planes a loop. Heights
# and widths from the least it takes (3) up, odd and even, one row wide enough for several
# vector bodies; the row ends, the first and last rows and `_fix_ties` (signed zeros, NaN of
# different payloads, -inf beside padding) are where it could differ from `max_rows`.
PLANES_3X3 = [(3, 3), (3, 4), (4, 3), (5, 7), (9, 40), (17, 3), (3, 67), (56, 56)]


def _plane_input(rng, shape, dtype):
    x = rng.integers(-3, 4, size=(3, 5, *shape)).astype(dtype)  # many ties
    if x.dtype.kind == "f":
        x[rng.random(x.shape) < 0.2] = -0.0
        x[rng.random(x.shape) < 0.05] = -np.inf
        nan = rng.random(x.shape) < 0.03
        payloads = (0x7FC00000 | rng.integers(1, 1 << 20, size=nan.sum())).astype(np.uint32)
        x[nan] = payloads.view(np.float32).astype(x.dtype)  # NaN whose payloads differ
    return x


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int32, np.int16])
@pytest.mark.parametrize("shape", PLANES_3X3, ids=["x".join(map(str, s)) for s in PLANES_3X3])
def test_max_plane_3x3_matches_torch_and_the_row_kernel(shape, dtype, threads, rng,
                                                       kernel_threads, monkeypatch):
    kernel_threads(threads)
    x = _plane_input(rng, shape, dtype)
    win = make_window("max_pool2d", shape, (3, 3), (1, 1), Padding("pairs", ((1, 1), (1, 1))),
                      (1, 1), False)
    assert K._plane_3x3(win)
    launched = []
    real = K.launch
    monkeypatch.setattr(K, "launch", lambda form, *a, **k: launched.append(form.name)
                        or real(form, *a, **k))
    got = F.max_pool2d(x, 3, 1, 1)
    assert launched == ["max_plane_3x3"] or dtype == np.int16  # int16: its partner's kernel
    t = to_torch(x if x.dtype.kind == "f" else x.astype(np.float64))
    assert_identical(got, tF.max_pool2d(t, 3, 1, 1).numpy().astype(x.dtype))
    monkeypatch.setattr(K, "_plane_3x3", lambda win: False)  # the row kernel, bit for bit
    assert np.ascontiguousarray(F.max_pool2d(x, 3, 1, 1)).tobytes() == \
        np.ascontiguousarray(got).tobytes()


@pytest.mark.parametrize(("spatial", "kernel", "stride", "padding", "dilation", "ceil"), [
    ((2, 9), 3, 1, 1, 1, False),  # a plane under 3 rows
    ((9, 2), 3, 1, 1, 1, False),
    ((9, 9), 3, 1, 0, 1, False),  # no padding
    ((9, 9), 3, 2, 1, 1, False),
    ((9, 9), 3, 1, 1, 2, False),
    ((9, 9), (3, 2), 1, 1, 1, False),
    ((9, 9), 3, 1, (1, 0), 1, False),
])
def test_other_windows_keep_the_row_kernel(spatial, kernel, stride, padding, dilation, ceil):
    def pairs(v):
        v = (v, v) if isinstance(v, int) else v
        return Padding("pairs", tuple((p, p) for p in v))

    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    win = make_window("max_pool2d", spatial, k, (stride, stride), pairs(padding),
                      (dilation, dilation), ceil)
    assert not K._plane_3x3(win)
