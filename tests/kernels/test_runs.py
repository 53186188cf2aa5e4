"""The kernel-row adders (`numba_runs.ADD_RUNS`, `ADD_RUNS2`) against adding the cells one
at a time, bit for bit.

They load each kernel row's vectors once (per phase plane at stride 2) and shift its cells
out of them. Their sums must be those of adding the row's ``kw`` cells, row after row, one
at a time in that order (NumPy's float32 additions round each one, as the kernel's do), onto
the sums already there, for every kernel width they take, each cell from its phase plane
(``c % stride``) at its offset (``c // stride``), reading ``shift`` further on, widening
narrower cells, and touching no output outside the block. The phase kernel built on them is
checked against torch in `test_phase_kernel`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from helpers import assert_identical
from numba.core.errors import TypingError

from poolnd._kernels.sliding import numba_registers as R
from poolnd._kernels.sliding import numba_runs as U


@nb.njit
def _runs(acc, flat, rows, kw, m0, shift):  # pragma: no cover - compiled
    U.ADD_RUNS(acc, flat, rows, kw, m0, shift)


@nb.njit
def _runs2(acc, flat, rows, kw, m0, shift):  # pragma: no cover - compiled
    U.ADD_RUNS2(acc, flat, rows, kw, m0, shift)


@nb.njit
def _pays(acc, flat):  # pragma: no cover - compiled
    return U.runs_pay(acc, flat)


def _cells_in_order(acc, flat, rows, kw, m0, count, shift, stride=1):
    """Each row's ``kw`` cells added one at a time, rows in order, to ``acc[m0 : m0 +
    count]`` (read from ``flat[rows[a * stride + c % stride] + c // stride + shift + m]``,
    widened to ``acc``'s dtype)."""
    out = acc.copy()
    for a in range(len(rows) // stride):
        for c in range(kw):
            at = rows[a * stride + c % stride] + c // stride + shift + m0
            out[m0:m0 + count] = out[m0:m0 + count] + flat[at:at + count].astype(acc.dtype)
    return out


def _data(rng, source, dtype, n_flat, n_acc):
    if np.dtype(dtype).kind == "f":
        # magnitudes far apart: a sum's bits depend on the order of its additions
        flat = rng.standard_normal(n_flat) * 10.0 ** rng.integers(-4, 5, n_flat)
        acc = rng.standard_normal(n_acc) * 100
    else:
        info = np.iinfo(source)
        flat = rng.integers(max(info.min, -(2 ** 40)), min(info.max, 2 ** 40), n_flat)
        acc = rng.integers(-(2 ** 40), 2 ** 40, n_acc)
    return flat.astype(source), acc.astype(dtype)


def _widths(dtype, stride):
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    return range(stride, min(U.RUN_CELLS, lanes) + 1)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize(("source", "dtype"), [
    (np.float32, np.float32), (np.float64, np.float64), (np.int64, np.int64),
    (np.float32, np.float64), (np.uint8, np.int64), (np.int16, np.int64)])
def test_rows_are_their_cells_added_in_order(source, dtype, stride, rng):
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    count = R.ACCUMULATORS * lanes
    for kw in _widths(dtype, stride):
        for rows in ([], [0, 350], [5, 40, 301, 302], list(range(0, 700, 70))):
            rows_at = np.array(rows, np.int64)  # (stride 2: a row's two phases' first cells)
            flat, acc = _data(rng, source, dtype, 1000 + 2 * count, 3 * count)
            m0, shift = count + 3, 11  # an unaligned block, with outputs on both sides
            expected = _cells_in_order(acc, flat, rows_at, kw, m0, count, shift, stride)
            got = acc.copy()
            (_runs if stride == 1 else _runs2)(got, flat, rows_at, kw, m0, shift)
            assert_identical(got, expected)
            if source == dtype == np.float32 and len(rows) > stride:  # (it tells the order)
                backwards = rows_at.reshape(-1, stride)[::-1].ravel()
                backwards = _cells_in_order(acc, flat, backwards, kw, m0, count, shift, stride)
                assert not np.array_equal(backwards, expected)


def test_reads_end_a_vector_past_the_block(rng):
    """The documented reach: a row's reads end ``(count + 1) * lanes`` cells after its
    start, so an array exactly that long is enough (NaNs after it would show)."""
    lanes = R.LANE_BYTES // 4
    count = R.ACCUMULATORS * lanes
    kw = min(U.RUN_CELLS, lanes)
    flat, acc = _data(rng, np.float32, np.float32, 3 * count, count)
    rows_at = np.array([0, 2 * lanes], np.int64)
    reach = 2 * lanes + count + lanes
    padded = np.concatenate([flat[:reach], np.full(64, np.nan, np.float32)])
    got = acc.copy()
    _runs(got, padded, rows_at, kw, 0, 0)
    assert not np.isnan(got).any()
    assert_identical(got, _cells_in_order(acc, flat, rows_at, kw, 0, count, 0))


@pytest.mark.parametrize(("acc", "flat"), [
    (np.float32, np.float64), (np.int64, np.float32), (np.float32, np.int16)])
def test_narrowing_and_mixed_kinds_are_refused(acc, flat):
    with pytest.raises(TypingError):
        _runs(np.zeros(512, acc), np.zeros(512, flat), np.zeros(1, np.int64), 2, 0, 0)


@pytest.mark.parametrize(("acc", "flat"), [
    (np.float32, np.float32), (np.float64, np.float64), (np.float64, np.float32),
    (np.int64, np.uint8)])
def test_runs_pay_for_float32_with_64_byte_vectors(acc, flat):
    expected = R.LANE_BYTES == 64 and acc == flat == np.float32
    a, f = np.zeros(4, acc), np.zeros(4, flat)
    assert U.runs_pay(a, f) is expected
    assert _pays(a, f) is expected
