"""Max unpooling (max_unpool1d/2d/3d, MaxUnpool1d/2d/3d) against torch 2.13 CPU and the loop
reference in ``reference_unpool.py``: values bit for bit (NaN payloads included), output
sizes, duplicate indices (the last write wins), gradients (a gather: every duplicate gets
its cell's gradient), the max-pool round trip, every error path, layers and reprs.

torch's CPU kernel may split one plane between threads, which makes duplicate indices
nondeterministic there; every torch call here runs on one thread (`torch_serial`), where
torch writes in raster order, the order poolnd always uses.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
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
    native,
    relayout,
    to_torch,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference_unpool import default_unpool_size_ref, max_unpool_grad_ref, max_unpool_ref

import poolnd
import poolnd._threads  # private: UNPOOL_COMPILED_MIN_SIZE picks the compiled or NumPy path
from poolnd.functional import max_unpool1d, max_unpool2d, max_unpool3d

FNS = {1: max_unpool1d, 2: max_unpool2d, 3: max_unpool3d}
V, T, R = ValueError, TypeError, RuntimeError


@contextlib.contextmanager
def torch_serial():
    """torch on one thread: duplicate indices are then written in raster order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def kernel_path(path: str):
    """Force the compiled kernels (every size) or the NumPy ones (every size)."""
    before = poolnd._threads.UNPOOL_COMPILED_MIN_SIZE
    poolnd._threads.UNPOOL_COMPILED_MIN_SIZE = 0 if path == "compiled" else 1 << 62
    try:
        yield
    finally:
        poolnd._threads.UNPOOL_COMPILED_MIN_SIZE = before


def m(*parts: str) -> str:
    """A regex matching the literal ``parts`` in this order, anything between them."""
    return ".*".join(re.escape(p) for p in parts)


def _torch_size(output_size):
    """torch's range check needs Python ints (NumPy comparisons give NumPy bools)."""
    return None if output_size is None else [int(v) for v in output_size]


def torch_unpool(x, idx, nd, kernel, stride=None, padding=0, output_size=None):
    output_size = _torch_size(output_size)
    with torch_serial():
        fn = getattr(tF, f"max_unpool{nd}d")
        return from_torch(fn(to_torch(x), to_torch(idx), kernel, stride, padding, output_size))


def torch_unpool_grad(x, idx, nd, g, kernel, stride=None, padding=0, output_size=None):
    t = to_torch(x).requires_grad_()
    output_size = _torch_size(output_size)
    with torch_serial():
        fn = getattr(tF, f"max_unpool{nd}d")
        fn(t, to_torch(idx), kernel, stride, padding, output_size).backward(to_torch(g))
    return from_torch(t.grad)


def check_unpool(x, idx, nd, kernel, stride=None, padding=0, output_size=None, *,
                 expected_spatial=None):
    """poolnd against the reference (always) and torch (floating dtypes), forward and
    pullback; ``x`` and ``idx`` may have any layout."""
    fn = FNS[nd]
    xc, ic = native(x), native(idx)
    out = fn(x, idx, kernel, stride, padding, output_size)
    spatial = out.shape[out.ndim - nd:]
    if expected_spatial is not None:
        assert spatial == tuple(expected_spatial)
    assert out.shape == xc.shape[: xc.ndim - nd] + spatial
    assert_identical(out, max_unpool_ref(xc, ic, spatial))
    if xc.dtype.kind != "f":
        return out
    assert_identical(out, torch_unpool(xc, ic, nd, kernel, stride, padding, output_size))

    values, pullback = poolnd.vjp(fn, x, idx, kernel, stride, padding, output_size)
    assert_identical(values, out)
    g = np.random.default_rng(out.size).standard_normal(out.shape).astype(xc.dtype)
    grad = pullback(g)
    assert_identical(grad, max_unpool_grad_ref(g, ic, nd))
    if 0 not in spatial:  # torch's backward raises for an empty output (see below)
        expected = torch_unpool_grad(xc, ic, nd, g, kernel, stride, padding, output_size)
        assert_identical(grad, expected)
    return out


def _expand(value, nd):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


# ---------------------------------------------------------------------------------------------
# the max-pool round trip (SegNet), grid of geometries


