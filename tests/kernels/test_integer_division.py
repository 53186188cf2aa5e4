"""Integer averages divide in float64 where that is exact (sums and divisors below 2**53 in
magnitude) and by integer division elsewhere: either way the quotient is truncated toward
zero, as PyTorch's int64 average pooling gives it. The inputs below put window sums on both
sides of 2**53, with quotients just below integers, through every kernel form: the tile
sums (general and 2-wide), the 3x3 sums and the phase planes. (Integer sums, divided by
one, are held to PyTorch's in test_tile_kernels.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import poolnd

F = poolnd.functional

# (kernel, stride, padding): 2-wide tiles, general tiles, 3x3 at strides 1 and 2, phases
FORMS = [(2, 2, 0), (3, 3, 0), (4, 4, 0), (3, 1, 1), (3, 2, 1), (5, 2, 2), (4, 3, 1)]


def _straddling(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """int64 cells whose window sums fall on both sides of 2**53: most cells a little
    below 2**53 / 9, some far larger, some negative, and sums one below a multiple of
    the window size (the quotients float64 division would round up if it were inexact)."""
    rng = np.random.default_rng(seed)
    base = (1 << 53) // 9
    x = rng.integers(base - 1000, base, size=shape, dtype=np.int64)
    x[rng.random(shape) < 0.1] *= -1
    x[rng.random(shape) < 0.05] = rng.integers(1 << 60, 1 << 61)
    x[..., ::5, ::3] = (1 << 53) // 4 - 1  # a 2x2 tile of these sums to 2**53 - 4
    return x


@pytest.mark.parametrize("kernel, stride, padding", FORMS)
@pytest.mark.parametrize("override", [None, 3, -7, 1 << 60])
def test_int64_averages_truncate_as_torch_on_both_sides_of_two_to_the_53(
        kernel, stride, padding, override):
    x = _straddling(kernel * 10 + stride, (2, 3, 13, 17))
    got = F.avg_pool2d(x, kernel, stride, padding, divisor_override=override)
    want = torch.nn.functional.avg_pool2d(torch.from_numpy(x), kernel, stride, padding,
                                          divisor_override=override).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kernel, stride, padding", FORMS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32])
def test_narrow_integer_averages_are_the_int64_quotients(kernel, stride, padding, dtype):
    info = np.iinfo(dtype)
    x = np.random.default_rng(kernel).integers(info.min, info.max, size=(2, 2, 11, 14),
                                               dtype=dtype, endpoint=True)
    for include_pad in (True, False):
        got = F.avg_pool2d(x, kernel, stride, padding, count_include_pad=include_pad)
        want = torch.nn.functional.avg_pool2d(
            torch.from_numpy(x.astype(np.int64)), kernel, stride, padding,
            count_include_pad=include_pad).numpy()
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want.astype(dtype))
