"""Blur pooling and MaxBlurPool against the ``antialiased-cnns`` package (Zhang 2019).

The oracle is the package's ``BlurPool`` / ``BlurPool1D`` modules run by torch 2.13, their
gradients from torch autograd. poolnd sums the same dyadic weights in a different order, so
values agree to float rounding: float64 within 1e-12 relative to the input's scale, float32
within 1e-6.
"""

from __future__ import annotations

import gc
import inspect
import itertools
import tracemalloc

import numpy as np
import pytest
import torch
from antialiased_cnns.blurpool import BlurPool, BlurPool1D
from helpers import from_torch, relayout, to_torch
from hypothesis import given
from hypothesis import strategies as st

import poolnd
from poolnd._ops.blur import binomial_filter  # private: the filter taps, tested directly

F = poolnd.functional
PAD_TYPES = ["reflect", "refl", "replicate", "repl", "zero"]
TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


def _package(nd: int, channels: int, *args, **kwargs) -> torch.nn.Module:
    return (BlurPool1D if nd == 1 else BlurPool)(channels, *args, **kwargs)


def _run_package(module: torch.nn.Module, x: np.ndarray, g: np.ndarray | None = None):
    """The module's output and, given ``g``, autograd's input gradient (float64 runs in
    float64: every filter weight is a dyadic fraction, exact in float32 and float64)."""
    if x.dtype == np.float64:
        module = module.double()
    t = to_torch(x).requires_grad_(g is not None)
    out = module(t)
    if g is None:
        return from_torch(out), None
    out.backward(to_torch(g))
    return from_torch(out), from_torch(t.grad)