ROUND_TRIP = [
    # (nd, input shape, kernel, stride, padding, ceil_mode)
    (1, (2, 3, 9), 2, None, 0, False),
    (1, (3, 10), 3, 2, 1, True),
    (1, (0, 2, 7), 2, 1, 0, False),
    (2, (2, 3, 8, 8), 2, None, 0, False),
    (2, (1, 2, 7, 9), 3, 2, 1, False),
    (2, (2, 7, 9), (2, 3), (1, 2), (1, 1), True),
    (2, (1, 1, 5, 5), 2, 1, 0, False),  # overlapping windows: repeated indices
    (3, (1, 2, 4, 6, 5), 2, None, 0, False),
    (3, (2, 5, 4, 6), (2, 3, 2), (2, 1, 2), (1, 1, 0), True),
]


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[str(i) for i in range(len(ROUND_TRIP))])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_round_trip_with_max_pool_indices(case, dtype, rng):
    nd, shape, k, s, p, ceil = case
    x = rng.integers(-3, 4, size=shape).astype(dtype)  # ties: repeated first-max indices
    x.flat[::11] = np.nan
    pool = getattr(tF, f"max_pool{nd}d")
    tv, ti = pool(to_torch(x), k, s, p, ceil_mode=ceil, return_indices=True)
    values, indices = from_torch(tv), from_torch(ti)
    # poolnd's max pooling gives torch's indices: the SegNet pipeline end to end
    ours_v, ours_i = getattr(poolnd.functional, f"max_pool{nd}d")(
        x, k, s, p, ceil_mode=ceil, return_indices=True)
    assert_identical(ours_i, indices)
    spatial = shape[len(shape) - nd:]
    for output_size in (None, list(spatial), (7, 9, *spatial)):  # a leading N, C is dropped
        try:
            expected_torch = torch_unpool(values, indices, nd, k, s, p, output_size)
        except (ValueError, RuntimeError) as exc:
            # this size is outside torch's range for these arguments, or too small for the
            # indices (the pooled input had a ragged edge): poolnd refuses it too
            rule = ("output_size must lie strictly between" if isinstance(exc, ValueError)
                    else "indices must be flat positions in")
            with pytest.raises(ValueError, match=rule):
                FNS[nd](ours_v, ours_i, k, s, p, output_size)
            continue
        out = check_unpool(ours_v, ours_i, nd, k, s, p, output_size)
        assert_identical(out, expected_torch)
        if output_size is not None:
            assert out.shape == x.shape[: x.ndim - nd] + spatial
            # every pooled maximum sits where it was found; pooling again finds it again
            repooled = pool(to_torch(out), k, s, p, ceil_mode=ceil)
            assert_identical(from_torch(repooled).shape, values.shape)


def test_round_trip_restores_the_maxima_in_place(rng):
    x = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
    values, indices = poolnd.functional.max_pool2d(x, 2, return_indices=True)
    out = max_unpool2d(values, indices, 2)
    kept = out != 0
    assert kept.sum() == values.size
    np.testing.assert_array_equal(out[kept], x[kept])
    np.testing.assert_array_equal(np.sort(out[kept]), np.sort(values.ravel()))


# ---------------------------------------------------------------------------------------------
# output sizes: default, explicit (spatial or N, C + spatial), the strict range


SIZE_CASES = [
    # (nd, input shape, kernel, stride, padding, output_size, expected spatial size)
    (1, (1, 2, 4), 2, None, 0, None, (8,)),
    (1, (2, 4), 3, 2, 1, None, (7,)),
    (1, (1, 2, 4), 2, None, 0, [9], (9,)),
    (1, (1, 2, 4), 2, None, 0, [7], (7,)),
    (1, (1, 2, 4), 2, None, 0, (1, 2, 9), (9,)),
    (1, (1, 2, 1), 2, None, 1, None, (0,)),  # empty output: no writes, no index check
    (2, (1, 2, 2, 3), 2, None, 0, None, (4, 6)),
    (2, (1, 2, 2, 3), (2, 3), (1, 2), (0, 1), None, (3, 5)),
    (2, (1, 2, 2, 3), 2, None, 0, [5, 7], (5, 7)),
    (2, (1, 2, 2, 3), 2, None, 0, torch.Size([1, 2, 3, 5]), (3, 5)),
    (2, (2, 2, 3), 3, 2, 0, np.array([6, 6]), (6, 6)),
    (2, (0, 2, 2, 2), 2, None, 0, None, (4, 4)),
    (2, (1, 1, 1, 1), 2, None, (1, 0), None, (0, 2)),
    (3, (1, 1, 2, 2, 2), 2, None, 0, None, (4, 4, 4)),
    (3, (1, 2, 3, 2), (1, 2, 3), (1, 2, 2), (0, 1, 1), None, (2, 4, 3)),
    (3, (1, 1, 2, 2, 2), 2, 2, 0, [3, 5, 4], (3, 5, 4)),
]


