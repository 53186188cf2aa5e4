"""Issue 17, item 2: the compiled median of `poolnd.pool(x, np.median, ...)` (numba_select)
gives ``np.median``'s bits over every window, and its selector falls back to the NumPy path
where it does not apply.

The expected values are built here, apart from poolnd: the input padded with the fill value
(``np.pad``), its windows taken by ``sliding_window_view``, and ``np.median`` over each.
Every test of the compiled path runs with the NumPy path disabled (`compiled_only`), so a
silent fallback would fail it. Only float32 and float64 are compiled: two signatures.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import poolnd
import poolnd._kernels.sliding as sliding
from poolnd import _threads

BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def _pairs(padding, rank):
    if isinstance(padding, int):
        return [(padding, padding)] * rank
    return [p if isinstance(p, tuple) else (p, p) for p in padding]


def expected(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, pad_value=None,
             channels_last=False):
    """``np.median`` of every window of ``x`` (``(N, C, *spatial)``, or ``(N, *spatial, C)``
    with ``channels_last``), cells outside ``x`` ``pad_value`` (NaN when None)."""
    rank = len(kernel)
    if channels_last:
        x = np.moveaxis(x, -1, 1)
    stride = kernel if stride is None else stride
    stride = (stride,) * rank if isinstance(stride, int) else stride
    dilation = (dilation,) * rank if isinstance(dilation, int) else dilation
    pads = _pairs(padding, rank)
    outs, extra = [], []
    for n, k, s, d, (lo, hi) in zip(x.shape[2:], kernel, stride, dilation, pads):
        span = d * (k - 1) + 1
        num = n + lo + hi - span
        out = (-(-num // s) if ceil_mode else num // s) + 1
        if out > num // s + 1 and (out - 1) * s >= n + lo:
            out -= 1  # a window ceil mode adds must start inside the input or low padding
        outs.append(out)
        extra.append(max(hi, (out - 1) * s + span - n - lo))
    fill = np.nan if pad_value is None else pad_value
    padded = np.pad(x, [(0, 0), (0, 0), *((lo, e) for (lo, _), e in zip(pads, extra))],
                    constant_values=np.asarray(fill, x.dtype))
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    windows = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=tuple(
        range(2, 2 + rank)))
    windows = windows[(..., *(slice(0, o * s, s) for o, s in zip(outs, stride)),
                       *(slice(None, None, d) for d in dilation))]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.median(windows, axis=tuple(range(-rank, 0)))
    return np.moveaxis(want, 1, -1) if channels_last else want


def assert_same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    bits = BITS[got.dtype]
    np.testing.assert_array_equal(np.ascontiguousarray(got).view(bits),
                                  np.ascontiguousarray(want).view(bits))


@pytest.fixture
def compiled_only(monkeypatch):
    """The NumPy fallback disabled: a call that does not run the compiled kernel fails."""

    def fail(*args, **kwargs):
        raise AssertionError("the median took the NumPy path")

    monkeypatch.setattr(sliding, "view_forward", fail)


@pytest.fixture
def fallback_calls(monkeypatch):
    """The NumPy fallback counted."""
    calls = []
    real = sliding.view_forward

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(sliding, "view_forward", counted)
    return calls


def _values(rng, shape, dtype, nan=0.1):
    """Few distinct values (ties, both zeros, infinities) and some NaNs."""
    pool_of = np.array([-2.5, -1, -0.0, 0.0, 0.5, 1, 3, np.inf, -np.inf], dtype)
    x = rng.choice(pool_of, size=shape, p=[0.13] * 7 + [0.045] * 2).astype(dtype)
    x[rng.random(shape) < nan] = np.nan
    return x


@st.composite
def calls(draw):
    rank = draw(st.integers(1, 3))
    channels_last = draw(st.booleans())
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank)]
    ceil_mode = draw(st.booleans())
    sizes = tuple(draw(st.integers(1, 9 if rank < 3 else 5)) for _ in range(rank))
    for n, k, d, (lo, hi) in zip(sizes, kernel, dilation, padding):
        assume(n + lo + hi >= d * (k - 1) + 1)
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape = (lead[0], *sizes, lead[1]) if channels_last else (*lead, *sizes)
    kwargs = {"stride": stride, "padding": tuple(padding), "dilation": dilation,
              "ceil_mode": ceil_mode, "channels_last": channels_last}
    return shape, kernel, kwargs


@settings(max_examples=60)
@given(calls(), st.sampled_from([np.float32, np.float64]),
       st.sampled_from([None, 0.0, -1.0, 2.5, np.nan]), st.floats(0, 0.3),
       st.integers(0, 2**32 - 1))
def test_compiled_median_is_numpys_over_each_window(call, dtype, pad_value, nan, seed):
    shape, kernel, kwargs = call
    x = _values(np.random.default_rng(seed), shape, np.dtype(dtype), nan)
    want = expected(x, kernel, **kwargs, pad_value=pad_value)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sliding, "view_forward", None)  # not called: the compiled kernel runs
        got = poolnd.pool(x, np.median, kernel, **kwargs, pad_value=pad_value)
    assert_same_bits(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", [(2, 2), (3, 3), (1, 4), (2, 3), (4, 4), (11, 11)])
def test_even_and_odd_windows(compiled_only, dtype, kernel, rng):
    x = rng.standard_normal((2, 3, 23, 29)).astype(dtype)
    for stride in (None, 1):
        assert_same_bits(poolnd.pool(x, np.median, kernel, stride),
                         expected(x, kernel, stride))


def test_the_kernel_is_compiled_for_each_float_dtype(compiled_only, rng):
    kernel = sliding._select_kernels().MEDIAN_ROWS
    x = rng.standard_normal((1, 2, 8, 8))
    for dtype in (np.float32, np.float64):
        poolnd.pool(x.astype(dtype), np.median, (2, 2))
    dtypes = {str(signature[0].dtype) for signature in kernel.body.overloads}
    assert dtypes == {"float32", "float64"}
    assert not any(signature[0].mutable for signature in kernel.body.overloads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_in_a_window_gives_nan(compiled_only, dtype):
    x = np.arange(2 * 36, dtype=dtype).reshape(1, 2, 6, 6)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 5] = np.nan
    for kernel, stride in (((2, 2), None), ((3, 3), 1), ((2, 3), (1, 2))):
        got = poolnd.pool(x, np.median, kernel, stride)
        assert_same_bits(got, expected(x, kernel, stride))
        assert np.isnan(got).sum() >= 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_padding_is_nan_or_pad_value(compiled_only, dtype, rng):
    x = rng.standard_normal((2, 2, 7, 8)).astype(dtype)
    for pad_value in (None, 0.0, -3.0, np.nan):
        for kwargs in ({"padding": 1}, {"padding": ((2, 0), (1, 2))},
                       {"ceil_mode": True}, {"padding": 1, "ceil_mode": True, "stride": 2}):
            got = poolnd.pool(x, np.median, (3, 3), **kwargs, pad_value=pad_value)
            assert_same_bits(got, expected(x, (3, 3), **kwargs, pad_value=pad_value))
    edges = poolnd.pool(x, np.median, (3, 3), 1, 1)
    assert np.isnan(edges[..., 0, :]).all() and not np.isnan(edges[..., 1:-1, 1:-1]).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ceil_mode_partial_windows_and_dilation(compiled_only, dtype, rng):
    x = rng.standard_normal((1, 3, 10, 11)).astype(dtype)
    for kwargs in ({"stride": 3, "ceil_mode": True, "pad_value": 0.5},
                   {"stride": 3, "ceil_mode": True},
                   {"dilation": 2, "stride": 1},
                   {"dilation": (2, 3), "stride": (2, 1), "padding": ((2, 1), (1, 2)),
                    "ceil_mode": True}):
        got = poolnd.pool(x, np.median, (2, 3), **kwargs)
        assert_same_bits(got, expected(x, (2, 3), **kwargs))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channels_last(compiled_only, rank, rng):
    x = rng.standard_normal((2, *(6,) * rank, 5)).astype(np.float32)
    kernel = (3,) * rank
    for kwargs in ({}, {"stride": 1, "padding": 1}, {"stride": 2, "ceil_mode": True,
                                                      "pad_value": 1.0}):
        got = poolnd.pool(x, np.median, kernel, **kwargs, channels_last=True)
        assert_same_bits(got, expected(x, kernel, **kwargs, channels_last=True))


def test_three_spatial_dimensions_and_batch_axes(compiled_only, rng):
    x = rng.standard_normal((2, 2, 3, 7, 6, 8))
    got = poolnd.pool(x, np.median, (2, 3, 2), (1, 2, 2), ndim=3)
    want = expected(x.reshape(4, 3, 7, 6, 8), (2, 3, 2), (1, 2, 2)).reshape(got.shape)
    assert_same_bits(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_read_only_and_strided_input(compiled_only, dtype, rng):
    x = rng.standard_normal((2, 3, 12, 14)).astype(dtype)
    frozen = x.copy()
    frozen.flags.writeable = False
    assert_same_bits(poolnd.pool(frozen, np.median, (3, 2)), expected(x, (3, 2)))
    strided = x[:, ::2, ::-1, 1::2]
    assert_same_bits(poolnd.pool(strided, np.median, (2, 2), 1),
                     expected(np.ascontiguousarray(strided), (2, 2), 1))


def test_zeros_infinities_and_float32_overflow(compiled_only):
    big = np.finfo(np.float32).max
    x = np.array([[[-0.0, -0.0, 0.0, -0.0, big, big, -np.inf, np.inf, 1, -0.0]]], np.float32)
    for kernel in ((1,), (2,), (3,), (4,)):
        for stride in (1, 2):
            got = poolnd.pool(x, np.median, kernel, stride)
            assert_same_bits(got, expected(x, kernel, stride))
    pairs = poolnd.pool(x, np.median, (2,))
    assert not np.signbit(pairs[0, 0, 0])  # (-0 + -0) / 2 is +0 for NumPy
    assert pairs[0, 0, 2] == np.inf  # max + max overflows in float32, as NumPy's sum does
    assert np.isnan(pairs[0, 0, 3])  # -inf + inf


def test_nans_of_several_bit_patterns_take_the_numpy_path(fallback_calls):
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 0, 1] = -np.float32(np.nan)  # another NaN: NumPy returns whichever it sorts last
    got = poolnd.pool(x, np.median, (2, 2))
    assert_same_bits(got, expected(x, (2, 2)))
    assert len(fallback_calls) == 1
    x[0, 0, 0, 1] = np.nan
    poolnd.pool(x, np.median, (2, 2))
    assert len(fallback_calls) == 1  # one NaN pattern: compiled
    negative = np.negative(x)  # every NaN negative, unlike the padding's
    assert_same_bits(poolnd.pool(negative, np.median, (2, 2), 1, 1),
                     expected(negative, (2, 2), 1, 1))
    assert len(fallback_calls) == 2
    got = poolnd.pool(negative, np.median, (2, 2), 1, 1, pad_value=0.0)
    assert_same_bits(got, expected(negative, (2, 2), 1, 1, pad_value=0.0))
    assert len(fallback_calls) == 2  # one NaN pattern with a number for padding: compiled


def test_where_the_kernel_does_not_apply_or_pay(fallback_calls, rng):
    side = math.isqrt(_threads.MEDIAN_NETWORK_MAX) + 1  # a window over the network's size
    x = rng.standard_normal((1, 2, 2 * side, 2 * side))
    cases = [
        (x, (side, side), {}),
        (x.astype(np.float16), (2, 2), {}),
        (rng.standard_normal((1, 1, 3, 3, 3, 3)), (2, 2, 2, 2), {}),  # four spatial dimensions
        (x[:0], (2, 2), {}),
    ]
    for data, kernel, kwargs in cases:
        got = poolnd.pool(data, np.median, kernel, **kwargs)
        if data.dtype != np.float16 and data.size:
            assert_same_bits(got, expected(data, kernel))
    assert len(fallback_calls) == len(cases)


def test_a_kernel_still_compiling_falls_back(monkeypatch, fallback_calls, rng):
    monkeypatch.setattr(sliding, "launch", lambda *args, **kwargs: False)
    x = rng.standard_normal((2, 2, 9, 9)).astype(np.float32)
    assert_same_bits(poolnd.pool(x, np.median, (3, 3), 2), expected(x, (3, 3), 2))
    assert len(fallback_calls) == 1
