"""Inputs are never mutated, outputs never alias inputs (forward, vjp, pullback, layers)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ALL_DTYPES, arrays_of, max_cases, relayout
from hypothesis import given, settings
from hypothesis import strategies as st

import poolnd

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


# --------------------------------------------------------------------------------------------
# every public op, forward and pullback, channels-first and channels-last, in every layout


def _x(rng, shape, dtype=np.float64):
    x = rng.integers(-3, 4, size=shape).astype(dtype)  # ties
    if x.dtype.kind == "f":
        x.flat[::7] = np.nan
        x.flat[3::11] = -np.inf
    return x


def _unpool_inputs(rng, nd):
    x = _x(rng, (2, 3, *[6] * nd))
    values, indices = poolnd.max_pool(x, (2,) * nd, return_indices=True)
    return values, indices


# (name, fn, spatial rank, make(rng) -> tuple of array arguments, other args, kwargs)
EVERY_OP = [
    *[(f"max_pool{nd}d", getattr(F, f"max_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (3, 2, 1), {"return_indices": True})
      for nd in (1, 2, 3)],
    *[(f"avg_pool{nd}d", getattr(F, f"avg_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (3, 2, 1, True, False), {})
      for nd in (1, 2, 3)],
    *[(f"lp_pool{nd}d", getattr(F, f"lp_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (2, 3, 2, True), {})
      for nd in (1, 2, 3)],
    *[(f"adaptive_max_pool{nd}d", getattr(F, f"adaptive_max_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (3,), {"return_indices": True})
      for nd in (1, 2, 3)],
    *[(f"adaptive_avg_pool{nd}d", getattr(F, f"adaptive_avg_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (3,), {})
      for nd in (1, 2, 3)],
    *[(f"fractional_max_pool{nd}d", getattr(F, f"fractional_max_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), (2,),
       {"output_size": 3, "return_indices": True,
        "_random_samples": np.full((2, 3, nd), 0.25)})
      for nd in (2, 3)],
    *[(f"max_unpool{nd}d", getattr(F, f"max_unpool{nd}d"), nd,
       lambda rng, nd=nd: _unpool_inputs(rng, nd), (2,), {"output_size": [6] * nd})
      for nd in (1, 2, 3)],
    *[(f"blur_pool{nd}d", getattr(F, f"blur_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), ("reflect", 3, 2), {})
      for nd in (1, 2)],
    *[(f"max_blur_pool{nd}d", getattr(F, f"max_blur_pool{nd}d"), nd,
       lambda rng, nd=nd: (_x(rng, (2, 3, *[7] * nd)),), ("zero", 4, 2, 1, 3), {})
      for nd in (1, 2)],
    ("max_pool", poolnd.max_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), ((3, 2), 1, "same"),
     {"return_indices": True}),
    ("avg_pool", poolnd.avg_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),),
     ((3, 2), 2, ((1, 2), (0, 3))), {}),
    ("min_pool", poolnd.min_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), ((2, 3), 1, 1, 2),
     {"return_indices": True}),
    ("sum_pool", poolnd.sum_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),),
     ((2, 2), 2, "same_lower"), {}),
    ("pool-mean", poolnd.pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), ("mean", (3, 3), 2, 1),
     {}),
    ("pool-ufunc", poolnd.pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6), np.int32),),
     (np.multiply, (2, 3)), {}),
    ("global_max_pool", poolnd.global_max_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), (),
     {"keepdims": True}),
    ("global_avg_pool", poolnd.global_avg_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), (), {}),
    ("global_lp_pool", poolnd.global_lp_pool, 2, lambda rng: (_x(rng, (2, 3, 7, 6)),), (3.0,),
     {}),
]

IMMUTABLE_LAYOUTS = ["c", "fortran", "negative", "bigendian", "readonly"]


def _layout(a: np.ndarray, kind: str) -> np.ndarray:
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "negative":
        rev = (slice(None, None, -1),) * a.ndim
        return a[rev].copy()[rev]
    if kind == "bigendian":
        return a.astype(a.dtype.newbyteorder(">"))
    out = a.copy()
    out.flags.writeable = kind != "readonly"
    return out


def _state(a: np.ndarray):
    return _bits(a), a.dtype, a.strides, a.flags.writeable, a.flags.owndata


def _last(a: np.ndarray, nd: int) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, -(nd + 1), -1))


def test_every_public_op_is_in_the_table():
    names = {name.split("-")[0] for name, *_ in EVERY_OP}
    assert set(F.__all__) <= names
    assert {"max_pool", "avg_pool", "min_pool", "sum_pool", "pool", "global_max_pool",
            "global_avg_pool", "global_lp_pool"} <= names


@pytest.mark.parametrize("layout", IMMUTABLE_LAYOUTS)
@pytest.mark.parametrize("last", [False, True], ids=["channels-first", "channels-last"])
@pytest.mark.parametrize(("name", "fn", "nd", "make", "args", "kwargs"), EVERY_OP,
                         ids=[c[0] for c in EVERY_OP])
def test_every_op_leaves_inputs_and_gradients_alone(name, fn, nd, make, args, kwargs, last,
                                                    layout, rng):
    arrays = make(rng)
    if last:
        arrays = tuple(_last(a, nd) for a in arrays)
        kwargs = {**kwargs, "channels_last": True}
    arrays = tuple(_layout(a, layout) for a in arrays)
    extras = [v for v in kwargs.values() if isinstance(v, np.ndarray)]
    watched = [*arrays, *extras]
    before = [_state(a) for a in watched]

    out = fn(*arrays, *args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    assert [_state(a) for a in watched] == before
    for o in outs:
        assert not any(np.shares_memory(o, a) for a in watched)

    if arrays[0].dtype.kind != "f":
        return
    out, pullback = poolnd.vjp(fn, *arrays, *args, **kwargs)
    values = out[0] if isinstance(out, tuple) else out
    g = _layout(np.cos(np.arange(values.size, dtype=values.dtype)).reshape(values.shape), layout)
    g_before = _state(g)
    grad = pullback(g)
    assert [_state(a) for a in watched] == before
    assert _state(g) == g_before
    assert not any(np.shares_memory(grad, a) for a in [*watched, g])
    first = _bits(grad)
    # scribbling over what came back changes nothing the pullback computes later
    for o in (out if isinstance(out, tuple) else (out,)):
        o[...] = 0
    grad[...] = 7
    assert _bits(pullback(g)) == first
