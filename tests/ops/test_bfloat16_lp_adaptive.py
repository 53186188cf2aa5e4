"""bfloat16 LP, adaptive and fractional max pooling and max unpooling, and the bfloat16
gradients of overlapping max and average windows, compared bit for bit with torch's CPU
kernels on bfloat16 tensors (values, indices, gradients).

PyTorch's rules, found by running it (and kept by poolnd): forward sums in float32 and rounds
once; backward passes add in bfloat16, each addition rounded, a cell's terms in output
raster order, an average's share ``grad / divisor`` rounded to bfloat16 (adaptive: divided by
each extent in turn, each quotient rounded); LP pooling rounds after each of its ops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolnd
import poolnd.functional as F
import poolnd.nn as pnn

ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes (NumPy's bfloat16) is absent")
torch = pytest.importorskip("torch", reason="PyTorch is not installed")
BF16 = np.dtype(ml_dtypes.bfloat16)
TF = torch.nn.functional


def _t(a: np.ndarray, channels_last: bool = False):
    t = torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16)
    if channels_last:
        t = t.to(memory_format=torch.channels_last if a.ndim == 4 else torch.channels_last_3d)
    return t


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint16)


def assert_bits(got: np.ndarray, want) -> None:
    """``got`` (bfloat16) has ``want``'s (a torch bfloat16 tensor) bits; NaN equals NaN."""
    assert got.dtype == BF16
    w = want.detach().contiguous().view(torch.int16).numpy().view(np.uint16)
    nan_got, nan_want = np.isnan(got.astype(np.float32)), np.isnan(want.detach().float().numpy())
    np.testing.assert_array_equal(nan_got, nan_want)
    np.testing.assert_array_equal(np.where(nan_got, 0, _bits(got)), np.where(nan_want, 0, w))


def _input(rng: np.random.Generator, shape: tuple[int, ...], ties: bool = False,
           nan: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32) * 3
    if ties:
        x = np.round(x)
    if nan and x.size:
        x.flat[rng.integers(x.size)] = np.nan
    return x.astype(BF16)


def _grad_of(t, out, g: np.ndarray):
    t.grad = None
    out.backward(_t(g))
    return t.grad


def _seeded(data) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# --------------------------------------------------------------------------------------------
# overlapping max and average windows: the bfloat16 backward adds in bfloat16


@settings(max_examples=40)
@given(data=st.data())
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_sliding_bfloat16_gradients_are_torch_bits(nd, data):
    rng = _seeded(data)
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    ceil = data.draw(st.booleans())
    spatial = tuple(data.draw(st.integers(k, k + 6)) for k in kernel)
    last = nd > 1 and data.draw(st.booleans())
    x = _input(rng, (2, 3, *spatial), ties=data.draw(st.booleans()), nan=data.draw(st.booleans()))
    t = _t(x, last).requires_grad_()
    tmax = getattr(TF, f"max_pool{nd}d")
    pmax = getattr(F, f"max_pool{nd}d")
    tv, ti = tmax(t, kernel, stride, padding, 1, ceil, return_indices=True)
    v, i = pmax(x, kernel, stride, padding, 1, ceil, return_indices=True)
    assert_bits(v, tv)
    np.testing.assert_array_equal(i, ti.numpy())
    g = _input(rng, v.shape)
    assert_bits(poolnd.vjp(pmax, x, kernel, stride, padding, 1, ceil)[1](g), _grad_of(t, tv, g))
    if nd == 3:
        return  # PyTorch's CPU avg_pool3d has no bfloat16 kernel
    include = data.draw(st.booleans())
    # (a negative divisor on a channels-last tensor: torch's kernel stores 0 / -d as -0.0,
    # its contiguous kernel as +0.0, float32 alike; a NumPy array has no memory format)
    override = data.draw(st.sampled_from([None, 1, 7, 257, 300] + ([] if last else [-3])))
    tavg = getattr(TF, f"avg_pool{nd}d")
    pavg = getattr(F, f"avg_pool{nd}d")
    extra = (include,) if nd == 1 else (include, override)
    ta = tavg(t, kernel, stride, padding, ceil, *extra)
    out, pullback = poolnd.vjp(pavg, x, kernel, stride, padding, ceil, *extra)
    assert_bits(out, ta)
    g = _input(rng, out.shape)
    assert_bits(pullback(g), _grad_of(t, ta, g))


