"""Max pooling of int8, int16, uint32 and uint64 runs the compiled kernels of their
sign-flipped partners (uint8, uint16, int32, int64): values and indices are the ones a
brute-force scan gives, every kernel form included (row max, argmax, tiles, the 2-wide
tiles, channels-last 3d, windows reading only padding), and none of those four dtypes gets
a max kernel of its own. Average and sum pooling of int8 run the int16 kernels, of int32
and uint32 the int64 ones (widened): the exact integers, and no sum kernel of their own."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import poolnd
from poolnd._kernels.launch import kernels

F = poolnd.functional
PARTNERS = {np.int8: np.uint8, np.int16: np.uint16, np.uint32: np.int32, np.uint64: np.int64}


def _brute_max2d(x, k, s, p, sign=1):
    """First maximum of each window (row-major scan; of ``sign * x``: -1 gives the first
    minimum), in-bounds cells only. Python integers: exact for every dtype."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    values = np.zeros((n, c, oh, ow), dtype=x.dtype)
    indices = np.empty(values.shape, dtype=np.int64)
    for b, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        best = None
        for a, e in itertools.product(range(k), range(k)):
            r, q = i * s - p + a, j * s - p + e
            if 0 <= r < h and 0 <= q < w and (best is None or sign * int(x[b, ch, r, q]) > best):
                best, indices[b, ch, i, j] = sign * int(x[b, ch, r, q]), r * w + q
        values[b, ch, i, j] = sign * best
    return values, indices


def _extreme(dtype, shape, seed):
    """Random cells of the whole range, with runs of the dtype's minimum and maximum (ties,
    and the values the sign flip maps to either end)."""
    info = np.iinfo(dtype)
    x = np.random.default_rng(seed).integers(info.min, info.max, size=shape, dtype=dtype,
                                             endpoint=True)
    x[..., :3, :3] = info.max
    x[..., -4:, -4:] = info.min
    x[..., 5, :] = 0
    return x


@pytest.mark.parametrize("dtype", list(PARTNERS))
@pytest.mark.parametrize("k, s, p", [(3, 2, 1), (3, 1, 1), (2, 2, 0), (3, 3, 0), (4, 3, 2)])
def test_max_of_a_sign_flipped_dtype_is_the_brute_force_scan(dtype, k, s, p):
    x = _extreme(dtype, (2, 3, 13, 11), seed=k * 10 + s)
    want_v, want_i = _brute_max2d(x, k, s, p)
    v, i = F.max_pool2d(x, k, s, p, return_indices=True)
    assert v.dtype == dtype and i.dtype == np.int64
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(i, want_i)
    np.testing.assert_array_equal(F.max_pool2d(x, k, s, p), want_v)
    # min pooling flips the input first (~x), then takes the partner's max
    lo, lo_i = poolnd.min_pool(x, (k, k), (s, s), padding=p, return_indices=True)
    want_v, want_i = _brute_max2d(x, k, s, p, sign=-1)
    np.testing.assert_array_equal(lo, want_v)
    np.testing.assert_array_equal(lo_i, want_i)


@pytest.mark.parametrize("dtype", list(PARTNERS))
def test_channels_last_3d_through_the_partner(dtype):
    x = _extreme(dtype, (2, 5, 7, 9, 4), seed=3)  # (N, D, H, W, C): the depth fold
    args = dict(kernel_size=(2, 3, 3, 1), stride=(2, 2, 2, 1), padding=(0, 1, 1, 0))
    v, i = poolnd.max_pool(x, return_indices=True, **args)
    first = F.max_pool3d(np.ascontiguousarray(np.moveaxis(x, -1, 1)), (2, 3, 3), (2, 2, 2),
                         (0, 1, 1))  # channels first: the row kernel
    np.testing.assert_array_equal(np.moveaxis(v, -1, 1), first)
    if dtype != np.uint64:  # every value of the others is exact in float64
        wv, wi = poolnd.max_pool(x.astype(np.float64), return_indices=True, **args)
        np.testing.assert_array_equal(v.astype(np.float64), wv)
        np.testing.assert_array_equal(i, wi)


