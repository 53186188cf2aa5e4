"""The gathered-window kernels (`poolnd._kernels.sliding.numba_gathers`) against torch 2.13 CPU
and against the row kernels they stand in for.

Windows over output rows of at most 3 outputs, or 4 without padding (small planes, large
strides or windows: `poolnd._kernels.sliding._gathered`), take a vector of outputs at a time,
across rows and planes, each kernel cell gathered for all of them with the cells outside the
input masked off. Over a grid of kernel sizes, strides, paddings, dilations and ceil modes on
data with ties, signed zeros and NaN, serially and in parallel chunks, max values must be
torch's bit for bit and averages torch's (either ``count_include_pad``, a
``divisor_override``); for every dtype the kernels compile, the bits must be those of the row
kernels (the selector told not to gather).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_identical, launched_forms

import poolnd
import poolnd._kernels.sliding as K
from poolnd._args import make_window

F = poolnd.functional

# (kernel, stride, padding, dilation, ceil_mode) on 7x7, 6x8 and 5x3 planes
GRID = [(k, s, p, d, c) for k, s, p, d, c in itertools.product(
    (2, 3, 4, 5, 7), (1, 2, 3), (0, 1, 3), (1, 2), (False, True)) if p <= k // 2]
SHAPES = [(3, 5, 7, 7), (2, 3, 6, 8), (1, 7, 5, 3)]


def _input(rng, shape, dtype):
    x = rng.integers(-3, 4, size=shape).astype(dtype)  # many ties
    if x.dtype.kind == "f":
        x[rng.random(shape) < 0.2] = -0.0
        x[rng.random(shape) < 0.02] = np.nan
    return x


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gathered_windows_match_torch(shape, threads, rng, kernel_threads, monkeypatch):
    kernel_threads(threads)
    launched = launched_forms(monkeypatch)
    checked = 0
    for k, s, p, d, ceil in GRID:
        if (k - 1) * d + 1 > min(shape[-2:]) + 2 * p:
            continue
        x = _input(rng, shape, np.float32)
        t = torch.from_numpy(x)
        assert_identical(F.max_pool2d(x, k, s, p, d, ceil), tF.max_pool2d(t, k, s, p, d, ceil)
                         .numpy())
        if d == 1:
            finite = np.nan_to_num(x)
            tf = torch.from_numpy(finite)
            for include in (True, False):
                assert_identical(F.avg_pool2d(finite, k, s, p, ceil, include),
                                 tF.avg_pool2d(tf, k, s, p, ceil, include).numpy())
            assert_identical(F.avg_pool2d(finite, k, s, p, ceil, divisor_override=3),
                             tF.avg_pool2d(tf, k, s, p, ceil, divisor_override=3).numpy())
        checked += 1
    assert checked > 40
    assert "gather_max" in launched and "gather_sum" in launched


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.int16, np.int32, np.int64])
def test_gathered_windows_give_the_row_kernels_bits(dtype, threads, rng, kernel_threads,
                                                    monkeypatch):
    kernel_threads(threads)
    x = _input(rng, (2, 6, 7, 7), dtype)
    for k, s, p, d, ceil in GRID[::3]:
        if (k - 1) * d + 1 > 7 + 2 * p:
            continue
        args = (k, s, p, d, ceil)
        values = F.max_pool2d(x, *args)
        sums = poolnd.sum_pool(x, (k, k), (s, s), (p, p), (d, d), ceil_mode=ceil)
        means = F.avg_pool2d(x, k, s, p, ceil, False) if d == 1 else None
        with monkeypatch.context() as m:
            m.setattr(K, "_gathered", lambda *_: False)
            assert_identical(F.max_pool2d(x, *args), values)
            assert_identical(poolnd.sum_pool(x, (k, k), (s, s), (p, p), (d, d), ceil_mode=ceil),
                             sums)
            if means is not None:
                assert_identical(F.avg_pool2d(x, k, s, p, ceil, False), means)


@pytest.mark.parametrize("threads", [1, 2])
def test_gathered_windows_in_one_and_three_dimensions(threads, rng, kernel_threads,
                                                      monkeypatch):
    kernel_threads(threads)
    launched = launched_forms(monkeypatch)
    x = _input(rng, (2, 3, 5, 6, 7), np.float32)
    t = torch.from_numpy(x)
    for k, s, p in [(3, 3, 1), (2, 3, 0), ((3, 2, 3), (1, 2, 3), (1, 1, 0))]:
        assert_identical(F.max_pool3d(x, k, s, p), tF.max_pool3d(t, k, s, p).numpy())
        assert launched[-1] == "gather_max"
        finite = np.nan_to_num(x)
        assert_identical(F.avg_pool3d(finite, k, s, p),
                         tF.avg_pool3d(torch.from_numpy(finite), k, s, p).numpy())
        assert launched[-1] == "gather_sum"
    x1 = _input(rng, (4, 5, 9), np.float32)
    assert_identical(F.max_pool1d(x1, 3, 3, 1), tF.max_pool1d(torch.from_numpy(x1), 3, 3, 1)
                     .numpy())
    assert launched[-1] == "gather_max"


def test_gathers_take_only_short_rows():
    def win(w, p):
        return make_window("max_pool", (9, w), (3, 3), (1, 3), (p, p), (1, 1), False)

    f32 = np.dtype(np.float32)
    assert K._gathered(win(10, 0), f32)  # rows of 4 outputs, no padding
    assert not K._gathered(win(16, 0), f32)  # 5
    assert K._gathered(win(7, 1), f32)  # 3, padding
    assert not K._gathered(win(10, 1), f32)  # 4, padding
    assert not K._gathered(win(7, 1), np.dtype(np.float16))  # no compiled kernel
    wide = make_window("max_pool", (9, 30), (3, 22), (1, 22), (0, 0), (1, 1), False)
    assert not K._gathered(wide, f32)  # more window offsets than a lane's bits hold