@pytest.mark.parametrize("case", SIZE_CASES, ids=[str(i) for i in range(len(SIZE_CASES))])
@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_output_sizes_match_torch(case, path, rng):
    nd, shape, k, s, p, output_size, spatial = case
    kernel, pads = _expand(k, nd), _expand(p, nd)
    stride = kernel if s is None else _expand(s, nd)
    if output_size is None:
        assert default_unpool_size_ref(shape[len(shape) - nd:], kernel, stride, pads) == spatial
    size = int(np.prod(spatial))
    x = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, max(size, 1), size=shape)
    with kernel_path(path):
        check_unpool(x, idx, nd, k, s, p, output_size, expected_spatial=spatial)


def test_empty_output_skips_the_index_check_and_has_a_zero_gradient():
    x = np.ones((1, 2, 1), np.float32)
    idx = np.full((1, 2, 1), 5)
    with torch_serial():
        expected = tF.max_unpool1d(to_torch(x), to_torch(idx), 2, padding=1)
    out, pullback = poolnd.vjp(max_unpool1d, x, idx, 2, padding=1)
    assert_identical(out, from_torch(expected))
    # torch's backward raises here ("index 5 is out of bounds for dimension 2 with size 0");
    # the output does not depend on the input, so poolnd's gradient is zero
    assert_identical(pullback(np.ones((1, 2, 0), np.float32)), np.zeros((1, 2, 1), np.float32))


# ---------------------------------------------------------------------------------------------
# duplicates: the last write wins, every duplicate gets its cell's gradient


