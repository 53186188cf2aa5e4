"""Compact indices for the pullback's own use: a max (or min) pooling differentiated without
``return_indices`` has its forward write int16 plane indices (planes under 2**15 cells) or
int32 ones (under 2**31), which the pullback reads. The compact indices are the int64 ones
on every kernel path (rows, the 2-wide and general tiles, channels-last 3d, the
sign-flipped integer partners, min, bool, the NumPy passes), the pullback receives them, and
calls returning indices still give (and differentiate through) int64 ones."""

from __future__ import annotations

import numpy as np
import pytest

import poolnd
from poolnd._args import Window
from poolnd._kernels import sliding
from poolnd._ops import pooling

F = poolnd.functional


def _win(in_shape, k, s, p):
    out = tuple((n + 2 * p - k) // s + 1 for n in in_shape)
    return Window(kernel=(k,) * len(in_shape), stride=(s,) * len(in_shape),
                  dilation=(1,) * len(in_shape), pad=((p, p),) * len(in_shape),
                  in_shape=tuple(in_shape), out_shape=out)


def _input(shape, dtype, rng):
    if dtype == np.bool_:
        return rng.random(shape) < 0.3
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -4), min(info.max, 4), size=shape, dtype=dtype,
                            endpoint=True)
    x = rng.standard_normal(shape).astype(dtype)
    x[..., 0, :2] = np.nan  # NaN and signed zeros: the tie rules
    x[..., 1, :3] = -0.0
    x[..., 2, :3] = 0.0
    return x


# (input shape, spatial rank, kernel, stride, padding): row kernels (overlapping windows),
# 2-wide tiles, general tiles, 1d, 3d, a window wholly in padding is impossible here
CASES = [
    ((2, 3, 13, 11), 2, 3, 2, 1),
    ((2, 3, 12, 10), 2, 2, 2, 0),
    ((2, 3, 12, 12), 2, 3, 3, 0),
    ((2, 3, 9, 10), 2, 3, 1, 1),
    ((2, 3, 20), 1, 4, 4, 0),
    ((2, 2, 6, 8, 8), 3, 2, 2, 0),
    ((1, 2, 5, 7, 6), 3, 3, 2, 1),
]


# int32 indices for every dtype the max kernels take; int16 ones only ever serve a
# pullback, so only for the differentiable dtypes (float16 is pooled as float32)
COMPACT = [(dtype, np.int32) for dtype in (np.float32, np.float64, np.float16, np.uint8,
                                           np.int8, np.int64, np.bool_)] + \
    [(dtype, np.int16) for dtype in (np.float32, np.float64, np.float16)]


@pytest.mark.parametrize("dtype, compact", COMPACT)
@pytest.mark.parametrize("shape, nd, k, s, p", CASES)
@pytest.mark.parametrize("forward", ["max_forward", "min_forward"])
def test_compact_indices_are_the_int64_ones(rng, dtype, compact, shape, nd, k, s, p, forward):
    x = _input(shape, dtype, rng)
    win = _win(shape[-nd:], k, s, p)
    fn = getattr(sliding, forward)
    v64, i64 = fn(x, win, True)
    v_c, i_c = fn(x, win, True, compact)
    assert i64.dtype == np.int64 and i_c.dtype == compact
    np.testing.assert_array_equal(i_c, i64)
    np.testing.assert_array_equal(v_c.view(np.uint8), v64.view(np.uint8))


def test_int16_indices_reach_the_last_cell_of_the_largest_plane(rng):
    """A plane of 2**15 - 1 cells: the largest index, 32766, fits int16 on the row kernels
    and the tiles, and the pullback puts each gradient where the int64 indices say."""
    for k, s, p in ((3, 1, 1), (1, 1, 0), (2, 2, 0), (3, 3, 1)):  # rows, 1x1, tiles, rows
        x = rng.standard_normal((2, 2, 7, 4681)).astype(np.float32)  # 2**15 - 1 cells
        x[..., -2:, -2:] = 100.0 + np.arange(4).reshape(2, 2)  # the last cell wins
        win = _win((7, 4681), k, s, p)
        assert sliding.pullback_index_dtype(win) == np.int16
        v64, i64 = sliding.max_forward(x, win, True)
        _, i16 = sliding.max_forward(x, win, True, np.int16)
        assert int(i64.max()) == (2**15 - 2 if k != 2 else 6 * 4681 - 2)
        np.testing.assert_array_equal(i16, i64)
        g = rng.standard_normal(v64.shape).astype(np.float32)
        np.testing.assert_array_equal(sliding.max_backward(g, i16, win),
                                      sliding.max_backward(g, i64, win))