def _close(actual: np.ndarray, expected: np.ndarray, scale: float) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    tol = TOL[actual.dtype] * max(scale, 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


def _check(x: np.ndarray, nd: int, pad_type: str, filt_size: int, stride: int, pad_off: int,
           *, grad: bool = True, rng=None) -> None:
    fn = getattr(F, f"blur_pool{nd}d")
    module = _package(nd, x.shape[1], pad_type=pad_type, filt_size=filt_size, stride=stride,
                      pad_off=pad_off)
    try:
        expected, _ = _run_package(module, x)
    except RuntimeError as exc:  # reflection wider than the input: both refuse
        assert "Padding size should be less than" in str(exc)
        with pytest.raises(ValueError, match="pad_type='reflect' needs the padding"):
            fn(x, pad_type, filt_size, stride, pad_off)
        return
    scale = float(np.abs(x).max()) if x.size else 1.0
    out = fn(x, pad_type, filt_size, stride, pad_off)
    _close(out, expected, scale)
    layer = getattr(poolnd.nn, f"BlurPool{nd}d")(x.shape[1], pad_type, filt_size, stride, pad_off)
    _close(layer(x), expected, scale)
    if grad:
        rng = rng or np.random.default_rng(0)
        g = rng.standard_normal(expected.shape).astype(x.dtype)
        _, expected_grad = _run_package(module, x, g)
        gscale = float(np.abs(g).max()) if g.size else 1.0
        out2, pullback = poolnd.vjp(fn, x, pad_type, filt_size, stride, pad_off)
        _close(out2, expected, scale)
        _close(pullback(g), expected_grad, gscale)
        _close(layer.backward(g), expected_grad, gscale)


# -------------------------------------------------------------------------------------------
# the package as oracle: a fixed grid of corners, then Hypothesis


@pytest.mark.parametrize("filt_size", range(1, 8))
@pytest.mark.parametrize("pad_type", PAD_TYPES)
def test_blur_pool2d_grid_matches_package(filt_size, pad_type, rng):
    for stride, pad_off, shape in itertools.product(
        (1, 2, 3), (0, 1, 2), [(2, 3, 7, 10), (1, 2, 9, 9), (1, 1, 5, 6)]
    ):
        x = rng.standard_normal(shape)
        _check(x, 2, pad_type, filt_size, stride, pad_off, rng=rng)


@pytest.mark.parametrize("filt_size", range(1, 8))
@pytest.mark.parametrize("pad_type", PAD_TYPES)
def test_blur_pool1d_grid_matches_package(filt_size, pad_type, rng):
    for stride, pad_off, length in itertools.product((1, 2, 3), (0, 1, 2), (5, 8, 13)):
        x = rng.standard_normal((2, 3, length))
        _check(x, 1, pad_type, filt_size, stride, pad_off, rng=rng)


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_default_arguments_match_package(nd, dtype, rng):
    x = rng.standard_normal((4, 5, *[12] * nd)).astype(dtype)
    expected, _ = _run_package(_package(nd, 5), x)
    fn = getattr(F, f"blur_pool{nd}d")
    _close(fn(x), expected, float(np.abs(x).max()))
    _close(getattr(poolnd.nn, f"BlurPool{nd}d")(5)(x), expected, float(np.abs(x).max()))


@st.composite
def blur_cases(draw):
    nd = draw(st.sampled_from([1, 2]))
    shape = (draw(st.integers(0, 2)), draw(st.integers(1, 3)),
             *[draw(st.integers(1, 11)) for _ in range(nd)])
    return (nd, shape, draw(st.sampled_from(PAD_TYPES)), draw(st.integers(1, 7)),
            draw(st.integers(1, 4)), draw(st.integers(0, 3)),
            draw(st.sampled_from([np.float32, np.float64])), draw(st.integers(0, 2**32 - 1)))


@given(blur_cases())
def test_blur_pool_matches_package_hypothesis(case):
    nd, shape, pad_type, filt_size, stride, pad_off, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    _check(x, nd, pad_type, filt_size, stride, pad_off, rng=rng, grad=dtype == np.float64)


@given(blur_cases(), st.data())
def test_any_layout_gives_the_same_result(case, data):
    nd, shape, pad_type, filt_size, stride, pad_off, dtype, seed = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    fn = getattr(F, f"blur_pool{nd}d")
    try:
        expected = fn(x, pad_type, filt_size, stride, pad_off)
    except ValueError:
        return
    other = data.draw(relayout(x))
    before = other.copy()
    np.testing.assert_array_equal(fn(other, pad_type, filt_size, stride, pad_off), expected)
    np.testing.assert_array_equal(other, before)  # the input is never modified


# -------------------------------------------------------------------------------------------
# MaxBlurPool: torch's MaxPool with stride 1, then the package's BlurPool


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize(("pad_type", "filt_size", "stride", "pad_off", "kernel_size"), [
    ("reflect", None, 2, 0, 2),
    ("repl", 3, 2, 1, 3),
    ("zero", 5, 3, 0, 2),
    ("refl", 1, 2, 0, 2),
    ("replicate", 7, 1, 2, 1),
])
def test_max_blur_pool_matches_maxpool_then_package(nd, pad_type, filt_size, stride, pad_off,
                                                    kernel_size, rng):
    filt_size = filt_size or (3 if nd == 1 else 4)
    x = rng.standard_normal((2, 3, *[11] * nd))
    maxpool = getattr(torch.nn, f"MaxPool{nd}d")(kernel_size, stride=1)
    blur = _package(nd, 3, pad_type=pad_type, filt_size=filt_size, stride=stride,
                    pad_off=pad_off).double()
    t = to_torch(x).requires_grad_()
    expected = blur(maxpool(t))
    g = rng.standard_normal(tuple(expected.shape))
    expected.backward(to_torch(g))
    fn = getattr(F, f"max_blur_pool{nd}d")
    out, pullback = poolnd.vjp(fn, x, pad_type, filt_size, stride, pad_off, kernel_size)
    _close(out, from_torch(expected), float(np.abs(x).max()))
    _close(pullback(g), from_torch(t.grad), float(np.abs(g).max()))
    layer = getattr(poolnd.nn, f"MaxBlurPool{nd}d")(3, pad_type, filt_size, stride, pad_off,
                                                    kernel_size)
    _close(layer(x), from_torch(expected), float(np.abs(x).max()))
    _close(layer.backward(g), from_torch(t.grad), float(np.abs(g).max()))


# -------------------------------------------------------------------------------------------
# hand-worked values


def test_hand_worked_1d_example():
    # the lecture's input, filter [1, 2, 1] / 4, reflection (x[1] | x | x[6]), stride 2:
    # outputs at padded positions 0, 2, 4, 6 -> input cells -1..1, 1..3, 3..5, 5..7
    x = np.array([[1.0, 2, -1, 0, 2, 3, -2, 0]])
    expected = [[(2 + 2 * 1 + 2) / 4, (2 - 2 + 0) / 4, (0 + 4 + 3) / 4, (3 - 4 + 0) / 4]]
    np.testing.assert_array_equal(F.blur_pool1d(x), expected)
    # zero padding drops the reflected 2 of the first window
    np.testing.assert_array_equal(F.blur_pool1d(x, "zero")[0, 0], (0 + 2 + 2) / 4)
    # replication repeats the edge: (1 + 2 + 2) / 4
    np.testing.assert_array_equal(F.blur_pool1d(x, "replicate")[0, 0], 5 / 4)


def test_filt_size_one_is_subsampling(rng):
    x = rng.standard_normal((2, 3, 7, 8))
    np.testing.assert_array_equal(F.blur_pool2d(x, filt_size=1, stride=3), x[..., ::3, ::3])
    out = F.blur_pool2d(x, "zero", filt_size=1, stride=2, pad_off=1)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(out, padded[..., ::2, ::2])
    assert not np.shares_memory(F.blur_pool2d(x, filt_size=1, stride=1), x)


def test_binomial_filters_are_pascals_rows_normalised():
    rows = {1: [1], 2: [1, 1], 3: [1, 2, 1], 4: [1, 3, 3, 1], 5: [1, 4, 6, 4, 1],
            6: [1, 5, 10, 10, 5, 1], 7: [1, 6, 15, 20, 15, 6, 1]}
    for size, row in rows.items():
        np.testing.assert_array_equal(binomial_filter(size), np.array(row) / sum(row))


def test_constant_input_stays_constant_and_mass_is_kept(rng):
    x = np.full((1, 2, 9, 9), 3.25)
    for pad_type, filt_size in itertools.product(("reflect", "replicate"), range(1, 8)):
        np.testing.assert_allclose(F.blur_pool2d(x, pad_type, filt_size), 3.25, rtol=1e-15)
    # stride 1, zero padding: the pullback of ones gives every cell the filter's total mass
    # minus what falls outside; in the interior that is exactly 1
    _, pullback = poolnd.vjp(F.blur_pool2d, rng.standard_normal((1, 1, 12, 12)), "zero", 5, 1)
    grad = pullback(np.ones((1, 1, 12, 12)))
    np.testing.assert_array_equal(grad[..., 2:-2, 2:-2], 1.0)


@given(blur_cases())
def test_pullback_is_the_adjoint(case):
    nd, shape, pad_type, filt_size, stride, pad_off, _, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    fn = getattr(F, f"blur_pool{nd}d")
    try:
        out, pullback = poolnd.vjp(fn, x, pad_type, filt_size, stride, pad_off)
    except ValueError:
        return
    g = rng.standard_normal(out.shape)
    lhs, rhs = float(np.sum(out * g)), float(np.sum(x * pullback(g)))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs))


