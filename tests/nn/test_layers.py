"""poolnd.nn layers against torch.nn: constructor signatures, reprs, attributes, forward and
backward (vs torch's module + autograd), return_indices, last-input semantics.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
import torch
from helpers import assert_identical, from_torch, to_torch

import poolnd

NAMES = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d"]


def _params(fn):
    """torch's part of a signature: poolnd's keyword-only ``channels_last`` left out."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "channels_last"]


@pytest.mark.parametrize("name", NAMES)
def test_init_signature_matches_torch(name):
    assert _params(getattr(poolnd.nn, name).__init__) == _params(getattr(torch.nn, name).__init__)


def _forms(nd, values):
    """Ways to spell an argument: int, nd-tuple, nd-list, 1-list."""
    a, b = values
    return [a, (b,) * nd, [a] * nd, tuple(range(1, nd + 1)), [b]]


def _max_combos(nd):
    kernels = _forms(nd, (2, 3))
    strides = [None, 1, (2,) * nd, [1] * nd]
    pads = [0, 1, (1,) * nd, [0] * nd]
    dils = [1, 2, (1,) * nd, [2] * nd]
    for k, s, p, d, ri, cm in itertools.product(kernels, strides, pads, dils, [False, True],
                                                [False, True]):
        yield (k,), dict(stride=s, padding=p, dilation=d, return_indices=ri, ceil_mode=cm)
    # positional spelling (note torch's order: return_indices before ceil_mode)
    yield (2, 1, 1, 1, True, False), {}
    yield ((2, 3), None, (1, 1), 2, False, True), {}
    yield ([3], [2]), {}


def _avg_combos(nd):
    kernels = _forms(nd, (2, 3))
    strides = [None, 1, (2,) * nd, [1] * nd]
    pads = [0, 1, (1,) * nd, [0] * nd]
    divisors = [None, 3, -1] if nd > 1 else [None]
    for k, s, p, cm, cip, dv in itertools.product(kernels, strides, pads, [False, True],
                                                  [False, True], divisors):
        kw = dict(stride=s, padding=p, ceil_mode=cm, count_include_pad=cip)
        if nd > 1:
            kw["divisor_override"] = dv
        yield (k,), kw
    yield (2, 1, 1, True, False), {}
    yield ((3,), None, (1,)), {}


def _combos(name):
    nd = int(name[-2])
    return list(_max_combos(nd) if name.startswith("Max") else _avg_combos(nd))


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_attributes_match_torch(name):
    combos = _combos(name)
    assert len(combos) > 50
    attrs = ["kernel_size", "stride", "padding"] + (
        ["dilation", "return_indices", "ceil_mode"] if name.startswith("Max")
        else ["ceil_mode", "count_include_pad"] + (["divisor_override"] if name[-2] != "1" else [])
    )
    for args, kwargs in combos:
        ours = getattr(poolnd.nn, name)(*args, **kwargs)
        theirs = getattr(torch.nn, name)(*args, **kwargs)
        assert repr(ours) == repr(theirs), (args, kwargs)
        assert str(ours) == str(theirs)
        assert ours.extra_repr() == theirs.extra_repr()
        for attr in attrs:
            assert getattr(ours, attr) == getattr(theirs, attr), (attr, args, kwargs)
            assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), (attr, args, kwargs)


# -------------------------------------------------------------------------------------------
# forward / backward


LAYER_CASES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1)),
    ("MaxPool1d", (2,), dict(stride=1, dilation=2, ceil_mode=True)),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("MaxPool2d", (2,), dict(ceil_mode=True)),
    ("MaxPool3d", (2,), dict(stride=1, padding=1)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, divisor_override=4)),
    ("AvgPool2d", ((2, 3),), dict(stride=1, ceil_mode=True)),
    ("AvgPool3d", (2,), dict(stride=(1, 2, 1), padding=1, count_include_pad=False)),
]