def test_no_sign_flipped_dtype_compiles_a_max_kernel_of_its_own():
    for dtype in PARTNERS:
        x = _extreme(dtype, (2, 3, 13, 12), seed=1)
        F.max_pool2d(x, 3, 2, 1)
        F.max_pool2d(x, 3, 2, 1, return_indices=True)
        F.max_pool2d(x, 2, 2, return_indices=True)
        F.max_pool2d(x, 3, 3, return_indices=True)
        F.max_pool2d(x, 3)
    rows = kernels("poolnd._kernels.sliding.numba_rows")
    tiles = kernels("poolnd._kernels.sliding.numba_tiles")
    bodies = [rows.MAX_ROWS, rows.ARGMAX_ROWS, tiles.BLOCK_MAX, tiles.BLOCK_MAX2,
              tiles.BLOCK_ARGMAX, tiles.BLOCK_ARGMAX2, tiles.FOLD_DEPTH]
    compiled = {str(sig[0].dtype) for form in bodies for sig in form.body.signatures}
    assert not compiled & {np.dtype(d).name for d in PARTNERS}, compiled
    assert {np.dtype(d).name for d in PARTNERS.values()} <= compiled


@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [
    ((2, 2), 2, ((0, 0), (0, 4))),  # width 6 padded by 4: windows 3 and 4 read only padding
    ((2, 3), (2, 3), ((0, 3), (0, 9))),  # and rows past the input's end (height 7)
])
def test_windows_reading_only_padding_give_the_dtypes_lowest(dtype, kernel, stride, padding):
    x = _extreme(dtype, (1, 2, 7, 6), seed=4)
    v, i = poolnd.max_pool(x, kernel, stride, padding, return_indices=True)
    assert v.dtype == dtype
    empty = i == -1
    assert empty.any() and (v[empty] == np.iinfo(dtype).min).all()
    # every value is exact in float64, whose windows in padding give -inf
    wv, wi = poolnd.max_pool(x.astype(np.float64), kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_array_equal(v[~empty].astype(np.float64), wv[~empty])
    assert np.isneginf(wv[empty]).all()
    np.testing.assert_array_equal(poolnd.max_pool(x, kernel, stride, padding), v)
    lo = poolnd.min_pool(x, kernel, stride, padding)  # the flipped input's max
    assert (lo[empty] == np.iinfo(dtype).max).all()
    np.testing.assert_array_equal(lo[~empty].astype(np.float64),
                                  -poolnd.max_pool(-x.astype(np.float64), kernel, stride,
                                                   padding)[~empty])


SUM_WIDENED = (np.int8, np.int32, np.uint32)


def _brute_sums(x, k, s, p):
    """Each window's sum of in-bounds cells and count of them, as int64 (exact here)."""
    wide = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (p, p), (p, p)))
    ones = np.pad(np.ones(x.shape[2:], np.int64), p)
    win = np.lib.stride_tricks.sliding_window_view(wide, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    cnt = np.lib.stride_tricks.sliding_window_view(ones, (k, k))[::s, ::s]
    return win.sum(axis=(-2, -1)), cnt.sum(axis=(-2, -1))


def _truncated(total, divisor):
    quotient = np.abs(total) // divisor
    return np.where(total < 0, -quotient, quotient)


@pytest.mark.parametrize("dtype", SUM_WIDENED)
@pytest.mark.parametrize("k, s, p", [(3, 2, 1), (2, 2, 0), (3, 1, 1), (4, 3, 2), (5, 1, 2)])
def test_sums_of_a_widened_dtype_are_the_exact_integers(dtype, k, s, p):
    x = _extreme(dtype, (2, 3, 13, 11), seed=k * 10 + s)
    total, count = _brute_sums(x, k, s, p)
    for include_pad, divisor in ((True, k * k), (False, count)):
        got = F.avg_pool2d(x, k, s, p, count_include_pad=include_pad)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, _truncated(total, divisor).astype(dtype))
    # divisor 1 and 2: the quotient leaves the dtype's range, and keeps its low bits
    for override in (1, 2):
        got = F.avg_pool2d(x, k, s, p, divisor_override=override)
        np.testing.assert_array_equal(got, _truncated(total, override).astype(dtype))
    sums = poolnd.sum_pool(x, (k, k), s, p)
    assert sums.dtype == (np.uint64 if np.dtype(dtype).kind == "u" else np.int64)
    np.testing.assert_array_equal(sums, total.astype(sums.dtype))