def test_compact_indices_on_the_numpy_passes_and_channels_last(rng, monkeypatch):
    """The NumPy passes (kernels not compiled) and the channels-last 3d path give int64
    indices of their own, cast to int32 or int16."""
    x = _input((2, 6, 7, 5, 3), np.float32, rng)  # (N, D, H, W, C)
    win = Window(kernel=(2, 2, 2, 1), stride=(2, 2, 2, 1), dilation=(1,) * 4,
                 pad=((0, 0),) * 4, in_shape=(6, 7, 5, 3), out_shape=(3, 3, 2, 3))
    want = sliding.max_forward(x, win, True)[1]
    for compact in (np.int32, np.int16):
        got = sliding.max_forward(x, win, True, compact)[1]
        assert got.dtype == compact
        np.testing.assert_array_equal(got, want)
    y = _input((2, 3, 9, 8), np.float32, rng)
    win2 = _win((9, 8), 3, 2, 1)
    want2 = sliding.max_forward(y, win2, True)[1]
    monkeypatch.setattr(sliding, "_max_compiled", lambda *a: None)  # the NumPy passes
    for compact in (np.int32, np.int16):
        got2 = sliding.max_forward(y, win2, True, compact)[1]
        assert got2.dtype == compact
        np.testing.assert_array_equal(got2, want2)


def _scattered(monkeypatch):
    """Record the index dtype each max pullback hands to the scatter."""
    seen: list[np.dtype] = []
    real = sliding.max_backward

    def spy(g, indices, win):
        seen.append(indices.dtype)
        return real(g, indices, win)

    monkeypatch.setattr(pooling.kernels, "max_backward", spy)
    return seen


@pytest.mark.parametrize("minimum", [False, True])
def test_the_pullback_takes_compact_indices_unless_they_are_returned(rng, monkeypatch,
                                                                      minimum):
    seen = _scattered(monkeypatch)
    x = rng.standard_normal((2, 3, 10, 9)).astype(np.float32)
    pool = poolnd.min_pool if minimum else poolnd.max_pool
    out, pullback = poolnd.vjp(pool, x, (3, 3), 2, 1)
    g = rng.standard_normal(out.shape).astype(np.float32)
    grad = pullback(g)
    assert seen == [np.dtype(np.int16)]
    (values, indices), pullback_i = poolnd.vjp(pool, x, (3, 3), 2, 1, return_indices=True)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(values, out)
    np.testing.assert_array_equal(pullback_i(g), grad)
    assert seen == [np.dtype(np.int16), np.dtype(np.int64)]


def test_the_compact_dtype_follows_the_plane_size(monkeypatch):
    """Planes under 2**15 cells take int16 indices, under 2**31 int32, larger ones int64
    (checked on the window alone: the large inputs are never made)."""
    seen: list[object] = []

    def forward(x, win, with_indices, index_dtype=np.int64):
        seen.append(index_dtype)
        raise RuntimeError("stop")

    monkeypatch.setattr(pooling.kernels, "max_forward", forward)
    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (1, 1, 1 << 16, 1 << 15),
                                          (0, 0, 0, 0))
    with pytest.raises(RuntimeError, match="stop"):
        pooling.max_pool_impl(big, 2, op="max_pool2d", ndim=2, grad=True)
    for cells in (2**15, 2**15 - 1, 16):
        plane = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (1, 1, 1, cells),
                                                (0, 0, 0, 0))
        with pytest.raises(RuntimeError, match="stop"):
            pooling.max_pool_impl(plane, (1, 2), op="max_pool2d", ndim=2, grad=True)
    small = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(RuntimeError, match="stop"):
        pooling.max_pool_impl(small, 2, return_indices=True, op="max_pool2d", ndim=2,
                              grad=True)
    assert seen == [np.int64, np.int32, np.int16, np.int16, np.int64]
