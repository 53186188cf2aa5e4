"""Gradients: poolnd.vjp against torch autograd, the reference, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import (
    GRAD_DTYPES,
    AvgArgs,
    MaxArgs,
    arrays_of,
    assert_identical,
    avg_cases,
    check_avg,
    check_max,
    from_torch,
    max_cases,
    relayout,
    to_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import avg_pool_grad_ref, max_pool_grad_ref, max_pool_ref

import poolnd

F = poolnd.functional

# ---------------------------------------------------------------------------------------------
# finite differences (float64, distinct values so that max has no ties)


def _distinct(rng, shape):
    """Values 0.1 apart (in random order): far from ties at the finite-difference step."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0).astype(np.float64)


def _finite_difference(fn, x, g, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        grad[i] = (np.sum(fn(xp) * g) - np.sum(fn(xm) * g)) / (2 * eps)
    return grad


FD_CASES = [
    # (op, input shape, args, kwargs)
    (F.max_pool1d, (2, 2, 9), (3, 2, 1), {}),
    (F.max_pool1d, (2, 9), (2, 1, 1, 2), {"ceil_mode": True}),
    (F.avg_pool1d, (2, 2, 9), (3, 2, 1, True, False), {}),
    (F.avg_pool1d, (2, 8), (4, 1, 2), {}),
    (F.max_pool2d, (1, 2, 5, 6), ((3, 2), (2, 1), (1, 1), (1, 2), True), {}),
    (F.max_pool2d, (2, 4, 4), (2,), {}),
    (F.avg_pool2d, (1, 2, 5, 6), (3, 2, 1), {"divisor_override": 5}),
    (F.avg_pool2d, (2, 5, 5), ((2, 3), 1, (1, 1), True, False), {}),
    (F.max_pool3d, (1, 1, 3, 4, 4), (2, 1, 1), {"dilation": (1, 2, 1)}),
    (F.avg_pool3d, (1, 1, 3, 4, 4), ((2, 2, 3), (1, 2, 1), (1, 0, 1)), {"ceil_mode": True}),
    (poolnd.max_pool, (1, 1, 3, 3, 3, 3), ((2, 2, 1, 2), (1, 2, 1, 1), (1, 0, 0, 1)), {}),
    (poolnd.max_pool, (1, 3, 4, 3, 3), (2,), {"ndim": 4, "stride": 1, "dilation": 2, "padding": 1}),
    (poolnd.avg_pool, (1, 1, 3, 3, 3, 3), ((2, 2, 1, 2), 1, (1, 0, 0, 1)), {"ceil_mode": True}),
    (poolnd.avg_pool, (2, 3, 3, 2, 4), ((2, 1, 2, 3),), {"count_include_pad": False}),
]


@pytest.mark.parametrize(("fn", "shape", "args", "kwargs"), FD_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(FD_CASES)])
def test_finite_differences(fn, shape, args, kwargs, rng):
    x = _distinct(rng, shape)
    out, pullback = poolnd.vjp(fn, x, *args, **kwargs)
    g = rng.standard_normal(out.shape)
    analytic = pullback(g)
    numeric = _finite_difference(lambda v: fn(v, *args, **kwargs), x, g)
    assert analytic.shape == x.shape and analytic.dtype == np.float64
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# against torch autograd