# -------------------------------------------------------------------------------------------
# dtypes, unbatched input, layers


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtypes_and_unbatched(dtype, rng):
    x = rng.standard_normal((3, 9, 10)).astype(dtype)
    out = F.blur_pool2d(x)
    assert out.dtype == dtype and out.shape == (3, 5, 5)
    reference = F.blur_pool2d(x.astype(np.float64)[None])[0]
    np.testing.assert_allclose(out, reference, atol=2e-3 if dtype == np.float16 else 1e-6)
    out, pullback = poolnd.vjp(F.blur_pool2d, x)
    grad = pullback(np.ones_like(out))
    assert grad.dtype == dtype and grad.shape == x.shape


def test_layer_constructors_match_package():
    def params(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
                if p.name != "channels_last"]  # poolnd's keyword-only layout flag

    assert params(poolnd.nn.BlurPool2d.__init__) == params(BlurPool.__init__)
    assert params(poolnd.nn.BlurPool1d.__init__) == params(BlurPool1D.__init__)
    # MaxBlurPool2d: BlurPool2d's arguments, in its order, then kernel_size
    assert params(poolnd.nn.MaxBlurPool2d.__init__) == [
        *params(BlurPool.__init__), ("kernel_size", 2)]


@pytest.mark.parametrize("nd", [1, 2])
def test_layer_attributes_match_package(nd):
    for pad_type, filt_size, stride, pad_off in itertools.product(
        PAD_TYPES, range(1, 8), (1, 2), (0, 1)
    ):
        ours = getattr(poolnd.nn, f"BlurPool{nd}d")(4, pad_type, filt_size, stride, pad_off)
        theirs = _package(nd, 4, pad_type, filt_size, stride, pad_off)
        assert ours.pad_sizes == theirs.pad_sizes
        assert (ours.channels, ours.filt_size, ours.stride, ours.pad_off) == (
            theirs.channels, theirs.filt_size, theirs.stride, theirs.pad_off)
        np.testing.assert_array_equal(ours.filt, from_torch(theirs.filt))
        assert ours.filt.dtype == np.float32


