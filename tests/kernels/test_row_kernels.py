"""Every form of the compiled row kernels against torch 2.13 CPU.

Max pooling runs one of four row kernels, picked by the column stride, kernel and row width
(`poolnd._kernels.sliding._row_kernel`): in place at stride 1, overlapping triples for
undilated windows 3 wide at stride 2, split by phase on other rows at least
`SPLIT_MIN_WIDTH` wide, strided reads on narrower rows. Sums take the 3x3 forms or the
phase-plane kernel (`numba_phases`). Each form is run serially and in parallel chunks, on
data with ties, signed zeros and NaN (the max kernels' per-chunk check recomputes those
outputs in PyTorch's scan order), and compared with torch bit for bit (max values and
indices) or within float rounding (averages).
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
from poolnd._kernels.sliding import _row_kernel
from poolnd._threads import SPLIT_MIN_WIDTH

F = poolnd.functional

# (width, kernel, stride, padding, dilation): the kernel form each one must take
FORMS = [
    ("max_rows", 40, 3, 1, 1, 1),
    ("max_rows", 40, 2, 1, 0, 2),
    ("max_rows_triples", 45, 3, 2, 1, 1),
    ("max_rows_triples", 3, 3, 2, 1, 1),
    ("max_rows_triples", SPLIT_MIN_WIDTH + 5, 3, 2, 0, 1),
    ("max_rows_strided", 44, 2, 2, 1, 1),
    ("max_rows_strided", 45, 2, 3, 1, 2),
    ("max_rows_strided", 45, 4, 2, 2, 1),
    ("max_rows_strided", 45, 3, 2, 1, 2),
    ("max_rows_split", SPLIT_MIN_WIDTH, 3, 3, 1, 1),
    ("max_rows_split", SPLIT_MIN_WIDTH + 7, 4, 3, 2, 1),
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
    assert _row_kernel("max", win).name == form
    _assert_max_matches_torch(F.max_pool2d, tF.max_pool2d, x, (2, k), (1, s), (1, p), (1, d))


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
    assert _row_kernel("sum", win).name == "sum_phases"
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


# 3x3 windows (depth 1) at column stride 1 or 2: sums take the ``_3x3`` forms, max the
# row forms (compared here on the same corners): (spatial shape, stride, padding,
# ceil_mode); widths 1 and 3 have no interior column, height 2 no full window row
FORMS_3X3 = [
    ((9, 40), (1, 1), (1, 1), False),
    ((9, 45), (2, 2), (1, 1), False),
    ((9, 45), (2, 2), (1, 1), True),
    ((9, 44), (1, 2), (0, 1), True),
    ((2, 3), (2, 1), (1, 0), False),
    ((9, 1), (1, 1), (1, 1), False),
    ((9, SPLIT_MIN_WIDTH + 3), (3, 2), (1, 1), False),
    ((9, SPLIT_MIN_WIDTH + 3), (2, 1), (1, 0), True),
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
    assert _row_kernel("max", win).name == "max_rows" + ("_triples" if stride[-1] == 2 else "")
    op, top = (F.max_pool2d, tF.max_pool2d) if nd == 2 else (F.max_pool3d, tF.max_pool3d)
    _assert_max_matches_torch(op, top, x, **kw)


def _general_form(kind, win, *_):
    """`_row_kernel` without the 3x3 and triples forms: the per-row max kernels and the
    phase-plane sums."""
    if kind == "sum":
        return K._phase_kernels().SUM_PHASES
    rows = poolnd._kernels.sliding.numba_rows
    return rows.MAX_ROWS_STRIDED if win.stride[-1] > 1 else rows.MAX_ROWS


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
    assert _row_kernel("sum", win, floating).name == (
        "sum_rows_3x3_s2" if stride[-1] == 2 else "sum_rows_3x3" if floating else "sum_phases")
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
    x = _sum_input(rng, (3, 16, 8, 37), np.float32)
    win = make_window("avg_pool", x.shape[2:], (3, 3), stride,
                      Padding("pairs", padding), (1, 1), True)
    assert _row_kernel("sum", win).name.startswith("sum_rows_3x3")
    for include_pad in (True, False):
        got = F.avg_pool2d(x, 3, stride, padding, True, include_pad)
        with monkeypatch.context() as m:
            m.setattr(K, "_row_kernel", _general_form)
            assert_identical(F.avg_pool2d(x, 3, stride, padding, True, include_pad), got)