@settings(max_examples=120)
@given(data=st.data())
def test_max_gradient_matches_torch_hypothesis(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(max_cases(nd, max_extra=4))
    dtype = data.draw(st.sampled_from(GRAD_DTYPES))
    x = data.draw(arrays_of(dtype, case.shape))
    xv = data.draw(relayout(x))
    check_max(xv, nd, case.args, return_indices=data.draw(st.booleans()), grad=True)


@settings(max_examples=120)
@given(data=st.data())
def test_avg_gradient_matches_torch_hypothesis(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(avg_cases(nd, max_extra=4))
    dtype = data.draw(st.sampled_from(GRAD_DTYPES))
    x = data.draw(arrays_of(dtype, case.shape))
    check_avg(data.draw(relayout(x)), nd, case.args, grad=True)


@pytest.mark.parametrize("kernel", [2, 3])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_avg_gradient_at_column_stride_2_every_row_width(kernel, padding, ceil_mode, rng):
    """Stride-2 columns of 2 or 3 cells (`numba_rows._spread_s2`: pairs of cells in one
    pass, the cells at either end one by one), on rows 1 to 19 wide, both divisor rules:
    PyTorch's gradient bit for bit. Wide rows have pairs; the narrowest have none."""
    for width in range(1, 20):
        if (width + 2 * padding - kernel) < 0 and not ceil_mode:
            continue
        x = rng.standard_normal((2, 3, 5, width))
        for include in (False, True):
            t = to_torch(x).requires_grad_()
            try:
                y = tF.avg_pool2d(t, kernel, 2, padding, ceil_mode, include)
            except RuntimeError:  # output too small: torch's own error, tested elsewhere
                continue
            g = rng.standard_normal(tuple(y.shape))
            y.backward(to_torch(g))
            _, pullback = poolnd.vjp(F.avg_pool2d, x, kernel, 2, padding, ceil_mode, include)
            assert_identical(pullback(g), from_torch(t.grad))


def test_overlapping_windows_accumulate_like_torch(rng):
    # one large value chosen by every window that covers it
    x = np.zeros((1, 1, 6, 6), dtype=np.float32)
    x[0, 0, 2, 3] = 10.0
    g = rng.integers(-3, 4, size=(1, 1, 6, 6)).astype(np.float32)
    _, pullback = poolnd.vjp(F.max_pool2d, x, 3, 1, 1)
    t = to_torch(x).requires_grad_()
    tF.max_pool2d(t, 3, 1, 1).backward(to_torch(g))
    got = pullback(g)
    assert_identical(got, from_torch(t.grad))
    assert got[0, 0, 2, 3] == g[0, 0, 1:4, 2:5].sum()  # hand rule: the 3x3 outputs around it


@pytest.mark.parametrize("args", [(3, 1, 1), (2,), (4, 1, 2)])
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("op", ["max", "avg"])
def test_float16_gradient_matches_torch(nd, op, args, rng):
    # poolnd supports float16 gradients; torch accumulates them in float16, add by add, in
    # the same order, so they agree bit for bit
    x = rng.standard_normal((2, 3, *[7] * nd)).astype(np.float16)
    fn = getattr(F, f"{op}_pool{nd}d")
    out, pullback = poolnd.vjp(fn, x, *args)
    g = rng.standard_normal(out.shape).astype(np.float16)
    t = to_torch(x).requires_grad_()
    getattr(tF, f"{op}_pool{nd}d")(t, *args).backward(to_torch(g))
    assert_identical(pullback(g), from_torch(t.grad))


def test_max_3d_float16_gradient_matches_reference(rng):
    x = rng.standard_normal((1, 2, 4, 4, 4)).astype(np.float16)
    out, pullback = poolnd.vjp(F.max_pool3d, x, 2, 1)
    g = rng.standard_normal(out.shape).astype(np.float16)
    _, ref_i = max_pool_ref(x, (2, 2, 2), (1, 1, 1))
    assert_identical(pullback(g), max_pool_grad_ref(g, ref_i, x.shape, 3))


def test_avg_3d_float16_gradient_matches_reference(rng):
    x = rng.standard_normal((1, 2, 4, 4, 4)).astype(np.float16)
    out, pullback = poolnd.vjp(F.avg_pool3d, x, 2, 1, 1)
    g = rng.standard_normal(out.shape).astype(np.float16)
    expected = avg_pool_grad_ref(g, x.shape, (2, 2, 2), (1, 1, 1), (1, 1, 1))
    assert_identical(pullback(g), expected)


# ---------------------------------------------------------------------------------------------
# vjp mechanics


def test_vjp_return_indices_pullback_takes_values_grad(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    (values, indices), pullback = poolnd.vjp(F.max_pool2d, x, 2, return_indices=True)
    assert_identical(values, F.max_pool2d(x, 2))
    assert_identical(indices, F.max_pool2d(x, 2, return_indices=True)[1])
    g = rng.standard_normal(values.shape)
    _, plain = poolnd.vjp(F.max_pool2d, x, 2)
    assert_identical(pullback(g), plain(g))
    assert check_max(x, 2, MaxArgs(2), return_indices=True, grad=True) == "torch"


def test_returned_indices_do_not_steer_the_pullback(rng):
    """The pullback keeps its own indices: overwriting the returned ones changes nothing."""
    for fn, args in ((F.max_pool2d, (2,)), (F.adaptive_max_pool2d, (3,)),
                     (F.fractional_max_pool2d, (2,))):
        x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
        kwargs = {"output_size": 3, "_random_samples": np.full((2, 3, 2), 0.5, np.float32)} \
            if fn is F.fractional_max_pool2d else {}
        (values, indices), pullback = poolnd.vjp(fn, x, *args, return_indices=True, **kwargs)
        g = rng.standard_normal(values.shape).astype(np.float32)
        before = pullback(g)
        indices[...] = 0
        assert_identical(pullback(g), before)


def test_vjp_positional_and_keyword_arguments_agree(rng):
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    pos_out, pos_pb = poolnd.vjp(F.avg_pool2d, x, 3, 2, 1, True, False, None)
    kw_out, kw_pb = poolnd.vjp(F.avg_pool2d, x, kernel_size=3, stride=2, padding=1,
                               ceil_mode=True, count_include_pad=False)
    assert_identical(pos_out, kw_out)
    g = np.ones_like(pos_out)
    assert_identical(pos_pb(g), kw_pb(g))
    assert check_avg(x, 2, AvgArgs(3, 2, 1, True, False), grad=True) == "torch"


def test_pullback_is_reusable_and_deterministic(rng):
    x = rng.standard_normal((2, 2, 8)).astype(np.float32)
    _, pullback = poolnd.vjp(F.max_pool1d, x, 3, 1, 1)
    g1 = rng.standard_normal((2, 2, 8)).astype(np.float32)
    g2 = rng.standard_normal((2, 2, 8)).astype(np.float32)
    a = pullback(g1)
    b = pullback(g2)
    assert_identical(pullback(g1), a)
    assert_identical(pullback(g2), b)


@pytest.mark.parametrize("op", ["max", "avg"])
def test_pullback_accepts_any_real_grad_layout_and_casts(op, rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    fn = getattr(F, f"{op}_pool2d")
    out, pullback = poolnd.vjp(fn, x, 2, 1)
    g = rng.integers(-3, 4, size=out.shape)
    expected = pullback(g.astype(np.float32))
    assert expected.dtype == np.float32
    assert_identical(pullback(g), expected)  # int64 grad: cast to float32
    assert_identical(pullback(g.tolist()), expected)  # nested lists
    assert_identical(pullback(np.asfortranarray(g.astype(">f4"))), expected)
    assert_identical(pullback(g.astype(np.float64)), expected)


@pytest.mark.parametrize("dtype", GRAD_DTYPES, ids=str)
def test_unbatched_gradient_is_unbatched(dtype, rng):
    x = rng.standard_normal((3, 5, 5)).astype(dtype)
    for fn in (F.max_pool2d, F.avg_pool2d):
        out, pullback = poolnd.vjp(fn, x, 2, 1)
        assert out.shape == (3, 4, 4)
        grad = pullback(np.ones_like(out))
        assert grad.shape == x.shape and grad.dtype == dtype
        _, batched = poolnd.vjp(fn, x[None], 2, 1)
        assert_identical(grad, batched(np.ones((1, *out.shape), dtype=dtype))[0])


def test_empty_batch_gradient(rng):
    x = np.zeros((0, 2, 5, 5), dtype=np.float32)
    for fn in (F.max_pool2d, F.avg_pool2d):
        out, pullback = poolnd.vjp(fn, x, 2)
        assert out.shape == (0, 2, 2, 2)
        grad = pullback(np.zeros(out.shape, dtype=np.float32))
        assert grad.shape == x.shape and grad.dtype == np.float32


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("shape", "kernel"), [
    ((2, 3, 7, 9), 2), ((1, 2, 5, 6, 9), 2), ((2, 3, 11), 4), ((1, 2, 7, 7, 8), 3),
])
def test_tiled_gradient_zeroes_cells_no_window_reads(kind, shape, kernel):
    # kernel == stride with a remainder in every axis: the tile kernels write the gradient
    # into uninitialised memory, so fill freed memory with NaN first to catch a missed cell
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    nd = len(shape) - 2
    fn, tfn = getattr(F, f"{kind}_pool{nd}d"), getattr(tF, f"{kind}_pool{nd}d")
    for _ in range(3):
        out, pullback = poolnd.vjp(fn, x, kernel)
        g = rng.standard_normal(out.shape)
        garbage = np.full(x.shape, np.nan)
        del garbage
        t = torch.from_numpy(x).requires_grad_()
        tfn(t, kernel).backward(torch.from_numpy(g))
        assert_identical(pullback(g), t.grad.numpy())
