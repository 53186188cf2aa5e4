"""Max pooling against torch 2.13 CPU (and, where torch cannot answer, the slow reference).

Values and int64 indices are compared exactly, bit for bit, including dtype.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import (
    ALL_DTYPES,
    INT_DTYPES,
    MaxArgs,
    arrays_of,
    assert_identical,
    check_max,
    max_cases,
    relayout,
    to_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import max_pool_grad_ref, max_pool_ref

import poolnd

F = poolnd.functional


def _pads(spans):
    """Padding combinations up to one past poolnd's limit (the last is always rejected)."""
    limits = [e // 2 for e in spans]
    combos = {tuple(min(p, m + 1) for m in limits) for p in range(max(limits) + 2)}
    combos.add(tuple(limits))
    combos.add(tuple([0] * (len(spans) - 1) + [limits[-1]]))
    return sorted(combos)


def _grid_run(nd, kernel, stride, dilation, ceil, shapes, rng):
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    oracles = set()
    for padding in _pads(spans):
        for spatial in shapes:
            x = rng.integers(-3, 4, size=(2, 2, *spatial)).astype(np.float32)  # many ties
            args = MaxArgs(kernel, stride, padding, dilation, ceil)
            oracles.add(check_max(x, nd, args, return_indices=True, grad=True))
    return oracles


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("dilation", [1, 2, 3])
@pytest.mark.parametrize("stride", [None, 1, 2, 3])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
def test_grid_1d(kernel, stride, dilation, ceil, rng):
    oracles = _grid_run(1, (kernel,), None if stride is None else (stride,), (dilation,), ceil,
                        [(n,) for n in range(1, 11)], rng)
    assert "torch" in oracles


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 2), (1, 3)])
@pytest.mark.parametrize("stride", [None, (1, 1), (2, 2), (3, 1)])
@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 3), (4, 4), (2, 3), (4, 1)])
def test_grid_2d(kernel, stride, dilation, ceil, rng):
    shapes = [(1, 2), (3, 5), (5, 7), (8, 4)]
    oracles = _grid_run(2, kernel, stride, dilation, ceil, shapes, rng)
    assert oracles != {"both-reject"}


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("dilation", [(1, 1, 1), (2, 1, 3)])
@pytest.mark.parametrize("stride", [None, (1, 1, 1), (2, 1, 3)])
@pytest.mark.parametrize("kernel", [(1, 1, 1), (2, 2, 2), (3, 2, 1), (2, 3, 4)])
def test_grid_3d(kernel, stride, dilation, ceil, rng):
    shapes = [(1, 2, 3), (4, 5, 6), (6, 3, 7)]
    oracles = _grid_run(3, kernel, stride, dilation, ceil, shapes, rng)
    assert oracles != {"both-reject"}


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype(nd, dtype, rng):
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    x = rng.integers(-5, 6, size=(2, 3, *[7] * nd)).astype(dtype)  # ties; wraps for unsigned
    x.flat[::5] = info.max
    x.flat[1::7] = info.min
    cases = (MaxArgs(2), MaxArgs(3, 2, 1), MaxArgs(2, 1, 1, 2, True), MaxArgs(3, 3, 0, 1, True))
    for args in cases:
        check_max(x, nd, args, return_indices=True, grad=True)
        check_max(x, nd, args, return_indices=False)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_kernel_equals_input(nd, rng):
    x = rng.standard_normal((2, 3, *[4] * nd))
    assert check_max(x, nd, MaxArgs(4), grad=True) == "torch"
    assert check_max(x, nd, MaxArgs(4, 1, 2, 1, True), grad=True) == "torch"
    out = F.__dict__[f"max_pool{nd}d"](x, 4)
    np.testing.assert_array_equal(out.reshape(2, 3), x.reshape(2, 3, -1).max(axis=-1))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 0])
def test_unbatched_and_empty_batch(nd, batch, rng):
    shape = ((batch,) if batch is not None else ()) + (3, *[5] * nd)
    x = rng.standard_normal(shape).astype(np.float32)
    for args in (MaxArgs(2), MaxArgs(3, 1, 1), MaxArgs(2, 2, 1, 1, True)):
        assert check_max(x, nd, args, return_indices=True, grad=True) == "torch"
        assert check_max(x, nd, args, return_indices=False, grad=True) == "torch"