@pytest.mark.parametrize("nd", [1, 2])
def test_channels_last_matches_package_on_the_transposed_input(nd, rng):
    x = rng.standard_normal((2, *[9] * nd, 3))  # (N, *spatial, C)
    first = np.moveaxis(x, -1, 1)
    module = _package(nd, 3, "replicate", 5, 2, 1)
    g_first = rng.standard_normal((2, 3, *[6] * nd))  # (9 + 2 * 1 - 1) // 2 + 1 = 6
    expected, expected_grad = _run_package(module, np.ascontiguousarray(first), g_first)
    fn = getattr(F, f"blur_pool{nd}d")
    out, pullback = poolnd.vjp(fn, x, "replicate", 5, 2, 1, channels_last=True)
    _close(out, np.moveaxis(expected, 1, -1), float(np.abs(x).max()))
    g = np.moveaxis(g_first, 1, -1)
    _close(pullback(g), np.moveaxis(expected_grad, 1, -1), float(np.abs(g).max()))
    layer = getattr(poolnd.nn, f"BlurPool{nd}d")(3, "replicate", 5, 2, 1, channels_last=True)
    _close(layer(x), np.moveaxis(expected, 1, -1), float(np.abs(x).max()))
    _close(layer.backward(g), np.moveaxis(expected_grad, 1, -1), float(np.abs(g).max()))
    unbatched = fn(x[0], "replicate", 5, 2, 1, channels_last=True)
    _close(unbatched, np.moveaxis(expected[0], 0, -1), float(np.abs(x).max()))
    maxblur = getattr(F, f"max_blur_pool{nd}d")
    np.testing.assert_array_equal(maxblur(x, channels_last=True),
                                  np.moveaxis(maxblur(np.ascontiguousarray(first)), 1, -1))
    with pytest.raises(ValueError, match=rf"BlurPool{nd}d\(\): input must have channels=3 "
                                         rf"channels \(axis -1\); got shape"):
        layer(first)
    assert repr(layer).endswith("pad_off=1, channels_last=True)")
    assert inspect.signature(type(layer).__init__).parameters["channels_last"].kind == (
        inspect.Parameter.KEYWORD_ONLY)


def test_layer_repr():
    assert repr(poolnd.nn.BlurPool2d(8, "zero", 3)) == (
        "BlurPool2d(channels=8, pad_type='zero', filt_size=3, stride=2, pad_off=0)")
    assert repr(poolnd.nn.MaxBlurPool1d(2, kernel_size=3)) == (
        "MaxBlurPool1d(channels=2, kernel_size=3, pad_type='reflect', filt_size=3, stride=2, "
        "pad_off=0)")


