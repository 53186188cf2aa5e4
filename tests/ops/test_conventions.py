"""Conventions beyond PyTorch's: 'valid'/'same'/'same_lower' and per-side padding, channels-last
layouts, min/sum pooling and any-reducer pooling.

Oracles: PyTorch 2.13 on an explicitly padded input (``F.pad`` with ``-inf`` or zeros, then
pooling without padding), TensorFlow's 'same' formula written out here, and a brute-force
loop over every window (`windows_ref`) that shares no code with poolnd. Channels-last calls
must equal the channels-first call (itself tested against PyTorch) on the transposed input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_identical, from_torch, to_torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import poolnd

F = poolnd.functional


# --------------------------------------------------------------------------------------------
# oracles


def tf_same(n: int, k: int, s: int, d: int, lower: bool = False) -> tuple[int, int]:
    """TensorFlow's SAME padding (ONNX SAME_UPPER; SAME_LOWER moves the odd cell first)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return (total - total // 2, total // 2) if lower else (total // 2, total - total // 2)


def out_count(n, k, s, lo, hi, d, ceil):
    """Windows counted one by one: floor mode keeps those ending inside the padded input;
    ceil mode adds one more partial window unless it would start in the high padding."""
    span = (k - 1) * d + 1

    def walk(keep):
        count = 0
        while keep(count * s - lo):
            count += 1
        return count

    floor = walk(lambda start: start + span <= n + hi)
    if not ceil:
        return floor
    out = walk(lambda start: start - s + span < n + hi)
    return out - 1 if out > floor and (out - 1) * s - lo >= n else out


def windows_ref(x, reduce, kernel, stride, pads, dilation=None, ceil=False):
    """Brute force: ``reduce(cells, flat_indices)`` of every window's in-bounds cells, taken
    in row-major order, for each plane of ``x`` (trailing ``len(kernel)`` axes spatial)."""
    nd = len(kernel)
    dilation = dilation or (1,) * nd
    spatial, lead = x.shape[-nd:], x.shape[:-nd]
    out = tuple(out_count(n, k, s, lo, hi, d, ceil)
                for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation))
    results = {}
    for li in np.ndindex(*lead):
        for o in np.ndindex(*out):
            cells, flat = [], []
            for j in itertools.product(*(range(k) for k in kernel)):
                pos = tuple(oi * s - lo + ji * d for oi, s, (lo, _), ji, d
                            in zip(o, stride, pads, j, dilation))
                if all(0 <= p < n for p, n in zip(pos, spatial)):
                    cells.append(x[li + pos])
                    flat.append(int(np.ravel_multi_index(pos, spatial)))
            results[li + o] = reduce(cells, flat)
    return lead + out, results


def first_extreme(smaller: bool, empty):
    """The rule poolnd's max/min follow: the first in-bounds cell seeds the window, a later
    cell replaces it when strictly smaller (larger) or NaN; no cell gives ``(empty, -1)``."""

    def reduce(cells, flat):
        if not cells:
            return empty, -1
        best, index = cells[0], flat[0]
        for v, i in zip(cells[1:], flat[1:]):
            if (v < best if smaller else v > best) or v != v:
                best, index = v, i
        return best, index

    return reduce