def _ceil_drop_configs():
    """(L, k, s, p) where ceil mode's extra window would start in the right padding."""
    for length, k, s in itertools.product(range(1, 9), range(1, 5), range(1, 4)):
        for p in range(k // 2 + 1):
            num = length + 2 * p - k
            if num < 0:
                continue
            out = -(-num // s) + 1
            if (out - 1) * s >= length + p:
                yield length, k, s, p


def test_ceil_mode_drops_window_starting_in_padding(rng):
    configs = list(_ceil_drop_configs())
    assert len(configs) >= 5  # e.g. L=2, k=2, s=2, p=1
    for length, k, s, p in configs:
        x = rng.standard_normal((1, 2, length))
        assert check_max(x, 1, MaxArgs(k, s, p, 1, True), grad=True) == "torch"
        x2 = rng.standard_normal((1, 2, length, length + 1))
        assert check_max(x2, 2, MaxArgs(k, s, p, 1, True), grad=True) == "torch"


def test_ties_first_maximum_wins():
    x = np.array([[[3.0, 3.0, 1.0, 3.0, 3.0, 3.0]]])
    values, indices = F.max_pool1d(x, 3, 1, return_indices=True)
    np.testing.assert_array_equal(values, [[[3.0, 3.0, 3.0, 3.0]]])
    np.testing.assert_array_equal(indices, [[[0, 1, 3, 3]]])
    assert check_max(x, 1, MaxArgs(3, 1)) == "torch"


def test_nan_propagates_last_nan_index():
    nan = np.nan
    x = np.array([[[1.0, nan, 5.0, nan, 2.0, 0.0]]])
    values, indices = F.max_pool1d(x, 4, 2, 1, return_indices=True)
    assert np.isnan(values).all()
    np.testing.assert_array_equal(indices, [[[1, 3, 3]]])
    assert check_max(x, 1, MaxArgs(4, 2, 1)) == "torch"


def test_signed_zero_first_wins():
    x = np.array([[[-0.0, 0.0, 0.0, -0.0]]], dtype=np.float32)
    values = F.max_pool1d(x, 2)
    assert list(np.signbit(values.ravel())) == [True, False]
    assert check_max(x, 1, MaxArgs(2)) == "torch"


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint8, np.int64])
def test_window_of_lowest_values_indexes_first_cell(dtype):
    low = -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min
    x = np.full((1, 1, 3, 3), low, dtype=dtype)
    values, indices = F.max_pool2d(x, 2, 1, 1, return_indices=True)
    # output o along an axis starts at o - 1, so its first in-bounds cell is max(o - 1, 0)
    first = [0, 0, 1, 2]
    np.testing.assert_array_equal(indices[0, 0], [[3 * r + c for c in first] for r in first])
    assert (values == low).all()
    check_max(x, 2, MaxArgs(2, 1, 1))


# ---------------------------------------------------------------------------------------------
# deliberate departures


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint16])
def test_empty_window_gives_lowest_and_index_minus_one(dtype):
    # window covers positions -1 and 4 of a length-4 input: no cell inside
    x = np.arange(4, dtype=dtype).reshape(1, 1, 4)
    values, indices = F.max_pool1d(x, 2, stride=1, padding=1, dilation=5, return_indices=True)
    low = -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min
    assert values.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(values, np.array([[[low]]], dtype=dtype))
    np.testing.assert_array_equal(indices, [[[-1]]])
    if np.dtype(dtype) == np.float32:  # torch's forward (safe) agrees on the value
        t = tF.max_pool1d(to_torch(x), 2, stride=1, padding=1, dilation=5)
        np.testing.assert_array_equal(values, t.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_window_has_zero_gradient(dtype):
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]], dtype=dtype)
    # 2d, kernel 2, stride 1, padding 2, dilation 4 over 3x3: per axis the windows read
    # positions {-2, 2}, {-1, 3}, {0, 4}; the middle one reads nothing
    x2 = np.arange(1, 10, dtype=dtype).reshape(1, 1, 3, 3)
    out, pullback = poolnd.vjp(F.max_pool2d, x2, 2, stride=1, padding=2, dilation=4)
    ref_v, ref_i = max_pool_ref(x2, (2, 2), (1, 1), (2, 2), (4, 4), False)
    assert (ref_i == -1).any() and (ref_i >= 0).any()
    assert_identical(out, ref_v)
    g = np.ones_like(out)
    assert_identical(pullback(g), max_pool_grad_ref(g, ref_i, x2.shape, 2))
    out1, pb1 = poolnd.vjp(F.max_pool1d, x, 2, 1, 1, 5)
    assert np.isneginf(out1).all()
    assert_identical(pb1(np.full_like(out1, 7)), np.zeros_like(x))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_padding_up_to_half_dilated_kernel_matches_reference(nd, rng):
    # torch refuses padding 2 for kernel 2 (p > k // 2); poolnd allows p <= ((k-1)*d+1)//2 = 2
    x = rng.standard_normal((2, 2, *[5] * nd))
    with pytest.raises(RuntimeError):
        getattr(tF, f"max_pool{nd}d")(to_torch(x), 2, 1, 2, 3)
    assert check_max(x, nd, MaxArgs(2, 1, 2, 3), grad=True) == "reference"
    assert check_max(x, nd, MaxArgs(3, 2, 3, 3, True), grad=True) == "reference"


