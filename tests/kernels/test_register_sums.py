"""The register-held window sums (`numba_registers`) against a plain loop over the cells.

`ADD_BLOCK` and `ADD_VECTOR` add every kernel cell, in the order given, to a block of
outputs held in vector registers. Their sums must be those of adding the cells one at a
time in that order (NumPy's float32 additions round each one, as the kernel's do), for
every dtype the phase kernel sums in, onto the sums already there, touching no output
outside the block; the phase kernel built on them is checked against torch in
`test_phase_kernel`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from numba.core import config
from numba.core.errors import TypingError

from poolnd._kernels.sliding import numba_registers as R


@nb.njit
def _block(acc, flat, cells, m0):  # pragma: no cover - compiled
    R.ADD_BLOCK(acc, flat, cells, m0)


@nb.njit
def _vector(acc, flat, cells, m0):  # pragma: no cover - compiled
    R.ADD_VECTOR(acc, flat, cells, m0)


def _in_order(acc, flat, cells, m0, count):
    """The cells added one at a time, in order, to ``acc[m0 : m0 + count]``."""
    out = acc.copy()
    for c in cells:
        out[m0:m0 + count] = out[m0:m0 + count] + flat[c + m0:c + m0 + count]
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
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                  expected.view(f"u{got.itemsize}"))
    if np.dtype(dtype).kind == "f" and n_cells > 1:  # the check can tell the order
        backwards = _in_order(acc, flat, cells[::-1], m0, count)
        assert not np.array_equal(backwards, expected)


def test_no_cells_leave_the_sums_as_they_are(rng):
    flat, acc = _data(rng, np.float32, 1000, 400)
    got = acc.copy()
    _block(got, flat, np.zeros(0, np.int64), 5)
    np.testing.assert_array_equal(got, acc)


def test_mismatched_dtypes_are_refused():
    acc, flat = np.zeros(256, np.float32), np.zeros(256, np.float64)
    with pytest.raises(TypingError):
        _vector(acc, flat, np.zeros(1, np.int64), 0)


@pytest.mark.parametrize(("features", "expected"), [
    ("+avx2,+avx512f,+fma", 64), ("+avx2,-avx512f", 32), ("+sse2", 32)])
def test_vector_width_follows_the_compile_target(features, expected, monkeypatch):
    monkeypatch.setattr(config, "CPU_FEATURES", features)
    assert R._lane_bytes() == expected
