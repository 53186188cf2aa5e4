"""Fractional max pooling (``poolnd.functional.fractional_max_pool*``, ``poolnd.nn``) against
torch 2.13 CPU.

With the same ``_random_samples``, values and indices are compared bit for bit (float32,
float64 and float16), and gradients with torch autograd; the interval arithmetic is also
checked against a scalar re-implementation of PyTorch's ``generate_intervals``.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import (
    FLOAT_DTYPES,
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
from reference import max_pool_grad_ref
from reference_tables import fractional_max_ref, fractional_starts_ref

import poolnd

# private units tested directly: the interval arithmetic, and the table kernels' switch that
# forces the NumPy engine
from poolnd._geometry import fractional_starts
from poolnd._kernels import tables as tk

F = poolnd.functional


def _fn(nd):
    return getattr(F, f"fractional_max_pool{nd}d")


def _torch_fn(nd):
    return getattr(tF, f"fractional_max_pool{nd}d")


def check(x, nd, kernel, *, samples, grad=True, **kwargs):
    """poolnd against torch with the same samples: values, indices, values-only, gradient."""
    xc = native(x)
    ts = to_torch(samples)
    tv, ti = _torch_fn(nd)(to_torch(xc), kernel, return_indices=True, _random_samples=ts,
                           **kwargs)
    values, indices = _fn(nd)(x, kernel, return_indices=True, _random_samples=samples, **kwargs)
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    assert_identical(_fn(nd)(x, kernel, _random_samples=samples, **kwargs), from_torch(tv))
    if grad and values.size:
        out, pullback = poolnd.vjp(_fn(nd), x, kernel, _random_samples=samples, **kwargs)
        g = grad_like(out)
        t = to_torch(xc).requires_grad_()
        _torch_fn(nd)(t, kernel, _random_samples=ts, **kwargs).backward(to_torch(g))
        assert_identical(pullback(g), from_torch(t.grad))
    return values, indices


@pytest.fixture(params=["auto", "numpy"])
def engine(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setattr(tk, "_COMPILED_DTYPES", frozenset())
    return request.param


# --------------------------------------------------------------------------------------------
# interval arithmetic (poolnd._geometry.fractional_starts)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_fractional_starts_match_scalar_reference(dtype, rng):
    with np.errstate(over="ignore"):  # 1e10 is inf in float16
        samples = np.concatenate([
            rng.random(40), [0.0, 0.5, 0.999999, 1.0, 1.5, 5.0, -0.25, np.nan, np.inf, -np.inf,
                             1e10, -1e10, np.nextafter(1, 0), 30000.0, 715827882.2],
        ]).astype(dtype)
    for in_len, out_len, pool in [(10, 4, 2), (5, 3, 2), (7, 7, 1), (100, 37, 3), (9, 1, 4),
                                  (4, 0, 2), (3000, 1500, 2), (50, 2, 49), (6, 4, 3)]:
        got = fractional_starts(samples, in_len, out_len, pool)
        assert got.shape == (samples.size, out_len) and got.dtype == np.int64
        for row, u in zip(got, samples):
            assert row.tolist() == fractional_starts_ref(u, in_len, out_len, pool), (u, in_len)


def test_fractional_starts_properties(rng):
    for _ in range(200):
        pool = int(rng.integers(1, 5))
        in_len = pool + int(rng.integers(0, 60))
        out_len = int(rng.integers(1, in_len - pool + 2))
        u = rng.random(5)
        starts = fractional_starts(u, in_len, out_len, pool)
        assert (starts[:, -1] == in_len - pool).all()
        assert out_len == 1 or (starts[:, 0] == 0).all()
        assert (np.diff(starts, axis=1) >= 0).all()
        assert starts.min() >= 0 and starts.max() <= in_len - pool


# --------------------------------------------------------------------------------------------
# oracle checks

CASES_2D = [
    # (spatial, kernel, output_size)
    ((5, 5), 2, (3, 3)), ((5, 5), 2, (4, 4)), ((7, 9), (2, 3), (4, 5)), ((6, 6), 1, 6),
    ((10, 8), 3, (8, 6)), ((4, 11), (3, 1), (2, 11)), ((9, 9), 2, 1), ((9, 9), 2, (0, 3)),
    ((32, 32), 2, (16, 16)), ((3, 3), 3, 1),
]
CASES_3D = [
    ((5, 5, 5), 2, (3, 3, 3)), ((6, 7, 8), (2, 3, 1), (4, 3, 7)), ((4, 4, 4), 1, 3),
    ((8, 6, 5), 2, (1, 2, 3)), ((3, 4, 5), (1, 2, 2), (0, 2, 2)), ((9, 9, 9), 3, (6, 5, 4)),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("nd", [2, 3])
def test_grid_vs_torch(nd, dtype, engine, rng):
    for spatial, kernel, size in CASES_2D if nd == 2 else CASES_3D:
        for lead, pattern in [((2, 3), "random"), ((3,), "ties"), ((4, 2), "specials")]:
            x = rng.standard_normal((*lead, *spatial)) * 4
            if pattern == "ties":
                x = np.round(x / 4)
            elif pattern == "specials":
                x.reshape(-1)[::5] = np.nan
                x.reshape(-1)[1::7] = np.inf
                x.reshape(-1)[2::7] = -np.inf
                x.reshape(-1)[3::9] = -0.0
            x = x.astype(dtype)
            batch = lead[0] if len(lead) == 2 else 1
            samples = rng.random((batch + 1, lead[-1], nd)).astype(dtype)  # extra rows unused
            check(x, nd, kernel, output_size=size, samples=samples)


@pytest.mark.parametrize("nd", [2, 3])
def test_unusual_samples_vs_torch(nd, rng):
    """Samples are not range-checked: 0, 1, > 1, negative, NaN and inf behave as in torch."""
    x = rng.standard_normal((2, 3) + (9,) * nd).astype(np.float32)
    for value in [0.0, 1.0, 0.99999994, 1.5, 5.0, -0.5, np.nan, np.inf, -np.inf]:
        samples = np.full((2, 3, nd), value, dtype=np.float32)
        check(x, nd, 3, output_size=4, samples=samples)
    mixed = np.array([[[0.1, np.nan, 0.7][:nd]] * 3] * 2, dtype=np.float32)
    check(x, nd, 2, output_size=(5,) * nd, samples=mixed)


def test_sample_columns_drive_the_documented_dimensions(rng):
    """2d: sample 0 moves the width windows, sample 1 the height windows; 3d: 0, 1, 2 for
    time, height, width. Checked on the window each index falls in, and torch agrees."""
    x = rng.standard_normal((1, 1, 10, 10))
    lo, hi = fractional_starts(np.array([0.1, 0.9]), 10, 4, 2)
    assert not np.array_equal(lo, hi)  # the two samples place the windows differently
    for u_w, u_h in [(0.1, 0.9), (0.9, 0.1)]:
        samples = np.array([[[u_w, u_h]]])
        _, indices = check(x, 2, 2, output_size=4, samples=samples)
        starts_h = fractional_starts(np.array([u_h]), 10, 4, 2)[0]
        starts_w = fractional_starts(np.array([u_w]), 10, 4, 2)[0]
        rows, cols = indices[0, 0] // 10, indices[0, 0] % 10
        assert ((rows >= starts_h[:, None]) & (rows < starts_h[:, None] + 2)).all()
        assert ((cols >= starts_w[None, :]) & (cols < starts_w[None, :] + 2)).all()
    x3 = rng.standard_normal((1, 1, 10, 10, 10))
    for u in [(0.1, 0.5, 0.9), (0.9, 0.1, 0.5)]:
        samples = np.array([[u]])
        _, indices = check(x3, 3, 2, output_size=4, samples=samples)
        cells = np.unravel_index(indices[0, 0], (10, 10, 10))
        for axis in range(3):
            starts = fractional_starts(np.array([u[axis]]), 10, 4, 2)[0]
            shape = [1, 1, 1]
            shape[axis] = 4
            lo_ = starts.reshape(shape)
            assert ((cells[axis] >= lo_) & (cells[axis] < lo_ + 2)).all()


def test_output_ratio_vs_torch(rng):
    x = rng.standard_normal((2, 3, 11, 13)).astype(np.float32)
    samples = rng.random((2, 3, 2)).astype(np.float32)
    for ratio in [(0.5, 0.5), (0.7, 0.3), [0.6, 0.6], (0.99, 0.2)]:
        check(x, 2, 2, output_ratio=ratio, samples=samples)
    # torch's 2d functional cannot take a scalar ratio (len() of a float); poolnd can
    assert_identical(
        F.fractional_max_pool2d(x, 2, output_ratio=0.5, _random_samples=samples),
        F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5), _random_samples=samples),
    )
    x3 = rng.standard_normal((2, 2, 7, 9, 10))
    samples3 = rng.random((2, 2, 3))
    for ratio in [0.5, (0.4, 0.6, 0.75)]:
        check(x3, 3, 2, output_ratio=ratio, samples=samples3)
    # output_size wins over output_ratio when both are given, as in torch
    check(x, 2, 2, output_size=(4, 5), output_ratio=(0.5, 0.5), samples=samples)


def test_pool_size_boundaries_as_torch():
    """2d accepts output + kernel - 1 == input; 3d (strict in torch) rejects it."""
    x2 = np.ones((1, 1, 5, 5), np.float32)
    s2 = np.full((1, 1, 2), 0.5, np.float32)
    check(x2, 2, 2, output_size=4, samples=s2)
    x3 = np.ones((1, 1, 5, 5, 5), np.float32)
    s3 = np.full((1, 1, 3), 0.5, np.float32)
    check(x3, 3, 2, output_size=3, samples=s3)
    with pytest.raises(RuntimeError, match="too large"):
        tF.fractional_max_pool3d(to_torch(x3), 2, 4, _random_samples=to_torch(s3))
    with pytest.raises(ValueError, match=re.escape("pool time 2 too large relative to input "
                                                   "time 5")):
        F.fractional_max_pool3d(x3, 2, 4, _random_samples=s3)


def test_unbatched_and_zero_batch(rng):
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    samples = rng.random((1, 3, 2)).astype(np.float32)
    check(x, 2, 2, output_size=5, samples=samples)
    empty = np.ones((0, 3, 8, 8), np.float32)
    tv, ti = tF.fractional_max_pool2d(to_torch(empty), 2, 5, return_indices=True)
    values, indices = F.fractional_max_pool2d(empty, 2, 5, return_indices=True,
                                               rng=np.random.default_rng(0))
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    out, pullback = poolnd.vjp(F.fractional_max_pool3d, np.ones((0, 2, 6, 6, 6)), 2, 3)
    assert out.shape == (0, 2, 3, 3, 3)
    assert_identical(pullback(np.ones(out.shape)), np.zeros((0, 2, 6, 6, 6)))


def test_non_contiguous_layouts(rng):
    base = rng.standard_normal((2, 3, 9, 10)).astype(np.float64)
    samples = rng.random((2, 3, 2))
    for x in [np.asfortranarray(base), base[..., ::-1][..., ::-1], base.astype(">f8"),
              np.ascontiguousarray(base.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)]:
        check(x, 2, (2, 3), output_size=(5, 6), samples=samples)
    big_endian = samples.astype(">f8")  # a byte-swapped copy of the samples is accepted
    check(base, 2, 2, output_size=4, samples=big_endian)


def test_large_input_uses_the_parallel_kernel(rng):
    x = rng.standard_normal((4, 32, 40, 40)).astype(np.float32)  # above the serial threshold
    samples = rng.random((4, 32, 2)).astype(np.float32)
    check(x, 2, 2, output_size=20, samples=samples)


def test_gradient_matches_reference_scatter(rng):
    x = rng.integers(-2, 3, size=(2, 3, 9, 7)).astype(np.float32)  # ties, overlapping windows
    samples = rng.random((2, 3, 2)).astype(np.float32)
    out, pullback = poolnd.vjp(F.fractional_max_pool2d, x, 3, (6, 4), None, False, samples)
    g = grad_like(out, seed=3)
    _, idx = fractional_max_ref(x, (3, 3), (6, 4), samples)
    assert_identical(pullback(g), max_pool_grad_ref(g, idx, x.shape, 2))


# --------------------------------------------------------------------------------------------
# random samples: rng


def test_rng_draws_documented_samples(rng):
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    got = F.fractional_max_pool2d(x, 2, 5, rng=np.random.default_rng(7), return_indices=True)
    samples = np.random.default_rng(7).random((2, 3, 2), dtype=np.float32)
    expected = F.fractional_max_pool2d(x, 2, 5, _random_samples=samples, return_indices=True)
    assert_identical(got[0], expected[0])
    assert_identical(got[1], expected[1])
    x3 = rng.standard_normal((3, 9, 9, 9))  # unbatched: one row of samples
    got = F.fractional_max_pool3d(x3, 2, 4, rng=np.random.default_rng(8))
    samples = np.random.default_rng(8).random((1, 3, 3))
    assert_identical(got, F.fractional_max_pool3d(x3, 2, 4, _random_samples=samples))
    x16 = x.astype(np.float16)
    got = F.fractional_max_pool2d(x16, 2, 5, rng=np.random.default_rng(9))
    samples = np.random.default_rng(9).random((2, 3, 2), dtype=np.float32).astype(np.float16)
    assert_identical(got, F.fractional_max_pool2d(x16, 2, 5, _random_samples=samples))


def test_default_rng_draws_fresh_windows(rng):
    x = rng.standard_normal((1, 16, 30, 30)).astype(np.float32)
    outs = [F.fractional_max_pool2d(x, 2, 12, return_indices=True)[1] for _ in range(3)]
    assert not (np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2]))
    for idx in outs:  # each is a valid fractional pooling of x
        assert idx.shape == (1, 16, 12, 12) and idx.min() >= 0 and idx.max() < 900


# --------------------------------------------------------------------------------------------
# Hypothesis


@st.composite
def fractional_cases(draw):
    nd = draw(st.integers(2, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    strict = 1 if nd == 3 else 0
    spatial = tuple(k + strict + draw(st.integers(0, 7)) for k in kernel)
    size = tuple(draw(st.integers(0, n - k + 1 - strict)) for n, k in zip(spatial, kernel))
    dtype = draw(st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)]))
    lead = draw(st.sampled_from([(1,), (2,), (0,), ()]))
    channels = draw(st.integers(1, 3))
    x = draw(relayout(draw(arrays_of(dtype, (*lead, channels, *spatial)))))
    rows = max(1, lead[0] if lead else 1) + draw(st.integers(0, 1))
    samples = draw(st.lists(st.floats(0, 1, exclude_max=True, width=32),
                            min_size=rows * channels * nd, max_size=rows * channels * nd))
    samples = np.array(samples, dtype=dtype).reshape(rows, channels, nd)
    kernel_arg = kernel[0] if len(set(kernel)) == 1 and draw(st.booleans()) else kernel
    return nd, x, kernel_arg, size, samples


@settings(max_examples=80)
@given(fractional_cases())
def test_hypothesis_vs_torch(case):
    nd, x, kernel, size, samples = case
    check(x, nd, kernel, output_size=size, samples=samples)


@settings(max_examples=30)
@given(fractional_cases())
def test_hypothesis_compiled_and_numpy_agree(case):
    nd, x, kernel, size, samples = case
    want = _fn(nd)(x, kernel, size, return_indices=True, _random_samples=samples)
    saved = tk._COMPILED_DTYPES
    tk._COMPILED_DTYPES = frozenset()
    try:
        got = _fn(nd)(x, kernel, size, return_indices=True, _random_samples=samples)
    finally:
        tk._COMPILED_DTYPES = saved
    assert_identical(got[0], want[0])
    assert_identical(got[1], want[1])


# --------------------------------------------------------------------------------------------
# inputs left alone, signatures


def test_inputs_never_mutated(rng):
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    samples = rng.random((2, 3, 2)).astype(np.float32)
    before, s_before = x.tobytes(), samples.tobytes()
    out, pullback = poolnd.vjp(F.fractional_max_pool2d, x, 2, 5, None, True, samples)
    grad = pullback(np.ones_like(out[0]))
    assert x.tobytes() == before and samples.tobytes() == s_before
    assert not np.shares_memory(out[0], x) and not np.shares_memory(grad, x)


def test_signatures_extend_torch_with_keyword_rng():
    for nd in (2, 3):
        params = inspect.signature(_fn(nd)).parameters
        assert list(params) == ["input", "kernel_size", "output_size", "output_ratio",
                                "return_indices", "_random_samples", "rng", "channels_last"]
        assert params["rng"].kind is inspect.Parameter.KEYWORD_ONLY


# --------------------------------------------------------------------------------------------
# errors

X2 = np.ones((2, 3, 8, 8), np.float32)
X3 = np.ones((1, 2, 6, 6, 6), np.float32)
S2 = np.full((2, 3, 2), 0.5, np.float32)


def m(*parts: str) -> str:
    return ".*".join(re.escape(p) for p in parts)


ERRORS = [
    ("kernel-zero", lambda: F.fractional_max_pool2d(X2, 0, 3), ValueError,
     m("fractional_max_pool2d()", "kernel_size must be positive", "(0, 0)")),
    ("kernel-negative", lambda: F.fractional_max_pool3d(X3, (2, -1, 2), 2), ValueError,
     m("fractional_max_pool3d()", "kernel_size must be positive", "(2, -1, 2)")),
    ("kernel-length", lambda: F.fractional_max_pool2d(X2, (2, 2, 2), 3), ValueError,
     m("fractional_max_pool2d()", "kernel_size must be a single int or a tuple of 2 ints",
       "length 3")),
    ("kernel-float", lambda: F.fractional_max_pool2d(X2, 2.5, 3), TypeError,
     m("fractional_max_pool2d()", "kernel_size must be an int", "2.5")),
    ("too-large-height", lambda: F.fractional_max_pool2d(X2, 2, (8, 3)), ValueError,
     m("fractional_max_pool2d()", "must be at most the input size",
       "pool height 2 too large relative to input height 8", "output_size=(8, 3)")),
    ("too-large-width", lambda: F.fractional_max_pool2d(X2, (1, 3), (8, 7)), ValueError,
     m("pool width 3 too large relative to input width 8")),
    ("too-large-3d-strict", lambda: F.fractional_max_pool3d(X3, 2, (5, 2, 2)), ValueError,
     m("fractional_max_pool3d()", "must be less than the input size",
       "pool time 2 too large relative to input time 6")),
    ("too-large-ratio", lambda: F.fractional_max_pool2d(X2, 2, output_ratio=1.0), ValueError,
     m("fractional_max_pool2d()", "pool height 2", "output_ratio=1.0", "output size (8, 8)")),
    ("negative-size", lambda: F.fractional_max_pool2d(X2, 2, (-1, 3)), ValueError,
     m("fractional_max_pool2d()", "output size must be non-negative", "output_size=(-1, 3)")),
    ("negative-ratio", lambda: F.fractional_max_pool2d(X2, 2, output_ratio=-0.5), ValueError,
     m("fractional_max_pool2d()", "output size must be non-negative", "output_ratio=-0.5")),
    ("nan-ratio", lambda: F.fractional_max_pool2d(X2, 2, output_ratio=float("nan")), ValueError,
     m("fractional_max_pool2d()", "output_ratio must be finite", "nan")),
    ("ratio-type", lambda: F.fractional_max_pool2d(X2, 2, output_ratio="half"), TypeError,
     m("fractional_max_pool2d()", "output_ratio must contain real numbers", "'half'")),
    ("ratio-length", lambda: F.fractional_max_pool3d(X3, 2, output_ratio=(0.5, 0.5)),
     ValueError, m("fractional_max_pool3d()", "output_ratio must be a number or a tuple of 3",
                   "length 2")),
    ("neither", lambda: F.fractional_max_pool2d(X2, 2), ValueError,
     m("fractional_max_pool2d()", "one of output_size and output_ratio must be given",
       "both None")),
    ("size-none-entry", lambda: F.fractional_max_pool2d(X2, 2, (None, 3)), TypeError,
     m("fractional_max_pool2d()", "output_size must be an int or a tuple of ints")),
    ("samples-dtype", lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=S2.astype(
        np.float64)), TypeError,
     m("fractional_max_pool2d()", "_random_samples must have the input's dtype float32",
       "float64")),
    ("samples-list", lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=[[[0.5, 0.5]]]),
     TypeError, m("_random_samples must have the input's dtype float32", "float64")),
    ("samples-ndim", lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=S2[0]),
     ValueError, m("fractional_max_pool2d()", "_random_samples must have 3 dims",
                   "shape (3, 2)")),
    ("samples-batch", lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=S2[:1]),
     ValueError, m("fractional_max_pool2d()", "N at least the batch size 2",
                   "shape (1, 3, 2)")),
    ("samples-channels", lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=S2[:, :2]),
     ValueError, m("C = 3 channels", "shape (2, 2, 2)")),
    ("samples-last", lambda: F.fractional_max_pool3d(X3, 2, 3, _random_samples=np.zeros(
        (1, 2, 2), np.float32)), ValueError, m("fractional_max_pool3d()", "(N, C, 3)",
                                                "shape (1, 2, 2)")),
    # float16 rounding of i + u puts a window at 32 of 20 (torch: an internal assert fails)
    ("samples-outside", lambda: F.fractional_max_pool2d(
        np.ones((1, 1, 20, 20), np.float16), 2, 10,
        _random_samples=np.full((1, 1, 2), 30000, np.float16)), ValueError,
     m("fractional_max_pool2d()", "_random_samples put a window outside the input")),
    ("rng-type", lambda: F.fractional_max_pool2d(X2, 2, 3, rng=np.random.RandomState(0)),
     TypeError, m("fractional_max_pool2d()", "rng must be a numpy.random.Generator",
                  "RandomState")),
    ("int-input", lambda: F.fractional_max_pool2d(X2.astype(np.int32), 2, 3), TypeError,
     m("fractional_max_pool2d()", "input dtype must be float16, float32, float64 or bfloat16",
       "int32")),
    ("rank", lambda: F.fractional_max_pool2d(np.ones((5, 5)), 2, 3), ValueError,
     m("fractional_max_pool2d()", "input must have 3 dims", "(5, 5)")),
    ("empty-channel", lambda: F.fractional_max_pool2d(np.ones((3, 0, 5)), 2, 3), ValueError,
     m("fractional_max_pool2d()", "sizes must be positive", "(3, 0, 5)")),
    ("return-indices", lambda: F.fractional_max_pool2d(X2, 2, 3, None, "yes"), TypeError,
     m("fractional_max_pool2d()", "return_indices must be a bool", "'yes'")),
]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_torch_rejects_the_same_calls():
    t2, s2 = to_torch(X2), to_torch(S2)
    for call in [
        lambda: tF.fractional_max_pool2d(t2, 2, (8, 3), _random_samples=s2),
        lambda: tF.fractional_max_pool2d(t2, 2),
        lambda: tF.fractional_max_pool2d(t2, 2, 3, _random_samples=s2.double()),
        lambda: tF.fractional_max_pool2d(t2, 2, 3, _random_samples=s2[0]),
        lambda: tF.fractional_max_pool2d(t2, 2, 3, _random_samples=s2[:1]),
        lambda: tF.fractional_max_pool2d(t2, 2, 3, _random_samples=s2[:, :2]),
        lambda: tF.fractional_max_pool2d(t2, 2, (-1, 3), _random_samples=s2),
        lambda: tF.fractional_max_pool3d(to_torch(X3), 2, (5, 2, 2)),
        lambda: tF.fractional_max_pool2d(to_torch(np.ones((1, 1, 20, 20), np.float16)), 2, 10,
                                         _random_samples=torch.full((1, 1, 2), 30000.0,
                                                                    dtype=torch.float16)),
        lambda: tF.fractional_max_pool2d(to_torch(X2.astype(np.int32)), 2, 3),
    ]:
        with pytest.raises((RuntimeError, ValueError, TypeError, NotImplementedError)):
            call()


# --------------------------------------------------------------------------------------------
# layers


def _params(fn):
    """torch's part of a signature: poolnd's keyword-only ``channels_last`` left out."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "channels_last"]