# ---------------------------------------------------------------------------------------------
# N-d via poolnd.max_pool


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_int_kernel_with_ndim_equals_functional(nd, rng):
    x = rng.standard_normal((2, 3, *[6] * nd))
    fn = getattr(F, f"max_pool{nd}d")
    for kw in ({}, {"stride": 1, "padding": 1}, {"dilation": 2, "ceil_mode": True}):
        expected = fn(x, 3, return_indices=True, **kw)
        got = poolnd.max_pool(x, 3, ndim=nd, return_indices=True, **kw)
        assert_identical(got[0], expected[0])
        assert_identical(got[1], expected[1])
        got2 = poolnd.max_pool(x, (3,) * nd, return_indices=True, **kw)
        assert_identical(got2[1], expected[1])


@settings(max_examples=60)
@given(data=st.data())
def test_max_pool_4d_matches_reference(data):
    case = data.draw(max_cases(4, max_extra=2, batch=(None, 1), channels=2))
    dtype = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays_of(dtype, case.shape))
    k, s, p, d, ceil = case.args.canonical(4)
    # ndim=4: the strategy may spell the kernel as an int or a 1-element list
    values, indices = poolnd.max_pool(x, **case.args.kw(), return_indices=True, ndim=4)
    ref_v, ref_i = max_pool_ref(x, k, s, p, d, ceil)
    assert_identical(values, ref_v)
    assert_identical(indices, ref_i)
    if x.dtype.kind == "f" and x.dtype != np.float16:
        out, pullback = poolnd.vjp(poolnd.max_pool, x, **case.args.kw(), ndim=4)
        g = np.arange(out.size, dtype=x.dtype).reshape(out.shape) % 5 - 2
        assert_identical(pullback(g), max_pool_grad_ref(g, ref_i, x.shape, 4))


def test_max_pool_5d_spatial_matches_reference(rng):
    x = rng.integers(-2, 3, size=(1, 2, 3, 4, 3, 4, 3)).astype(np.float64)
    args = dict(kernel_size=(2, 1, 2, 3, 2), stride=(1, 2, 2, 1, 1), padding=(1, 0, 0, 1, 1))
    values, indices = poolnd.max_pool(x, return_indices=True, **args)
    ref_v, ref_i = max_pool_ref(x, (2, 1, 2, 3, 2), (1, 2, 2, 1, 1), (1, 0, 0, 1, 1))
    assert_identical(values, ref_v)
    assert_identical(indices, ref_i)


# ---------------------------------------------------------------------------------------------
# Hypothesis


@settings(max_examples=200)
@given(data=st.data())
def test_max_matches_torch_hypothesis(data):
    nd = data.draw(st.integers(1, 3), label="nd")
    case = data.draw(max_cases(nd, max_extra=4 if nd == 3 else 6), label="case")
    dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
    x = data.draw(arrays_of(dtype, case.shape), label="x")
    xv = data.draw(relayout(x), label="layout")
    return_indices = data.draw(st.booleans(), label="return_indices")
    # xv has x's values in another layout; the oracle sees a plain C-contiguous copy
    check_max(xv, nd, case.args, return_indices=return_indices, grad=True)


@settings(max_examples=60)
@given(data=st.data())
def test_max_int_dtypes_extremes_hypothesis(data):
    dtype = data.draw(st.sampled_from(INT_DTYPES))
    nd = data.draw(st.integers(1, 3))
    case = data.draw(max_cases(nd, max_extra=3))
    info = np.iinfo(dtype)
    x = data.draw(arrays_of(dtype, case.shape))
    x = np.where(x % 3 == 0, info.min, x).astype(dtype)  # many windows full of the minimum
    check_max(x, nd, case.args, return_indices=True)


def test_torch_sanity_of_oracle():
    # the oracle itself: torch gives the documented index of the first maximum
    t = torch.tensor([[[1.0, 5.0, 5.0, 2.0]]])
    v, i = tF.max_pool1d(t, 4, return_indices=True)
    assert v.item() == 5.0 and i.item() == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_larger_inputs_match_torch(dtype, rng):
    # enough output rows that parallel kernels split the work into many chunks
    x = rng.integers(-20, 21, size=(3, 5, 41, 37)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x[rng.random(x.shape) < 0.01] = np.nan
        x[rng.random(x.shape) < 0.05] = -0.0
    for args in (MaxArgs(3, 1, 1), MaxArgs((2, 3), (2, 1), (1, 1), (2, 1), True), MaxArgs(4)):
        assert check_max(x, 2, args, return_indices=True, grad=True) == "torch"
        assert check_max(x, 2, args, return_indices=False) == "torch"
    x3 = rng.integers(-9, 10, size=(2, 3, 13, 17, 11)).astype(dtype)
    assert check_max(x3, 3, MaxArgs(3, (1, 2, 1), 1), grad=True) == "torch"
