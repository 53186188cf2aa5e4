"""Issue 17, items 2 and 5: `poolnd.pool` with any function reducing over ``axis=``, the NaN
reducers, and ``pad_value``; each equals the reducer applied to every window."""

from __future__ import annotations

import functools
import warnings

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from window_reference import gather, geometries, window_of

import poolnd
from poolnd._kernels.sliding import numpy_views

FUNCTIONS = {
    "median": np.median,
    "p90": functools.partial(np.percentile, q=90),
    "std": np.std,
    "nanmean": np.nanmean,
    "user": lambda w, axis: w.max(axis=axis) - w.min(axis=axis),
}


# Reducers that add: NumPy adds the cells in an order that follows the memory layout it
# iterates (which axes it merges, pairwise blocks), so the same windows as poolnd's strided
# views and as a contiguous copy may round differently in the last bit. The others (order
# statistics, a max minus a min) are exact.
SUMMING = {"std", "nanmean"}


def _data(shape, rng, nan=True):
    x = rng.standard_normal(shape)
    if nan:
        x[rng.random(shape) < 0.2] = np.nan
    return x


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():  # all-NaN windows: NumPy's own warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


@settings(max_examples=40)
@given(geometries(), st.sampled_from(sorted(FUNCTIONS)), st.sampled_from([None, 0.0, -2.5]),
       st.integers(0, 2**32 - 1))
def test_function_reducer_is_the_function_over_each_window(geom, name, pad, seed):
    shape, kwargs = geom
    x = _data(shape, np.random.default_rng(seed), nan=False)
    fn = FUNCTIONS[name]
    got = _quiet(poolnd.pool, x, fn, **kwargs, pad_value=pad)
    win = window_of(x, kwargs, len(shape) - 2)
    windows = gather(x, win, np.nan if pad is None else pad)
    axes = tuple(range(windows.ndim - win.ndim, windows.ndim))
    want = _quiet(fn, windows, axis=axes)
    if name in SUMMING:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_reducer_on_the_case_hypothesis_found(name):
    """(1, 2, 2, 3) with 2x2 windows, seed 0: ``np.nanmean`` over poolnd's strided windows
    and over a contiguous copy of them differ in the last bit of one output."""
    x = _data((1, 2, 2, 3), np.random.default_rng(0), nan=False)
    got = _quiet(poolnd.pool, x, FUNCTIONS[name], (2, 2), 1)
    windows = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(-2, -1)).copy()
    want = _quiet(FUNCTIONS[name], windows, axis=(-2, -1))
    if name in SUMMING:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(got, want)


@settings(max_examples=40)
@given(geometries(), st.sampled_from(["nanmax", "nanmin", "nansum", "nanmean"]),
       st.sampled_from([None, np.nan, 0.0, 3.0]), st.sampled_from([np.float32, np.float64]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_nan_reducers_are_numpys_over_each_window(geom, how, pad, dtype, last, seed):
    shape, kwargs = geom
    nd = len(shape) - 2
    x = _data(shape, np.random.default_rng(seed)).astype(dtype)
    call = np.moveaxis(x, 1, -1) if last else x
    got = poolnd.pool(call, how, **kwargs, pad_value=pad, channels_last=last)
    if last:
        got = np.moveaxis(got, -1, 1)
    win = window_of(x, kwargs, nd)
    windows = gather(x, win, np.nan if pad is None else pad).astype(dtype)
    axes = tuple(range(windows.ndim - nd, windows.ndim))
    want = _quiet(getattr(np, how), windows, axis=axes)
    assert got.dtype == dtype
    if how in ("nanmax", "nanmin"):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_fmax_and_fmin_are_nanmax_and_nanmin(rng):
    x = _data((2, 3, 6, 5), rng).astype(np.float32)
    for ufunc, name in ((np.fmax, "nanmax"), (np.fmin, "nanmin")):
        got = poolnd.pool(x, ufunc, (3, 2), 1, 1)
        np.testing.assert_array_equal(got, poolnd.pool(x, name, (3, 2), 1, 1))
    allnan = np.full((1, 1, 2, 2), np.nan)
    assert np.isnan(poolnd.pool(allnan, "nanmax", (2, 2))).all()
    assert poolnd.pool(allnan, "nansum", (2, 2)).item() == 0


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.bool_])
def test_nan_reducers_of_integers_and_masks_are_plain(dtype, rng):
    x = (rng.integers(0, 2, (2, 2, 5, 5)) if dtype == np.bool_
         else rng.integers(0, 50, (2, 2, 5, 5))).astype(dtype)
    args = ((2, 2), 2, 1)
    np.testing.assert_array_equal(poolnd.pool(x, "nanmax", *args), poolnd.max_pool(x, *args))
    np.testing.assert_array_equal(poolnd.pool(x, "nanmin", *args), poolnd.min_pool(x, *args))
    np.testing.assert_array_equal(poolnd.pool(x, "nansum", *args), poolnd.sum_pool(x, *args))
    mean = poolnd.pool(x, "nanmean", *args)
    assert mean.dtype == np.float64
    win = window_of(x, {"kernel_size": (2, 2), "stride": 2, "padding": 1}, 2)
    want = np.nanmean(gather(x.astype(np.float64), win, np.nan), axis=(-2, -1))
    np.testing.assert_allclose(mean, want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.bool_])
