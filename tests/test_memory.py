"""Memory: pooling never materialises k^d window copies of the input.

NumPy reports its array allocations to tracemalloc, so the traced peak during a call bounds the
extra memory the call needed. The bound is a small multiple of what the call returns (values
and indices) plus a small constant; a k^d copy of the input would be 9x (2d) or 27x (3d) the
output here. Each call is made once before measuring, so one-off costs (loading compiled
kernels) are not counted. Inputs are C-contiguous and native-endian (other layouts may cost one
input-sized copy, which is allowed).
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import poolnd

F = poolnd.functional
MIB = 1 << 20
FACTOR = 6


def _measure(fn):
    """(result, peak bytes newly allocated while fn ran)."""
    fn()  # warm-up: compiled kernels load / compile now, not while tracing
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak - base


def _nbytes(result):
    return sum(a.nbytes for a in (result if isinstance(result, tuple) else (result,)))


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    return {
        "2d": rng.standard_normal((2, 8, 256, 256)).astype(np.float32),
        "3d": rng.standard_normal((1, 4, 48, 64, 64)).astype(np.float32),
        "4d": rng.standard_normal((1, 2, 16, 16, 16, 16)).astype(np.float32),
        "2d-f16": rng.standard_normal((2, 8, 256, 256)).astype(np.float16),
        "2d-i16": rng.integers(-100, 100, size=(2, 8, 256, 256)).astype(np.int16),
    }


FORWARD = [
    ("max2d", "2d", lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("max2d-indices", "2d", lambda x: F.max_pool2d(x, 3, 1, 1, return_indices=True)),
    ("avg2d", "2d", lambda x: F.avg_pool2d(x, 3, 1, 1)),
    ("max3d", "3d", lambda x: F.max_pool3d(x, 3, 1, 1)),
    ("avg3d", "3d", lambda x: F.avg_pool3d(x, 3, 1, 1, count_include_pad=False)),
    ("max4d", "4d", lambda x: poolnd.max_pool(x, (3, 3, 3, 3), 1, 1)),
    ("max4d-indices", "4d", lambda x: poolnd.max_pool(x, (3, 3, 3, 3), 1, 1, return_indices=True)),
    ("avg4d", "4d", lambda x: poolnd.avg_pool(x, (3, 3, 3, 3), 1, 1)),
    ("max2d-float16", "2d-f16", lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("avg2d-float16", "2d-f16", lambda x: F.avg_pool2d(x, 3, 1, 1)),
    ("avg2d-int16", "2d-i16", lambda x: F.avg_pool2d(x, 3, 1, 1)),
]


@pytest.mark.parametrize(("name", "key", "call"), FORWARD, ids=[c[0] for c in FORWARD])
def test_forward_peak_memory_is_a_few_outputs(name, key, call, inputs):
    x = inputs[key]
    result, extra = _measure(lambda: call(x))
    out_bytes = _nbytes(result)
    assert out_bytes >= x.nbytes // 2  # stride 1: outputs as large as the input
    assert extra <= FACTOR * out_bytes + MIB, (name, extra / out_bytes)


BACKWARD = [
    ("max2d", "2d", F.max_pool2d, ((3, 1, 1), {})),
    ("avg2d", "2d", F.avg_pool2d, ((3, 1, 1), {})),
    ("max3d", "3d", F.max_pool3d, ((3, 1, 1), {})),
    ("avg3d", "3d", F.avg_pool3d, ((3, 1, 1), {})),
    ("max4d", "4d", poolnd.max_pool, (((3, 3, 3, 3), 1, 1), {})),
    ("avg4d", "4d", poolnd.avg_pool, (((3, 3, 3, 3), 1, 1), {})),
]


@pytest.mark.parametrize(("name", "key", "fn", "spec"), BACKWARD, ids=[c[0] for c in BACKWARD])
def test_backward_peak_memory_is_a_few_gradients(name, key, fn, spec, inputs):
    x = inputs[key]
    args, kwargs = spec
    out, pullback = poolnd.vjp(fn, x, *args, **kwargs)
    g = np.ones_like(out)
    grad, extra = _measure(lambda: pullback(g))
    assert grad.shape == x.shape
    assert extra <= FACTOR * grad.nbytes + MIB, (name, extra / grad.nbytes)
