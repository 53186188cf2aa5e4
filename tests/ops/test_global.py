"""Global max, average and Lp pooling (``poolnd.global_*_pool``) over any number of spatial axes.

Oracles: torch's adaptive pooling to size 1 (max: values, indices and gradients bit for bit),
``torch.mean`` (within float rounding; its gradient bit for bit), ``torch.linalg.vector_norm``
(ONNX GlobalLpPool semantics; within float rounding, gradients too), and the brute-force
max-pooling reference for ranks torch lacks and for integer dtypes.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import (
    FLOAT_DTYPES,
    INT_DTYPES,
    arrays_of,
    assert_identical,
    from_torch,
    grad_like,
    native,
    relayout,
    to_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import max_pool_grad_ref, max_pool_ref

import poolnd
from poolnd import global_avg_pool, global_lp_pool, global_max_pool

SHAPES = [(2, 3, 5), (2, 3, 4, 6), (1, 4, 3, 2, 5), (2, 2, 3, 1, 2, 3), (3, 1, 7, 7), (33, 2, 3, 3)]


def _spatial(x, ndim):
    return tuple(range(x.ndim - ndim, x.ndim))


def _data(rng, shape, dtype, specials=True):
    x = rng.standard_normal(shape) * 3
    x.reshape(-1)[::4] = np.round(x.reshape(-1)[::4])  # ties
    if specials:
        x.reshape(-1)[1::11] = np.nan
        x.reshape(-1)[2::13] = np.inf
        x.reshape(-1)[3::17] = -np.inf
        x.reshape(-1)[5::7] = -0.0
    return x.astype(dtype)


def _max_expected(x, ndim):
    """(values, plane-flat indices) of the whole-plane max: torch for 1-3 dims, else the
    brute-force reference (with the window = the plane)."""
    xc = native(x)
    spatial = xc.shape[xc.ndim - ndim:]
    if ndim <= 3 and xc.dtype.kind == "f":
        v, i = getattr(tF, f"adaptive_max_pool{ndim}d")(to_torch(xc), 1, return_indices=True)
        return from_torch(v), from_torch(i)
    return max_pool_ref(xc, spatial)


def _squeeze(a, ndim):
    return a.reshape(a.shape[: a.ndim - ndim])


# --------------------------------------------------------------------------------------------
# global max


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_global_max_vs_torch_and_reference(shape, dtype, rng):
    x = _data(rng, shape, dtype)
    ndim = len(shape) - 2
    values, indices = _max_expected(x, ndim)
    assert_identical(global_max_pool(x), _squeeze(values, ndim))
    assert_identical(global_max_pool(x, keepdims=True), values)
    assert_identical(global_max_pool(x, ndim=ndim), _squeeze(values, ndim))
    assert_identical(global_max_pool(x[0], ndim=ndim), _squeeze(values, ndim)[0])
    assert_identical(global_max_pool(x[0], ndim=ndim, keepdims=True), values[0])
    out, pullback = poolnd.vjp(global_max_pool, x)
    g = grad_like(out)
    if ndim <= 3:
        t = to_torch(x).requires_grad_()
        getattr(tF, f"adaptive_max_pool{ndim}d")(t, 1).backward(to_torch(g).reshape(values.shape))
        expected = from_torch(t.grad)
    else:
        expected = max_pool_grad_ref(g.reshape(values.shape), indices, x.shape, ndim)
    assert_identical(pullback(g), expected)
    out_k, pullback_k = poolnd.vjp(global_max_pool, x[0], ndim=ndim, keepdims=True)
    assert_identical(pullback_k(g[0].reshape(out_k.shape)), expected[0])


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=str)
def test_global_max_integers_vs_reference(dtype, rng):
    info = np.iinfo(dtype)
    for shape in SHAPES[:4]:
        x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        x.reshape(-1)[::2] = info.min
        ndim = len(shape) - 2
        values, _ = max_pool_ref(x, shape[2:])
        assert_identical(global_max_pool(x), _squeeze(values, ndim))


def test_global_max_is_adaptive_max_of_size_one(rng):
    x = _data(rng, (40, 3, 6, 5), np.float32)
    expected = from_torch(tF.adaptive_max_pool2d(to_torch(x), 1))
    assert_identical(global_max_pool(x, keepdims=True), expected)
    x = _data(rng, (3, 70, 200), np.float64)  # large planes, parallel kernels
    expected = from_torch(tF.adaptive_max_pool1d(to_torch(x), 1))
    assert_identical(global_max_pool(x), expected[..., 0])


# --------------------------------------------------------------------------------------------
# global average


def _close(actual, expected, rtol, atol=0.0):
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert a.shape == e.shape
    ok = np.isclose(a, e, rtol=rtol, atol=atol) | (np.isnan(a) & np.isnan(e)) | (a == e)
    assert ok.all(), (actual, expected)


TOL = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_global_avg_vs_torch_mean(shape, dtype, rng):
    ndim = len(shape) - 2
    for specials in (False, True):
        x = _data(rng, shape, dtype, specials)
        expected = from_torch(torch.mean(to_torch(x), dim=_spatial(x, ndim)))
        out = global_avg_pool(x)
        assert out.dtype == x.dtype
        scale = float(np.abs(x.astype(np.float64)[np.isfinite(x)]).mean())
        _close(out, expected, TOL[np.dtype(dtype)], TOL[np.dtype(dtype)] * scale)
        kept = global_avg_pool(x, keepdims=True)
        assert kept.shape == shape[:2] + (1,) * ndim
        assert_identical(kept.reshape(out.shape), out)
        assert_identical(global_avg_pool(x[1 % shape[0]], ndim=ndim), out[1 % shape[0]])
    # the gradient, g / plane size, is torch.mean's bit for bit
    out, pullback = poolnd.vjp(global_avg_pool, x)
    g = grad_like(out)
    t = to_torch(x).requires_grad_()
    torch.mean(t, dim=_spatial(x, ndim)).backward(to_torch(g))
    assert_identical(pullback(g), from_torch(t.grad))


def test_global_avg_equals_adaptive_avg_of_size_one(rng):
    from poolnd.functional import adaptive_avg_pool2d

    x = rng.standard_normal((40, 3, 7, 7)).astype(np.float32)
    assert_identical(global_avg_pool(x, keepdims=True), adaptive_avg_pool2d(x, 1))
    expected = from_torch(tF.adaptive_avg_pool2d(to_torch(x), 1))
    _close(global_avg_pool(x, keepdims=True), expected, 1e-6, 1e-6)


# --------------------------------------------------------------------------------------------
# global Lp (ONNX GlobalLpPool): torch.linalg.vector_norm over the spatial axes

NORMS = [1, 2, 3, 0.5, 1.5, 2.5, float("inf")]


@pytest.mark.parametrize("p", NORMS, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_global_lp_vs_vector_norm(p, dtype, rng):
    for shape in SHAPES:
        ndim = len(shape) - 2
        x = _data(rng, shape, dtype, specials=False)
        x.reshape(-1)[7::9] = 0.0
        expected = from_torch(torch.linalg.vector_norm(to_torch(x), ord=p,
                                                       dim=_spatial(x, ndim)))
        rtol = {2: 2e-3, 4: 2e-6, 8: 1e-13}[x.dtype.itemsize]
        out = global_lp_pool(x, p)
        assert out.dtype == x.dtype
        _close(out, expected, rtol)
        _close(global_lp_pool(x[0], norm_type=p, ndim=ndim, keepdims=True),
               expected[0].reshape((shape[1],) + (1,) * ndim), rtol)
        if x.dtype == np.float16:
            continue
        out, pullback = poolnd.vjp(global_lp_pool, x, p)
        g = grad_like(out, seed=1)
        t = to_torch(x).requires_grad_()
        torch.linalg.vector_norm(t, ord=p, dim=_spatial(x, ndim)).backward(to_torch(g))
        _close(pullback(g), from_torch(t.grad), rtol * 10, rtol)


@pytest.mark.parametrize("p", NORMS, ids=str)
def test_global_lp_special_values(p):
    x = np.array([[[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [np.nan, 1.0, 2.0], [np.inf, 1.0, 0.0],
                   [-2.0, 2.0, 1.0]]])
    t = to_torch(x).requires_grad_()
    expected = torch.linalg.vector_norm(t, ord=p, dim=-1)
    _close(global_lp_pool(x, p), from_torch(expected), 1e-13)
    expected.backward(torch.ones_like(expected))
    _, pullback = poolnd.vjp(global_lp_pool, x, p)
    grad = pullback(np.ones((1, 5)))
    _close(grad, from_torch(t.grad), 1e-12)
    assert (grad[0, 0] == 0).all()  # the zero plane has a zero gradient, not NaN


def test_global_lp_documented_values():
    x = np.array([[[3.0, -4.0], [0.0, 0.0]]], dtype=np.float32)
    assert_identical(global_lp_pool(x, ndim=1), np.array([[5.0, 0.0]], np.float32))
    assert_identical(global_lp_pool(x, 1, ndim=1), np.array([[7.0, 0.0]], np.float32))
    assert_identical(global_lp_pool(x, math.inf, ndim=1), np.array([[4.0, 0.0]], np.float32))
    # the absolute value comes first: odd p of negative cells is not negative
    assert_identical(global_lp_pool(-np.ones((1, 1, 8)), 3), np.array([[2.0]]))


# --------------------------------------------------------------------------------------------
# shapes, layouts, Hypothesis


@pytest.mark.parametrize("fn", [global_max_pool, global_avg_pool, global_lp_pool])
def test_zero_batch_and_layouts(fn, rng):
    empty = np.ones((0, 3, 4, 4), np.float32)
    assert fn(empty).shape == (0, 3)
    assert fn(empty, keepdims=True).shape == (0, 3, 1, 1)
    out, pullback = poolnd.vjp(fn, empty)
    assert_identical(pullback(np.ones(out.shape, np.float32)), np.zeros_like(empty))
    base = rng.standard_normal((3, 4, 5, 6)).astype(np.float64)
    want = fn(base)
    for x in [np.asfortranarray(base), base[..., ::-1], base.astype(">f8"),
              np.ascontiguousarray(base.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0)]:
        got = fn(x)
        if fn is global_max_pool:
            assert_identical(got, want)
        else:
            _close(got, want, 1e-14)


@settings(max_examples=50)
@given(st.integers(1, 4), st.sampled_from(FLOAT_DTYPES), st.data())
def test_hypothesis_global_max_vs_oracle(ndim, dtype, data):
    spatial = tuple(data.draw(st.integers(1, 5)) for _ in range(ndim))
    lead = data.draw(st.sampled_from([(0, 2), (1, 1), (2, 3), (34, 1)]))
    x = data.draw(relayout(data.draw(arrays_of(dtype, (*lead, *spatial)))))
    values, _ = _max_expected(x, ndim)
    assert_identical(global_max_pool(x), _squeeze(values, ndim))


def test_inputs_never_mutated(rng):
    x = _data(rng, (2, 3, 4, 5), np.float32)
    before = x.tobytes()
    for fn in (global_max_pool, global_avg_pool, global_lp_pool):
        out, pullback = poolnd.vjp(fn, x, keepdims=True)
        grad = pullback(np.ones_like(out))
        assert x.tobytes() == before
        assert not np.shares_memory(out, x) and not np.shares_memory(grad, x)


def test_signatures():
    for fn in (global_max_pool, global_avg_pool):
        params = inspect.signature(fn).parameters
        assert list(params) == ["x", "ndim", "keepdims", "channels_last"]
        assert params["ndim"].kind is inspect.Parameter.KEYWORD_ONLY
    params = inspect.signature(global_lp_pool).parameters
    assert list(params) == ["x", "norm_type", "ndim", "keepdims", "channels_last"]
    assert params["norm_type"].default == 2.0


# --------------------------------------------------------------------------------------------
# errors


def m(*parts: str) -> str:
    return ".*".join(re.escape(p) for p in parts)


X = np.ones((2, 3, 4, 4), np.float32)

ERRORS = [
    ("too-few-dims", lambda: global_max_pool(np.ones((2, 3))), ValueError,
     m("global_max_pool()", "at least 3 dims (N, C, *spatial) when ndim is None", "got 2 dims")),
    ("ndim-zero", lambda: global_avg_pool(X, ndim=0), ValueError,
     m("global_avg_pool()", "ndim must be a positive int", "0")),
    ("ndim-type", lambda: global_avg_pool(X, ndim=1.5), TypeError,
     m("global_avg_pool()", "ndim must be an int", "1.5")),
    ("ndim-mismatch", lambda: global_max_pool(X, ndim=4), ValueError,
     m("global_max_pool()", "input must have 5 dims (C, *spatial) or 6 dims", "(2, 3, 4, 4)")),
    ("keepdims", lambda: global_max_pool(X, keepdims=1), TypeError,
     m("global_max_pool()", "keepdims must be a bool", "1")),
    ("avg-int", lambda: global_avg_pool(X.astype(np.int32)), TypeError,
     m("global_avg_pool()", "input dtype must be float16, float32 or float64", "int32")),
    ("lp-int", lambda: global_lp_pool(X.astype(np.uint8)), TypeError,
     m("global_lp_pool()", "input dtype must be float16, float32 or float64", "uint8")),
    ("lp-zero", lambda: global_lp_pool(X, 0), ValueError,
     m("global_lp_pool()", "norm_type must be positive", "0")),
    ("lp-negative", lambda: global_lp_pool(X, -2.0), ValueError,
     m("global_lp_pool()", "norm_type must be positive", "-2.0")),
    ("lp-nan", lambda: global_lp_pool(X, float("nan")), ValueError,
     m("global_lp_pool()", "norm_type must be positive", "nan")),
    ("lp-bool", lambda: global_lp_pool(X, True), TypeError,
     m("global_lp_pool()", "norm_type must be a real number", "True")),
    ("lp-string", lambda: global_lp_pool(X, "2"), TypeError,
     m("global_lp_pool()", "norm_type must be a real number", "'2'", "str")),
    ("string-input", lambda: global_max_pool("abc"), TypeError,
     m("global_max_pool()", "input must be a real numeric array", "str")),
    ("grad-int", lambda: poolnd.vjp(global_max_pool, X.astype(np.int64)), TypeError,
     m("global_max_pool()", "gradients need a floating input", "int64")),
    ("grad-shape", lambda: poolnd.vjp(global_avg_pool, X)[1](np.ones((2, 3, 1, 1))), ValueError,
     m("global_avg_pool() backward", "grad_output must have the output's shape (2, 3)",
       "(2, 3, 1, 1)")),
]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
