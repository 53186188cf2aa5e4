"""Remembered launches (`poolnd._ops.plans`): a forward call repeated with the same
arguments on NumPy arrays of one shape and dtype runs the launch chosen the first time. Its
results are PyTorch's bit for bit, as the first call's; calls that must not be remembered
are not; the memory stays bounded and holds no array of a call."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import poolnd
import poolnd.functional as F
from poolnd._kernels import sliding
from poolnd._ops import plans

TF = torch.nn.functional


@pytest.fixture
def remembering(monkeypatch):
    """Remembered launches on (the suite turns them off where a test uses monkeypatch),
    kernels compiled in the calling thread, and a spy counting `_prepare` calls."""
    from poolnd._ops import pooling

    monkeypatch.setattr(plans, "ENABLED", True)
    mode = poolnd.get_compile_mode()
    poolnd.set_compile_mode("wait")
    prepared = []
    real = pooling._prepare
    monkeypatch.setattr(pooling, "_prepare", lambda *a: prepared.append(a[0]) or real(*a))
    yield prepared
    poolnd.set_compile_mode(mode)


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b, strict=True))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a.view(np.uint8), b.view(np.uint8))


# (public function, torch function, shape, arguments): tiles, row kernels at strides 1-3
# with padding, the whole-plane 3x3 kernel, argmax (indices), unbatched, 1d and 3d
CASES = [
    (F.max_pool2d, TF.max_pool2d, (2, 3, 12, 12), dict(kernel_size=2)),
    (F.max_pool2d, TF.max_pool2d, (2, 3, 13, 11), dict(kernel_size=3, stride=2, padding=1)),
    (F.max_pool2d, TF.max_pool2d, (2, 3, 13, 11), dict(kernel_size=3, stride=1, padding=1)),
    (F.max_pool2d, TF.max_pool2d, (3, 13, 11), dict(kernel_size=(3, 2), stride=(1, 3))),
    (F.max_pool2d, TF.max_pool2d, (2, 3, 13, 11),
     dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    (F.max_pool2d, TF.max_pool2d, (2, 3, 12, 12), dict(kernel_size=2, return_indices=True)),
    (F.max_pool1d, TF.max_pool1d, (2, 3, 30), dict(kernel_size=4, stride=3, padding=2)),
    (F.max_pool3d, TF.max_pool3d, (2, 2, 6, 7, 8), dict(kernel_size=2, stride=2)),
    (F.max_pool3d, TF.max_pool3d, (2, 2, 6, 7, 8),
     dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    (F.avg_pool2d, TF.avg_pool2d, (2, 3, 12, 12), dict(kernel_size=2)),
    (F.avg_pool2d, TF.avg_pool2d, (2, 3, 13, 11), dict(kernel_size=3, stride=2, padding=1)),
    (F.avg_pool2d, TF.avg_pool2d, (2, 3, 13, 11),
     dict(kernel_size=3, stride=1, padding=1, count_include_pad=False)),
    (F.avg_pool2d, TF.avg_pool2d, (3, 17, 15), dict(kernel_size=5, stride=3, padding=2)),
    (F.avg_pool2d, TF.avg_pool2d, (2, 3, 13, 11),
     dict(kernel_size=4, stride=1, divisor_override=3)),
    (F.avg_pool1d, TF.avg_pool1d, (2, 3, 30), dict(kernel_size=4, stride=2, padding=1)),
    (F.avg_pool3d, TF.avg_pool3d, (2, 2, 6, 7, 8), dict(kernel_size=2)),
    (F.avg_pool3d, TF.avg_pool3d, (2, 2, 7, 7, 8), dict(kernel_size=3, stride=2, padding=1,
                                                         ceil_mode=True)),
]


def _oracle(oracle, x: np.ndarray, kwargs: dict):
    """PyTorch's result; integer input is pooled as float64 (exact here: small integers),
    the values cast back."""
    t = torch.from_numpy(x if x.dtype.kind == "f" else x.astype(np.float64))
    got = oracle(t, **kwargs)
    got = tuple(g.numpy() for g in got) if isinstance(got, tuple) else (got.numpy(),)
    got = (got[0].astype(x.dtype), *got[1:])
    return got if len(got) > 1 else got[0]


@pytest.mark.parametrize("fn, oracle, shape, kwargs, dtype", [
    (*case, dtype) for case in CASES
    for dtype in ((np.float32, np.float64, np.uint8, np.int64) if case[0].__name__.startswith(
        "max") else (np.float32, np.float64))])
def test_a_remembered_call_gives_pytorchs_bits_and_skips_the_checks(
        remembering, fn, oracle, shape, kwargs, dtype):
    rng = np.random.default_rng(len(shape) * 7 + len(kwargs))
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    want = _oracle(oracle, x, kwargs)
    first = fn(x, **kwargs)
    assert _same(first, want)
    assert remembering == [fn.__name__] and len(plans._memory) == 1
    again = fn(x, **kwargs)  # remembered: no `_prepare`
    assert remembering == [fn.__name__]
    assert _same(again, want)
    other = (rng.standard_normal(shape) * 50).astype(dtype)  # other values, other strides
    strided = np.asfortranarray(other)
    want_other = _oracle(oracle, other, kwargs)
    assert _same(fn(strided, **kwargs), want_other)
    assert _same(fn(other[..., ::-1].copy()[..., ::-1], **kwargs), want_other)
    assert remembering == [fn.__name__]
    before = x.copy()
    fresh = fn(x, **kwargs)  # a new output each call, the input untouched
    assert np.array_equal(x, before) and x.flags.writeable  # (read through a view of its own)
    assert fresh is not again and not np.shares_memory(np.asarray(fresh[0] if isinstance(
        fresh, tuple) else fresh), np.asarray(again[0] if isinstance(again, tuple) else again))


def test_the_n_d_functions_remember_leading_batch_axes_and_channels_last(remembering):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 9, 10)).astype(np.float32)  # two batch axes
    for fn in (poolnd.max_pool, poolnd.avg_pool):
        first = fn(x, (3, 3), (2, 2), 1)
        assert _same(fn(x, (3, 3), (2, 2), 1), first) and first.shape == (2, 3, 4, 5, 5)
        flat = fn(x.reshape(24, 9, 10), (3, 3), (2, 2), 1)
        assert _same(first, flat.reshape(first.shape))
    last = np.moveaxis(x[0], 1, -1).copy()  # (N, H, W, C)
    for fn in (poolnd.max_pool, poolnd.avg_pool):
        first = fn(last, (3, 3), (2, 2), 1, channels_last=True)
        assert _same(fn(last, (3, 3), (2, 2), 1, channels_last=True), first)
        plain = fn(np.moveaxis(last, -1, 1).copy(), (3, 3), (2, 2), 1)
        assert _same(first, np.ascontiguousarray(np.moveaxis(plain, 1, -1)))
    assert remembering.count("max_pool") == 4 and remembering.count("avg_pool") == 4


def test_calls_that_are_not_remembered_take_the_full_path(remembering):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
    last = np.moveaxis(x, 1, -1).copy()
    calls = [
        lambda: F.max_pool2d(x.astype(">f4"), 2),  # converted to native byte order
        lambda: F.avg_pool2d(x.astype(np.float16), 2),  # widened
        lambda: poolnd.max_pool(x > 0, (2, 2)),  # bool: read as uint8
        lambda: poolnd.min_pool(x, (2, 2)),  # the max of the flipped input
        lambda: poolnd.max_pool(last, (2, 2), return_indices=True, channels_last=True),
        lambda: F.max_pool2d(x, np.int64(2)),  # an argument of another type
        lambda: poolnd.vjp(F.max_pool2d, x, 2)[0],  # a pullback
    ]
    for call in calls:
        first = call()
        remembering.clear()
        assert _same(call(), first)
        assert remembering, "remembered"
    assert plans._memory == {}


def test_another_librarys_array_is_remembered_as_the_numpy_array_it_is_read_as(
        remembering):
    """A torch tensor reaches the op as the NumPy array it shares memory with; the result
    goes back as a tensor, the same each call."""
    t = torch.randn(2, 3, 11, 11)
    want = TF.max_pool2d(t, 3, 2, 1)
    for _ in range(3):
        got = F.max_pool2d(t, 3, 2, 1)
        assert isinstance(got, torch.Tensor) and torch.equal(got, want)
    assert remembering == ["max_pool2d"]


def test_arguments_are_remembered_by_their_exact_types():
    x = np.zeros((1, 1, 4, 4), np.float32)
    keys = {plans.key("max_pool2d", x, k) for k in (1, True, (1, 1), [1, 1])}
    assert len(keys) == 4 and None not in keys
    assert plans.key("max_pool2d", x, np.int64(1)) is None
    assert plans.key("max_pool2d", x, 1.0) is None
    assert plans.key("max_pool2d", x.astype(">f4"), 1) != plans.key("max_pool2d", x, 1)
    assert plans.key("max_pool2d", x[0], 1) != plans.key("max_pool2d", x, 1)
    assert plans.key("max_pool2d", x.tolist(), 1) is None

    class Sub(np.ndarray):
        pass

    assert plans.key("max_pool2d", x.view(Sub), 1) is None


def test_an_error_is_never_remembered(remembering):
    x = np.zeros((1, 1, 4, 4), np.float32)
    for _ in range(2):
        with pytest.raises(ValueError, match="padding"):
            F.max_pool2d(x, 2, padding=3)
    assert plans._memory == {} and remembering == ["max_pool2d"] * 2


def test_a_kernel_not_compiled_yet_sends_a_remembered_call_down_the_full_path(
        remembering, monkeypatch):
    """`launch` answers False while a kernel is being compiled in the background: the
    remembered call then takes the full path (here, the NumPy forms), with the same bits."""
    x = np.random.default_rng(3).standard_normal((2, 3, 11, 11)).astype(np.float32)
    want = F.avg_pool2d(x, 3, 2, 1), F.max_pool2d(x, 3, 2, 1, return_indices=True)
    monkeypatch.setattr(sliding, "launch", lambda *args, **kwargs: False)
    remembering.clear()
    got = F.avg_pool2d(x, 3, 2, 1), F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert _same(got, want) and remembering == ["avg_pool2d", "max_pool2d"]


def test_the_memory_is_bounded_and_holds_no_array_of_a_call(remembering, monkeypatch):
    monkeypatch.setattr(plans, "_LIMIT", 8)
    for n in range(5, 25):
        x = np.ones((1, 2, n, n), np.float32)
        F.max_pool2d(x, 2)
        assert 1 <= len(plans._memory) <= 8
    x = np.ones((1, 2, 9, 9), np.float32)
    out = F.avg_pool2d(x, 3)
    alive = weakref.ref(x), weakref.ref(out)
    del x, out
    gc.collect()
    assert alive[0]() is None and alive[1]() is None


@pytest.mark.parametrize("spatial, lanes, want", [
    ((5,), 1, (6, 1, 1, 5)), ((4, 6), 1, (6, 1, 4, 6)), ((3, 4, 6), 1, (6, 3, 4, 6)),
    ((4, 6, 3), 3, (6, 1, 4, 18)), ((6, 2), 2, (6, 1, 1, 12)), ((2, 5, 4, 3), 3,
                                                                 (6, 2, 5, 12))])
def test_the_planes_a_call_reads_its_arrays_as(spatial, lanes, want):
    """`_tile_shape`, the pure shape arithmetic of a call's planes: the leading axes merged
    into planes, padded to three spatial axes, with lanes the last two merged into rows;
    `_planes` reshapes an array to it."""
    assert sliding._tile_shape(6, spatial, lanes) == want
    if lanes == 1:
        a = np.zeros((2, 3, *spatial), np.float32)
        assert sliding._planes(a, spatial).shape == want


def test_remembered_calls_from_many_threads_give_the_serial_results(remembering, monkeypatch):
    """Python threads calling at once, the same calls and others, while the memory fills and
    is emptied (a small limit): every result is the one the call gives alone."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(plans, "_LIMIT", 5)
    rng = np.random.default_rng(9)
    inputs = [rng.standard_normal((2, 4, n, n + 1)).astype(np.float32) for n in (9, 16, 23)]
    calls = [(i, fn, args) for i in range(3) for fn, args in (
        (F.max_pool2d, (3, 2, 1)), (F.avg_pool2d, (2,)), (F.max_pool2d, (2, 1, 0, 1, False,
                                                                          True)),
        (F.avg_pool2d, (3, 1, 1, False, False)))]
    plans.forget()
    expected = [fn(inputs[i], *args) for i, fn, args in calls]
    jobs = [(7 * k) % len(calls) for k in range(10 * len(calls))]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [(j, pool.submit(calls[j][1], inputs[calls[j][0]], *calls[j][2]))
                   for j in jobs]
        for j, future in futures:
            assert _same(future.result(), expected[j]), calls[j]
    assert len(plans._memory) <= 5