def test_overlap_rounds_each_addition():
    """One cell in nine 3x3 windows (stride 1): 1 + eight 2**-8 stays 1 in bfloat16."""
    x = np.zeros((1, 1, 5, 5), BF16)
    x[0, 0, 2, 2] = 1
    g = np.full((1, 1, 3, 3), 2.0**-8, BF16)
    g[0, 0, 0, 0] = 1
    grad = poolnd.vjp(F.max_pool2d, x, 3, 1)[1](g)
    assert float(grad[0, 0, 2, 2]) == 1.0  # float32 would give 1 + 8 * 2**-8 = 1.03125
    t = _t(x).requires_grad_()
    assert_bits(grad, _grad_of(t, TF.max_pool2d(t, 3, 1), g))


# --------------------------------------------------------------------------------------------
# LP pooling: torch's composition, each op rounding to bfloat16

# exponents whose composition never reaches torch.pow(-0.5) (rsqrt; see the test below)
P_EXACT = [1, 3, 4, 1.5, 2.5, 0.75, 1 / 3, -1, -3, -1.5, 7, float("inf"), float("-inf")]


@settings(max_examples=60)
@given(data=st.data())
@pytest.mark.parametrize("nd", [1, 2])
def test_lp_bfloat16_matches_torch(nd, data):
    rng = _seeded(data)
    p = data.draw(st.sampled_from([*P_EXACT, 2, 0.5]), label="p")
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    ceil = data.draw(st.booleans())
    spatial = tuple(data.draw(st.integers(k, k + 6)) for k in kernel)
    last = nd > 1 and data.draw(st.booleans())
    x = _input(rng, (2, 3, *spatial), ties=data.draw(st.booleans()), nan=data.draw(st.booleans()))
    if data.draw(st.booleans()):
        x = np.abs(x)
    t = _t(x, last).requires_grad_()
    k = kernel[0] if nd == 1 else kernel  # torch's lp_pool1d multiplies by kernel_size itself
    tv = getattr(TF, f"lp_pool{nd}d")(t, p, k, stride, ceil)
    fn = getattr(F, f"lp_pool{nd}d")
    out, pullback = poolnd.vjp(fn, x, p, kernel, stride, ceil)
    assert_bits(out, tv)
    g = _input(rng, out.shape)
    got, want = pullback(g), _grad_of(t, tv, g)
    if p in P_EXACT:
        assert_bits(got, want)
    else:  # p = 2, 0.5: see test_lp_rsqrt_is_exact_where_torch_vectorises
        _assert_near_terms(got, want, _term_sizes(x, p, kernel, stride, ceil, g, nd))


def _term_sizes(x, p, kernel, stride, ceil, g, nd) -> np.ndarray:
    """Each input cell's sum of the sizes of its gradient's terms (one per window holding
    it): the float32 gradient of the LP pooling of ``|x|`` for the output gradient ``|g|``,
    where every term is positive."""
    a = torch.from_numpy(np.abs(x.astype(np.float32))).requires_grad_()
    out = getattr(TF, f"lp_pool{nd}d")(a, p, kernel[0] if nd == 1 else kernel, stride, ceil)
    (grad,) = torch.autograd.grad(out, a, torch.from_numpy(np.abs(g.astype(np.float32))))
    return grad.numpy()


def _assert_near_terms(got: np.ndarray, want, sizes: np.ndarray) -> None:
    """``got`` within ``2**-5`` of ``want`` relative to each cell's terms' ``sizes`` (plus
    ``2**-5``): torch's bfloat16 ``pow(x, -0.5)`` may round a term differently, by a few
    units in its last place, and where a cell's terms cancel that is a larger part of it
    (a cell of 0.0596 against 0.0996, its terms' sizes adding up to 2.4)."""
    g32, w32 = got.astype(np.float32), want.float().numpy()
    np.testing.assert_array_equal(np.isnan(g32), np.isnan(w32))
    finite = np.isfinite(w32)
    np.testing.assert_array_equal(g32[np.isinf(w32)], w32[np.isinf(w32)])
    with np.errstate(invalid="ignore", over="ignore"):  # (terms of infinite size)
        excess = np.abs(g32 - w32)[finite] - 2**-5 * (1 + np.abs(w32) + sizes)[finite]
    assert not np.any(excess > 0), (g32[finite][excess > 0], w32[finite][excess > 0])