def torch_padded_max(x, kernel, stride, pads, dilation, ceil):
    """Max values and plane-flat indices from torch on ``x`` padded with -inf by ``F.pad``;
    an index inside the padding (a window of padding only) becomes -1."""
    nd = len(kernel)
    t = to_torch(x)
    flat_pads = [p for lo_hi in reversed(pads) for p in lo_hi]
    padded = tF.pad(t, flat_pads, value=-math.inf)
    pool = getattr(tF, f"max_pool{nd}d")
    values, idx = pool(padded, kernel, stride, 0, dilation, ceil, return_indices=True)
    keep = tuple(slice(0, out_count(n, k, s, lo, hi, d, ceil)) for n, k, s, (lo, hi), d
                 in zip(x.shape[-nd:], kernel, stride, pads, dilation))
    values, idx = values[(Ellipsis, *keep)], idx[(Ellipsis, *keep)]  # see `out_count`
    pshape = padded.shape[-nd:]
    coords = np.unravel_index(from_torch(idx), pshape)
    inside = np.ones(idx.shape, bool)
    real = []
    for c, (lo, _), n in zip(coords, pads, x.shape[-nd:]):
        inside &= (c >= lo) & (c < lo + n)
        real.append(np.clip(c - lo, 0, n - 1))
    indices = np.where(inside, np.ravel_multi_index(tuple(real), x.shape[-nd:]), -1)
    return from_torch(values), indices


def torch_padded_sums(x, kernel, stride, pads, ceil):
    """Window sums and in-bounds cell counts from torch's ``avg_pool`` with
    ``divisor_override=1`` on zero-padded input (and on a padded mask of ones)."""
    nd = len(kernel)
    pool = getattr(tF, f"avg_pool{nd}d") if nd > 1 else None
    # ceil mode's last windows overhang the padded input, where avg_pool3d refuses an input
    # smaller than the kernel: extra zeros at the end (sums unchanged) and floor mode instead
    flat_pads = [p + (k + s if i == 1 else 0) for (lo_hi, k, s) in
                 zip(reversed(pads), reversed(kernel), reversed(stride))
                 for i, p in enumerate(lo_hi)]

    def sums(a):
        t = tF.pad(to_torch(a), flat_pads)
        if nd == 1:  # avg_pool1d has no divisor_override: a unit height
            return from_torch(tF.avg_pool2d(t[..., None, :], (1, *kernel), (1, *stride), 0,
                                            False, True, 1)[..., 0, :])
        return from_torch(pool(t, kernel, stride, 0, False, True, 1))

    keep = (Ellipsis, *(slice(0, out_count(n, k, s, lo, hi, 1, ceil))
                        for n, k, s, (lo, hi) in zip(x.shape[-nd:], kernel, stride, pads)))
    return sums(x)[keep], sums(np.ones_like(x))[keep]


# --------------------------------------------------------------------------------------------
# padding modes and pairs


@st.composite
def padded_cases(draw, max_nd=3, dilated=True):
    nd = draw(st.integers(1, max_nd))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2 if dilated else 1)) for _ in range(nd))
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    mode = draw(st.sampled_from(["pairs", "same", "same_lower", "valid"]))
    if mode == "pairs":
        pads = tuple((draw(st.integers(0, 4)), draw(st.integers(0, 4))) for _ in range(nd))
        padding = pads
    elif mode == "valid":
        pads, padding = ((0, 0),) * nd, "valid"
    else:
        pads = tuple(tf_same(n, k, s, d, mode == "same_lower")
                     for n, k, s, d in zip(spatial, kernel, stride, dilation))
        padding = mode
    ceil = draw(st.booleans())
    out = [out_count(n, k, s, lo, hi, d, ceil)
           for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation)]
    if min(out) < 1:
        ceil, out = False, [out_count(n, k, s, lo, hi, d, False) for n, k, s, (lo, hi), d
                            in zip(spatial, kernel, stride, pads, dilation)]
    assume(min(out) >= 1)
    batch = draw(st.sampled_from([(), (2,), (1,)]))
    shape = (*batch, 2, *spatial)
    seed = draw(st.integers(0, 2**16))
    return shape, kernel, stride, dilation, padding, pads, ceil, seed