@pytest.mark.parametrize("how", ["max", "min", "sum", "mean", np.multiply, np.bitwise_or])
def test_pad_value_is_seen_by_named_and_ufunc_reducers(how, dtype, rng):
    if (how == "mean" and dtype == np.bool_) or \
            (how is np.bitwise_or and dtype == np.float32):
        return
    x = rng.integers(0, 3, (2, 2, 5, 4)).astype(dtype)
    pad = True if dtype == np.bool_ else 2
    kwargs = {"kernel_size": (2, 3), "stride": (2, 2), "padding": ((1, 0), (0, 1)),
              "ceil_mode": True}
    got = poolnd.pool(x, how, **kwargs, pad_value=pad)
    win = window_of(x, kwargs, 2)
    windows = gather(x, win, pad).astype(dtype)
    axes = (-2, -1)
    if how == "mean":
        total = windows.astype(np.float64 if dtype == np.float32 else np.int64).sum(axis=axes)
        want = total / 6 if dtype == np.float32 else np.trunc(total / 6)
    elif isinstance(how, np.ufunc):
        want = how.reduce(windows, axis=axes, dtype=got.dtype)
    else:
        want = getattr(np, how)(windows, axis=axes)
    np.testing.assert_allclose(got, want.astype(got.dtype), rtol=1e-6)


def test_block_reduce_cval_maps_exactly():
    skimage = pytest.importorskip("skimage.measure", reason="scikit-image is not installed")
    rng = np.random.default_rng(3)
    image = rng.standard_normal((9, 10))
    for func, cval in ((np.median, 0), (np.mean, 1.5), (np.max, -7), (np.sum, 0)):
        want = skimage.block_reduce(image, (4, 3), func, cval=cval)
        got = poolnd.pool(image[None], func, (4, 3), ceil_mode=True, pad_value=cval)[0]
        np.testing.assert_array_equal(got, want)


def test_function_reducer_sees_views_in_bounded_blocks(monkeypatch, rng):
    monkeypatch.setattr(numpy_views, "BLOCK_CELLS", 64)
    seen = []

    def spy(windows, axis):
        seen.append((windows.size, windows.flags.writeable, windows.base is not None))
        return np.median(windows, axis=axis)

    x = rng.standard_normal((3, 2, 12, 10))
    got = poolnd.pool(x, spy, (3, 3), 1, 1)
    np.testing.assert_array_equal(got, poolnd.pool(x, np.median, (3, 3), 1, 1))
    assert len(seen) > 10
    assert max(size for size, *_ in seen) <= 64 * 2  # at most one output row over the budget
    assert not any(writeable for _, writeable, _ in seen)


def test_function_reducer_on_integers_without_padding_and_empty_batch(rng):
    x = rng.integers(0, 9, (2, 3, 6, 6)).astype(np.int16)
    got = poolnd.pool(x, np.median, (3, 3))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.median(
        x.reshape(2, 3, 2, 3, 2, 3).transpose(0, 1, 2, 4, 3, 5), axis=(-2, -1)))
    assert poolnd.pool(x[:0], np.median, (3, 3)).shape == (0, 3, 2, 2)