@pytest.mark.parametrize(("p", "shape", "kernel"), [
    (2, (4, 16, 8, 8), 2),  # backward: torch.pow(scaled, -0.5) over 1024 outputs
    (0.5, (2, 8, 8, 8), 2),  # backward: torch.pow(x, -0.5) over 1024 inputs
    (-2, (4, 16, 8, 8), 2),  # forward: ... .pow(-0.5)
])
def test_lp_rsqrt_is_exact_where_torch_vectorises(p, shape, kernel, rng):
    """``torch.pow(t, -0.5)`` is rsqrt: its vectorised loop takes ``1 / sqrt(x)`` in float32
    and rounds once (poolnd's rule), its scalar loop (the last ``n % 32`` (AVX2) or ``n % 64``
    (AVX-512) elements of a contiguous run) rounds ``sqrt(x)`` to bfloat16 first. Where every
    element is vectorised (sizes a multiple of 64), the results are torch's bits."""
    x = np.abs(_input(rng, shape)) + BF16.type(0.25)
    t = _t(x).requires_grad_()
    tv = TF.lp_pool2d(t, p, kernel)
    out, pullback = poolnd.vjp(F.lp_pool2d, x, p, kernel)
    assert_bits(out, tv)
    g = _input(rng, out.shape)
    assert_bits(pullback(g), _grad_of(t, tv, g))


def test_lp_rsqrt_scalar_tail_is_the_known_difference():
    """Torch's scalar tail (here: a single element) rounds twice; poolnd rounds once."""
    x = torch.tensor([7.78125], dtype=torch.bfloat16)
    assert float(x.rsqrt()) == 0.357421875  # bfloat16(1 / bfloat16(sqrt(x)))
    got = F.lp_pool1d(np.array([[[-8.0]]], BF16), -2, 1)  # (x ** -2) ** -0.5 = |x|
    assert float(got[0, 0, 0]) == 8.0


def test_lp_bfloat16_exponent_must_fit():
    x = np.ones((1, 2, 2), BF16)
    with pytest.raises(ValueError, match=r"lp_pool1d\(\): for bfloat16 input the exponent "
                       r"1 / norm_type must fit bfloat16"):
        F.lp_pool1d(x, 1e-39, 2)


def test_lp3d_bfloat16_follows_the_2d_rule(rng):
    """torch has no bfloat16 avg_pool3d (so no bfloat16 lp_pool3d); poolnd's is lp_pool2d's
    rule over one more axis: a 3d window of depth 1 gives lp_pool2d's bits."""
    x = _input(rng, (2, 3, 1, 6, 6))
    for p in (2, 3, 1.5):
        got = F.lp_pool3d(x, p, (1, 2, 3))
        assert_bits(got[:, :, 0], TF.lp_pool2d(_t(x[:, :, 0]), p, (2, 3)))


# --------------------------------------------------------------------------------------------
# adaptive pooling


@settings(max_examples=50)
@given(data=st.data())
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_bfloat16_matches_torch(nd, data):
    rng = _seeded(data)
    spatial = tuple(data.draw(st.integers(1, 9)) for _ in range(nd))
    size = tuple(data.draw(st.integers(1, 11)) for _ in range(nd))
    if data.draw(st.integers(0, 4)) == 0:
        size = (1,) * nd  # torch.mean
    last = nd > 1 and data.draw(st.booleans())
    x = _input(rng, (2, 3, *spatial), ties=data.draw(st.booleans()), nan=data.draw(st.booleans()))
    t = _t(x, last).requires_grad_()
    pmax = getattr(F, f"adaptive_max_pool{nd}d")
    tv, ti = getattr(TF, f"adaptive_max_pool{nd}d")(t, size, return_indices=True)
    v, i = pmax(x, size, return_indices=True)
    assert_bits(v, tv)
    np.testing.assert_array_equal(i, ti.numpy())
    g = _input(rng, v.shape)
    assert_bits(poolnd.vjp(pmax, x, size)[1](g), _grad_of(t, tv, g))
    pavg = getattr(F, f"adaptive_avg_pool{nd}d")
    ta = getattr(TF, f"adaptive_avg_pool{nd}d")(t, size)
    out, pullback = poolnd.vjp(pavg, x, size)
    assert_bits(out, ta)
    assert_bits(pullback(g), _grad_of(t, ta, g))


# --------------------------------------------------------------------------------------------
# fractional max pooling and max unpooling


