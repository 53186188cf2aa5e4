"""Adaptive max and average pooling (``poolnd.functional.adaptive_*``, ``poolnd.nn.Adaptive*``)
against torch 2.13 CPU.

Max values and indices and average values are compared bit for bit (float16 included),
except adaptive averages to size 1, which PyTorch computes with ``torch.mean`` and which
are compared within float rounding. Gradients are compared with torch autograd bit for bit.
Integer max pooling (which torch lacks) is compared with the brute-force reference. Every
kernel path runs: the plane-minor compiled kernels (many planes), the row kernels and NumPy.
"""

from __future__ import annotations

import inspect
import itertools
import re
from fractions import Fraction

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
from reference import max_pool_grad_ref
from reference_tables import (
    adaptive_avg_grad_ref,
    adaptive_avg_ref,
    adaptive_bounds_ref,
    adaptive_max_ref,
)

import poolnd

# private units tested directly: the window arithmetic, and the table kernels' switches that
# force each engine (compiled plane-minor, row kernels, NumPy)
from poolnd._geometry import adaptive_table, adaptive_window
from poolnd._kernels import tables as tk

F = poolnd.functional

GRID = {
    1: [((n,), o) for n in (1, 5, 7, 10) for o in (1, 2, 3, 4, 7, 11, (5,))],
    2: [
        ((5, 7), (3, 2)), ((4, 4), (4, 4)), ((3, 2), (5, 7)), ((7, 7), (1, 1)),
        ((14, 14), (7, 7)), ((6, 5), (None, 2)), ((6, 5), (3, None)), ((6, 5), (None, None)),
        ((1, 1), (3, 2)), ((9, 4), (4, 3)), ((5, 6), 2), ((5, 6), 1), ((5, 6), [2, 1]),
        ((8, 3), (1, 3)),
    ],
    3: [
        ((3, 5, 4), (2, 3, 2)), ((2, 2, 2), (3, 3, 3)), ((4, 4, 4), (1, 1, 1)),
        ((5, 3, 6), (None, 2, 4)), ((3, 4, 5), 2), ((4, 6, 7), (4, 1, 3)), ((2, 3, 4), 1),
    ],
}


def _full_size(output_size, spatial):
    """torch's reading of output_size: an int for every dim, None = the input size."""
    if isinstance(output_size, (list, tuple)):
        return tuple(n if o is None else o for o, n in zip(output_size, spatial))
    return (output_size,) * len(spatial)


@pytest.fixture(params=["auto", "rows", "numpy"])
def engine(request, monkeypatch):
    """auto: plane-minor kernels for many planes, else row kernels; rows: row kernels
    only; numpy: the NumPy table passes only."""
    if request.param == "rows":
        monkeypatch.setattr(poolnd._threads, "LANE_BUFFER", 0)
    elif request.param == "numpy":
        monkeypatch.setattr(tk, "_COMPILED_DTYPES", frozenset())
    return request.param