@settings(max_examples=60, deadline=None)
@given(padded_cases())
def test_max_with_padding_modes_equals_torch_on_padded_input(case):
    shape, kernel, stride, dilation, padding, pads, ceil, seed = case
    x = np.random.default_rng(seed).integers(-4, 5, shape).astype(np.float32)  # ties
    values, indices = poolnd.max_pool(x, kernel, stride, padding, dilation, ceil, True)
    batched = x if len(shape) == len(kernel) + 2 else x[None]
    expected = torch_padded_max(batched, kernel, stride, pads, dilation, ceil)
    if len(shape) != len(kernel) + 2:
        expected = tuple(e[0] for e in expected)
    assert_identical(values, expected[0])
    assert_identical(indices, expected[1])


@settings(max_examples=60, deadline=None)
@given(padded_cases(dilated=False), st.booleans())
@example(case=((2, 1, 1, 1), (2, 1, 1), (2, 1, 1), (1, 1, 1), "valid", ((0, 0),) * 3, True, 0),
         include_pad=False)  # a ceil-mode window larger than the input (torch's 3d refuses)
def test_avg_with_padding_modes_equals_torch_on_padded_input(case, include_pad):
    shape, kernel, stride, _, padding, pads, ceil, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    nd = len(kernel)
    out = poolnd.avg_pool(x, kernel, stride, padding, ceil, include_pad, ndim=nd)
    batched = x if len(shape) == nd + 2 else x[None]
    sums, counts = torch_padded_sums(batched, kernel, stride, pads, ceil)
    if include_pad:  # the padded window, clipped to the padded input (ceil overhang)
        sizes = [np.array([min(o * s - lo + k, n + hi) - (o * s - lo) for o in range(m)])
                 for n, k, s, (lo, hi), m in zip(x.shape[-nd:], kernel, stride, pads,
                                                  out.shape[-nd:])]
        divisor = math.prod(np.ix_(*sizes)) if nd > 1 else sizes[0]
    else:
        divisor = counts
    with np.errstate(invalid="ignore"):
        expected = sums / divisor
    if len(shape) != nd + 2:
        expected = expected[0]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_same_padding_gives_ceil_of_size_over_stride():
    x = np.arange(2 * 7 * 5, dtype=np.float64).reshape(1, 2, 7, 5)
    for mode in ("same", "same_lower"):
        assert poolnd.max_pool(x, (3, 2), (2, 2), mode).shape == (1, 2, 4, 3)
        assert F.avg_pool2d(x, 3, 3, mode).shape == (1, 2, 3, 2)


def test_same_upper_and_lower_put_the_odd_cell_at_opposite_ends():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])  # kernel 2, stride 1: total padding 1
    assert_identical(poolnd.avg_pool(x, (2,), 1, "same", count_include_pad=True),
                     np.array([[1.5, 2.5, 3.5, 2.0]]))
    assert_identical(poolnd.avg_pool(x, (2,), 1, "same_lower", count_include_pad=True),
                     np.array([[0.5, 1.5, 2.5, 3.5]]))


def test_valid_is_no_padding_and_ints_keep_torch_rules():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8))
    assert_identical(F.max_pool2d(x, 3, 2, "valid"), F.max_pool2d(x, 3, 2, 0))
    assert_identical(F.max_pool2d(x, 3, 2, ((1, 1), (1, 1))), F.max_pool2d(x, 3, 2, 1))
    with pytest.raises(ValueError, match="at most half the dilated kernel"):
        F.max_pool2d(x, 3, 2, 2)
    F.max_pool2d(x, 3, 2, ((2, 2), (2, 2)))  # pairs may be larger