@pytest.mark.parametrize("path", ["numpy", "compiled"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_duplicate_indices_last_write_wins(nd, path, rng):
    shape = (2, 3) + (3,) * nd
    x = rng.standard_normal(shape).astype(np.float64)
    idx = rng.integers(0, 2**nd, size=shape)  # 3**nd values into the first 2**nd cells
    with kernel_path(path):
        out = check_unpool(x, idx, nd, 2, 1, 0, expected_spatial=(4,) * nd)
    # spelled out for one plane: the value of the last input naming each cell
    plane_x, plane_i = x[1, 2].ravel(), idx[1, 2].ravel()
    for cell in range(4**nd):
        hits = np.flatnonzero(plane_i == cell)
        want = plane_x[hits[-1]] if hits.size else 0.0
        assert out[1, 2].ravel()[cell] == want


def test_duplicate_gradients_are_gathered_for_every_duplicate():
    x = np.array([[1.0, 2.0, 3.0]])
    idx = np.array([[1, 1, 0]])
    out, pullback = poolnd.vjp(max_unpool1d, x, idx, 2)
    assert_identical(out, np.array([[3.0, 2.0, 0.0, 0.0, 0.0, 0.0]]))
    grad = pullback(np.array([[10.0, 20.0, 30.0, 40.0, 50.0, 60.0]]))
    assert_identical(grad, np.array([[20.0, 20.0, 10.0]]))  # pytorch/pytorch#80204
    assert_identical(grad, torch_unpool_grad(x, idx, 1, np.array([[10.0, 20, 30, 40, 50, 60]]), 2))


def test_large_inputs_take_the_compiled_kernels_and_match_torch(rng):
    x = rng.standard_normal((2, 8, 40, 40)).astype(np.float32)
    idx = rng.integers(0, 80 * 80, size=x.shape)
    assert x.size >= poolnd._threads.UNPOOL_COMPILED_MIN_SIZE
    out, pullback = poolnd.vjp(max_unpool2d, x, idx, 2)
    assert_identical(out, torch_unpool(x, idx, 2, 2))
    g = rng.standard_normal(out.shape).astype(np.float32)
    assert_identical(pullback(g), torch_unpool_grad(x, idx, 2, g, 2))


def test_results_are_bitwise_identical_for_any_thread_count(restore_threads, rng):
    x = rng.standard_normal((4, 6, 30, 30)).astype(np.float32)
    idx = rng.integers(0, 30 * 30, size=x.shape)  # many duplicates per plane
    expected = torch_unpool(x, idx, 2, 1)
    g = rng.standard_normal(expected.shape).astype(np.float32)
    expected_grad = torch_unpool_grad(x, idx, 2, g, 1)
    with kernel_path("compiled"):
        for n in sorted({1, 2, poolnd.get_num_threads()}):
            poolnd.set_num_threads(n)
            out, pullback = poolnd.vjp(max_unpool2d, x, idx, 1)
            assert_identical(out, expected)
            assert_identical(pullback(g), expected_grad)


# ---------------------------------------------------------------------------------------------
# dtypes, special values, layouts


@pytest.mark.parametrize("path", ["numpy", "compiled"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES, ids=str)
def test_every_dtype_bit_for_bit(dtype, path, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        x = rng.standard_normal((2, 3, 3, 4)).astype(dtype)
        x.flat[:6] = [np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0]
        # a NaN with a payload: copied bit for bit
        x.view(np.dtype(f"u{dtype.itemsize}")).flat[6] |= 0b101
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=(2, 3, 3, 4), dtype=dtype, endpoint=True)
        x.flat[:2] = [info.min, info.max]
    idx = rng.integers(0, 6 * 8, size=x.shape)
    with kernel_path(path):
        out = check_unpool(x, idx, 2, 2)
    assert out.dtype == dtype
    if dtype.kind in "iu":  # a documented departure: torch unpools floating inputs only
        with pytest.raises((RuntimeError, NotImplementedError), match="not implemented"):
            tF.max_unpool2d(to_torch(x), to_torch(idx), 2)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_unbatched_inputs(nd, rng):
    shape = (3,) + (2,) * nd
    x = rng.standard_normal(shape)
    idx = rng.integers(0, 4**nd, size=shape)
    out = check_unpool(x, idx, nd, 2)
    assert out.shape == (3,) + (4,) * nd


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_batch_zero(nd):
    shape = (0, 2) + (3,) * nd
    x, idx = np.zeros(shape, np.float32), np.zeros(shape, np.int64)
    out = check_unpool(x, idx, nd, 2)
    assert out.shape == (0, 2) + (6,) * nd


def test_non_contiguous_and_foreign_layouts(rng):
    big = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
    x = big[:, :, ::2, ::-2]  # (2, 3, 3, 4): strided, negative steps
    idx = np.asfortranarray(rng.integers(0, 35, size=x.shape))
    check_unpool(x, idx, 2, 2, 2, 0, [5, 9], expected_spatial=(5, 9))
    check_unpool(x.astype(">f4"), idx.astype(">i8"), 2, 3, 2, 1, expected_spatial=(5, 7))
    check_unpool(x, idx[::-1, ::-1], 2, (2, 3), (2, 2))
    ro = x.copy()
    ro.flags.writeable = False
    check_unpool(ro, idx, 2, 2)


# ---------------------------------------------------------------------------------------------
# Hypothesis: random geometry, output sizes, indices (duplicates), dtypes and layouts


@st.composite
def unpool_cases(draw, nd: int):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 3)] * nd))
    strides = kernel if stride is None else stride
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    in_spatial = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    default = default_unpool_size_ref(in_spatial, kernel, strides, padding)
    mode = draw(st.sampled_from(["default", "spatial", "full"]))
    if mode == "default":
        output_size, spatial = None, default
    else:
        spatial = tuple(
            draw(st.integers(max(0, d - s + 1), d + s - 1)) if d + s - 1 >= 0 else -1
            for d, s in zip(default, strides)
        )
        output_size = list(spatial) if mode == "spatial" else [7, 9, *spatial]
    assume(min(spatial) >= 0)
    batch = draw(st.sampled_from([None, 0, 1, 2]))
    shape = ((batch,) if batch is not None else ()) + (draw(st.integers(1, 3)),) + in_spatial
    dtype = draw(st.sampled_from(FLOAT_DTYPES + INT_DTYPES))
    x = draw(arrays_of(dtype, shape))
    size = int(np.prod(spatial))
    idx = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, max(size - 1, 0))))
    k_arg = draw(st.sampled_from([kernel, list(kernel)] + ([kernel[0]] if len(set(kernel)) == 1
                                                           else [])))
    return x, idx, k_arg, stride, padding, output_size, spatial


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=40)
@given(data=st.data())
def test_hypothesis_against_reference_and_torch(nd, data):
    x, idx, k, s, p, output_size, spatial = data.draw(unpool_cases(nd))
    x = data.draw(relayout(x))
    idx = data.draw(relayout(idx))
    path = data.draw(st.sampled_from(["numpy", "compiled"]))
    with kernel_path(path):
        check_unpool(x, idx, nd, k, s, p, output_size, expected_spatial=spatial)


