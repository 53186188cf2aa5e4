"""Dask arrays: results stay lazy and equal the in-memory NumPy result bit for bit for every
chunking (a fixed grid of every op, then Hypothesis-drawn geometries and chunkings), values,
indices and gradients; per-task input bounded by the chunk plus halos; the same on a
``dask.distributed`` cluster of worker processes; errors as on the NumPy path.
"""

from __future__ import annotations

import itertools
import re
import threading

import dask
import dask.array as da
import distributed
import numpy as np
import pytest
from helpers import assert_identical
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import CASES, Case, as_tuple, values_of

import poolnd
from poolnd._dispatch import dask as _dask  # private: the planner's per-block task, inspected

F = poolnd.functional


def _chunkings(shape: tuple[int, ...]) -> list[tuple[int, ...] | str]:
    """Single cells, small uneven chunks, the whole array."""
    return [(1,) * len(shape), tuple(max(1, n // 2 - 1) for n in shape), "whole"]


def _lazy(a: np.ndarray, chunks) -> da.Array:
    return da.from_array(a, chunks=a.shape if chunks == "whole" else chunks)


def _check(got, expected) -> None:
    for g, e in zip(as_tuple(got), as_tuple(expected), strict=True):
        assert isinstance(g, da.Array)
        assert_identical(g.compute(), e)


def _on_dask(kwargs: dict, chunks) -> dict:
    """Array arguments shaped like the input as Dask arrays too (indices); others as given."""
    return {k: (_lazy(v, chunks) if isinstance(v, np.ndarray) and k == "indices" else v)
            for k, v in kwargs.items()}


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.mark.parametrize("which", [0, 1, 2], ids=["cells", "uneven", "whole"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_op_matches_memory_for_fixed_chunkings(case: Case, which: int, rng):
    x, kwargs = case.build(rng)
    chunks = _chunkings(x.shape)[which]
    expected = case.fn(x, *case.args, **kwargs)
    _check(case.fn(_lazy(x, chunks), *case.args, **_on_dask(kwargs, chunks)), expected)


@pytest.mark.parametrize("which", [0, 1, 2], ids=["cells", "uneven", "whole"])
@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_every_gradient_matches_memory_for_fixed_chunkings(case: Case, which: int, rng):
    x, kwargs = case.build(rng)
    chunks = _chunkings(x.shape)[which]
    out, pullback = poolnd.vjp(case.fn, x, *case.args, **kwargs)
    g = rng.standard_normal(values_of(out).shape).astype(np.float32)
    out_d, pullback_d = poolnd.vjp(case.fn, _lazy(x, chunks), *case.args,
                                   **_on_dask(kwargs, chunks))
    _check(out_d, out)
    g_chunks = tuple(max(1, n // 3) for n in g.shape)
    _check(pullback_d(da.from_array(g, chunks=g_chunks)), pullback(g))
    _check(pullback_d(g), pullback(g))  # a NumPy cotangent works too


def test_fractional_draws_follow_the_rng_as_in_memory(rng):
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    got = F.fractional_max_pool2d(_lazy(x, (1, 2, 4, 5)), 2, output_ratio=0.5,
                                  return_indices=True, rng=np.random.default_rng(7))
    expected = F.fractional_max_pool2d(x, 2, output_ratio=0.5, return_indices=True,
                                       rng=np.random.default_rng(7))
    _check(got, expected)


# --------------------------------------------------------------------------------------------
# Hypothesis: sliding windows, any geometry, any chunking


@st.composite
def _sliding_calls(draw):
    nd = draw(st.integers(1, 3))
    kernel, stride, dilation, padding, shape = [], [], [], [], []
    mode = draw(st.sampled_from(["torch", "pairs", "same"]))
    for _ in range(nd):
        k, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        kernel.append(k)
        dilation.append(d)
        stride.append(draw(st.integers(1, 4)))
        extent = (k - 1) * d + 1
        if mode == "torch":
            padding.append(draw(st.integers(0, extent // 2)))
        else:
            padding.append((draw(st.integers(0, 4)), draw(st.integers(0, 4))))
        shape.append(draw(st.integers(max(1, extent - 3), 14 if nd < 3 else 8)))
    batched = draw(st.booleans())
    lead = (draw(st.integers(0, 2)), draw(st.integers(1, 3))) if batched else (draw(
        st.integers(1, 3)),)
    full = (*lead, *shape)
    chunks = []
    for n in full:
        cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=4))) if n > 1 else []
        bounds = [0, *[c for c in cuts if c < n], n]
        chunks.append(tuple(b - a for a, b in itertools.pairwise(bounds)) or (0,))
    kwargs = {
        "kernel_size": tuple(kernel),
        "stride": tuple(stride),
        "padding": "same" if mode == "same" else tuple(padding),
        "dilation": tuple(dilation),
        "ceil_mode": draw(st.booleans()),
    }
    channels_last = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return full, tuple(chunks), kwargs, channels_last, seed


def _values(shape, seed, dtype=np.float32):
    """Many ties (small integers) and some NaNs, which decide which index max pooling picks."""
    r = np.random.default_rng(seed)
    x = r.integers(-3, 4, size=shape).astype(dtype)
    if dtype != np.int32:
        x[r.random(shape) < 0.05] = np.nan
    return x


def _expect(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # the geometry gives no output: Dask must refuse it the same way
        return exc


def _arranged(call, dtype):
    """The drawn input (channels-last when drawn so and batched) and its chunks."""
    shape, chunks, kwargs, channels_last, seed = call
    nd = len(kwargs["kernel_size"])
    x = _values(shape, seed, dtype)
    last = channels_last and len(shape) == nd + 2
    if last:
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        chunks = (chunks[0], *chunks[2:], chunks[1])
    return x, chunks, {**kwargs, "channels_last": last}, seed


@settings(max_examples=60)
@given(_sliding_calls(), st.sampled_from(["max", "mean", "sum", "min"]))
def test_sliding_windows_match_memory_for_any_chunking(call, reducer):
    x, chunks, kwargs, _ = _arranged(call, np.float32)
    fn = {"max": poolnd.max_pool, "min": poolnd.min_pool}.get(reducer)
    if fn is not None:
        kwargs["return_indices"] = True
    else:
        fn = poolnd.sum_pool if reducer == "sum" else poolnd.pool
        if reducer == "mean":
            kwargs = {"reducer": "mean", **kwargs}
    expected = _expect(fn, x, **kwargs)
    d = da.from_array(x, chunks=chunks)
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError, match=re.escape(str(expected))):
            fn(d, **kwargs)
        return
    _check(fn(d, **kwargs), expected)


@settings(max_examples=40)
@given(_sliding_calls(), st.sampled_from(["max", "mean"]))
def test_sliding_gradients_match_memory_for_any_chunking(call, reducer):
    x, chunks, kwargs, seed = _arranged(call, np.float64)
    fn = poolnd.max_pool if reducer == "max" else poolnd.pool
    if reducer == "mean":
        kwargs = {"reducer": "mean", **kwargs}
    d = da.from_array(x, chunks=chunks)
    expected = _expect(poolnd.vjp, fn, x, **kwargs)
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError, match=re.escape(str(expected))):
            poolnd.vjp(fn, d, **kwargs)
        return
    out, pullback = expected
    g = np.random.default_rng(seed + 1).standard_normal(out.shape)
    out_d, pullback_d = poolnd.vjp(fn, d, **kwargs)
    _check(out_d, out)
    _check(pullback_d(g), pullback(g))


@settings(max_examples=25)
@given(st.integers(1, 3), st.integers(0, 2**32 - 1), st.data())
def test_lp_and_adaptive_match_memory_for_any_chunking(nd, seed, data):
    shape = (2, 2, *(data.draw(st.integers(4, 9)) for _ in range(nd)))
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    d = da.from_array(x, chunks=chunks)
    k, s = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    lp = getattr(F, f"lp_pool{nd}d")
    _check(lp(d, 2, k, s, True), lp(x, 2, k, s, True))
    size = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    adaptive = getattr(F, f"adaptive_max_pool{nd}d")
    _check(adaptive(d, size, True), adaptive(x, size, True))


# --------------------------------------------------------------------------------------------
# laziness, task sizes, layouts, dtypes


def _counted(x: np.ndarray, chunks):
    """A Dask array that counts how often its chunks are made."""
    calls = []

    def load(block, block_info=None):
        calls.append(1)
        return block

    counted = da.from_array(x, chunks=chunks).map_blocks(load, dtype=x.dtype)
    calls.clear()  # map_blocks may probe the function for metadata
    return counted, calls


def test_results_and_gradients_stay_lazy(rng):
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    d, calls = _counted(x, (1, 2, 5, 4))
    out, pullback = poolnd.vjp(F.max_pool2d, d, 3, 2, 1, return_indices=True)
    grad = pullback(da.ones(out[0].shape, chunks=3, dtype=np.float32))
    planes = F.adaptive_avg_pool2d(d, 3)
    assert calls == []
    assert_identical(grad.compute(), poolnd.vjp(F.max_pool2d, x, 3, 2, 1)[1](
        np.ones(out[0].shape, np.float32)))
    assert_identical(planes.compute(), F.adaptive_avg_pool2d(x, 3))
    assert calls


def _block_tasks(arr: da.Array, fn):
    graph = dict(arr.__dask_graph__())
    return [v for v in graph.values()
            if isinstance(v, tuple) and v and v[0] is fn]


def test_each_task_reads_its_chunk_plus_halos_only(rng):
    x = rng.standard_normal((1, 2, 100, 90)).astype(np.float32)
    chunks = (1, 1, 20, 30)
    kernel, stride, dilation, pad = 5, 3, 2, 4  # extent 9
    out = F.max_pool2d(da.from_array(x, chunks=chunks), kernel, stride, pad, dilation)
    tasks = _block_tasks(out, _dask._forward_block)
    assert len(tasks) == out.npartitions
    bound = [c + (kernel - 1) * dilation + pad + stride - 1 for c in chunks[2:]]
    for task in tasks:
        region = task[2].sources[0].shape
        assert region[:2] == (1, 1)
        assert all(r <= b for r, b in zip(region[2:], bound)), (region, bound)
    # halos come from slicing tasks, so a task never receives a whole neighbouring chunk
    graph = dict(out.__dask_graph__())
    halo = [k for k in graph if isinstance(k, tuple) and str(k[0]).endswith("-halo")]
    assert halo
    assert_identical(out.compute(), F.max_pool2d(x, kernel, stride, pad, dilation))


def test_output_blocks_start_on_stride_multiples(rng):
    x = rng.standard_normal((1, 1, 50)).astype(np.float32)
    out = F.avg_pool1d(da.from_array(x, chunks=(1, 1, (7, 11, 13, 19))), 4, 3, 1)
    # a block holds the windows starting in one chunk: starts o * 3 - 1 in [0, 7) are 0..2
    assert out.chunks[2] == (3, 4, 4, 6)
    assert_identical(out.compute(), F.avg_pool1d(x, 4, 3, 1))


def test_unbatched_empty_batch_and_integer_inputs(rng):
    x = rng.integers(0, 255, (3, 10, 9)).astype(np.uint8)
    _check(F.max_pool2d(da.from_array(x, chunks=(2, 3, 4)), 3, 2, 1, return_indices=True),
           F.max_pool2d(x, 3, 2, 1, return_indices=True))
    _check(F.avg_pool2d(da.from_array(x, chunks=(2, 3, 4)), 2), F.avg_pool2d(x, 2))
    empty = np.zeros((0, 2, 6, 6), np.float32)
    _check(F.max_pool2d(da.from_array(empty, chunks=(1, 1, 3, 3)), 2), F.max_pool2d(empty, 2))
    h = rng.standard_normal((2, 2, 9)).astype(np.float16)
    _check(F.avg_pool1d(da.from_array(h, chunks=(1, 1, 2)), 3, 2, 1, True), F.avg_pool1d(
        h, 3, 2, 1, True))


def test_layers_run_lazily(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    layer, ref = poolnd.nn.MaxPool2d(2, return_indices=True), poolnd.nn.MaxPool2d(
        2, return_indices=True)
    _check(layer(da.from_array(x, chunks=3)), ref(x))
    g = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    _check(layer.backward(g), ref.backward(g))


# --------------------------------------------------------------------------------------------
# errors


ERRORS = [
    (lambda d: F.max_pool2d(d, 0), ValueError, "max_pool2d(): kernel_size must be positive"),
    (lambda d: F.max_pool2d(d, 5, 1, 3), ValueError,
     "max_pool2d(): padding must be at most half the dilated kernel"),
    (lambda d: F.avg_pool2d(d, 9), ValueError,
     "avg_pool2d(): output size must be at least 1 in every spatial dimension"),
    (lambda d: F.max_pool3d(d[0, 0], 2), ValueError, "max_pool3d(): input must have 4 dims"),
    (lambda d: F.max_pool2d(d, 2, return_indices=1), TypeError,
     "max_pool2d(): return_indices must be a bool; got 1"),
    (lambda d: F.avg_pool2d(d, 2, divisor_override=0), ValueError,
     "avg_pool2d(): divisor_override must be a non-zero int or None; got 0"),
    (lambda d: F.lp_pool2d(d, 0, 2), ValueError, "lp_pool2d(): norm_type"),
    (lambda d: F.adaptive_avg_pool2d(d[0, 0, 0], 2), ValueError,
     "adaptive_avg_pool2d(): input must have 3 dims (C, *spatial) or 4 dims"),
    (lambda d: F.adaptive_avg_pool2d(d, -1), ValueError,
     "adaptive_avg_pool2d(): output_size must be non-negative"),
    (lambda d: poolnd.pool(d, 3, 2, ndim=2), TypeError,
     "pool(): reducer must be a str or a NumPy ufunc"),
    (lambda d: F.max_unpool2d(d, d.astype(np.int32), 2), TypeError,
     "max_unpool2d(): indices must be an int64 array"),
    (lambda d: F.max_unpool2d(d, da.zeros((1, 2, 3, 3), dtype=np.int64), 2), ValueError,
     "max_unpool2d(): indices may be a Dask array only when it has the input's shape"),
    (lambda d: F.fractional_max_pool2d(d, 2, output_size=2, rng=3), TypeError,
     "fractional_max_pool2d(): rng must be a numpy.random.Generator or None; got int"),
    (lambda d: poolnd.vjp(F.max_pool2d, d.astype(np.int32), 2), TypeError,
     "max_pool2d(): gradients need a floating input"),
    (lambda d: poolnd.vjp(poolnd.pool, d, np.multiply, (2, 2)), TypeError,
     "pool(): gradients exist for the reducers"),
    (lambda d: poolnd.vjp(F.avg_pool2d, d, 2)[1](np.ones((1, 2, 3, 3))), ValueError,
     "avg_pool2d() backward: grad_output must have the output's shape (1, 2, 4, 4); got "
     "shape (1, 2, 3, 3)"),
    (lambda d: poolnd.vjp(F.avg_pool2d, d, 2)[1](np.ones((1, 2, 4, 4), complex)), TypeError,
     "avg_pool2d() backward: grad_output must be a real numeric array; got dtype complex128"),
    (lambda d: F.max_pool2d(d[d[:, 0, 0, 0] > 0], 2), ValueError,
     "max_pool2d(): input is a Dask array with unknown chunk sizes"),
    (lambda d: F.max_pool2d(d.map_blocks(lambda b: np.ma.masked_array(b)), 2), TypeError,
     "max_pool2d(): input must be a Dask array of NumPy chunks"),
    (lambda d: F.max_unpool2d(np.ones((1, 2, 4, 4)), da.zeros((1, 2, 4, 4), dtype=np.int64), 2),
     TypeError, "max_unpool2d(): with a Dask array among the arguments the input must be a "
                "Dask array too; got ndarray"),
]


@pytest.mark.parametrize(("call", "kind", "message"), ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors_are_the_numpy_paths(call, kind, message):
    d = da.ones((1, 2, 8, 8), chunks=(1, 1, 3, 5), dtype=np.float32)
    with pytest.raises(kind, match=re.escape(message)):
        call(d)


def test_bad_indices_values_raise_when_computed():
    d = da.ones((1, 1, 2, 2), chunks=1, dtype=np.float32)
    out = F.max_unpool2d(d, da.full((1, 1, 2, 2), 99, dtype=np.int64, chunks=1), 2)
    with pytest.raises(ValueError, match=re.escape("max_unpool2d(): indices must be flat "
                                                   "positions in [0, 16)")):
        out.compute()


# --------------------------------------------------------------------------------------------
# a cluster of worker processes on loopback


def test_distributed_cluster_of_processes_matches_memory(rng):
    x = rng.standard_normal((2, 3, 40, 33)).astype(np.float32)
    d = da.from_array(x, chunks=(1, 2, 13, 10))
    # (the scheduler's HTTP server on a free port: with dashboard_address=None it takes
    # 8787, which a cluster in another test worker may hold, and the warning is an error)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2 and threading.get_native_id() not in pids
        values, indices = F.max_pool2d(d, 3, 2, 1, 2, True, True)
        out, pullback = poolnd.vjp(F.avg_pool2d, d, 3, 2, 1)
        grad = pullback(np.ones(out.shape, np.float32))
        got = client.compute([values, indices, out, grad], sync=True)
    expected_v, expected_i = F.max_pool2d(x, 3, 2, 1, 2, True, True)
    expected_out, expected_pb = poolnd.vjp(F.avg_pool2d, x, 3, 2, 1)
    for g, e in zip(got, [expected_v, expected_i, expected_out,
                          expected_pb(np.ones(expected_out.shape, np.float32))]):
        assert_identical(g, e)
