"""Inputs are never mutated, outputs never alias inputs (forward, vjp, pullback, layers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolnd
from helpers import ALL_DTYPES, arrays_of, max_cases, relayout

F = poolnd.functional

CALLS = [
    # (name, fn, extra args, kwargs, spatial rank)
    ("max_pool1d", F.max_pool1d, (3, 1, 1), {"return_indices": True}, 1),
    ("max_pool2d", F.max_pool2d, (2, 1, 1, 2, True), {}, 2),
    ("max_pool3d", F.max_pool3d, (2,), {"return_indices": True}, 3),
    ("avg_pool1d", F.avg_pool1d, (3, 2, 1, True, False), {}, 1),
    ("avg_pool2d", F.avg_pool2d, (3, 1, 1), {"divisor_override": 2}, 2),
    ("avg_pool3d", F.avg_pool3d, (2, 1), {"ceil_mode": True}, 3),
    ("max_pool-4d", poolnd.max_pool, ((2, 1, 2, 2), 1, (1, 0, 0, 1)), {"return_indices": True}, 4),
    ("avg_pool-4d", poolnd.avg_pool, (2,), {"ndim": 4, "padding": 1}, 4),
]


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def _input(rng, nd, dtype=np.float64, batch=(2,)):
    x = rng.standard_normal((*batch, 3, *[4] * nd))
    x.flat[::7] = np.nan
    return x.astype(dtype)


@pytest.mark.parametrize(("name", "fn", "args", "kwargs", "nd"), CALLS, ids=[c[0] for c in CALLS])
def test_forward_and_backward_leave_inputs_alone(name, fn, args, kwargs, nd, rng):
    x = _input(rng, nd)
    x_before = x.copy()
    out = fn(x, *args, **kwargs)
    assert _bits(x) == _bits(x_before)
    values = out[0] if isinstance(out, tuple) else out
    assert not np.shares_memory(values, x)

    (out2), pullback = poolnd.vjp(fn, x, *args, **kwargs)
    values2 = out2[0] if isinstance(out2, tuple) else out2
    g = rng.standard_normal(values2.shape)
    g_before = g.copy()
    grad = pullback(g)
    assert _bits(x) == _bits(x_before)
    assert _bits(g) == _bits(g_before)
    assert not np.shares_memory(grad, g) and not np.shares_memory(grad, x)
    # mutating what we got back changes nothing poolnd computes later
    values2[...] = 0
    grad[...] = 12345.0
    assert _bits(pullback(g)) == _bits(poolnd.vjp(fn, x_before, *args, **kwargs)[1](g))


@pytest.mark.parametrize(("name", "fn", "args", "kwargs", "nd"), CALLS, ids=[c[0] for c in CALLS])
def test_read_only_input_and_grad_are_accepted(name, fn, args, kwargs, nd, rng):
    x = _input(rng, nd)
    expected = fn(x.copy(), *args, **kwargs)
    x.flags.writeable = False
    got = fn(x, *args, **kwargs)
    for a, b in zip(got if isinstance(got, tuple) else (got,),
                    expected if isinstance(expected, tuple) else (expected,)):
        assert _bits(a) == _bits(b)
    out, pullback = poolnd.vjp(fn, x, *args, **kwargs)
    values = out[0] if isinstance(out, tuple) else out
    g = np.ones_like(values)
    g.flags.writeable = False
    pullback(g)


@pytest.mark.parametrize("layer", [
    poolnd.nn.MaxPool1d(3, 1, 1), poolnd.nn.MaxPool2d(2, return_indices=True),
    poolnd.nn.MaxPool3d(2, 1, ceil_mode=True), poolnd.nn.AvgPool1d(2, 1, 1),
    poolnd.nn.AvgPool2d(3, 2, 1, count_include_pad=False), poolnd.nn.AvgPool3d(2),
], ids=repr)
def test_layers_leave_inputs_alone(layer, rng):
    nd = int(type(layer).__name__[-2])
    x = _input(rng, nd)
    x_before = x.copy()
    out = layer(x)
    values = out[0] if isinstance(out, tuple) else out
    g = rng.standard_normal(values.shape)
    g_before = g.copy()
    layer.backward(g)
    assert _bits(x) == _bits(x_before)
    assert _bits(g) == _bits(g_before)


@settings(max_examples=60)
@given(data=st.data())
def test_no_mutation_hypothesis(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(max_cases(nd, max_extra=3))
    dtype = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(relayout(data.draw(arrays_of(dtype, case.shape))))
    before, strides, writeable = x.copy(), x.strides, x.flags.writeable
    op = data.draw(st.sampled_from(["max", "avg"]))
    try:
        if op == "max":
            getattr(F, f"max_pool{nd}d")(x, **case.args.kw(), return_indices=True)
        else:
            getattr(F, f"avg_pool{nd}d")(x, case.args.kernel_size, case.args.stride,
                                         ceil_mode=case.args.ceil_mode)
    except ValueError:
        pass  # rejected arguments must leave the input alone as well
    assert x.dtype == before.dtype and x.strides == strides
    assert x.flags.writeable == writeable
    assert _bits(x) == _bits(before)