# ---------------------------------------------------------------------------------------------
# inputs are never mutated


def test_inputs_are_never_mutated(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    idx = rng.integers(0, 64, size=x.shape)
    x0, i0 = x.copy(), idx.copy()
    out, pullback = poolnd.vjp(max_unpool2d, x, idx, 2)
    g = rng.standard_normal(out.shape)
    g0 = g.copy()
    grad = pullback(g)
    for a, b in ((x, x0), (idx, i0), (g, g0)):
        assert a.tobytes() == b.tobytes()
    assert not np.shares_memory(out, x) and not np.shares_memory(grad, g)
    # the pullback keeps its own indices: changing the caller's later changes nothing
    before = grad.copy()
    idx[...] = 0
    assert_identical(pullback(g), before)


# ---------------------------------------------------------------------------------------------
# errors: ValueError / TypeError naming the op, the argument, the rule and the value


X2 = np.ones((1, 2, 2, 2), np.float32)
I2 = np.zeros((1, 2, 2, 2), np.int64)


def _pullback_wrong_shape():
    _, pullback = poolnd.vjp(max_unpool2d, X2, I2, 2)
    pullback(np.ones((1, 2, 4, 5)))


def _layer_backward_before_forward():
    poolnd.nn.MaxUnpool2d(2).backward(np.ones((1, 2, 4, 4)))


def _layer_backward_after_int_forward():
    layer = poolnd.nn.MaxUnpool2d(2)
    layer(X2.astype(np.int32), I2)
    layer.backward(np.ones((1, 2, 4, 4)))


ERRORS = [
    ("index-too-large", lambda: max_unpool2d(X2, np.full((1, 2, 2, 2), 16), 2), V,
     m("max_unpool2d()", "indices must be flat positions in [0, 16)", "output plane of size 4x4",
       "got index 16 at position (0, 0, 0, 0)")),
    ("index-negative", lambda: max_unpool1d(np.ones((2, 3)), np.array([[0, 1, 2], [3, -1, 0]]),
                                            2), V,
     m("max_unpool1d()", "indices must be flat positions in [0, 6)", "got index -1",
       "at position (1, 1)")),
    ("index-3d", lambda: max_unpool3d(np.ones((1, 1, 1, 1)), np.full((1, 1, 1, 1), 8), 2), V,
     m("max_unpool3d()", "[0, 8)", "size 2x2x2", "got index 8")),
    ("indices-int32", lambda: max_unpool2d(X2, I2.astype(np.int32), 2), T,
     m("max_unpool2d()", "indices must be an int64 array", "got dtype int32")),
    ("indices-float", lambda: max_unpool2d(X2, I2.astype(np.float64), 2), T,
     m("max_unpool2d()", "indices must be an int64 array", "got dtype float64")),
    ("indices-uint64", lambda: max_unpool2d(X2, I2.astype(np.uint64), 2), T,
     m("indices must be an int64 array", "got dtype uint64")),
    ("indices-shape", lambda: max_unpool2d(X2, I2[..., :1], 2), V,
     m("max_unpool2d()", "indices must have the input's shape (1, 2, 2, 2)",
       "got shape (1, 2, 2, 1)")),
    ("indices-ragged", lambda: max_unpool1d(np.ones((1, 2)), [[0], [1, 2]], 2), T,
     m("max_unpool1d()", "indices must be an int64 array", "got list")),
    ("input-rank-low", lambda: max_unpool2d(np.ones((2, 2)), np.zeros((2, 2), np.int64), 2), V,
     m("max_unpool2d()", "input must have 3 dims (C, *spatial) or 4 dims", "got shape (2, 2)")),
    ("input-rank-high", lambda: max_unpool1d(X2, I2, 2), V,
     m("max_unpool1d()", "input must have 2 dims", "or 3 dims", "got shape (1, 2, 2, 2)")),
    ("input-empty-channel", lambda: max_unpool2d(np.ones((1, 0, 2, 2)),
                                                 np.zeros((1, 0, 2, 2), np.int64), 2), V,
     m("max_unpool2d()", "channel and spatial sizes must be positive", "(1, 0, 2, 2)")),
    ("input-bool", lambda: max_unpool2d(X2.astype(bool), I2, 2), T,
     m("max_unpool2d()", "input dtype must be float16, float32, float64 or an integer type",
       "got bool")),
    ("input-string", lambda: max_unpool2d("x", I2, 2), T,
     m("max_unpool2d()", "input must be a real numeric array", "str")),
    ("output-size-length", lambda: max_unpool2d(X2, I2, 2, output_size=[1, 2, 3]), V,
     m("max_unpool2d()", "output_size must have 2 element(s) (spatial) or 4", "got [1, 2, 3]",
       "length 3")),
    ("output-size-range-high", lambda: max_unpool2d(X2, I2, 2, output_size=[6, 4]), V,
     m("max_unpool2d()", "output_size must lie strictly between default - stride and default "
       "+ stride", "(4, 4)", "dimension 0 must be between 2 and 6 (exclusive)",
       "got output_size=[6, 4]")),
    ("output-size-range-low", lambda: max_unpool1d(np.ones((1, 3)), np.zeros((1, 3), np.int64),
                                                   3, 2, output_size=[5]), V,
     m("max_unpool1d()", "dimension 0 must be between 5 and 9 (exclusive)", "[5]")),
    ("output-size-full-range", lambda: max_unpool3d(np.ones((1, 1, 1, 1, 1)),
                                                    np.zeros((1, 1, 1, 1, 1), np.int64), 2,
                                                    output_size=(1, 1, 2, 2, 4)), V,
     m("max_unpool3d()", "dimension 2 must be between 0 and 4", "(1, 1, 2, 2, 4)")),
    ("output-size-int", lambda: max_unpool1d(np.ones((1, 3)), np.zeros((1, 3), np.int64), 2,
                                             output_size=6), T,
     m("max_unpool1d()", "output_size must be None or a sequence of ints", "got 6", "int")),
    ("output-size-float", lambda: max_unpool2d(X2, I2, 2, output_size=[4.0, 4]), T,
     m("max_unpool2d()", "output_size must contain ints", "[4.0, 4]", "float")),
    ("output-size-bool", lambda: max_unpool2d(X2, I2, 2, output_size=[4, True]), T,
     m("max_unpool2d()", "output_size must contain ints, not bools", "[4, True]")),
    ("default-size-negative", lambda: max_unpool1d(np.ones((1, 1)), np.zeros((1, 1), np.int64),
                                                   1, padding=1), V,
     m("max_unpool1d()", "output size must be non-negative", "input size (1,)",
       "kernel_size=(1,), stride=(1,), padding=(1,)", "gives output size (-1,)")),
    ("kernel-zero", lambda: max_unpool2d(X2, I2, 0), V,
     m("max_unpool2d()", "kernel_size must be positive", "got kernel_size=(0, 0)")),
    ("stride-zero", lambda: max_unpool2d(X2, I2, 2, (1, 0)), V,
     m("max_unpool2d()", "stride must be positive", "got stride=(1, 0)")),
    ("padding-negative", lambda: max_unpool3d(np.ones((1, 1, 1, 1)),
                                              np.zeros((1, 1, 1, 1), np.int64), 2, 1, -1), V,
     m("max_unpool3d()", "padding must be non-negative", "got padding=(-1, -1, -1)")),
    ("kernel-length", lambda: max_unpool2d(X2, I2, (2, 2, 2)), V,
     m("max_unpool2d()", "kernel_size must be a single int or a tuple of 2 ints",
       "(2, 2, 2) of length 3")),
    ("kernel-bool", lambda: max_unpool2d(X2, I2, True), T,
     m("max_unpool2d()", "kernel_size must contain ints, not bools", "True")),
    ("stride-float", lambda: max_unpool2d(X2, I2, 2, 1.5), T,
     m("max_unpool2d()", "stride must be an int or a tuple of ints", "1.5")),
    ("grad-of-int-input", lambda: poolnd.vjp(max_unpool2d, X2.astype(np.int64), I2, 2), T,
     m("max_unpool2d()", "gradients need a floating input", "got input dtype int64")),
    ("pullback-wrong-shape", _pullback_wrong_shape, V,
     m("max_unpool2d() backward", "grad_output must have the output's shape (1, 2, 4, 4)",
       "got shape (1, 2, 4, 5)")),
    ("layer-backward-first", _layer_backward_before_forward, R,
     m("MaxUnpool2d.backward() called before any forward call")),
    ("layer-backward-int", _layer_backward_after_int_forward, R,
     m("MaxUnpool2d.backward(): the last forward input was not floating point")),
]


@pytest.mark.parametrize(("name", "call", "error", "match"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, error, match):
    with pytest.raises(error, match=match):
        call()


TORCH_ALSO_REJECTS = [
    # (x, indices, kernel, output_size): torch raises too (RuntimeError / ValueError)
    (X2, np.full((1, 2, 2, 2), 16), 2, None),
    (X2, -np.ones((1, 2, 2, 2), np.int64), 2, None),
    (X2, I2.astype(np.int32), 2, None),
    (X2, I2[..., :1], 2, None),
    (X2, I2, 2, [1, 2, 3]),
    (X2, I2, 2, [6, 4]),
    (X2, I2, 2, [4, 2]),
    (np.ones((2, 2), np.float32), np.zeros((2, 2), np.int64), 2, None),
]


@pytest.mark.parametrize("case", TORCH_ALSO_REJECTS,
                         ids=[str(i) for i in range(len(TORCH_ALSO_REJECTS))])
def test_torch_rejects_what_poolnd_rejects(case):
    x, idx, k, output_size = case
    with pytest.raises((RuntimeError, ValueError)), torch_serial():
        tF.max_unpool2d(to_torch(x), to_torch(idx), k, output_size=output_size)
    with pytest.raises((ValueError, TypeError), match=r"^max_unpool2d\(\): "):
        max_unpool2d(x, idx, k, output_size=output_size)


# ---------------------------------------------------------------------------------------------
# layers


NAMES = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


def _params(fn):
    """torch's part of a signature: poolnd's keyword-only ``channels_last`` left out."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "channels_last"]


@pytest.mark.parametrize("name", NAMES)
def test_layer_signatures_match_torch(name):
    ours, theirs = getattr(poolnd.nn, name), getattr(torch.nn, name)
    assert _params(ours.__init__) == _params(theirs.__init__)
    assert _params(ours.forward) == _params(theirs.forward)


@pytest.mark.parametrize("name", NAMES)
def test_layer_reprs_match_torch(name):
    nd = int(name[-2])
    kernels = [2, 3, (2,) * nd, [3] * nd, tuple(range(1, nd + 1)), [2]]
    strides = [None, 1, (2,) * nd, [1] * nd, [3]]
    pads = [0, 1, (1,) * nd, [0] * nd]
    count = 0
    for k, s, p in itertools.product(kernels, strides, pads):
        ours, theirs = getattr(poolnd.nn, name)(k, s, p), getattr(torch.nn, name)(k, s, p)
        assert repr(ours) == repr(theirs), (k, s, p)
        for attr in ("kernel_size", "stride", "padding"):
            assert getattr(ours, attr) == getattr(theirs, attr)
        count += 1
    ours, theirs = getattr(poolnd.nn, name), getattr(torch.nn, name)
    assert repr(ours(2, padding=1)) == repr(theirs(2, padding=1))
    assert count == 120


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layer_forward_and_backward_match_torch(nd, rng):
    name = f"MaxUnpool{nd}d"
    shape = (2, 3) + (3,) * nd
    x = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, 5**nd, size=shape)
    for output_size in (None, [5] * nd):
        ours, theirs = getattr(poolnd.nn, name)(2), getattr(torch.nn, name)(2)
        out = ours(x, idx, output_size)
        t = to_torch(x).requires_grad_()
        with torch_serial():
            expected = theirs(t, to_torch(idx), output_size)
            g = rng.standard_normal(out.shape).astype(np.float32)
            expected.backward(to_torch(g))
        assert_identical(out, from_torch(expected))
        assert_identical(ours.backward(g), from_torch(t.grad))
        # forward(...) and __call__ are the same
        assert_identical(ours.forward(x, idx, output_size=output_size), out)


def test_layer_integer_forward_works_without_a_gradient():
    layer = poolnd.nn.MaxUnpool1d(2)
    out = layer(np.array([[5, 7]], np.int16), np.array([[1, 2]]))
    assert_identical(out, np.array([[0, 5, 7, 0]], np.int16))