def test_window_wholly_in_padding():
    x = np.array([[[1.0, -2.0, 3.0]]])
    values, indices = poolnd.max_pool(x, (2,), 2, ((4, 0),), return_indices=True)
    assert_identical(values, np.array([[[-np.inf, -np.inf, 1.0]]]))
    assert_identical(indices, np.array([[[-1, -1, 0]]]))
    mins, where = poolnd.min_pool(x, (2,), 2, ((4, 0),), return_indices=True)
    assert_identical(mins, np.array([[[np.inf, np.inf, -2.0]]]))
    assert_identical(where, np.array([[[-1, -1, 1]]]))
    avg = poolnd.avg_pool(x, (2,), 2, ((4, 0),), count_include_pad=False)
    assert_identical(avg, np.array([[[np.nan, np.nan, -0.5]]]), max_nan_payloads=False)
    ints = poolnd.avg_pool(x.astype(np.int32), (2,), 2, ((4, 0),), count_include_pad=False)
    assert_identical(ints, np.array([[[0, 0, 0]]], np.int32))  # -1 // 2 truncates to 0
    _, pullback = poolnd.vjp(poolnd.avg_pool, x, (2,), 2, ((4, 0),), count_include_pad=False)
    assert_identical(pullback(np.ones((1, 1, 3))), np.array([[[0.5, 0.5, 0.0]]]))


@settings(max_examples=30, deadline=None)
@given(padded_cases(max_nd=2))
def test_gradients_with_padding_pairs_equal_torch(case):
    shape, kernel, stride, dilation, padding, pads, ceil, seed = case
    nd = len(kernel)
    rng = np.random.default_rng(seed)
    x = rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)  # no ties
    out, pullback = poolnd.vjp(poolnd.max_pool, x, kernel, stride, padding, dilation, ceil)
    g = rng.standard_normal(out.shape)
    t = to_torch(x).requires_grad_()
    flat_pads = [p for lo_hi in reversed(pads) for p in lo_hi]
    y = getattr(tF, f"max_pool{nd}d")(tF.pad(t, flat_pads, value=-math.inf), kernel, stride,
                                       0, dilation, ceil)
    keep = tuple(slice(0, n) for n in out.shape[-nd:])
    y[(Ellipsis, *keep)].backward(to_torch(g))
    assert_identical(pullback(g), from_torch(t.grad))


# --------------------------------------------------------------------------------------------
# channels-last


def _cl(a, nd):
    return np.ascontiguousarray(np.moveaxis(a, -(nd + 1), -1))


def _cf(a, nd):
    return np.moveaxis(a, -1, -(nd + 1))


CHANNELS_LAST_CALLS = [
    ("max_pool1d", 1, (3, 2, 1), {}),
    ("max_pool2d", 2, (3, 2, 1), {"return_indices": True}),
    ("max_pool3d", 3, (2, 2, 0, 2), {"return_indices": True, "ceil_mode": True}),
    ("avg_pool1d", 1, (3, 2, 1), {"count_include_pad": False}),
    ("avg_pool2d", 2, (3, 2, "same"), {}),
    ("avg_pool3d", 3, (2, 1, ((1, 0), (0, 1), (1, 1))), {}),
    ("lp_pool2d", 2, (2, 2), {}),
    ("lp_pool1d", 1, (float("inf"), 2), {}),
    ("adaptive_max_pool2d", 2, ((3, 2),), {"return_indices": True}),
    ("adaptive_avg_pool3d", 3, ((2, 1, 3),), {}),
    ("adaptive_avg_pool1d", 1, (3,), {}),
    ("fractional_max_pool2d", 2, (2,), {"output_size": (3, 3), "return_indices": True,
                                        "_random_samples": np.full((2, 3, 2), 0.4)}),
]


@pytest.mark.parametrize(("name", "nd", "args", "kwargs"), CHANNELS_LAST_CALLS,
                         ids=[c[0] + "-" + str(i) for i, c in enumerate(CHANNELS_LAST_CALLS)])
