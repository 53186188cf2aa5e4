"""The phase kernel's vector intrinsics against plain loops: the register-held window sums
(`numba_registers`) and the stride-2 and stride-3 deals (`numba_shuffles`).

`ADD_BLOCK` and `ADD_VECTOR` add every kernel cell, in the order given, to a block of
outputs held in vector registers. Their sums must be those of adding the cells one at a
time in that order (NumPy's float32 additions round each one, as the kernel's do), for
every dtype the phase kernel sums in, onto the sums already there, touching no output
outside the block, reading each cell ``shift`` further on and widening it to the sums'
dtype. `DEAL2` and `DEAL3` must put each of two or three phases' cells where the loop over
them does. The
phase kernel built on them is checked against torch in `test_phase_kernel`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from helpers import assert_identical
from numba.core import config
from numba.core.errors import TypingError

from poolnd._kernels.sliding import numba_registers as R
from poolnd._kernels.sliding import numba_shuffles as S


@nb.njit
def _block(acc, flat, cells, m0, shift=0):  # pragma: no cover - compiled
    R.ADD_BLOCK(acc, flat, cells, m0, shift)


@nb.njit
def _vector(acc, flat, cells, m0, shift=0):  # pragma: no cover - compiled
    R.ADD_VECTOR(acc, flat, cells, m0, shift)


def _in_order(acc, flat, cells, m0, count, shift=0):
    """The cells added one at a time, in order, to ``acc[m0 : m0 + count]`` (read from
    ``flat[cell + shift + m]``, widened to ``acc``'s dtype)."""
    out = acc.copy()
    for c in cells:
        at = c + shift + m0
        out[m0:m0 + count] = out[m0:m0 + count] + flat[at:at + count].astype(acc.dtype)
    return out


def _data(rng, dtype, n_flat, n_acc):
    if np.dtype(dtype).kind == "f":
        # magnitudes far apart: a sum's bits depend on the order of its additions
        flat = (rng.standard_normal(n_flat) * 10.0 ** rng.integers(-4, 5, n_flat))
        acc = rng.standard_normal(n_acc) * 100
    else:
        flat = rng.integers(-(2 ** 40), 2 ** 40, n_flat)
        acc = rng.integers(-(2 ** 40), 2 ** 40, n_acc)
    return flat.astype(dtype), acc.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("n_cells", [1, 4, 49])
@pytest.mark.parametrize("which", ["block", "vector"])
def test_sums_are_the_cells_added_in_order(dtype, n_cells, which, rng):
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    count = lanes * (R.ACCUMULATORS if which == "block" else 1)
    flat, acc = _data(rng, dtype, 4000, 3 * count)
    cells = rng.integers(0, 4000 - 3 * count, n_cells).astype(np.int64)
    m0 = count + 3  # an unaligned block, with outputs on both sides
    expected = _in_order(acc, flat, cells, m0, count)
    got = acc.copy()
    (_block if which == "block" else _vector)(got, flat, cells, m0)
    assert_identical(got, expected)
    if np.dtype(dtype).kind == "f" and n_cells > 1:  # the check can tell the order
        backwards = _in_order(acc, flat, cells[::-1], m0, count)
        assert not np.array_equal(backwards, expected)


@pytest.mark.parametrize(("source", "dtype"), [
    (np.uint8, np.int64), (np.int16, np.int64), (np.uint16, np.int64), (np.float32, np.float64),
    (np.float32, np.float32)])
@pytest.mark.parametrize("which", ["block", "vector"])
def test_cells_are_read_shifted_and_widened(source, dtype, which, rng):
    """Cells read ``shift`` past their offsets, each widened to the sums' dtype as it is
    loaded (the phase kernel reads integer input rows in place into int64 sums)."""
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    count = lanes * (R.ACCUMULATORS if which == "block" else 1)
    if np.dtype(source).kind == "f":
        flat = (rng.standard_normal(5000) * 10.0 ** rng.integers(-4, 5, 5000)).astype(source)
        acc = (rng.standard_normal(3 * count) * 100).astype(dtype)
    else:
        info = np.iinfo(source)
        flat = rng.integers(info.min, info.max, 5000, endpoint=True).astype(source)
        acc = rng.integers(-(2 ** 40), 2 ** 40, 3 * count).astype(dtype)
    cells = rng.integers(0, 1000, 9).astype(np.int64)
    m0, shift = count + 1, 777
    got = acc.copy()
    (_block if which == "block" else _vector)(got, flat, cells, m0, shift)
    assert_identical(got, _in_order(acc, flat, cells, m0, count, shift))


@pytest.mark.parametrize(("acc", "flat"), [
    (np.float32, np.float64), (np.int64, np.float32), (np.float32, np.int16)])
def test_narrowing_and_mixed_kinds_are_refused(acc, flat):
    with pytest.raises(TypingError):
        _vector(np.zeros(256, acc), np.zeros(256, flat), np.zeros(1, np.int64), 0)


def test_no_cells_leave_the_sums_as_they_are(rng):
    flat, acc = _data(rng, np.float32, 1000, 400)
    got = acc.copy()
    _block(got, flat, np.zeros(0, np.int64), 5)
    np.testing.assert_array_equal(got, acc)


@pytest.mark.parametrize(("features", "expected"), [
    ("+avx2,+avx512f,+fma", 64), ("+avx2,-avx512f", 32), ("+sse2", 32)])
def test_vector_width_follows_the_compile_target(features, expected, monkeypatch):
    monkeypatch.setattr(config, "CPU_FEATURES", features)
    assert R._lane_bytes() == expected


@nb.njit
def _deal3(flat, src, g, j, a0, a1, a2):  # pragma: no cover - compiled
    S.DEAL3(flat, src, g, j, a0, a1, a2)


@nb.njit
def _deal2(flat, src, g, j, a0, a1):  # pragma: no cover - compiled
    S.DEAL2(flat, src, g, j, a0, a1)


@pytest.mark.parametrize("step", [2, 3])
@pytest.mark.parametrize(("source", "dtype"), [
    (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.int64),
    (np.int16, np.int64), (np.int64, np.int64)])
def test_deal_puts_each_phase_where_the_loop_does(source, dtype, step, rng):
    """`DEAL2` and `DEAL3` store ``src[g + step * (j + i) + q]`` at ``flat[a_q + j + i]``
    for one vector of ``i``, widened, and nothing else."""
    lanes = R.LANE_BYTES // np.dtype(dtype).itemsize
    if np.dtype(source).kind == "f":
        src = rng.standard_normal(20 * lanes).astype(source)
    else:
        info = np.iinfo(source)
        src = rng.integers(max(info.min, -1000), min(info.max, 1000), 20 * lanes).astype(source)
    flat = np.full(10 * lanes, -7, dtype)
    g, j, starts = 5, 2, (1, 3 * lanes + 2, 7 * lanes)[:step]
    expected = flat.copy()
    for q, a in enumerate(starts):
        expected[a + j:a + j + lanes] = src[g + step * j + q:g + step * (j + lanes) + q:step]
    (_deal2 if step == 2 else _deal3)(flat, src, g, j, *starts)
    assert_identical(flat, expected)


def test_deal_refuses_a_narrower_target():
    with pytest.raises(TypingError):
        _deal3(np.zeros(64, np.float32), np.zeros(64, np.float64), 0, 0, 0, 16, 32)
    with pytest.raises(TypingError):
        _deal2(np.zeros(64, np.float32), np.zeros(64, np.float64), 0, 0, 0, 16)
