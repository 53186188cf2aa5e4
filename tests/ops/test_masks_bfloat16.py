"""Issue 17, item 3: bool masks (max/min are logical or/and, sum a count) and bfloat16
(ml_dtypes, and torch/JAX bfloat16 through dispatch) compared with torch's bfloat16."""

from __future__ import annotations

import numpy as np
import pytest

import poolnd
import poolnd.functional as F

ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes (NumPy's bfloat16) is absent")
BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.fixture
def mask(rng):
    return rng.random((2, 3, 7, 6)) < 0.4


def test_mask_max_min_sum_are_or_and_count(mask):
    args = ((3, 2), (2, 2), ((1, 1), (0, 1)), 1, True)
    as8 = mask.astype(np.uint8)
    got_max, idx = poolnd.max_pool(mask, *args, return_indices=True)
    want_max, want_idx = poolnd.max_pool(as8, *args, return_indices=True)
    assert got_max.dtype == np.bool_
    np.testing.assert_array_equal(got_max, want_max.astype(bool))
    np.testing.assert_array_equal(idx, want_idx)
    got_min = poolnd.min_pool(mask, *args)
    assert got_min.dtype == np.bool_
    np.testing.assert_array_equal(got_min, poolnd.min_pool(as8, *args).astype(bool))
    count = poolnd.sum_pool(mask, *args)
    assert count.dtype == np.int64
    np.testing.assert_array_equal(count, poolnd.sum_pool(as8, *args))
    np.testing.assert_array_equal(poolnd.pool(mask, np.logical_or, *args), got_max)
    np.testing.assert_array_equal(poolnd.pool(mask, np.logical_and, *args),
                                  poolnd.pool(mask, "min", *args, pad_value=True))
    fraction = poolnd.pool(mask, "nanmean", (2, 2))
    np.testing.assert_allclose(fraction, poolnd.avg_pool(mask.astype(np.float64), (2, 2)))
    assert poolnd.global_max_pool(mask, ndim=2).dtype == np.bool_
    np.testing.assert_array_equal(poolnd.global_max_pool(mask, ndim=2), mask.any(axis=(2, 3)))
    last = np.moveaxis(mask, 1, -1)
    np.testing.assert_array_equal(poolnd.max_pool(last, (2, 2), channels_last=True),
                                  np.moveaxis(poolnd.max_pool(mask, (2, 2)), 1, -1))


MASK_ERRORS = [
    ("avg", lambda m: poolnd.avg_pool(m, (2, 2))),
    ("torch-named", lambda m: F.max_pool2d(m, 2)),
    ("lp", lambda m: F.lp_pool2d(m, 2, 2)),
    ("adaptive", lambda m: F.adaptive_max_pool2d(m, 2)),
]


@pytest.mark.parametrize(("name", "call"), MASK_ERRORS, ids=[e[0] for e in MASK_ERRORS])
def test_masks_elsewhere_say_how(name, call, mask):
    with pytest.raises(TypeError, match=r"input dtype must be .*got bool \(bool masks are taken "
                       r"by poolnd.max_pool, .*pool\(mask, 'nanmean', \.\.\.\) gives it in "
                       r"float64, or cast the mask first, mask.astype\(np.float32\)\)"):
        call(mask)


def test_bfloat16_elsewhere_says_how(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(BF16)
    with pytest.raises(TypeError, match=r"global_avg_pool\(\): input dtype .* got bfloat16 "
                       r"\(bfloat16 is taken by max, min, sum, average, generic, LP, adaptive "
                       r"and fractional max pooling and by max unpooling"):
        poolnd.global_avg_pool(x, ndim=2)


torch = pytest.importorskip("torch", reason="PyTorch is not installed")


def _t(a: np.ndarray):
    return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)


def _np(t) -> np.ndarray:
    return t.detach().float().numpy()


# (kernel, stride, padding): the last overlaps, so cells sum several gradients (in bfloat16,
# each addition rounded, as torch's backward; tests/ops/test_bfloat16_lp_adaptive.py has more)
GEOMETRY = [((2, 2), 2, 0), ((3, 2), (3, 2), 1), ((3, 3), 2, 1)]


@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRY)
@pytest.mark.parametrize("last", [False, True])
def test_bfloat16_matches_torch(kernel, stride, padding, last, rng):
    x = rng.standard_normal((2, 3, 7, 6)).astype(BF16)
    x[0, 0, 1, 1] = np.nan
    t = _t(x)
    if last:
        t = t.to(memory_format=torch.channels_last)
    t.requires_grad_()
    values, indices = poolnd.max_pool(x, kernel, stride, padding, return_indices=True)
    tv, ti = torch.nn.functional.max_pool2d(t, kernel, stride, padding, return_indices=True)
    assert values.dtype == BF16
    np.testing.assert_array_equal(values.astype(np.float32), _np(tv))
    np.testing.assert_array_equal(indices, ti.numpy())
    avg = poolnd.avg_pool(x, kernel, stride, padding)
    ta = torch.nn.functional.avg_pool2d(t, kernel, stride, padding)
    np.testing.assert_array_equal(avg.astype(np.float32), _np(ta))
    g = rng.standard_normal(values.shape).astype(BF16)
    for fn, out in ((poolnd.max_pool, tv), (poolnd.avg_pool, ta)):
        t.grad = None
        out.backward(_t(g))
        got = poolnd.vjp(fn, x, kernel, stride, padding)[1](g)
        assert got.dtype == BF16
        np.testing.assert_array_equal(got.astype(np.float32), _np(t.grad))
    np.testing.assert_array_equal(
        poolnd.min_pool(x, kernel, stride, padding).astype(np.float32),
        -_np(torch.nn.functional.max_pool2d(-_t(x), kernel, stride, padding)))


def test_bfloat16_tensors_go_through_dispatch(rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(BF16)
    got = F.max_pool2d(_t(x), 2)
    assert got.dtype == torch.bfloat16
    np.testing.assert_array_equal(_np(got), poolnd.max_pool(x, (2, 2)).astype(np.float32))
    got = poolnd.pool(_t(x), "nanmean", (2, 2))
    assert got.dtype == torch.bfloat16
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed")
    j = poolnd.avg_pool(jnp.asarray(x), (3, 3), 1, 1)
    assert j.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(j), poolnd.avg_pool(x, (3, 3), 1, 1))
