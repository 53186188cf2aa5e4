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
    """(result, peak bytes newly allocated while fn ran).

    The collector is off while tracing: garbage fn makes counts until fn returns, and no
    collection runs inside the measurement (a full one is slow in a long test process)."""
    fn()  # warm-up: compiled kernels load / compile now, not while tracing
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
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


# --------------------------------------------------------------------------------------------
# every op family on a 64 MiB input: extra memory within a few outputs plus a small constant
# (the blocks min and LP pooling work in, 16 MiB at most), far below the input's size

BLOCKS = 16 * MIB


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 16, 512, 512)).astype(np.float32)
    values, indices = F.max_pool2d(x, 2, 2, return_indices=True)
    return {
        "x": x,
        "f16": x.astype(np.float16),
        "i16": (x * 50).astype(np.int16),
        "cl": np.ascontiguousarray(np.moveaxis(x, 1, -1)),
        "pooled": (values, indices),
        "samples": np.full((4, 16, 2), 0.5, np.float32),
        # one plane of 64 MiB: min pooling, the sign-flipped max of int16 and the widened
        # sums of int8 map it a band of rows at a time, not whole
        "plane-f32": rng.standard_normal((1, 1, 4096, 4096)).astype(np.float32),
        "plane-i16": rng.integers(-3000, 3000, (1, 1, 4096, 8192), dtype=np.int16),
        "plane-i8": rng.integers(-100, 100, (1, 1, 8192, 8192), dtype=np.int8),
    }


FAMILIES = [
    ("min-k3s1", "x", lambda x: poolnd.min_pool(x, (3, 3), 1, 1)),
    ("min-k4s4-indices", "x", lambda x: poolnd.min_pool(x, (4, 4), 4, return_indices=True)),
    ("sum-same", "x", lambda x: poolnd.sum_pool(x, (3, 3), 2, "same")),
    ("pool-multiply-int16", "i16", lambda x: poolnd.pool(x, np.multiply, (2, 2))),
    ("max-pairs", "x", lambda x: F.max_pool2d(x, 3, 2, ((0, 2), (3, 1)), return_indices=True)),
    ("lp-k2s2", "x", lambda x: F.lp_pool2d(x, 2, 2)),
    ("lp-k4s4-p3", "x", lambda x: F.lp_pool2d(x, 3, 4)),
    ("lp-inf-k4", "x", lambda x: F.lp_pool2d(x, float("inf"), 4)),
    ("lp-int16", "i16", lambda x: F.lp_pool2d(x, 2, 4)),
    ("adaptive-max", "x", lambda x: F.adaptive_max_pool2d(x, 64, return_indices=True)),
    ("adaptive-avg", "x", lambda x: F.adaptive_avg_pool2d(x, (64, 32))),
    ("adaptive-avg-float16", "f16", lambda x: F.adaptive_avg_pool2d(x, 64)),
    ("fractional", "x", lambda x: F.fractional_max_pool2d(
        x, 2, output_size=128, return_indices=True,
        _random_samples=np.full((4, 16, 2), 0.5, np.float32))),
    ("global-max", "x", poolnd.global_max_pool),
    ("global-avg", "x", poolnd.global_avg_pool),
    ("global-lp", "x", lambda x: poolnd.global_lp_pool(x, 3)),
    ("global-lp-float16", "f16", poolnd.global_lp_pool),
    ("channels-last-max", "cl", lambda x: F.max_pool2d(x, 2, 2, channels_last=True)),
    ("channels-last-sum", "cl", lambda x: poolnd.sum_pool(x, (3, 3), 1, 1, channels_last=True)),
    ("channels-last-lp", "cl", lambda x: F.lp_pool2d(x, 2, 4, channels_last=True)),
    ("max-float16", "f16", lambda x: F.max_pool2d(x, 2, 2)),
    ("avg-float16", "f16", lambda x: F.avg_pool2d(x, 2, 2)),
    ("one-plane-min", "plane-f32", lambda x: poolnd.min_pool(x, (8, 8))),
    ("one-plane-max-int16", "plane-i16", lambda x: F.max_pool2d(x, 8, return_indices=True)),
    ("one-plane-avg-int8", "plane-i8", lambda x: F.avg_pool2d(x, 8)),
    ("one-plane-sum-int8", "plane-i8", lambda x: poolnd.sum_pool(x, (8, 8))),
]


@pytest.mark.parametrize(("name", "key", "call"), FAMILIES, ids=[c[0] for c in FAMILIES])
def test_every_family_peak_memory_is_a_few_outputs(name, key, call, big):
    x = big[key]
    result, extra = _measure(lambda: call(x))
    assert extra <= FACTOR * _nbytes(result) + BLOCKS + MIB, (name, extra / MIB)


def test_unpool_peak_memory_is_its_output(big):
    values, indices = big["pooled"]
    result, extra = _measure(lambda: F.max_unpool2d(values, indices, 2))
    assert extra <= 2 * result.nbytes + MIB


# The table-driven ops (adaptive, fractional, global, unpooling) read channels-last input
# through a channels-first view, which costs one input-sized copy: allowed, as for other
# layouts (max/avg/min/sum/LP read it in place, above).
@pytest.mark.parametrize("call", [
    lambda x: F.adaptive_max_pool2d(x, 64, channels_last=True),
    lambda x: poolnd.global_avg_pool(x, channels_last=True),
], ids=["adaptive-max", "global-avg"])
def test_channels_last_table_ops_cost_at_most_one_input_copy(call, big):
    x = big["cl"]
    result, extra = _measure(lambda: call(x))
    assert extra <= x.nbytes + FACTOR * _nbytes(result) + MIB


GRADIENTS = [
    ("min", lambda x: poolnd.vjp(poolnd.min_pool, x, (3, 3), 2, 1)),
    ("sum", lambda x: poolnd.vjp(poolnd.sum_pool, x, (2, 2))),
    ("lp", lambda x: poolnd.vjp(F.lp_pool2d, x, 2, 2)),
    ("adaptive-max", lambda x: poolnd.vjp(F.adaptive_max_pool2d, x, 64)),
    ("adaptive-avg", lambda x: poolnd.vjp(F.adaptive_avg_pool2d, x, 100)),
    ("fractional", lambda x: poolnd.vjp(F.fractional_max_pool2d, x, 2, 128,
                                        _random_samples=np.full((4, 16, 2), 0.5, np.float32))),
    ("global-max", lambda x: poolnd.vjp(poolnd.global_max_pool, x)),
    ("global-avg", lambda x: poolnd.vjp(poolnd.global_avg_pool, x)),
    ("global-lp", lambda x: poolnd.vjp(poolnd.global_lp_pool, x, 3)),
]


@pytest.mark.parametrize(("name", "make"), GRADIENTS, ids=[c[0] for c in GRADIENTS])
def test_every_family_backward_peak_memory_is_a_few_gradients(name, make, big):
    x = big["x"]
    out, pullback = make(x)
    g = np.ones_like(out)
    grad, extra = _measure(lambda: pullback(g))
    assert grad.shape == x.shape
    assert extra <= FACTOR * grad.nbytes + MIB, (name, extra / grad.nbytes)