@pytest.mark.parametrize("how", ["nanmean", np.median, "nanmax", np.bitwise_xor])
def test_dask_is_exact_for_any_chunking(how, rng):
    x = _data((2, 3, 11, 9), rng)
    if how is np.bitwise_xor:
        x = rng.integers(0, 200, x.shape).astype(np.uint8)
    kwargs = {"padding": ((1, 2), (0, 1)), "dilation": (2, 1), "ceil_mode": True}
    want = _quiet(poolnd.pool, x, how, (3, 2), (2, 1), **kwargs)
    for chunks in ((1, 2, 4, 3), (2, 1, 11, 2), (1, 3, 5, 9)):
        d = da.from_array(x, chunks=chunks)
        got = poolnd.pool(d, how, (3, 2), (2, 1), **kwargs)
        assert isinstance(got, da.Array)
        np.testing.assert_array_equal(_quiet(got.compute), want)
    d = da.from_array(x, chunks=(1, 2, 4, 3))
    np.testing.assert_array_equal(
        poolnd.pool(d, how, (3, 2), pad_value=0).compute(), poolnd.pool(x, how, (3, 2),
                                                                       pad_value=0))


def test_torch_input_takes_a_function_reducer(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    got = poolnd.pool(torch.from_numpy(x), np.median, (2, 2))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), poolnd.pool(x, np.median, (2, 2)))


def _no_axis(w):
    return w


X = np.ones((1, 2, 4, 4))
ERRORS = [
    ("no-axis-keyword", lambda: poolnd.pool(X, _no_axis, (2, 2)), TypeError,
     r"pool\(\): a function reducer must take an axis= keyword .*_no_axis\(windows, axis="),
    ("keeps-axes", lambda: poolnd.pool(X, lambda w, axis: w, (2, 2)), ValueError,
     r"pool\(\): a function reducer must reduce away the axes it is given; <lambda> returned "
     r"shape \(2, 2, 2, 2, 2\) for windows of shape \(2, 2, 2, 2, 2\) with axis=\(3, 4\)"),
    ("integers-need-pad-value", lambda: poolnd.pool(X.astype(np.int8), np.median, (2, 2), 2,
                                                    1), ValueError,
     r"pool\(\): a function reducer on int8 input reads padding cells .* pass pad_value="),
    ("pad-value-type", lambda: poolnd.pool(X, "max", (2, 2), pad_value="0"), TypeError,
     r"pool\(\): pad_value must be a real number \(or None\); got '0' of type str"),
    ("pad-value-range", lambda: poolnd.pool(X.astype(np.uint8), "max", (2, 2), pad_value=-1),
     ValueError, r"pool\(\): pad_value must be a whole number in \[0, 255\] for uint8 input; "
     r"got -1"),
    ("pad-value-fraction", lambda: poolnd.pool(X.astype(np.int8), "sum", (2, 2),
                                               pad_value=0.5), ValueError,
     r"pool\(\): pad_value must be a whole number in \[-128, 127\] for int8 input; got 0.5"),
    ("pad-value-bool", lambda: poolnd.pool(X.astype(bool), "max", (2, 2), pad_value=2),
     ValueError, r"pool\(\): pad_value must be a whole number in \[0, 1\] for bool input"),
    ("mean-pad-value-excluded", lambda: poolnd.pool(X, "mean", (2, 2), pad_value=0,
                                                    count_include_pad=False), ValueError,
     r"pool\(\): count_include_pad=False leaves padding cells out of the mean"),
    ("vjp-pad-value", lambda: poolnd.vjp(poolnd.pool, X, "sum", (2, 2), pad_value=1),
     TypeError, r"pool\(\): gradients exist for the reducers 'max', 'min', 'sum', 'mean' "
     r"without pad_value; got 'sum' with pad_value=1"),
    ("vjp-function", lambda: poolnd.vjp(poolnd.pool, X, np.median, (2, 2)), TypeError,
     r"pool\(\): gradients exist .*; got the function median"),
    ("vjp-nan", lambda: poolnd.vjp(poolnd.pool, X, "nanmax", (2, 2)), TypeError,
     r"pool\(\): gradients exist .*; got 'nanmax'"),
    ("bad-name", lambda: poolnd.pool(X, "median", (2, 2)), ValueError,
     r"pool\(\): reducer must be one of 'max', 'min', 'sum', 'mean', 'nanmax', 'nanmin', "
     r"'nansum', 'nanmean', a binary NumPy ufunc .* got 'median'"),
    ("no-identity", lambda: poolnd.pool(X, np.arctan2, (2, 2)), ValueError,
     r"np.arctan2.identity is None \(pass a function reducing over axis= instead"),
    ("mask-mean", lambda: poolnd.pool(X.astype(bool), "mean", (2, 2), pad_value=0), TypeError,
     r"pool\(\): input dtype .* got bool \(bool masks are taken by"),
]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