def _values(rng, shape, dtype, pattern):
    if pattern == "ties":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    x = rng.standard_normal(shape) * 4
    if pattern == "specials":
        flat = x.reshape(-1)
        n = flat.size
        flat[rng.integers(0, n, size=n // 5 + 1)] = np.nan
        flat[rng.integers(0, n, size=n // 7 + 1)] = np.inf
        flat[rng.integers(0, n, size=n // 7 + 1)] = -np.inf
        flat[rng.integers(0, n, size=n // 7 + 1)] = -0.0
    return x.astype(dtype)


def _torch_fn(kind, nd):
    return getattr(tF, f"adaptive_{kind}_pool{nd}d")


def _ours(kind, nd):
    return getattr(F, f"adaptive_{kind}_pool{nd}d")


def check_max(x, nd, output_size, *, grad=True):
    """poolnd's adaptive max (values, indices, values-only path, gradient) against torch."""
    xc = native(x)
    tv, ti = _torch_fn("max", nd)(to_torch(xc), output_size, return_indices=True)
    values, indices = _ours("max", nd)(x, output_size, return_indices=True)
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    assert_identical(_ours("max", nd)(x, output_size), from_torch(tv))
    if grad and values.size:
        out, pullback = poolnd.vjp(_ours("max", nd), x, output_size)
        g = grad_like(out)
        t = to_torch(xc).requires_grad_()
        _torch_fn("max", nd)(t, output_size).backward(to_torch(g))
        assert_identical(pullback(g), from_torch(t.grad))


def assert_mean_close(actual, expected, x, nd):
    """All-ones adaptive average (torch.mean): equal within float rounding of the sum."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    eps = {2: 1e-3, 4: 1e-6, 8: 1e-14}[actual.dtype.itemsize]
    with np.errstate(all="ignore"):
        scale = np.abs(native(x).astype(np.float64)).mean(
            axis=tuple(range(-nd, 0)), keepdims=True
        )
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        close = np.isclose(a, e, rtol=eps, atol=0) | (np.abs(a - e) <= eps * scale)
    assert np.all(close | (np.isnan(a) & np.isnan(e))), (actual, expected)


def check_avg(x, nd, output_size, *, grad=True):
    xc = native(x)
    expected = from_torch(_torch_fn("avg", nd)(to_torch(xc), output_size))
    out = _ours("avg", nd)(x, output_size)
    size = _full_size(output_size, xc.shape[xc.ndim - nd:])
    if all(o == 1 for o in size):
        assert_mean_close(out, expected, xc, nd)
    else:
        assert_identical(out, expected, max_nan_payloads=False)
    if grad and out.size:
        values, pullback = poolnd.vjp(_ours("avg", nd), x, output_size)
        g = grad_like(values)
        t = to_torch(xc).requires_grad_()
        _torch_fn("avg", nd)(t, output_size).backward(to_torch(g))
        assert_identical(pullback(g), from_torch(t.grad), max_nan_payloads=False)


# --------------------------------------------------------------------------------------------
# window arithmetic (poolnd._geometry)


@pytest.mark.parametrize("in_len", [1, 2, 3, 5, 7, 10, 14, 17, 64])
def test_adaptive_windows_match_exact_fractions(in_len):
    for out_len in range(1, 3 * in_len + 3):
        bounds = adaptive_bounds_ref(in_len, out_len)
        assert [adaptive_window(i, in_len, out_len) for i in range(out_len)] == bounds
        starts, sizes = adaptive_table(in_len, out_len)
        assert starts == [b[0] for b in bounds]
        assert sizes == [b[1] - b[0] for b in bounds]
        # the windows cover the input, in order, each non-empty
        assert all(s >= 1 for s in sizes) and starts[0] == 0
        assert starts[-1] + sizes[-1] == in_len
        assert starts == sorted(starts)


def test_adaptive_window_against_torch_source_formula():
    # AdaptivePooling.h: start = (a / b) * c + ((a % b) * c) / b, end = 1 + ((a + 1) * c - 1) / b
    for in_len, out_len in itertools.product(range(1, 12), range(1, 15)):
        for i in range(out_len):
            start = (i // out_len) * in_len + ((i % out_len) * in_len) // out_len
            end = 1 + ((i + 1) * in_len - 1) // out_len
            assert adaptive_window(i, in_len, out_len) == (start, end)
            assert start == int(Fraction(i * in_len, out_len))


def test_adaptive_table_of_zero_outputs():
    assert adaptive_table(5, 0) == ([], [])


# --------------------------------------------------------------------------------------------
# oracle grid


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_grid_vs_torch(nd, dtype, engine, rng):
    for (spatial, size), pattern in itertools.product(GRID[nd], ["random", "ties", "specials"]):
        for lead in [(4, 9), (9,)]:  # 36 planes (one block of 32 and a partial one), unbatched
            check_max(_values(rng, (*lead, *spatial), dtype, pattern), nd, size)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_grid_vs_torch(nd, dtype, engine, rng):
    for (spatial, size), pattern in itertools.product(GRID[nd], ["random", "ties", "specials"]):
        for lead in [(4, 9), (9,)]:
            check_avg(_values(rng, (*lead, *spatial), dtype, pattern), nd, size)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_zero_output_size_and_zero_batch(kind, nd, engine):
    fn = _ours(kind, nd)
    x = np.ones((2, 3) + (4,) * nd, dtype=np.float32)
    for size in [0, (0,) * nd, (2,) * (nd - 1) + (0,)] if nd > 1 else [0, (0,)]:
        expected = from_torch(_torch_fn(kind, nd)(to_torch(x), size))
        assert expected.size == 0
        out = fn(x, size)
        assert_identical(out, expected)
        _, pullback = poolnd.vjp(fn, x, size)  # torch's backward refuses empty outputs
        assert_identical(pullback(np.zeros(out.shape, np.float32)), np.zeros_like(x))
    empty = np.ones((0, 3) + (5,) * nd, dtype=np.float64)
    expected = from_torch(_torch_fn(kind, nd)(to_torch(empty), 2))
    assert_identical(fn(empty, 2), expected)
    out, pullback = poolnd.vjp(fn, empty, 2)
    assert_identical(pullback(np.ones(out.shape)), np.zeros_like(empty))
    if kind == "max":
        _, ti = _torch_fn(kind, nd)(to_torch(empty), 2, return_indices=True)
        assert_identical(fn(empty, 2, return_indices=True)[1], from_torch(ti))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_non_contiguous_layouts(nd, rng, engine):
    base = rng.standard_normal((4, 9) + (6,) * nd).astype(np.float32)
    perm = (1, 0, *range(2, nd + 2))
    views = [
        np.ascontiguousarray(base.transpose(perm)).transpose(perm),  # channels outermost
        np.asfortranarray(base),
        base[..., ::-1][..., ::-1],
        np.repeat(base, 2, axis=-1)[..., ::2],
        base.astype(">f4"),
    ]
    for x in views:
        check_max(x, nd, 4)
        check_avg(x, nd, 4)
        check_avg(x, nd, 1)


def test_ties_pick_the_first_maximum_and_nan_the_last():
    x = np.array([[[1.0, 3.0, 3.0, 0.0, np.nan, 2.0, np.nan, 0.5]]], dtype=np.float32)
    bits = x.view(np.uint32).copy()
    bits[0, 0, 6] = 0x7FC00001  # a second NaN with another payload
    x = bits.view(np.float32)
    values, indices = F.adaptive_max_pool1d(x, 2, return_indices=True)
    assert indices.tolist() == [[[1, 6]]]  # windows [0, 4) and [4, 8)
    assert values.view(np.uint32)[0, 0, 1] == 0x7FC00001
    tv, ti = tF.adaptive_max_pool1d(to_torch(x), 2, return_indices=True)
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    zeros = np.array([[-0.0, 0.0, -0.0]], dtype=np.float64)
    v, i = F.adaptive_max_pool1d(zeros, 1, return_indices=True)
    assert i.tolist() == [[0]] and np.signbit(v[0, 0])


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=str)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_integer_max_vs_reference(nd, dtype, engine, rng):
    info = np.iinfo(dtype)
    for spatial, size in GRID[nd][::2]:
        full = _full_size(size, spatial)
        for lead in [(2, 3), (3,)]:
            x = rng.integers(info.min, info.max, size=(*lead, *spatial), dtype=dtype,
                             endpoint=True)
            x.reshape(-1)[::3] = info.min  # windows of only the lowest value
            x.reshape(-1)[1::5] = info.max
            values, indices = getattr(F, f"adaptive_max_pool{nd}d")(x, size, return_indices=True)
            ev, ei = adaptive_max_ref(x, full)
            assert_identical(values, ev)
            assert_identical(indices, ei)
            assert_identical(getattr(F, f"adaptive_max_pool{nd}d")(x, size), ev)
    with pytest.raises(TypeError, match=re.escape("adaptive_max_pool1d(): gradients need")):
        poolnd.vjp(F.adaptive_max_pool1d, np.ones((2, 5), dtype=dtype), 2)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_float16_avg_reference_and_3d_half_accumulation(nd, rng):
    """The reference confirms the arithmetic torch checks: float32 sums for 1d/2d, float16
    sums and divisions for 3d."""
    x = (rng.standard_normal((2, 3) + (7,) * nd) * 50).astype(np.float16)
    size = (3,) * nd
    out = _ours("avg", nd)(x, size)
    acc = np.float16 if nd == 3 else np.float32
    assert_identical(out, adaptive_avg_ref(x, size, acc), max_nan_payloads=False)
    if nd == 3:  # float32 accumulation would differ somewhere on such data
        assert not np.array_equal(out, adaptive_avg_ref(x, size, np.float32))
    g = grad_like(out)
    _, pullback = poolnd.vjp(_ours("avg", nd), x, size)
    assert_identical(pullback(g), adaptive_avg_grad_ref(g, x.shape, size))


def test_avg_divides_by_each_extent_in_turn(rng):
    """sum / kh / kw differs from sum / (kh * kw) in the last bit for some windows; poolnd
    follows the former, as torch does."""
    x = rng.standard_normal((1, 64, 11, 11)).astype(np.float32)
    out = F.adaptive_avg_pool2d(x, 3)  # windows of 4, 5 and 4 cells per dimension
    assert_identical(out, adaptive_avg_ref(x, (3, 3)))
    assert_identical(out, from_torch(tF.adaptive_avg_pool2d(to_torch(x), 3)))
    once = np.empty_like(out)
    for i, j in np.ndindex(3, 3):
        (h0, h1), (w0, w1) = adaptive_bounds_ref(11, 3)[i], adaptive_bounds_ref(11, 3)[j]
        total = np.zeros(64, np.float32)
        for h, w in itertools.product(range(h0, h1), range(w0, w1)):
            total += x[0, :, h, w]
        once[0, :, i, j] = total / np.float32((h1 - h0) * (w1 - w0))
    assert not np.array_equal(once, out)


def test_gradient_reference_for_overlapping_and_repeated_windows(rng):
    """O > L repeats cells, O not dividing L overlaps windows: each cell must get its
    contributions in output raster order (checked against the reference and torch)."""
    for shape, size in [((3, 2, 3), (5, 7)), ((2, 5, 7), (3, 4)), ((2, 2, 3, 2), (5, 2, 3))]:
        nd = len(size)
        x = rng.standard_normal(shape).astype(np.float32)
        g = (rng.standard_normal((shape[0], *size)) * 1e3).astype(np.float32)
        _, pullback = poolnd.vjp(_ours("avg", nd), x, size)
        assert_identical(pullback(g), adaptive_avg_grad_ref(g, shape, size))
        _, pullback = poolnd.vjp(_ours("max", nd), x, size, True)
        _, idx = adaptive_max_ref(x, size)
        assert_identical(pullback(g), max_pool_grad_ref(g, idx, shape, nd))


def test_large_inputs_use_the_parallel_kernels_and_match_torch(rng):
    # each above the kernels' serial threshold (2**16 cell visits): plane-minor kernels, the
    # mean, the row kernels (few large planes) and the parallel backward
    for shape, size in [((8, 64, 14, 14), 7), ((8, 130, 9, 9), (4, 5)), ((4, 600, 7, 7), 1),
                        ((2, 3, 120, 130), (17, 9))]:
        x = rng.standard_normal(shape).astype(np.float32)
        check_max(x, 2, size)
        check_avg(x, 2, size)


# --------------------------------------------------------------------------------------------
# Hypothesis


@st.composite
def adaptive_cases(draw):
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(nd))
    sizes = [draw(st.integers(0, 9)) for _ in range(nd)]
    if nd == 1:
        size = draw(st.sampled_from([sizes[0], (sizes[0],)]))
    else:
        size = tuple(None if draw(st.integers(0, 4)) == 0 else s for s in sizes)
        if len(set(sizes)) == 1 and draw(st.booleans()):
            size = sizes[0]
    lead = draw(st.sampled_from([(), (1,), (2,), (33,)]))
    channels = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    x = draw(arrays_of(dtype, (*lead, channels, *spatial)))
    x = draw(relayout(x))
    return nd, x, size


@settings(max_examples=60)
@given(adaptive_cases())
def test_hypothesis_vs_torch(case):
    nd, x, size = case
    check_max(x, nd, size)
    if x.size:
        check_avg(x, nd, size)


@settings(max_examples=25)
@given(adaptive_cases(), st.sampled_from(["rows", "numpy"]))
def test_hypothesis_engines_agree(case, engine_name):
    nd, x, size = case
    want_max = _ours("max", nd)(x, size, return_indices=True)
    want_avg = _ours("avg", nd)(x, size)
    saved = poolnd._threads.LANE_BUFFER, tk._COMPILED_DTYPES
    try:
        if engine_name == "rows":
            poolnd._threads.LANE_BUFFER = 0
        else:
            tk._COMPILED_DTYPES = frozenset()
        got_max = _ours("max", nd)(x, size, return_indices=True)
        got_avg = _ours("avg", nd)(x, size)
    finally:
        poolnd._threads.LANE_BUFFER, tk._COMPILED_DTYPES = saved
    assert_identical(got_max[0], want_max[0])
    assert_identical(got_max[1], want_max[1])
    full = _full_size(size, x.shape[x.ndim - nd:])
    if all(o == 1 for o in full):
        assert_mean_close(got_avg, want_avg, x, nd)
    else:
        assert_identical(got_avg, want_avg, max_nan_payloads=False)


# --------------------------------------------------------------------------------------------
# inputs are left alone; vjp; threads


def test_inputs_never_mutated_and_outputs_never_alias(rng):
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    before = x.tobytes()
    for fn, args in [(F.adaptive_max_pool2d, (5, True)), (F.adaptive_avg_pool2d, ((5, 5),)),
                     (F.adaptive_avg_pool2d, (1,)), (F.adaptive_max_pool2d, ((None, 5),))]:
        out, pullback = poolnd.vjp(fn, x, *args)
        values = out[0] if isinstance(out, tuple) else out
        assert not np.shares_memory(values, x)
        g = np.ones_like(values)
        g_before = g.tobytes()
        grad = pullback(g)
        assert not np.shares_memory(grad, g) and not np.shares_memory(grad, x)
        assert g.tobytes() == g_before
        assert x.tobytes() == before
    ro = x.copy()
    ro.flags.writeable = False
    assert_identical(F.adaptive_avg_pool2d(ro, 3), F.adaptive_avg_pool2d(x, 3))


def test_results_do_not_depend_on_thread_count(rng):
    x = rng.standard_normal((8, 40, 13, 11)).astype(np.float32)
    before = poolnd.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            poolnd.set_num_threads(n)
            out, pullback = poolnd.vjp(F.adaptive_avg_pool2d, x, (5, 4))
            v, i = F.adaptive_max_pool2d(x, (5, 4), return_indices=True)
            results.append((out, pullback(np.ones_like(out)), v, i, F.adaptive_avg_pool2d(x, 1)))
    finally:
        poolnd.set_num_threads(before)
    for a, b in zip(*results):
        assert_identical(a, b)


def test_signatures_match_torch():
    for name in ["adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]:
        params = list(inspect.signature(getattr(F, name)).parameters)
        assert params == ["input", "output_size", "return_indices", "channels_last"]
    for name in ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"]:
        params = list(inspect.signature(getattr(F, name)).parameters)
        assert params == ["input", "output_size", "channels_last"]


def test_vjp_binds_keywords_like_the_forward(rng):
    x = rng.standard_normal((2, 3, 6)).astype(np.float64)
    (v, i), pullback = poolnd.vjp(F.adaptive_max_pool1d, x, output_size=4, return_indices=True)
    assert_identical(v, F.adaptive_max_pool1d(x, 4))
    assert_identical(i, F.adaptive_max_pool1d(x, 4, True)[1])
    assert pullback(np.ones_like(v)).shape == x.shape
    with pytest.raises(ValueError, match=re.escape("grad_output must have the output's shape")):
        pullback(np.ones((2, 3, 5)))


# --------------------------------------------------------------------------------------------
# errors


X1 = np.ones((1, 2, 6), dtype=np.float32)
X2 = np.ones((1, 2, 6, 6), dtype=np.float32)
X3 = np.ones((1, 1, 4, 4, 4), dtype=np.float32)


def m(*parts: str) -> str:
    return ".*".join(re.escape(p) for p in parts)


ERRORS = [
    ("rank-2d", lambda: F.adaptive_max_pool2d(np.ones((2, 5)), 2), ValueError,
     m("adaptive_max_pool2d()", "input must have 3 dims", "got shape (2, 5)")),
    ("rank-3d", lambda: F.adaptive_avg_pool3d(X2[0], 2), ValueError,
     m("adaptive_avg_pool3d()", "input must have 4 dims", "or 5 dims", "(2, 6, 6)")),
    ("rank-1d", lambda: F.adaptive_avg_pool1d(X2, 2), ValueError,
     m("adaptive_avg_pool1d()", "input must have 2 dims", "(1, 2, 6, 6)")),
    ("empty-spatial", lambda: F.adaptive_max_pool2d(np.ones((1, 2, 0, 4)), 2), ValueError,
     m("adaptive_max_pool2d()", "must be positive", "(1, 2, 0, 4)")),
    ("negative-size", lambda: F.adaptive_max_pool2d(X2, (-1, 2)), ValueError,
     m("adaptive_max_pool2d()", "output_size must be non-negative", "(-1, 2)")),
    ("negative-int", lambda: F.adaptive_avg_pool1d(X1, -3), ValueError,
     m("adaptive_avg_pool1d()", "output_size must be non-negative", "-3")),
    ("length-2d", lambda: F.adaptive_avg_pool2d(X2, (3, 3, 3)), ValueError,
     m("adaptive_avg_pool2d()", "output_size must be an int or a tuple of 2", "length 3")),
    ("length-1-for-2d", lambda: F.adaptive_max_pool2d(X2, [3]), ValueError,
     m("adaptive_max_pool2d()", "tuple of 2 ints or Nones", "[3] of length 1")),
    ("length-1d", lambda: F.adaptive_max_pool1d(X1, (2, 2)), ValueError,
     m("adaptive_max_pool1d()", "tuple of 1 ints", "length 2")),
    ("length-3d", lambda: F.adaptive_max_pool3d(X3, (2, 2)), ValueError,
     m("adaptive_max_pool3d()", "tuple of 3", "length 2")),
    ("none-1d", lambda: F.adaptive_max_pool1d(X1, None), TypeError,
     m("adaptive_max_pool1d()", "output_size must be an int", "got None")),
    ("none-entry-1d", lambda: F.adaptive_avg_pool1d(X1, (None,)), TypeError,
     m("adaptive_avg_pool1d()", "None", "2d and 3d ops only", "(None,)")),
    ("none-2d", lambda: F.adaptive_avg_pool2d(X2, None), TypeError,
     m("adaptive_avg_pool2d()", "output_size", "got None")),
    ("float-size", lambda: F.adaptive_avg_pool2d(X2, 2.0), TypeError,
     m("adaptive_avg_pool2d()", "output_size must be an int or a tuple of ints", "2.0")),
    ("bool-size", lambda: F.adaptive_max_pool2d(X2, (True, 2)), TypeError,
     m("adaptive_max_pool2d()", "output_size must contain ints, not bools", "(True, 2)")),
    ("int-avg", lambda: F.adaptive_avg_pool2d(X2.astype(np.int64), 2), TypeError,
     m("adaptive_avg_pool2d()", "input dtype must be float16, float32, float64 or bfloat16",
       "int64")),
    ("bool-input", lambda: F.adaptive_max_pool1d(X1.astype(bool), 2), TypeError,
     m("adaptive_max_pool1d()", "input dtype", "bool")),
    ("string-input", lambda: F.adaptive_max_pool1d("abc", 2), TypeError,
     m("adaptive_max_pool1d()", "input must be a real numeric array", "str")),
    ("return-indices", lambda: F.adaptive_max_pool2d(X2, 2, 1), TypeError,
     m("adaptive_max_pool2d()", "return_indices must be a bool", "1")),
    ("grad-int", lambda: poolnd.vjp(F.adaptive_max_pool2d, X2.astype(np.int8), 2), TypeError,
     m("adaptive_max_pool2d()", "gradients need a floating input", "int8")),
    ("grad-dtype", lambda: poolnd.vjp(F.adaptive_avg_pool1d, X1, 2)[1](np.ones((1, 2, 2), bool)),
     TypeError, m("adaptive_avg_pool1d() backward", "grad_output must be a real numeric array")),
]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_torch_rejects_what_poolnd_rejects():
    """Spot checks that the rejected calls above are rejected by torch too."""
    t2 = to_torch(X2)
    for call in [lambda: tF.adaptive_max_pool2d(t2, (-1, 2)),
                 lambda: tF.adaptive_avg_pool2d(t2, (3, 3, 3)),
                 lambda: tF.adaptive_max_pool2d(t2, [3]),
                 lambda: tF.adaptive_max_pool1d(to_torch(X1), None),
                 lambda: tF.adaptive_avg_pool2d(to_torch(X2.astype(np.int64)), 2)]:
        with pytest.raises((RuntimeError, TypeError, ValueError, NotImplementedError)):
            call()


# --------------------------------------------------------------------------------------------
# layers

LAYERS = ["AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
          "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"]


def _params(fn):
    """torch's part of a signature: poolnd's keyword-only ``channels_last`` left out."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "channels_last"]


@pytest.mark.parametrize("name", LAYERS)
def test_layer_signature_and_reprs_match_torch(name):
    cls, theirs = getattr(poolnd.nn, name), getattr(torch.nn, name)
    assert _params(cls.__init__) == _params(theirs.__init__)
    assert issubclass(cls, poolnd.nn.Module)
    nd = int(name[-2])
    sizes = [1, 3, (3,), [2], 0, (None,) * nd, tuple(range(1, nd + 1)), [None] + [4] * (nd - 1),
             (2, None, 5)[:nd], None, np.int64(4)]
    for size in sizes:
        extra = [{}] if "Avg" in name else [{}, {"return_indices": True}]
        for kw in extra:
            assert repr(cls(size, **kw)) == repr(theirs(size, **kw)), size
            assert cls(size, **kw).output_size is size


@pytest.mark.parametrize("name", LAYERS)
def test_layer_forward_backward_match_torch(name, rng):
    nd = int(name[-2])
    size = (None,) + (3,) * (nd - 1) if nd > 1 else 3
    x = rng.standard_normal((2, 3) + (5,) * nd).astype(np.float32)
    kw = {"return_indices": True} if "Max" in name else {}
    ours, theirs = getattr(poolnd.nn, name)(size, **kw), getattr(torch.nn, name)(size, **kw)
    t = to_torch(x).requires_grad_()
    expected = theirs(t)
    got = ours(x)
    if kw:
        assert_identical(got[0], from_torch(expected[0]))
        assert_identical(got[1], from_torch(expected[1]))
        expected = expected[0]
    else:
        assert_identical(got, from_torch(expected))
    g = grad_like(from_torch(expected))
    expected.backward(to_torch(g))
    assert_identical(ours.backward(g), from_torch(t.grad))
    # integer input: forward works for max, backward is refused
    if "Max" in name:
        ours(x.astype(np.int16))
        with pytest.raises(RuntimeError, match="not floating point"):
            ours.backward(g)