@pytest.mark.parametrize("batched", [True, False])
def test_channels_last_equals_transposed_channels_first(name, nd, args, kwargs, batched, rng):
    fn = getattr(F, name)
    x = rng.standard_normal((2, 3, *[7, 6, 5][:nd]))
    if not batched:
        x = x[0]
        kwargs = {k: (v[:1] if k == "_random_samples" else v) for k, v in kwargs.items()}
    first = fn(x, *args, **kwargs)
    last = fn(_cl(x, nd), *args, **kwargs, channels_last=True)
    if isinstance(first, tuple):
        for a, b in zip(last, first):
            assert_identical(a, _cl(b, nd))
    else:
        assert_identical(last, _cl(first, nd))
    out, pullback = poolnd.vjp(fn, _cl(x, nd), *args, **kwargs, channels_last=True)
    _, pullback_first = poolnd.vjp(fn, x, *args, **kwargs)
    values = out[0] if isinstance(out, tuple) else out
    g = rng.standard_normal(values.shape)
    assert_identical(pullback(g), _cl(pullback_first(_cf(g, nd)), nd))


def test_channels_last_max_unpool_and_global(rng):
    x = rng.standard_normal((2, 3, 6, 4))
    xl = _cl(x, 2)
    v, i = F.max_pool2d(xl, 2, return_indices=True, channels_last=True)
    assert_identical(F.max_unpool2d(v, i, 2, channels_last=True),
                     _cl(F.max_unpool2d(_cf(v, 2), _cf(i, 2), 2), 2))
    assert_identical(poolnd.global_max_pool(xl, channels_last=True), poolnd.global_max_pool(x))
    assert_identical(poolnd.global_avg_pool(xl, keepdims=True, channels_last=True),
                     _cl(poolnd.global_avg_pool(x, keepdims=True), 2))


@settings(max_examples=40, deadline=None)
@given(padded_cases(), st.sampled_from(["max", "min", "sum", "mean"]))
def test_channels_last_reads_in_place_with_any_padding(case, reducer):
    shape, kernel, stride, dilation, padding, _, ceil, seed = case
    nd = len(kernel)
    x = np.random.default_rng(seed).integers(-5, 6, shape).astype(np.float32)
    first = poolnd.pool(x, reducer, kernel, stride, padding, dilation, ceil)
    last = poolnd.pool(_cl(x, nd), reducer, kernel, stride, padding, dilation, ceil,
                       channels_last=True)
    assert_identical(last, _cl(first, nd))


def test_channels_last_indices_are_spatial_like_channels_first(rng):
    x = rng.standard_normal((1, 4, 5, 3))  # (N, H, W, C)
    _, idx = poolnd.max_pool(x, (2, 2), return_indices=True, channels_last=True)
    _, expected = poolnd.max_pool(_cf(x, 2), (2, 2), return_indices=True)
    assert_identical(idx, _cl(expected, 2))
    assert idx.max() < 4 * 5


def test_channels_last_3d_keeps_index_minus_one_of_windows_wholly_in_padding(rng):
    # found by the fuzz suite: the depth fold of channels-last 3d max pooling offset the -1 of
    # a padding-only (H, W) window by its depth slice
    x = rng.standard_normal((2, 3, 2, 3))  # (C, D, H, W)
    pads = ((0, 0), (0, 0), (0, 1))
    values, idx = poolnd.max_pool(x, 1, 1, pads, 1, False, True, ndim=3)
    last_v, last_i = poolnd.max_pool(_cl(x, 3), 1, 1, pads, 1, False, True, ndim=3,
                                     channels_last=True)
    assert_identical(last_i, _cl(idx, 3))
    assert_identical(last_v, _cl(values, 3))
    assert (idx[..., -1] == -1).all()


# --------------------------------------------------------------------------------------------
# min, sum and generic reducers


INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@settings(max_examples=50, deadline=None)
@given(padded_cases(), st.sampled_from([np.float16, np.float32, np.float64, *INT_DTYPES]))
def test_min_pool_equals_brute_force(case, dtype):
    shape, kernel, stride, dilation, padding, pads, ceil, seed = case
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        x = rng.integers(-3, 4, shape).astype(dtype)
        x[rng.random(shape) < 0.1] = np.nan
    else:
        info = np.iinfo(dtype)
        x = rng.choice(np.array([info.min, info.max, 0, 1, info.min + 1], dtype), shape)
    values, indices = poolnd.min_pool(x, kernel, stride, padding, dilation, ceil, True)
    highest = np.inf if x.dtype.kind == "f" else np.iinfo(dtype).max
    batched = x if len(shape) == len(kernel) + 2 else x[None]
    out_shape, ref = windows_ref(batched, first_extreme(True, x.dtype.type(highest)), kernel,
                                 stride, pads, dilation, ceil)
    exp_v = np.array([ref[k][0] for k in np.ndindex(*out_shape)], x.dtype).reshape(out_shape)
    exp_i = np.array([ref[k][1] for k in np.ndindex(*out_shape)], np.int64).reshape(out_shape)
    if batched is not x:
        exp_v, exp_i = exp_v[0], exp_i[0]
    assert_identical(values, exp_v)
    assert_identical(indices, exp_i)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_min_pool_is_torch_max_pool_of_negated_input(nd, rng):
    x = rng.integers(-3, 4, (2, 3, *[9, 8, 7][:nd])).astype(np.float32)
    x[0, 0, 0] = np.nan
    values, indices = poolnd.min_pool(x, (3,) * nd, 2, 1, 1, True, True)
    pool = getattr(tF, f"max_pool{nd}d")
    tv, ti = pool(-to_torch(x), 3, 2, 1, 1, True, return_indices=True)
    assert_identical(values, -from_torch(tv))
    assert_identical(indices, from_torch(ti))
    out, pullback = poolnd.vjp(poolnd.min_pool, x.astype(np.float64), (3,) * nd, 2, 1)
    t = to_torch(x.astype(np.float64)).requires_grad_()
    y = -pool(-t, 3, 2, 1)
    g = rng.standard_normal(out.shape)
    y.backward(to_torch(g))
    # equal values; torch's untouched cells are -0.0 (its graph negates a zero gradient)
    np.testing.assert_array_equal(pullback(g), from_torch(t.grad))


@settings(max_examples=50, deadline=None)
@given(padded_cases(), st.sampled_from([np.float32, np.float64, np.int8, np.uint8, np.int64]))
def test_sum_pool_equals_brute_force(case, dtype):
    shape, kernel, stride, dilation, padding, pads, ceil, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0 if np.dtype(dtype).kind == "u" else -100, 100, shape).astype(dtype)
    out = poolnd.sum_pool(x, kernel, stride, padding, dilation, ceil)
    batched = x if len(shape) == len(kernel) + 2 else x[None]
    acc = np.dtype(dtype) if np.dtype(dtype).kind == "f" else \
        np.dtype(np.uint64 if np.dtype(dtype).kind == "u" else np.int64)
    out_shape, ref = windows_ref(batched, lambda cells, _: sum(int(c) for c in cells) if
                                 acc.kind != "f" else math.fsum(cells), kernel, stride, pads,
                                 dilation, ceil)
    expected = np.array([ref[k] for k in np.ndindex(*out_shape)], acc).reshape(out_shape)
    if batched is not x:
        expected = expected[0]
    assert out.dtype == acc
    if acc.kind == "f":
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-4)
    else:
        assert_identical(out, expected)