@pytest.mark.parametrize("nd", [2, 3])
def test_layer_signature_repr_and_attributes_match_torch(nd):
    name = f"FractionalMaxPool{nd}d"
    cls, theirs = getattr(poolnd.nn, name), getattr(torch.nn, name)
    assert _params(cls.__init__) == _params(theirs.__init__)
    assert issubclass(cls, poolnd.nn.Module)
    combos = [
        ((2,), {"output_size": 3}), ((2,), {"output_ratio": 0.5}),
        (((2,) * nd,), {"output_size": (4,) * nd, "return_indices": True}),
        (([3] * nd,), {"output_ratio": [0.25] * nd}), ((1, 5), {}), ((1, None, 0.5), {}),
        ((3,), {"output_size": [2] * nd, "_random_samples": np.zeros((1, 1, nd))}),
    ]
    for args, kwargs in combos:
        ours = cls(*args, **kwargs)
        ref_kwargs = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                      for k, v in kwargs.items()}
        ref = theirs(*args, **ref_kwargs)
        assert repr(ours) == repr(ref) == f"{name}()"
        for attr in ["kernel_size", "output_size", "output_ratio", "return_indices"]:
            assert getattr(ours, attr) == getattr(ref, attr), attr


LAYER_ERRORS = [
    (lambda: poolnd.nn.FractionalMaxPool2d(2), ValueError,
     m("FractionalMaxPool2d()", "exactly one of output_size and output_ratio", "neither")),
    (lambda: poolnd.nn.FractionalMaxPool3d(2, 3, 0.5), ValueError,
     m("FractionalMaxPool3d()", "exactly one of output_size and output_ratio", "both",
       "output_size=3", "output_ratio=0.5")),
    (lambda: poolnd.nn.FractionalMaxPool2d(2, output_ratio=1.0), ValueError,
     m("FractionalMaxPool2d()", "output_ratio must be between 0 and 1", "1.0")),
    (lambda: poolnd.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0)), ValueError,
     m("FractionalMaxPool3d()", "output_ratio must be between 0 and 1", "(0.5, 0.5, 0)")),
    (lambda: poolnd.nn.FractionalMaxPool2d(2, output_ratio="a"), TypeError,
     m("FractionalMaxPool2d()", "output_ratio must be a number", "'a'")),
    (lambda: poolnd.nn.FractionalMaxPool3d(0, output_size=2), ValueError,
     m("FractionalMaxPool3d()", "kernel_size must be positive", "0")),
    (lambda: poolnd.nn.FractionalMaxPool2d((2, -1), output_size=2), ValueError,
     m("FractionalMaxPool2d()", "kernel_size must be positive", "(2, -1)")),
    (lambda: poolnd.nn.FractionalMaxPool2d(2.0, output_size=2), TypeError,
     m("FractionalMaxPool2d()", "kernel_size must be an int", "2.0")),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), LAYER_ERRORS)
