"""Huge inputs and huge window parameters.

* A plane of more than 2**31 cells (uint8, 2 GiB) pools correctly, with int64 indices beyond
  2**31: the input is zeros (``np.zeros`` maps them lazily, so the test reads mostly the
  shared zero page and stays light) with a few planted values, whose windows' maxima and
  positions are known without pooling; every other window's maximum is 0 at its first cell.
* Strides, kernels and padding pairs of 10**9 to 2**40 (with the int64 limits just below)
  cost no memory beyond the output: the kernels size their buffers by the input, and wide
  kernels run on passes that skip the kernel offsets reading only padding.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from helpers import assert_identical

import poolnd

F = poolnd.functional

SIDE = 46341  # SIDE**2 = 2_147_488_281 > 2**31
K, S = 5, 64  # (SIDE - K) % S == 0: the last window ends on the last row and column


def _expected_max(plants, out_side, side, k, s):
    """Values and plane-flat indices of max pooling (k, stride s, no padding) of a zero plane
    with ``plants`` {(row, col): value}: a window's largest plant (the first in row-major
    order among equals), else 0 at the window's first cell."""
    rows = np.arange(out_side, dtype=np.int64) * s
    values = np.zeros((out_side, out_side), np.uint8)
    indices = rows[:, None] * side + rows[None, :]
    best: dict[tuple[int, int], tuple[int, int, int]] = {}
    for (r, c), v in sorted(plants.items()):  # row-major order
        for orow in range(max(0, -(-(r - k + 1) // s)), min(out_side - 1, r // s) + 1):
            for ocol in range(max(0, -(-(c - k + 1) // s)), min(out_side - 1, c // s) + 1):
                if v > best.get((orow, ocol), (0, -1, -1))[0]:
                    best[(orow, ocol)] = (v, r, c)
    for (orow, ocol), (v, r, c) in best.items():
        values[orow, ocol] = v
        indices[orow, ocol] = r * side + c
    return values, indices


@pytest.mark.slow
def test_plane_of_more_than_2_31_cells_pools_with_int64_indices():
    x = np.zeros((1, 1, SIDE, SIDE), np.uint8)
    assert x[0, 0].size > 2**31
    last = SIDE - 1
    plants = {
        (last, last): 200,  # flat index 2_147_488_280
        (last, last - 3): 250,  # larger, same window
        (last, last - 4): 250,  # equal and earlier in row-major order: the maximum
        (last - 2, last - 1): 240,  # an earlier row, smaller
        (SIDE - 5, SIDE - 5): 9,  # the last window's first cell
        (SIDE - 4, 40_962): 7,  # the last row band, flat index below 2**31
        (0, 0): 3,
        (64, 130): 255,
        (1000, 2000): 1,  # read by no window (row 1000 % 64 = 40)
    }
    for (r, c), v in plants.items():
        x[0, 0, r, c] = v
    out_side = (SIDE - K) // S + 1
    values, indices = F.max_pool2d(x, K, S, return_indices=True)
    exp_v, exp_i = _expected_max(plants, out_side, SIDE, K, S)
    assert values.shape == indices.shape == (1, 1, out_side, out_side)
    assert indices.dtype == np.int64
    assert_identical(values[0, 0], exp_v)
    assert_identical(indices[0, 0], exp_i)
    assert indices[0, 0, -1, -1] == last * SIDE + last - 4 > 2**31  # the first of the tie
    # the values-only kernel, and sums (int64 accumulators) of the same windows
    assert_identical(F.max_pool2d(x, K, S)[0, 0], exp_v)
    sums = poolnd.sum_pool(x, (K, K), S)[0, 0]
    assert sums[-1, -1] == 200 + 250 + 250 + 240 + 9 and sums.dtype == np.uint64
    assert sums.sum() == sum(v for (r, c), v in plants.items() if r % S < K and c % S < K)


# --------------------------------------------------------------------------------------------
# huge window parameters


X = np.arange(8, dtype=np.float32).reshape(1, 1, 8)


@pytest.mark.parametrize("stride", [10**9, 2**40, 2**60])
def test_a_huge_stride_costs_nothing(stride):
    # before: each kernel call allocated a (stride, 1) buffer (4 GiB for 10**9; a
    # MemoryError for 2**40)
    def pool() -> None:
        values, indices = F.max_pool1d(X, 3, stride, 1, return_indices=True)
        assert_identical(values, np.array([[[1.0]]], np.float32))
        assert_identical(indices, np.array([[[1]]]))
        assert_identical(F.avg_pool1d(X, 3, stride, 1), np.array([[[1 / 3]]], np.float32))
        x2 = np.arange(64, dtype=np.float64).reshape(1, 1, 8, 8)
        assert_identical(F.max_pool2d(x2, 2, stride), np.array([[[[9.0]]]]))
        assert_identical(F.avg_pool2d(x2, 2, (1, stride))[0, 0, :, 0],
                         (x2[0, 0, :-1, 0] + x2[0, 0, 1:, 0] + x2[0, 0, :-1, 1]
                          + x2[0, 0, 1:, 1]) / 4)

    pool()  # on a cold cache this compiles the kernels: the time below is the pooling's
    start = time.perf_counter()
    pool()
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("big", [10**9, 2**40, 2**59])
def test_a_huge_kernel_reading_mostly_padding_costs_nothing(big):
    # kernel, stride and per-side padding of `big`: two windows, the first wholly in the
    # padding, the second reading the 8 cells; before, the compiled kernels kept a table
    # entry per kernel column (16 GiB for 10**9 columns)
    pads = ((big, big),)
    values, indices = F.max_pool1d(X, big, big, pads, return_indices=True)
    assert_identical(values, np.array([[[-np.inf, 7.0]]], np.float32))
    assert_identical(indices, np.array([[[-1, 7]]]))
    mins = poolnd.min_pool(X, (big,), big, pads)
    assert_identical(mins, np.array([[[np.inf, 0.0]]], np.float32))
    sums = poolnd.sum_pool(X.astype(np.int64), (big,), big, pads)
    assert_identical(sums, np.array([[[0, 28]]]))
    avg = F.avg_pool1d(X.astype(np.float64), big, big, pads)  # the padding counts
    assert_identical(avg, np.array([[[0.0, 28 / big]]]))
    exclusive = F.avg_pool1d(X.astype(np.float64), big, big, pads, count_include_pad=False)
    assert_identical(exclusive, np.array([[[np.nan, 3.5]]]), max_nan_payloads=False)
    out, pullback = poolnd.vjp(F.max_pool1d, X, big, big, pads)
    assert_identical(pullback(np.ones_like(out)), np.eye(8, dtype=np.float32)[7][None, None])
    out, pullback = poolnd.vjp(F.avg_pool1d, X.astype(np.float64), big, big, pads)
    assert_identical(pullback(np.ones_like(out)), np.full((1, 1, 8), 1 / big))


def test_a_huge_dilation_with_padding_pairs():
    d = 2**59
    values, indices = F.max_pool1d(X, 2, 1, ((d, 0),), d, return_indices=True)
    # window o reads cells o - d (padding) and o: the input itself
    assert_identical(values, X)
    assert_identical(indices, np.arange(8)[None, None])


def test_the_int64_limits_are_exact():
    limit = 2**60
    F.max_pool1d(X, 1, limit)  # at the limit: fine
    F.max_pool1d(X, 2, 1, ((limit, 0),), limit - 1)
    with pytest.raises(ValueError, match="stride must be at most 2"):
        F.max_pool1d(X, 1, limit + 1)
    with pytest.raises(ValueError, match=r"the dilated kernel \(kernel_size - 1\)"):
        F.max_pool1d(X, 3, 1, ((limit, limit),), limit // 2 + 1)