@pytest.mark.parametrize("nd", [2, 3])
def test_sum_pool_and_gradient_equal_torch(nd, rng):
    x = rng.standard_normal((2, 3, *[9, 8, 7][:nd]))
    out, pullback = poolnd.vjp(poolnd.sum_pool, x, (3,) * nd, 2, 1, 1, True)
    t = to_torch(x).requires_grad_()
    y = getattr(tF, f"avg_pool{nd}d")(t, 3, 2, 1, True, True, 1)
    np.testing.assert_allclose(out, from_torch(y), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    y.backward(to_torch(g))
    np.testing.assert_allclose(pullback(g), from_torch(t.grad), rtol=1e-12)


def test_pool_mean_with_dilation_equals_unfold_average(rng):
    x = rng.standard_normal((2, 3, 9, 8))
    out = poolnd.pool(x, "mean", (2, 3), 1, ((1, 1), (2, 2)), (2, 2))
    cols = tF.unfold(to_torch(x), (2, 3), dilation=(2, 2), padding=(1, 2))
    expected = from_torch(cols.reshape(2, 3, 6, -1).mean(2)).reshape(out.shape)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    valid = poolnd.pool(x, "mean", (2, 3), 1, ((1, 1), (2, 2)), (2, 2),
                        count_include_pad=False)
    counts = tF.unfold(torch.ones(1, 1, 9, 8, dtype=torch.float64), (2, 3), dilation=(2, 2),
                       padding=(1, 2)).sum(1).reshape(out.shape[2:])
    np.testing.assert_allclose(valid, expected * 6 / from_torch(counts), rtol=1e-12)


@pytest.mark.parametrize("ufunc", [np.multiply, np.add, np.logical_or, np.bitwise_xor])
def test_pool_with_ufunc_equals_brute_force(ufunc, rng):
    x = rng.integers(0, 4, (2, 3, 7, 6)).astype(np.int32)
    pads = ((1, 0), (2, 1))
    out = poolnd.pool(x, ufunc, (2, 3), (2, 1), pads, (1, 2))

    def fold(cells, _):
        acc = ufunc.identity
        for c in cells:
            acc = ufunc(acc, c)
        return acc

    out_shape, ref = windows_ref(x, fold, (2, 3), (2, 1), pads, (1, 2))
    expected = np.array([ref[k] for k in np.ndindex(*out_shape)]).reshape(out_shape)
    assert out.shape == expected.shape
    assert np.array_equal(out, expected.astype(out.dtype))
    assert out.dtype == ufunc.resolve_dtypes((x.dtype, x.dtype, None))[-1]


def test_pool_named_reducers_are_the_named_ops(rng):
    x = rng.standard_normal((2, 3, 8, 7))
    args = ((3, 2), 2, 1)
    assert_identical(poolnd.pool(x, "max", *args), poolnd.max_pool(x, *args))
    assert_identical(poolnd.pool(x, np.maximum, *args), poolnd.max_pool(x, *args))
    assert_identical(poolnd.pool(x, np.minimum, *args), poolnd.min_pool(x, *args))
    assert_identical(poolnd.pool(x, "sum", *args), poolnd.sum_pool(x, *args))
    assert_identical(poolnd.pool(x, "mean", *args), poolnd.avg_pool(x, *args))
    for reducer in ("max", "min", "sum", "mean"):
        out, pullback = poolnd.vjp(poolnd.pool, x, reducer, *args)
        assert pullback(np.ones_like(out)).shape == x.shape


# --------------------------------------------------------------------------------------------
# the README's conventions table, against the other frameworks' documented results


def test_same_padding_examples_of_onnx_keras_and_flax():
    # input 1..6, kernel 3, stride 2, as onnxruntime, Keras and Flax compute it
    x = np.arange(1.0, 7.0)[None]
    assert_identical(poolnd.max_pool(x, (3,), 2, "same"), np.array([[3.0, 5.0, 6.0]]))
    assert_identical(poolnd.max_pool(x, (3,), 2, "same_lower"), np.array([[2.0, 4.0, 6.0]]))
    keras = poolnd.avg_pool(x, (3,), 2, "same", count_include_pad=False)  # pads not counted
    assert_identical(keras, np.array([[2.0, 4.0, 5.5]]))
    flax = poolnd.avg_pool(x, (3,), 2, "same")  # pads counted
    np.testing.assert_allclose(flax, [[2.0, 4.0, 11 / 3]], rtol=1e-15)


@pytest.mark.parametrize("shape", [(7, 5), (6, 4), (3, 9)])
def test_block_reduce_conventions(shape, rng):
    from skimage.measure import block_reduce

    img = rng.standard_normal(shape)
    h, w = shape
    end = ((0, -h % 2), (0, -w % 2))
    np.testing.assert_allclose(poolnd.avg_pool(img[None], (2, 2), padding=end)[0],
                               block_reduce(img, (2, 2), np.mean), rtol=1e-12)
    assert_identical(poolnd.max_pool(img[None], (2, 2), padding=end)[0],
                     block_reduce(img, (2, 2), np.max, cval=-np.inf))


def test_onnx_storage_order_conversion_of_the_readme(rng):
    x = rng.standard_normal((1, 1, 4, 5))
    _, i = F.max_pool2d(x, 2, return_indices=True)
    h, w = np.unravel_index(i, (4, 5))
    column_major = np.ravel_multi_index(np.unravel_index(i, (4, 5))[::-1], (5, 4))
    assert np.array_equal(column_major, h + w * 4)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel", [2, 3, (2, 1), (1, 2), (2, 2, 1), (3, 1, 2)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_tilings_with_a_unit_last_kernel_equal_torch(nd, kernel, channels_last, rng):
    # tilings whose last window dimension is 1 (every channels-last tiling, and CF kernels
    # such as (2, 1)) run with whole rows of cells per lane: values, indices, averages
    if isinstance(kernel, tuple) and len(kernel) != nd:
        return
    x = rng.integers(-2, 3, (2, 5, *(7, 9, 6)[:nd])).astype(np.float32)
    x.flat[3], x.flat[7] = np.nan, -0.0
    xi = _cl(x, nd) if channels_last else x
    back = (lambda a: _cf(a, nd)) if channels_last else (lambda a: a)
    values, indices = getattr(F, f"max_pool{nd}d")(xi, kernel, return_indices=True,
                                                    channels_last=channels_last)
    only = getattr(F, f"max_pool{nd}d")(xi, kernel, channels_last=channels_last)
    avg = getattr(F, f"avg_pool{nd}d")(xi, kernel, channels_last=channels_last)
    tv, ti = getattr(tF, f"max_pool{nd}d")(to_torch(x), kernel, return_indices=True)
    assert_identical(back(values), from_torch(tv))
    assert_identical(back(only), from_torch(tv))
    assert_identical(back(indices), from_torch(ti))
    assert_identical(back(avg), from_torch(getattr(tF, f"avg_pool{nd}d")(to_torch(x), kernel)),
                     max_nan_payloads=False)


@pytest.mark.parametrize(("kernel", "stride", "width"), [
    (3, 1, 9), (3, 2, 9), (2, 2, 9), (2, 2, 600), (4, 3, 20)])
def test_rows_of_windows_wholly_in_padding_are_the_lowest_value(kernel, stride, width):
    """Output rows whose windows read no input row (top padding past the kernel) are -inf
    (float) or the dtype's minimum (int), in every max row-kernel form; the rows below are
    the plain maxima."""
    from poolnd._args import as_padding, make_window
    from poolnd._kernels.sliding import _row_kernel

    x = np.arange(2 * 3 * width, dtype=np.float64).reshape(1, 2, 3, width) % 7 - 3
    pad = ((2 * kernel, 0), (0, 0))
    win = make_window("max_pool", x.shape[2:], (kernel, kernel), (stride, stride),
                      as_padding("max_pool", pad, 2), (1, 1), False)
    assert _row_kernel("max", win).name == "max_rows"
    padded = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(2, 3))
    expected = windows[:, :, ::stride, ::stride].max(axis=(-2, -1))
    for dtype, lowest in ((np.float32, -np.inf), (np.int16, np.iinfo(np.int16).min)):
        got = poolnd.max_pool(x.astype(dtype), (kernel, kernel), stride, pad)
        want = np.where(np.isinf(expected), lowest, expected).astype(dtype)
        assert_identical(got, want)
        assert (got[:, :, 0] == lowest).all()
