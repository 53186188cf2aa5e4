"""Float32 quotients by a reciprocal and one correction (`numba_quotients`) against the
division they replace, bit for bit.

`QUOTIENTS` must give ``x / d + 0`` exactly as the division rounds it, for every float32
``x`` and every whole divisor from 1 to `EXACT_DIVISORS`: the module's claim was checked
for all 4096 divisors and every significand; here a sample of divisors (the window sizes
of average pooling and the bounds) gets every significand, at the middle and both ends
of the range the reciprocal serves. Values outside that range (zeros, infinities, NaN,
subnormal and tiny sums, huge ones) and other divisors take the division, and must come
out the same too. The phase kernel that calls it is checked against torch in
`test_phase_kernel`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from helpers import assert_identical

from poolnd._kernels.sliding import numba_quotients as Q

_SIGNIFICANDS = 1 << 23


@nb.njit(error_model="numpy")
def _mismatches(divisors, scale):  # pragma: no cover - compiled
    """For each divisor, how many of the float32 ``x = m * scale``, ``m`` every integer in
    ``[2**23, 2**24)`` (every significand), have ``QUOTIENTS`` differ from ``x / d + 0``."""
    src = np.empty(4096, np.float32)
    dst = np.empty(4096, np.float32)
    bad = np.zeros(divisors.shape[0], np.int64)
    for t in range(divisors.shape[0]):
        d = divisors[t]
        r = np.float32(1) / d
        for base in range(0, _SIGNIFICANDS, 4096):
            for i in range(4096):
                src[i] = np.float32((_SIGNIFICANDS + base + i) * scale)
            for j in range(0, 4096, Q.LANES):
                Q.QUOTIENTS(dst, j, src, j, d, r)
            for i in range(4096):
                bad[t] += dst[i] != src[i] / d + np.float32(0)
    return bad


@nb.njit(error_model="numpy")
def _run(dst, d0, src, s0, n, d):  # pragma: no cover - compiled
    Q.divide_run(dst, d0, src, s0, n, d)


def _divided(src, d):
    with np.errstate(all="ignore"):
        return src / d + src.dtype.type(0)


_DIVISORS = np.array([1, 2, 3, 4, 7, 9, 16, 25, 36, 49, 27, 125, 343, 1000, 3001, 4095, 4096],
                     np.float32)


@pytest.mark.parametrize("scale", [1.0, 2.0 ** -83, 2.0 ** 76],
                         ids=["middle", "low end", "high end"])
def test_every_significand_divides_exactly(scale):
    """Every significand, for each sampled divisor, with ``x`` in ``[2**23, 2**24)`` and in
    the binades at the two ends of the guarded range (``[2**-60, 2**-59)``, ``[2**99,
    2**100)``)."""
    bad = _mismatches(_DIVISORS, scale)
    assert bad.tolist() == [0] * len(_DIVISORS)


@pytest.mark.fuzz
@pytest.mark.parametrize("scale", [1.0, 2.0 ** -83, 2.0 ** 76],
                         ids=["middle", "low end", "high end"])
def test_every_divisor_up_to_the_bound(scale):
    """The module's claim in full: every whole divisor from 1 to `EXACT_DIVISORS`."""
    divisors = np.arange(1, Q.EXACT_DIVISORS + 1).astype(np.float32)
    assert np.count_nonzero(_mismatches(divisors, scale)) == 0


def test_the_check_can_fail():
    """The data tells a plain reciprocal product from the division: the correction step is
    what makes them agree."""
    x = np.arange(1 << 23, 1 << 24, 97, dtype=np.float64).astype(np.float32)
    for d in (np.float32(3), np.float32(49)):
        r = np.float32(1) / d
        assert np.count_nonzero(x * r != x / d) > 1000


def _specials(rng, n):
    tiny = np.float32(2.0 ** -61)
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4028235e38, -3.4028235e38,
                       1.1754944e-38, 1e-45, -1e-45, tiny, -tiny, 2.0 ** 100, 2.0 ** 101,
                       2.0 ** -60, 1.0, -7.5], np.float32)
    src = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 7, n)).astype(np.float32)
    at = rng.choice(n, n // 4, replace=False)
    src[at] = values[rng.integers(0, values.size, at.size)]  # specials among normal values
    return src


@pytest.mark.parametrize("d", [1, 3, 9, 49, 4096])
def test_special_values_take_the_division(d, rng):
    """Vectors holding zeros, infinities, NaN, subnormals and sums beyond the guarded range
    give the division's bits in every lane (NaN where it gives NaN)."""
    src = _specials(rng, 1000)
    dst = np.full_like(src, -1)
    _run(dst, 0, src, 0, src.size, np.float32(d))
    assert_identical(dst, _divided(src, np.float32(d)), max_nan_payloads=False)


@pytest.mark.parametrize("d", [2.5, 1 / 3, 0.0, -3.0, float("inf"), float("nan"), 4097.0,
                               1e6, 0.75])
def test_other_divisors_divide(d, rng):
    src = _specials(rng, 500)
    dst = np.empty_like(src)
    _run(dst, 0, src, 0, src.size, np.float32(d))
    assert_identical(dst, _divided(src, np.float32(d)), max_nan_payloads=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_run_writes_its_cells_only(dtype, rng):
    """``n`` quotients from ``s0`` to ``d0`` (a whole number of vectors and a tail), nothing
    outside them; in place too."""
    src = (rng.standard_normal(300) * 100).astype(dtype)
    dst = np.full(400, -5, dtype)
    _run(dst, 7, src, 3, 101, dtype(9))
    expected = np.full(400, -5, dtype)
    expected[7:108] = _divided(src[3:104], dtype(9))
    assert_identical(dst, expected)
    same = src.copy()
    _run(same, 0, same, 0, same.size, dtype(25))
    assert_identical(same, _divided(src, dtype(25)))
