"""The max kernel's vector folds (`numba_folds`) against the rule they implement, bit for bit.

`FOLD2` and `FOLD3` fold two or three rows lane by lane with PyTorch's max rule: the later
value where it is greater or NaN, else the earlier. So of equal values the first is kept
(which zero of ``-0`` and ``+0``), and of NaNs the last (its payload). Every length is
checked, a row's masked end included, for the six dtypes the max kernels are compiled for,
with sources and destination at any offsets, in one array or several, and nothing outside
the ``n`` destination cells may change. The max kernel built on them is checked against
torch in the max oracle tests.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from helpers import assert_identical
from numba.core.errors import TypingError

from poolnd._kernels.sliding import numba_folds as M
from poolnd._kernels.sliding import numba_registers as R

_DTYPES = [np.float32, np.float64, np.uint8, np.uint16, np.int32, np.int64]


@nb.njit
def _fold2(dst, d0, a, a0, b, b0, n):  # pragma: no cover - compiled
    M.FOLD2(dst, d0, a, a0, b, b0, n)


@nb.njit
def _fold3(dst, d0, a, a0, b, b0, c, c0, n):  # pragma: no cover - compiled
    M.FOLD3(dst, d0, a, a0, b, b0, c, c0, n)


def _rule(rows, keep_last_tie=False):
    """The fold in order with NumPy: ``v if (v > m) | isnan(v) else m`` (with
    ``keep_last_tie``, ``>=``: a wrong rule the data must tell apart)."""
    m = rows[0].copy()
    for v in rows[1:]:
        take = (v >= m) if keep_last_tie else (v > m)
        if m.dtype.kind == "f":
            take |= np.isnan(v)
        m = np.where(take, v, m)
    return m


def _values(rng, dtype, size):
    """Values with many ties; floats with ``-0``/``+0`` and NaNs of distinct payloads."""
    if np.dtype(dtype).kind == "f":
        x = rng.integers(-3, 4, size).astype(dtype)
        x[rng.random(size) < 0.3] = -0.0
        nan_at = rng.random(size) < 0.15
        bits = 0x7FC00000 + rng.integers(1, 1 << 20, nan_at.sum())
        x[nan_at] = (np.frombuffer(bits.astype(np.int32).tobytes(), np.float32)
                     .astype(dtype))
        return x
    info = np.iinfo(dtype)
    pool = np.array([info.min, info.min + 1, 0, 1, 2, info.max - 1, info.max], dtype)
    return pool[rng.integers(0, pool.size, size)]


def _lengths(dtype):
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    return sorted({0, 1, lanes - 1, lanes, lanes + 1, 3 * lanes + 5})


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("rows", [2, 3])
def test_folds_follow_the_rule_at_every_length(dtype, rows, rng):
    for n in _lengths(dtype):
        sources = [_values(rng, dtype, n + 40) for _ in range(rows)]
        starts = [3, 17, 29][:rows]
        dst = np.full(n + 50, 7, dtype)
        expected = dst.copy()
        expected[11:11 + n] = _rule([s[o:o + n] for s, o in zip(sources, starts, strict=True)])
        args = [a for s, o in zip(sources, starts, strict=True) for a in (s, o)]
        (_fold2 if rows == 2 else _fold3)(dst, 11, *args, n)
        assert_identical(dst, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_data_tells_the_tie_and_nan_rules_apart(dtype, rng):
    """A fold keeping the last of equal values instead gives other bits on these data (the
    check can fail)."""
    rows = [_values(rng, dtype, 200) for _ in range(3)]
    right, wrong = _rule(rows), _rule(rows, keep_last_tie=True)
    assert not np.array_equal(right.view(np.uint8), wrong.view(np.uint8))
    dst = np.empty(200, dtype)
    _fold3(dst, 0, rows[0], 0, rows[1], 0, rows[2], 0, 200)
    assert_identical(dst, right)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int64])
def test_sources_and_destination_may_share_an_array(dtype, rng):
    """The max kernel folds rows of one scratch array into another part of it."""
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    n = 2 * lanes + 3
    buf = _values(rng, dtype, 6 * n)
    expected = buf.copy()
    expected[4 * n:5 * n] = _rule([buf[0:n], buf[n + 1:2 * n + 1], buf[2 * n + 5:3 * n + 5]])
    _fold3(buf, 4 * n, buf, 0, buf, n + 1, buf, 2 * n + 5, n)
    assert_identical(buf, expected)


def test_mixed_dtypes_are_refused():
    with pytest.raises(TypingError):
        _fold2(np.zeros(8, np.float32), 0, np.zeros(8, np.float64), 0,
               np.zeros(8, np.float32), 0, 8)