def test_no_widened_dtype_compiles_a_sum_kernel_of_its_own():
    for dtype in SUM_WIDENED:
        x = _extreme(dtype, (2, 3, 13, 12), seed=2)
        for k, s, p in ((3, 2, 1), (3, 1, 1), (2, 2, 0), (3, 3, 0), (4, 3, 2)):
            F.avg_pool2d(x, k, s, p)
            poolnd.sum_pool(x, (k, k), s, p)
        F.avg_pool3d(x[None], (1, 3, 3), 1, (0, 1, 1))
    rows = kernels("poolnd._kernels.sliding.numba_rows")
    tiles = kernels("poolnd._kernels.sliding.numba_tiles")
    phases = kernels("poolnd._kernels.sliding.numba_phases")
    bodies = [rows.SUM_ROWS_3X3, rows.SUM_STRIDED, phases.SUM_PHASES, tiles.BLOCK_SUM,
              tiles.BLOCK_SUM2]
    compiled = {str(sig[0].dtype) for form in bodies for sig in form.body.signatures}
    assert not compiled & {np.dtype(d).name for d in SUM_WIDENED}, compiled
    assert {"int16", "int64"} <= compiled


@pytest.mark.parametrize("dtype", SUM_WIDENED)
def test_widened_sums_in_several_parts_are_the_same(dtype, monkeypatch):
    x = _extreme(dtype, (3, 5, 13, 11), seed=9)
    whole = (F.avg_pool2d(x, 3, 2, 1), poolnd.sum_pool(x, (3, 3), 2, 1))
    # the smallest budget: each part holds as many planes as the output's bytes allow
    monkeypatch.setattr(poolnd._threads, "FLIP_BUDGET", 1)
    parts = (F.avg_pool2d(x, 3, 2, 1), poolnd.sum_pool(x, (3, 3), 2, 1))
    for got, want in zip(parts, whole):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    total, _ = _brute_sums(x.reshape(15, 1, 13, 11), 3, 2, 1)
    np.testing.assert_array_equal(parts[1], total.reshape(parts[1].shape))


# One plane larger than the budget is mapped a band of output rows at a time (the input
# rows those outputs read, with the band's own padding), so that the mapped copy stays about
# the output's size: the values and indices of every band are the whole plane's, checked
# against the float64 kernels (exact for these dtypes, and never mapped). Geometries: (input
# (C, H, W) or (C, D, H, W), kernel, stride, padding, dilation, ceil_mode).
BANDED = [
    ((1, 40, 11), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((1, 41, 12), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((1, 37, 9), (3, 2), (1, 2), (1, 0), (2, 1), False),
    ((1, 45, 10), (5, 3), (3, 1), ((2, 4), (1, 1)), (1, 1), True),
    ((1, 23, 6, 7), (2, 3, 3), (2, 1, 2), (1, 1, 0), (1, 1, 1), False),
]


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint32, np.float32])
@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "dilation", "ceil"), BANDED)
def test_a_plane_over_the_budget_is_mapped_band_by_band(dtype, shape, kernel, stride, padding,
                                                        dilation, ceil, monkeypatch):
    x = _extreme(dtype, shape, seed=5) if np.dtype(dtype).kind in "iu" else \
        np.random.default_rng(5).standard_normal(shape).astype(dtype)
    ref = x.astype(np.float64)
    want = poolnd.max_pool(ref, kernel, stride, padding, dilation, ceil, return_indices=True)
    want_min = poolnd.min_pool(ref, kernel, stride, padding, dilation, ceil,
                               return_indices=True)
    monkeypatch.setattr(poolnd._threads, "FLIP_BUDGET", 1)  # the budget: the output's bytes
    got = poolnd.max_pool(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    got_min = poolnd.min_pool(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    for (v, i), (wv, wi) in ((got, want), (got_min, want_min)):
        assert v.dtype == dtype
        np.testing.assert_array_equal(i, wi)
        inside = wi >= 0
        np.testing.assert_array_equal(v[inside].astype(np.float64), wv[inside])
    if np.dtype(dtype).kind in "iu" and dtype != np.int16:  # int8, uint32: widened sums
        for include_pad in (True, False):
            total = poolnd.avg_pool(x, kernel, stride, padding, ceil_mode=ceil,
                                    count_include_pad=include_pad)
            exact = poolnd.avg_pool(x.astype(np.int64), kernel, stride, padding,
                                    ceil_mode=ceil, count_include_pad=include_pad)
            np.testing.assert_array_equal(total, exact.astype(dtype))
        sums = poolnd.sum_pool(x, kernel, stride, padding, dilation, ceil)
        np.testing.assert_array_equal(sums, poolnd.sum_pool(ref, kernel, stride, padding,
                                                            dilation, ceil).astype(sums.dtype))