# -------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(("call", "exc", "message"), [
    (lambda x: F.blur_pool2d(x, "circular"), ValueError,
     r"blur_pool2d\(\): pad_type must be one of \['refl', 'reflect', 'repl', 'replicate', "
     r"'zero'\]; got 'circular'"),
    (lambda x: F.blur_pool2d(x, 0), TypeError,
     r"blur_pool2d\(\): pad_type must be a str, .*; got 0 of type int"),
    (lambda x: F.blur_pool2d(x, filt_size=8), ValueError,
     r"blur_pool2d\(\): filt_size must be between 1 and 7 .*; got \(8, 8\)"),
    (lambda x: F.blur_pool2d(x, filt_size=(3, 0)), ValueError,
     r"blur_pool2d\(\): filt_size must be between 1 and 7 .*; got \(3, 0\)"),
    (lambda x: F.blur_pool2d(x, filt_size=2.5), TypeError,
     r"blur_pool2d\(\): filt_size must be an int or a tuple of ints; got 2.5"),
    (lambda x: F.blur_pool2d(x, stride=0), ValueError,
     r"blur_pool2d\(\): stride must be positive; got \(0, 0\)"),
    (lambda x: F.blur_pool2d(x, stride=(1, 2, 3)), ValueError,
     r"blur_pool2d\(\): stride must be a single int or a tuple of 2 ints"),
    (lambda x: F.blur_pool2d(x, pad_off=-1), ValueError,
     r"blur_pool2d\(\): pad_off must be non-negative \(extra padding on each side\); "
     r"got \(-1, -1\)"),
    (lambda x: F.blur_pool2d(x[..., :2], filt_size=4), ValueError,
     r"blur_pool2d\(\): pad_type='reflect' needs the padding of each side smaller than the "
     r"input size it reflects; got padding \(1, 2\) for size 2 in spatial dimension 1"),
    (lambda x: F.blur_pool1d(x[0, 0], "reflect", 3, 2, 5), ValueError,
     r"blur_pool1d\(\): pad_type='reflect' needs .*; got padding \(6, 6\) for size 6"),
    (lambda x: F.blur_pool2d(x.astype(np.int32)), TypeError,
     r"blur_pool2d\(\): input dtype must be float16, float32 or float64 \(the filter weights "
     r"are fractions\); got int32"),
    (lambda x: F.blur_pool2d(x[0, 0]), ValueError,
     r"blur_pool2d\(\): input must have 3 dims \(C, \*spatial\) or 4 dims"),
    (lambda x: F.max_blur_pool2d(x, kernel_size=0), ValueError,
     r"max_blur_pool2d\(\): kernel_size must be positive; got \(0, 0\)"),
    (lambda x: F.max_blur_pool2d(x, "bad"), ValueError,
     r"max_blur_pool2d\(\): pad_type must be one of"),
    (lambda x: poolnd.nn.BlurPool2d(3)(x), ValueError,
     r"BlurPool2d\(\): input must have channels=3 channels \(axis -3\); got shape "
     r"\(1, 2, 6, 6\)"),
    (lambda x: poolnd.nn.BlurPool2d(0), ValueError,
     r"BlurPool2d\(\): channels must be positive; got 0"),
    (lambda x: poolnd.nn.BlurPool2d(2.0), TypeError,
     r"BlurPool2d\(\): channels must be an int; got 2.0"),
    (lambda x: poolnd.nn.BlurPool2d(True), TypeError,
     r"BlurPool2d\(\): channels must be an int; got True"),
    (lambda x: poolnd.nn.BlurPool1d(2, "reflection"), ValueError,
     r"BlurPool1d\(\): pad_type must be one of"),
    (lambda x: poolnd.nn.BlurPool2d(2, filt_size=9), ValueError,
     r"BlurPool2d\(\): filt_size must be between 1 and 7"),
    (lambda x: poolnd.nn.MaxBlurPool2d(2, kernel_size=0), ValueError,
     r"MaxBlurPool2d\(\): kernel_size must be positive; got 0"),
    (lambda x: poolnd.nn.MaxBlurPool2d(2, kernel_size="2"), TypeError,
     r"MaxBlurPool2d\(\): kernel_size must be an int or a tuple of ints; got '2'"),
    (lambda x: F.blur_pool2d(x, channels_last=1), TypeError,
     r"blur_pool2d\(\): channels_last must be a bool; got 1 of type int"),
    (lambda x: poolnd.nn.BlurPool2d(2).backward(np.ones(1)), RuntimeError,
     r"BlurPool2d.backward\(\) called before any forward call"),
])
def test_errors(call, exc, message):
    x = np.ones((1, 2, 6, 6))
    with pytest.raises(exc, match=message):
        call(x)


def test_pullback_checks_its_cotangent(rng):
    out, pullback = poolnd.vjp(F.blur_pool2d, rng.standard_normal((1, 2, 6, 6)))
    with pytest.raises(ValueError, match=r"blur_pool2d\(\) backward: grad_output must have the "
                                         r"output's shape \(1, 2, 3, 3\); got shape \(3, 3\)"):
        pullback(np.ones((3, 3)))
    with pytest.raises(TypeError, match=r"blur_pool2d\(\) backward: grad_output must be a real "
                                        r"numeric array; got dtype complex128"):
        pullback(np.ones(out.shape, complex))


# -------------------------------------------------------------------------------------------
# memory: no padded copy, no window copies


def _peak(fn):
    fn()
    was_enabled = gc.isenabled()
    gc.disable()  # no collection inside the measurement: fn's garbage counts until it returns
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_is_a_few_outputs(dtype, rng):
    x = rng.standard_normal((2, 8, 200, 200)).astype(dtype)
    out, extra = _peak(lambda: F.blur_pool2d(x, "reflect", 7, 1, 2))
    assert out.nbytes >= x.nbytes  # stride 1 with pad_off: the output outgrows the input
    assert extra <= 3 * out.nbytes + (1 << 20), extra / out.nbytes
    _, pullback = poolnd.vjp(F.blur_pool2d, x, "reflect", 7, 1, 2)
    g = np.ones_like(out)
    grad, extra = _peak(lambda: pullback(g))
    assert extra <= 3 * grad.nbytes + (1 << 20), extra / grad.nbytes