def test_layer_constructor_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_torch_layers_reject_the_same_configurations():
    for call in [lambda: torch.nn.FractionalMaxPool2d(2),
                 lambda: torch.nn.FractionalMaxPool3d(2, 3, 0.5),
                 lambda: torch.nn.FractionalMaxPool2d(2, output_ratio=1.0),
                 lambda: torch.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0)),
                 lambda: torch.nn.FractionalMaxPool3d(0, output_size=2)]:
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("nd", [2, 3])
def test_layer_forward_backward_match_torch(nd, rng):
    x = rng.standard_normal((2, 3) + (9,) * nd).astype(np.float32)
    samples = rng.random((2, 3, nd)).astype(np.float32)
    name = f"FractionalMaxPool{nd}d"
    ours = getattr(poolnd.nn, name)(2, output_ratio=0.5, return_indices=True,
                                 _random_samples=samples)
    theirs = getattr(torch.nn, name)(2, output_ratio=0.5, return_indices=True,
                                     _random_samples=to_torch(samples))
    t = to_torch(x).requires_grad_()
    tv, ti = theirs(t)
    values, indices = ours(x)
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    g = grad_like(values)
    tv.backward(to_torch(g))
    assert_identical(ours.backward(g), from_torch(t.grad))
    fresh = getattr(poolnd.nn, name)((2,) * nd, output_size=4)  # draws samples each call
    assert fresh(x).shape == (2, 3) + (4,) * nd
    assert fresh.backward(np.ones((2, 3) + (4,) * nd, np.float32)).shape == x.shape
