"""The stride-1 stacks of output rows (`numba_stacks.stack_rows`) against adding the cells
one at a time, bit for bit.

`stack_rows` sums the first rows of a band (rows of ``wq`` flat outputs, output ``m`` the
sum from ``+0`` of ``flat[shift + a * wq + c + m]`` in row-major order) eight rows at a
time, each input row's shifted vectors made once for every output row that reads it. Its
sums must be the cells added one at a time in that order (NumPy's float32 additions round
each one, as the kernel's do), for every window height and width it takes; it must say
how many rows it summed, touch no other, and keep its reads within the rows it is told it
may read. The phase kernel built on it is checked against torch in `test_phase_kernel`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from helpers import assert_identical

from poolnd._kernels.sliding import numba_registers as R
from poolnd._kernels.sliding import numba_stacks as S

STACKS = R.LANE_BYTES == 64  # (elsewhere `stack_rows` sums nothing: the caller does)


@nb.njit
def _stacks(acc, flat, wq, kh, kw, rows, shift, readable, src, dst,
            ahead):  # pragma: no cover - compiled
    return S.stack_rows(acc, flat, wq, kh, kw, rows, shift, readable, src, dst, ahead)


def _nothing_ahead():
    """Prefetch operands asking for nothing."""
    return np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(4, np.int64)


def _in_order(flat, wq, kh, kw, rows, shift):
    """Rows ``0 .. rows - 1`` of the band, each cell added one at a time from ``+0``."""
    out = np.zeros(rows * wq, np.float32)
    for a in range(kh):
        for c in range(kw):
            at = shift + a * wq + c
            out = out + flat[at:at + rows * wq]
    return out


def _flat(rng, n):
    # magnitudes far apart: a sum's bits depend on the order of its additions
    return (rng.standard_normal(n) * 10.0 ** rng.integers(-4, 5, n)).astype(np.float32)


@pytest.mark.parametrize("wq", [32, 57, 63, 118])
def test_stacks_are_the_cells_added_in_order(wq, rng):
    for kh in range(2, S.STACK_KH + 1):
        for kw in (2, 3, 5, 8):
            rows, shift = 21, 7  # two stacks of eight, five rows left
            flat = _flat(rng, shift + (rows + kh + 1) * wq)
            acc = np.full(rows * wq + 64, -3.0, np.float32)
            expected = acc.copy()
            done = 2 * S.STACK_ROWS if STACKS else 0
            expected[:done * wq] = _in_order(flat, wq, kh, kw, done, shift)
            # (the prefetches: other arrays, wider than their ranges, and this one's tail)
            src, dst = _flat(rng, 5000), np.full(3000, 2.0, np.float32)
            before = (src.copy(), dst.copy())
            ranges = np.array([100, 4900, 0, 3000], np.int64)
            assert _stacks(acc, flat, wq, kh, kw, rows, shift, rows + kh, src, dst,
                           ranges) == done
            assert_identical(acc, expected)
            assert_identical(src, before[0])
            assert_identical(dst, before[1])
            again = np.full_like(acc, -3.0)
            assert S.stack_rows(again, flat, wq, kh, kw, rows, shift, rows + kh,
                                *_nothing_ahead()) == done
            assert_identical(again, expected)


def test_reads_stay_within_the_readable_rows(rng):
    """A stack's reads end in the row after its last input row (``readable`` counts it):
    NaNs past that row change nothing, and one row fewer takes one stack fewer."""
    wq, kh, kw = 40, 5, 7
    readable = S.STACK_ROWS + kh  # one stack: input rows 0 .. 11, its reads into row 12
    flat = _flat(rng, readable * wq)
    ragged = np.concatenate([flat, np.full(256, np.nan, np.float32)])
    acc = np.zeros(S.STACK_ROWS * wq + 64, np.float32)
    done = S.STACK_ROWS if STACKS else 0
    assert _stacks(acc, ragged, wq, kh, kw, S.STACK_ROWS, 0, readable,
                   *_nothing_ahead()) == done
    assert_identical(acc[:done * wq], _in_order(flat, wq, kh, kw, done, 0))
    assert _stacks(acc, ragged, wq, kh, kw, S.STACK_ROWS, 0, readable - 1,
                   *_nothing_ahead()) == 0


@pytest.mark.parametrize(("dtype", "wq", "kh", "kw"), [
    (np.float64, 64, 3, 3), (np.int64, 64, 3, 3), (np.float32, 31, 3, 3),
    (np.float32, 64, 1, 3), (np.float32, 64, S.STACK_KH + 1, 3), (np.float32, 64, 3, 1),
    (np.float32, 64, 3, 9)])
def test_other_windows_and_dtypes_are_left_to_the_caller(dtype, wq, kh, kw, rng):
    flat = np.ones(64 * wq, dtype)
    acc = np.full(20 * wq, 5, dtype)
    assert _stacks(acc, flat, wq, kh, kw, 16, 0, 40, *_nothing_ahead()) == 0
    assert S.stack_rows(acc, flat, wq, kh, kw, 16, 0, 40, *_nothing_ahead()) == 0
    assert (acc == 5).all()