@settings(max_examples=40)
@given(data=st.data())
@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_bfloat16_matches_torch(nd, data):
    rng = _seeded(data)
    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    spatial = tuple(data.draw(st.integers(k + 1, k + 40)) for k in kernel)
    size = tuple(data.draw(st.integers(1, n - k)) for n, k in zip(spatial, kernel))
    x = _input(rng, (2, 3, *spatial), ties=data.draw(st.booleans()), nan=data.draw(st.booleans()))
    u = rng.random((2, 3, nd)).astype(BF16)
    t = _t(x).requires_grad_()
    tv, ti = getattr(TF, f"fractional_max_pool{nd}d")(
        t, kernel, size, return_indices=True, _random_samples=_t(u))
    fn = getattr(F, f"fractional_max_pool{nd}d")
    v, i = fn(x, kernel, size, return_indices=True, _random_samples=u)
    assert_bits(v, tv)
    np.testing.assert_array_equal(i, ti.numpy())
    g = _input(rng, v.shape)
    got = poolnd.vjp(fn, x, kernel, size, _random_samples=u)[1](g)
    assert_bits(got, _grad_of(t, tv, g))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_unpool_bfloat16_matches_torch(nd, rng):
    x = _input(rng, (2, 3) + (6,) * nd, ties=True)
    v, i = getattr(F, f"max_pool{nd}d")(x, 2, 1, return_indices=True)  # repeated indices
    t = _t(v).requires_grad_()
    tu = getattr(TF, f"max_unpool{nd}d")(t, torch.from_numpy(i), 2, 1)
    out, pullback = poolnd.vjp(getattr(F, f"max_unpool{nd}d"), v, i, 2, 1)
    assert_bits(out, tu)
    g = _input(rng, out.shape)
    assert_bits(pullback(g), _grad_of(t, tu, g))


# --------------------------------------------------------------------------------------------
# torch bfloat16 tensors through dispatch, and the layers


def test_bfloat16_tensors_through_dispatch(rng):
    x = _input(rng, (2, 3, 8, 8))
    t = _t(x)
    calls = [
        (lambda a: F.lp_pool2d(a, 2, 2), lambda a: TF.lp_pool2d(a, 2, 2)),
        (lambda a: F.adaptive_avg_pool2d(a, (3, 5)), lambda a: TF.adaptive_avg_pool2d(a, (3, 5))),
        (lambda a: F.adaptive_max_pool1d(a[0], 3), lambda a: TF.adaptive_max_pool1d(a[0], 3)),
        (pnn.LPPool2d(3, 2, 1), torch.nn.LPPool2d(3, 2, 1)),
        (pnn.AdaptiveMaxPool2d(5), torch.nn.AdaptiveMaxPool2d(5)),
        (pnn.AdaptiveAvgPool3d(2), torch.nn.AdaptiveAvgPool3d(2)),
    ]
    for ours, theirs in calls:
        got = ours(t)
        assert got.dtype == torch.bfloat16
        assert_bits(got.view(torch.int16).numpy().view(BF16), theirs(t))
    u = _t(rng.random((2, 3, 2)).astype(BF16))
    got, idx = F.fractional_max_pool2d(t, 2, 4, return_indices=True, _random_samples=u)
    want, want_idx = TF.fractional_max_pool2d(t, 2, 4, return_indices=True, _random_samples=u)
    assert got.dtype == torch.bfloat16
    assert_bits(got.view(torch.int16).numpy().view(BF16), want)
    assert torch.equal(idx, want_idx)
    unpooled = F.max_unpool2d(got, idx, 2, 2)
    assert unpooled.dtype == torch.bfloat16
    assert torch.equal(unpooled, TF.max_unpool2d(want, want_idx, 2, 2))


def test_bfloat16_results_keep_the_dtype(rng):
    x = _input(rng, (3, 7))
    assert F.lp_pool1d(x, 2, 2).dtype == BF16
    assert F.adaptive_avg_pool1d(x, 4).dtype == BF16
    assert F.adaptive_max_pool1d(x, 1).dtype == BF16
    assert F.adaptive_avg_pool1d(x, 1).dtype == BF16
    v, i = F.adaptive_max_pool1d(x, 3, return_indices=True)
    assert (v.dtype, i.dtype) == (BF16, np.dtype(np.int64))
    assert math.isfinite(float(F.lp_pool1d(x, 3, 7)[0, 0]))