def _layer_input(rng, name, batched=True, dtype=np.float32):
    nd = int(name[-2])
    shape = ((2,) if batched else ()) + (3, *[6] * nd)
    return rng.integers(-4, 5, size=shape).astype(dtype)  # ties exercise first-max rule


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize(("name", "args", "kwargs"), LAYER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_forward_and_backward_match_torch(name, args, kwargs, batched, rng):
    x = _layer_input(rng, name, batched)
    ours = getattr(poolnd.nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    t = to_torch(x).requires_grad_()
    expected = theirs(t)
    out = ours(x)
    assert_identical(out, from_torch(expected))
    # forward is the functional with the layer's arguments
    fn_name = name[:3].lower() + "_pool" + name[-2:]
    assert_identical(out, getattr(poolnd.functional, fn_name)(x, *args, **kwargs))
    assert_identical(ours.forward(x), out)
    g = rng.integers(-3, 4, size=out.shape).astype(np.float32)
    expected.backward(to_torch(g))
    assert_identical(ours.backward(g), from_torch(t.grad))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_return_indices_layer(nd, rng):
    x = _layer_input(rng, f"MaxPool{nd}d").astype(np.float64)
    ours = getattr(poolnd.nn, f"MaxPool{nd}d")(2, 1, 1, return_indices=True)
    theirs = getattr(torch.nn, f"MaxPool{nd}d")(2, 1, 1, return_indices=True)
    t = to_torch(x).requires_grad_()
    tv, ti = theirs(t)
    values, indices = ours(x)
    assert_identical(values, from_torch(tv))
    assert_identical(indices, from_torch(ti))
    g = rng.standard_normal(values.shape)
    tv.backward(to_torch(g))
    assert_identical(ours.backward(g), from_torch(t.grad))


def test_backward_is_for_the_last_input(rng):
    layer = poolnd.nn.MaxPool2d(2, 1)
    first = rng.standard_normal((1, 2, 5, 5))
    last = rng.standard_normal((2, 2, 4, 6))
    layer(first)
    out = layer(last)
    g = rng.standard_normal(out.shape)
    t = to_torch(last).requires_grad_()
    torch.nn.MaxPool2d(2, 1)(t).backward(to_torch(g))
    grad = layer.backward(g)
    assert grad.shape == last.shape
    assert_identical(grad, from_torch(t.grad))
    assert_identical(layer.backward(g), grad)  # backward may be called again


def test_layer_forward_on_integers_then_floats(rng):
    layer = poolnd.nn.AvgPool2d(2)
    xi = rng.integers(-9, 10, size=(1, 2, 4, 4)).astype(np.int64)
    assert_identical(layer(xi), from_torch(torch.nn.AvgPool2d(2)(to_torch(xi))))
    with pytest.raises(RuntimeError, match="not floating point"):
        layer.backward(np.ones((1, 2, 2, 2)))
    xf = xi.astype(np.float64)
    layer(xf)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2, 2, 2))), np.full(xf.shape, 0.25))


def test_layer_attributes_drive_the_forward(rng):
    # attributes are plain attributes, as in torch: changing one changes the next call
    x = rng.standard_normal((1, 1, 6, 6))
    layer = poolnd.nn.MaxPool2d(2)
    layer.stride = 1
    assert layer(x).shape == (1, 1, 5, 5)
    assert repr(layer) == repr(_torch_with(torch.nn.MaxPool2d(2), stride=1))


def _torch_with(module, **attrs):
    for k, v in attrs.items():
        setattr(module, k, v)
    return module


def test_layers_are_poolnd_modules():
    for name in NAMES:
        cls = getattr(poolnd.nn, name)
        assert issubclass(cls, poolnd.nn.Module)
        assert callable(cls(2))


LAYER_NAMES = [n for n in poolnd.nn.__all__ if n != "Module"]


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_every_layer_takes_keyword_only_channels_last(name):
    param = inspect.signature(getattr(poolnd.nn, name).__init__).parameters["channels_last"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is False


def test_channels_last_layer_repr_forward_and_backward(rng):
    x = rng.standard_normal((2, 3, 7, 6))
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    first, last = poolnd.nn.MaxPool2d(3, 2, 1), poolnd.nn.MaxPool2d(3, 2, 1, channels_last=True)
    assert repr(last) == ("MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, "
                          "ceil_mode=False, channels_last=True)")
    out = last(xl)
    assert_identical(out, first(x).transpose(0, 2, 3, 1))
    g = rng.standard_normal(out.shape)
    expected_grad = first.backward(g.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    assert_identical(last.backward(g), expected_grad)
    unpool = poolnd.nn.MaxUnpool2d(2, channels_last=True)
    values, indices = poolnd.nn.MaxPool2d(2, return_indices=True, channels_last=True)(xl)
    restored = unpool(values, indices, output_size=xl.shape[1:3])
    expected = poolnd.nn.MaxUnpool2d(2)(values.transpose(0, 3, 1, 2), indices.transpose(0, 3, 1, 2),
                                        output_size=x.shape[2:])
    assert_identical(restored, expected.transpose(0, 2, 3, 1))
