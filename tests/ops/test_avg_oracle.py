"""Average pooling against torch 2.13 CPU (and the slow reference for dtypes torch lacks).

poolnd sums in torch's order and accumulator type and divides once, so float32/float64 (and
float16, rounded once at the end) results are expected bit-exact: every comparison here is
exact. int64 averages truncate toward zero like torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    AvgArgs,
    arrays_of,
    assert_identical,
    avg_cases,
    check_avg,
    relayout,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import avg_pool_grad_ref, avg_pool_ref

import poolnd

F = poolnd.functional


def _pads(kernel):
    limits = [k // 2 for k in kernel]
    combos = {tuple(min(p, m + 1) for m in limits) for p in range(max(limits) + 2)}
    combos.add(tuple(limits))
    return sorted(combos)


def _grid_run(nd, kernel, stride, ceil, cip, divisor, shapes, rng):
    oracles = set()
    for padding in _pads(kernel):
        for spatial in shapes:
            x = rng.standard_normal((2, 2, *spatial)).astype(np.float32)
            args = AvgArgs(kernel, stride, padding, ceil, cip, divisor)
            oracles.add(check_avg(x, nd, args, grad=True))
    return oracles


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("stride", [None, 1, 2, 3])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
def test_grid_1d(kernel, stride, ceil, cip, rng):
    oracles = _grid_run(1, (kernel,), None if stride is None else (stride,), ceil, cip, None,
                        [(n,) for n in range(1, 10)], rng)
    assert "torch" in oracles


@pytest.mark.parametrize("divisor", [None, 3, -2])
@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("stride", [None, (1, 1), (2, 2), (3, 1)])
@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 3), (4, 4), (2, 3), (4, 1)])
def test_grid_2d(kernel, stride, ceil, cip, divisor, rng):
    shapes = [(1, 2), (4, 5), (7, 6)]
    assert "torch" in _grid_run(2, kernel, stride, ceil, cip, divisor, shapes, rng)


@pytest.mark.parametrize("divisor", [None, 3, -2])
@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("stride", [None, (1, 1, 1), (2, 1, 3)])
@pytest.mark.parametrize("kernel", [(1, 1, 1), (2, 2, 2), (3, 2, 1), (2, 3, 4)])
def test_grid_3d(kernel, stride, ceil, cip, divisor, rng):
    # inputs at least as large as the kernel (torch's avg_pool3d requires it; see
    # test_avg_pool3d_input_smaller_than_kernel_is_rejected)
    shapes = [(4, 4, 4), (5, 3, 7)]
    assert "torch" in _grid_run(3, kernel, stride, ceil, cip, divisor, shapes, rng)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype(nd, dtype, rng):
    if dtype.kind == "f":
        x = rng.standard_normal((2, 3, *[7] * nd)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=(2, 3, *[7] * nd), dtype=dtype,
                         endpoint=True)
        if dtype.itemsize == 8:
            x = x >> 20  # keep window sums within 64 bits
    divs = [None] if nd == 1 else [None, 3] + ([-2] if dtype.kind != "u" else [])
    for div in divs:
        for args in (AvgArgs(2, divisor_override=div), AvgArgs(3, 2, 1, divisor_override=div),
                     AvgArgs(3, 2, 1, True, False, div), AvgArgs(2, 3, 1, True, True, div)):
            check_avg(x, nd, args, grad=True)


def test_int64_truncates_toward_zero():
    x = np.array([[[-7, 0, -5, 0, 5, 0, 7, 0, -1, -2]]], dtype=np.int64)
    # window sums -7, -5, 5, 7, -3 divided by 2, truncated toward zero (hand-computed)
    out = F.avg_pool1d(x, 2)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[[-3, -2, 2, 3, -1]]])
    assert check_avg(x, 1, AvgArgs(2)) == "torch"
    x2 = np.array([[[[-5, 0], [0, 0]]]], dtype=np.int64)
    np.testing.assert_array_equal(F.avg_pool2d(x2, 2, divisor_override=-3), [[[[1]]]])
    assert check_avg(x2, 2, AvgArgs(2, divisor_override=-3)) == "torch"


def test_ceil_mode_window_divisor_excludes_overhang():
    # torch's documented example: last window [5] divided by 1 although count_include_pad
    x = np.array([[[1.0, 2, 3, 4, 5]]])
    np.testing.assert_array_equal(F.avg_pool1d(x, 2, ceil_mode=True), [[[1.5, 3.5, 5.0]]])
    assert check_avg(x, 1, AvgArgs(2, ceil_mode=True)) == "torch"
    y = np.arange(49.0).reshape(1, 1, 7, 7)
    assert check_avg(y, 2, AvgArgs(2, 3, 0, True), grad=True) == "torch"


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_kernel_equals_input(nd, rng):
    x = rng.integers(-8, 9, size=(2, 3, *[4] * nd)).astype(np.float64)
    assert check_avg(x, nd, AvgArgs(4), grad=True) == "torch"
    out = getattr(F, f"avg_pool{nd}d")(x, 4)
    np.testing.assert_array_equal(out.reshape(2, 3), x.reshape(2, 3, -1).mean(axis=-1))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 0])
def test_unbatched_and_empty_batch(nd, batch, rng):
    shape = ((batch,) if batch is not None else ()) + (3, *[5] * nd)
    x = rng.standard_normal(shape).astype(np.float32)
    for args in (AvgArgs(2), AvgArgs(3, 1, 1, False, False), AvgArgs(2, 2, 1, True, True)):
        assert check_avg(x, nd, args, grad=True) == "torch"


def test_avg_pool3d_input_smaller_than_kernel_follows_the_2d_rules():
    # torch: "input image (T: 2 H: 2 W: 2) smaller than kernel size (kT: 3 kH: 3 kW: 3)";
    # poolnd pools it as avg_pool1d/2d would (README, "Differences from PyTorch")
    x = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.from_numpy(x), 3, 1, 1)
    assert check_avg(x, 3, AvgArgs(3, 1, 1), grad=True) == "reference"
    out = F.avg_pool3d(x, 3, 1, 1, count_include_pad=False)
    assert out.shape == (1, 1, 2, 2, 2) and np.all(out == 3.5)  # every window holds all 8


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_infinities_give_nan_without_warnings(dtype):
    # +inf and -inf in one window sum to NaN (torch: silently); pytest turns warnings into errors
    x = np.array([[[np.inf, -np.inf, 1.0, np.inf, -np.inf, -np.inf]]], dtype=dtype)
    out = F.avg_pool1d(x, 2)
    assert np.isnan(out[0, 0, 0]) and out[0, 0, 1] == np.inf and out[0, 0, 2] == -np.inf
    check_avg(x, 1, AvgArgs(2), grad=dtype != np.float16)


def test_infinities_in_4d_give_nan_without_warnings():
    x = np.array([np.inf, -np.inf] * 8, dtype=np.float32).reshape(1, 1, 2, 2, 2, 2)
    out = poolnd.avg_pool(x, (2, 2, 2, 2))
    assert out.shape == (1, 1, 1, 1, 1, 1) and np.isnan(out).all()
    assert_identical(out, avg_pool_ref(x, (2, 2, 2, 2)))


def test_float16_average_overflowing_to_inf_without_warnings():
    # the float32 quotient 240000 rounds to +inf in float16, as in torch (no warning there)
    x = np.full((1, 1, 2, 2), 60000, dtype=np.float16)
    out = F.avg_pool2d(x, 2, divisor_override=1)
    np.testing.assert_array_equal(out, np.full((1, 1, 1, 1), np.inf, dtype=np.float16))
    check_avg(x, 2, AvgArgs(2, divisor_override=1))


def test_float32_overflowing_sum_gives_inf_without_warnings():
    big = np.finfo(np.float32).max
    x = np.array([[[big, big, -big, -big]]], dtype=np.float32)
    out = F.avg_pool1d(x, 2)
    np.testing.assert_array_equal(out, [[[np.inf, -np.inf]]])
    check_avg(x, 1, AvgArgs(2))


def test_unsigned_integers_match_reference(rng):
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        x = rng.integers(0, 200, size=(1, 2, 6, 6)).astype(dtype)
        got = F.avg_pool2d(x, 3, 2, 1, True, False, 4)
        assert_identical(got, avg_pool_ref(x, (3, 3), (2, 2), (1, 1), True, False, 4))


# ---------------------------------------------------------------------------------------------
# N-d via poolnd.avg_pool


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_int_kernel_with_ndim_equals_functional(nd, rng):
    x = rng.standard_normal((2, 3, *[6] * nd))
    fn = getattr(F, f"avg_pool{nd}d")
    for kw in ({}, {"stride": 1, "padding": 1}, {"ceil_mode": True, "count_include_pad": False}):
        assert_identical(poolnd.avg_pool(x, 3, ndim=nd, **kw), fn(x, 3, **kw))


def test_avg_pool_1d_divisor_override_matches_reference(rng):
    # torch's avg_pool1d has no divisor_override; poolnd.avg_pool has it for every rank
    x = rng.standard_normal((2, 3, 9)).astype(np.float32)
    got = poolnd.avg_pool(x, (3,), 2, 1, True, True, -2)
    assert_identical(got, avg_pool_ref(x, (3,), (2,), (1,), True, True, -2))


@settings(max_examples=60)
@given(data=st.data())
def test_avg_pool_4d_matches_reference(data):
    case = data.draw(avg_cases(4, max_extra=2, batch=(None, 1), channels=2))
    dtype = data.draw(st.sampled_from([np.dtype(np.float32), np.dtype(np.float64),
                                       np.dtype(np.int64), np.dtype(np.int16)]))
    x = data.draw(arrays_of(dtype, case.shape, avg=True).filter(
        lambda a: a.dtype.kind != "f" or np.isfinite(a).all()))
    div = data.draw(st.sampled_from([None, 5, -3]))
    k, s, p, ceil, cip, _ = case.args.canonical(4)
    got = poolnd.avg_pool(x, case.args.kernel_size, case.args.stride, case.args.padding,
                          ceil, cip, div, ndim=4)  # the kernel may be spelled as an int
    assert_identical(got, avg_pool_ref(x, k, s, p, ceil, cip, div))
    if x.dtype.kind == "f":
        out, pullback = poolnd.vjp(poolnd.avg_pool, x, case.args.kernel_size, case.args.stride,
                                   case.args.padding, ceil, cip, div, ndim=4)
        g = (np.arange(out.size) % 7 - 3).astype(x.dtype).reshape(out.shape)
        assert_identical(pullback(g), avg_pool_grad_ref(g, x.shape, k, s, p, ceil, cip, div))


# ---------------------------------------------------------------------------------------------
# Hypothesis


@settings(max_examples=200)
@given(data=st.data())
def test_avg_matches_torch_hypothesis(data):
    nd = data.draw(st.integers(1, 3), label="nd")
    case = data.draw(avg_cases(nd, max_extra=4 if nd == 3 else 6), label="case")
    dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
    x = data.draw(arrays_of(dtype, case.shape, avg=True), label="x")
    xv = data.draw(relayout(x), label="layout")
    div = case.args.divisor_override
    if dtype.kind == "u" and div is not None and div < 0:
        with pytest.raises(ValueError, match="divisor_override must be positive"):
            getattr(F, f"avg_pool{nd}d")(xv, **case.args.kw(nd))
        return
    check_avg(xv, nd, case.args, grad=True)


@settings(max_examples=80)
@given(data=st.data())
def test_avg_finite_floats_hypothesis(data):
    """Arbitrary finite values (no ties needed): exact float32/float64/float16 agreement."""
    nd = data.draw(st.integers(1, 3))
    case = data.draw(avg_cases(nd, max_extra=4))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(arrays_of(dtype, case.shape).filter(lambda a: np.isfinite(a).all()))
    if dtype != np.float16:
        x = np.clip(x, -1e30, 1e30).astype(dtype)  # no float32 overflow in the sums
    check_avg(x, nd, case.args, grad=True)


@settings(max_examples=60)
@given(data=st.data())
def test_avg_integer_dtypes_hypothesis(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(avg_cases(nd, max_extra=4))
    dtype = data.draw(st.sampled_from([d for d in INT_DTYPES if d.kind == "i"]))
    x = data.draw(arrays_of(dtype, case.shape, avg=True))
    check_avg(x, nd, case.args)


@pytest.mark.parametrize(("nd", "dtype"), [
    (nd, dtype) for nd in (1, 2, 3) for dtype in (np.float16, np.float32, np.float64)
    if nd < 3 or dtype != np.float16  # torch has no float16 avg_pool3d
])
def test_zero_average_is_positive_zero(nd, dtype):
    # torch adds each quotient to a zero-initialised output: a -0.0 quotient becomes +0.0
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.zeros((1, 1, *[1] * (nd - 1), 4), dtype=dtype)
    x[..., 0] = -tiny  # window sum -tiny, halved: underflows to -0.0 before the final add
    kernel = (1,) * (nd - 1) + (2,)
    out = getattr(F, f"avg_pool{nd}d")(x, kernel)
    assert not np.signbit(out).any(), out
    if nd > 1:  # zero sum over a negative divisor
        out = getattr(F, f"avg_pool{nd}d")(np.zeros_like(x), kernel, divisor_override=-2)
        assert not np.signbit(out).any(), out
        check_avg(np.zeros_like(x), nd, AvgArgs(kernel, divisor_override=-2))
    check_avg(x, nd, AvgArgs(kernel))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_larger_inputs_match_torch(dtype, rng):
    # enough output rows that parallel kernels split the work into many chunks
    x = (rng.standard_normal((3, 5, 41, 37)) * 100).astype(dtype)
    for args in (AvgArgs(3, 1, 1), AvgArgs((2, 3), (2, 1), (1, 1), True, False),
                 AvgArgs(4, divisor_override=-3)):
        assert check_avg(x, 2, args, grad=True) == "torch"
    x3 = (rng.standard_normal((2, 3, 13, 17, 11)) * 100).astype(dtype)
    assert check_avg(x3, 3, AvgArgs(3, (1, 2, 1), 1, True, False), grad=True) == "torch"
