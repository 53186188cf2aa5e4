"""Every form of the compiled row kernels against torch 2.13 CPU.

Max and sum pooling run one of four row kernels, picked by the column stride, kernel and
row width (`poolnd._kernels._row_kernel`): in place at stride 1, overlapping triples for
undilated windows 3 wide at stride 2, split by phase on other rows at least
`SPLIT_MIN_WIDTH` wide, strided reads on narrower rows. Each form is run serially and in
parallel chunks, on data with ties, signed zeros and NaN (the max kernels' per-chunk check
recomputes those outputs in PyTorch's scan order), and compared with torch bit for bit
(max values and indices) or within float rounding (averages).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import poolnd
from helpers import assert_identical, to_torch
from poolnd._kernels import SPLIT_MIN_WIDTH, _row_kernel

F = poolnd.functional

# (width, kernel, stride, padding, dilation): the kernel form each one must take
FORMS = [
    ("max_rows", 40, 3, 1, 1, 1),
    ("max_rows", 40, 2, 1, 0, 2),
    ("max_rows_triples", 45, 3, 2, 1, 1),
    ("max_rows_triples", 3, 3, 2, 1, 1),
    ("max_rows_triples", SPLIT_MIN_WIDTH + 5, 3, 2, 0, 1),
    ("max_rows_strided", 44, 2, 2, 1, 1),
    ("max_rows_strided", 45, 2, 3, 1, 2),
    ("max_rows_strided", 45, 4, 2, 2, 1),
    ("max_rows_strided", 45, 3, 2, 1, 2),
    ("max_rows_split", SPLIT_MIN_WIDTH, 3, 3, 1, 1),
    ("max_rows_split", SPLIT_MIN_WIDTH + 7, 4, 3, 2, 1),
]


@pytest.fixture
def restore_threads():
    before = poolnd.get_num_threads()
    yield
    poolnd.set_num_threads(before)


def _input(rng, width, dtype):
    x = rng.integers(-3, 4, size=(4, 16, 9, width)).astype(dtype)  # many ties; parallel
    if x.dtype.kind == "f":
        x[rng.random(x.shape) < 0.2] = -0.0
        x[rng.random(x.shape) < 0.01] = np.nan
    return x


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize(("form", "width", "k", "s", "p", "d"), FORMS,
                         ids=[f"{f[0]}-w{f[1]}-k{f[2]}s{f[3]}" for f in FORMS])
def test_max_row_kernels_match_torch(form, width, k, s, p, d, dtype, threads, rng,
                                     restore_threads):
    poolnd.set_num_threads(threads)
    x = _input(rng, width, dtype)
    win = poolnd._args.make_window("max_pool2d", x.shape[-2:], (2, k), (1, s), (1, p),
                                   (1, d), False)
    assert _row_kernel("max_rows", win) == form
    values = F.max_pool2d(x, (2, k), (1, s), (1, p), (1, d))
    values_i, indices = F.max_pool2d(x, (2, k), (1, s), (1, p), (1, d), return_indices=True)
    t = to_torch(x if x.dtype.kind == "f" else x.astype(np.float64))
    tv, ti = tF.max_pool2d(t, (2, k), (1, s), (1, p), (1, d), return_indices=True)
    expected = tv.numpy().astype(x.dtype)
    assert_identical(values, expected)
    assert_identical(values_i, expected)
    assert_identical(indices, ti.numpy())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize(("form", "width", "k", "s", "p", "d"),
                         [f for f in FORMS if f[5] == 1],
                         ids=[f"{f[0]}-w{f[1]}-k{f[2]}s{f[3]}" for f in FORMS if f[5] == 1])
def test_sum_row_kernels_match_torch(form, width, k, s, p, d, dtype, threads, rng,
                                     restore_threads):
    poolnd.set_num_threads(threads)
    x = _input(rng, width, dtype)
    x = np.nan_to_num(x) if x.dtype.kind == "f" else x
    win = poolnd._args.make_window("avg_pool2d", x.shape[-2:], (2, k), (1, s), (1, p),
                                   (1, 1), False)
    assert _row_kernel("sum_rows", win).replace("sum", "max") == form
    t = torch.from_numpy(x.astype(np.float64))
    for include_pad in (True, False):
        got = F.avg_pool2d(x, (2, k), (1, s), (1, p), False, include_pad)
        ref = tF.avg_pool2d(t, (2, k), (1, s), (1, p), False, include_pad).numpy()
        assert got.dtype == x.dtype
        if x.dtype.kind == "f":
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
        else:  # integer averages truncate toward zero (exact here: small sums)
            assert_identical(got, np.trunc(ref).astype(x.dtype))
    sums = poolnd.sum_pool(x, (2, k), (1, s), (1, p))
    ref = tF.avg_pool2d(t, (2, k), (1, s), (1, p), divisor_override=1).numpy()
    np.testing.assert_allclose(sums, ref, rtol=1e-6, atol=1e-5)
