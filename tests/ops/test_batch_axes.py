"""Issue 17, item 4: the N-d functions take any number of leading batch axes, channels first
or last; the torch-named functions keep PyTorch's shapes."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import poolnd
import poolnd.functional as F

CALLS = [
    ("max_pool", lambda x, **k: poolnd.max_pool(x, (2, 3), 1, 1, return_indices=True, **k)),
    ("avg_pool", lambda x, **k: poolnd.avg_pool(x, (2, 2), 2, count_include_pad=False, **k)),
    ("min_pool", lambda x, **k: poolnd.min_pool(x, (3, 2), 2, **k)),
    ("sum_pool", lambda x, **k: poolnd.sum_pool(x, (2, 2), 1, **k)),
    ("pool-median", lambda x, **k: poolnd.pool(x, np.median, (2, 2), pad_value=0.5, **k)),
    ("global_max_pool", lambda x, **k: poolnd.global_max_pool(x, ndim=2, **k)),
    ("global_avg_pool", lambda x, **k: poolnd.global_avg_pool(x, ndim=2, keepdims=True, **k)),
    ("global_lp_pool", lambda x, **k: poolnd.global_lp_pool(x, 3, ndim=2, **k)),
]


def _per_batch(fn, x, lead, **k):
    """``fn`` on each leading batch index, stacked back."""
    outs = [fn(x[i], **k) for i in np.ndindex(*lead)]
    if isinstance(outs[0], tuple):
        return tuple(np.stack([o[j] for o in outs]).reshape(lead + outs[0][j].shape)
                     for j in range(len(outs[0])))
    return np.stack(outs).reshape(lead + outs[0].shape)


@pytest.mark.parametrize(("name", "fn"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("last", [False, True])
def test_leading_batch_axes_are_independent_calls(name, fn, last, rng):
    x = rng.standard_normal((2, 3, 2, 4, 6, 5)).astype(np.float32)  # (B1, B2, N, C, H, W)
    if last:
        x = np.ascontiguousarray(np.moveaxis(x, 3, -1))  # (B1, B2, N, H, W, C)
    got = fn(x, channels_last=last)
    want = _per_batch(fn, x, (2, 3), channels_last=last)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("fn", [poolnd.max_pool, poolnd.avg_pool, poolnd.sum_pool])
def test_gradients_and_dask_with_leading_batch_axes(fn, rng):
    x = rng.standard_normal((2, 2, 3, 6, 6))
    out, pullback = poolnd.vjp(fn, x, (2, 2))
    g = rng.standard_normal(out.shape)
    want = np.stack([poolnd.vjp(fn, x[i], (2, 2))[1](g[i]) for i in range(2)])
    np.testing.assert_array_equal(pullback(g), want)
    d = da.from_array(x, chunks=(1, 2, 2, 4, 3))
    np.testing.assert_array_equal(fn(d, (2, 2)).compute(), out)
    np.testing.assert_array_equal(poolnd.global_max_pool(d, ndim=2).compute(),
                                  poolnd.global_max_pool(x, ndim=2))


def test_torch_named_functions_keep_pytorch_shapes():
    x = np.zeros((2, 2, 3, 6, 6))
    with pytest.raises(ValueError, match=r"max_pool2d\(\): input must have 3 dims "
                       r"\(C, \*spatial\) or 4 dims \(N, C, \*spatial\) for 2 spatial "
                       r"dimension\(s\); got shape \(2, 2, 3, 6, 6\)"):
        F.max_pool2d(x, 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d\(\): input must have 3 dims"):
        F.adaptive_avg_pool2d(x, 2)
    with pytest.raises(ValueError, match=r"max_pool\(\): input must have 3 dims .* or more "
                       r"\(leading batch axes\); got shape \(6,\)"):
        poolnd.max_pool(np.zeros(6), (2, 2))
