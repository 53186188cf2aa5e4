"""Differential fuzzing of every public op and layer against PyTorch 2.13 CPU.

Each test draws an op's full argument space (every parameter and spelling, ceil mode,
dilation, per-side padding pairs and 'same'/'same_lower'/'valid', channels_last), every dtype
the op takes, NaN/±inf/-0.0/ties and dtype extremes, unbatched and empty-batch inputs, and a
memory layout (C, Fortran, transposed, sliced, negative strides, big-endian, read-only); then
compares values, indices and gradients with the oracle: PyTorch (directly, on an explicitly
padded input for padding pairs and modes, on the negated input for min pooling, through a
separable composition for 4-d pooling), or an independent brute force for what PyTorch lacks
(integer dtypes it does not implement, ufunc reducers). Documented departures (README,
"Differences from PyTorch") are mapped, never skipped: a window wholly in padding is
compared with the reference (-inf, index -1, zero gradient), padding beyond PyTorch's rule
with the reference too (see `helpers.check_max` / `helpers.check_avg`).

Profiles, one parametrised test each:

* ``ci`` runs with every plain ``python -m pytest``: about 900 examples, under a minute.
* ``long`` (marked ``fuzz``, deselected by default) runs with ``python -m pytest -m fuzz
  tests/robustness/test_fuzz.py``: ``LONG_FACTOR`` times as many, thousands in all. Set
  ``POOLND_FUZZ_FACTOR`` to scale it. The run ends with a count of the examples it ran.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    GRAD_DTYPES,
    arrays_of,
    assert_identical,
    avg_cases,
    check_avg,
    check_max,
    from_torch,
    grad_like,
    max_cases,
    native,
    relayout,
    to_torch,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import has_empty_window, max_pool_grad_ref

import poolnd
from tests.ops import (  # the op families' own case strategies and checks
    test_adaptive,
    test_conventions,
    test_fractional,
    test_global,
    test_lp,
    test_unpool,
)

F = poolnd.functional
LONG_FACTOR = int(os.environ.get("POOLND_FUZZ_FACTOR", "15"))
PROFILES = [pytest.param("ci", id="ci"),
            pytest.param("long", id="long", marks=pytest.mark.fuzz)]

# examples run per test and profile, reported at the end of the session (conftest.py)
EXAMPLES: Counter = Counter()


def fuzz(profile: str, name: str, ci_examples: int, body) -> None:
    """Run ``body(data)`` under Hypothesis with the profile's number of examples."""
    n = ci_examples if profile == "ci" else ci_examples * LONG_FACTOR

    @settings(max_examples=n, deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(data=st.data())
    def run(data):
        body(data)
        EXAMPLES[(profile, name)] += 1

    run()


# --------------------------------------------------------------------------------------------
# layouts


def channels_last(x: np.ndarray, nd: int) -> np.ndarray:
    """``(..., C, *spatial)`` as ``(..., *spatial, C)``, a fresh array."""
    return np.ascontiguousarray(np.moveaxis(x, -(nd + 1), -1))


def to_first(a: np.ndarray, nd: int) -> np.ndarray:
    return np.moveaxis(a, -1, -(nd + 1))


def check_channels_last(data, fn, x, nd, args, kwargs, *, grad: bool,
                        selects: bool = False) -> None:
    """``fn(x_cl, channels_last=True)`` is the channels-first call (already compared with the
    oracle) transposed, bit for bit, forward and pullback; ``x_cl`` in any layout. NaN
    payloads must match only for ops that select a cell (``selects``): a NaN made by
    arithmetic may carry another payload (README, departure 7)."""
    first = fn(x, *args, **kwargs)
    x_cl = data.draw(relayout(channels_last(native(x), nd)), label="channels-last input")
    last = fn(x_cl, *args, **kwargs, channels_last=True)
    if isinstance(first, tuple):
        for a, b in zip(last, first, strict=True):
            assert_identical(to_first(a, nd), b, max_nan_payloads=selects)
    else:
        assert_identical(to_first(last, nd), first, max_nan_payloads=selects)
    if grad and x.dtype.kind == "f":
        out, pullback = poolnd.vjp(fn, x, *args, **kwargs)
        _, pullback_cl = poolnd.vjp(fn, x_cl, *args, **kwargs, channels_last=True)
        values = out[0] if isinstance(out, tuple) else out
        g = grad_like(values)
        assert_identical(to_first(pullback_cl(channels_last(g, nd)), nd), pullback(g),
                         max_nan_payloads=False)


# --------------------------------------------------------------------------------------------
# max and average pooling (functional 1d/2d/3d and the N-d API), PyTorch's padding rule


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_max_pool(profile):
    def body(data):
        nd = data.draw(st.integers(1, 3), label="nd")
        case = data.draw(max_cases(nd, max_extra=4))
        dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
        x = data.draw(relayout(data.draw(arrays_of(dtype, case.shape))), label="x")
        return_indices = data.draw(st.booleans(), label="return_indices")
        check_max(x, nd, case.args, return_indices=return_indices, grad=True)
        fn = getattr(F, f"max_pool{nd}d")
        kw = case.args.kw()
        # the N-d API is the same op
        nd_kw = {**kw, "kernel_size": case.args.canonical(nd)[0]}
        assert_identical(poolnd.max_pool(x, **nd_kw, return_indices=True)[1],
                         fn(x, **kw, return_indices=True)[1])
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, fn, x, nd, (), {**kw, "return_indices": return_indices},
                                grad=True, selects=True)

    fuzz(profile, "max_pool", 120, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_avg_pool(profile):
    def body(data):
        nd = data.draw(st.integers(1, 3), label="nd")
        case = data.draw(avg_cases(nd, max_extra=4))
        dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
        x = data.draw(relayout(data.draw(arrays_of(dtype, case.shape, avg=True))), label="x")
        divisor = case.args.divisor_override
        if x.dtype.kind == "u" and divisor is not None and divisor < 0:
            # departure 5: no unsigned result of a negative divisor
            with pytest.raises(ValueError, match=r"divisor_override must be positive for "
                                                 r"unsigned input"):
                getattr(F, f"avg_pool{nd}d")(x, **case.args.kw(nd))
            return
        check_avg(x, nd, case.args, grad=True)
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, getattr(F, f"avg_pool{nd}d"), x, nd, (), case.args.kw(nd),
                                grad=True)

    fuzz(profile, "avg_pool", 120, body)


# --------------------------------------------------------------------------------------------
# padding pairs and modes, min / sum / mean / max: PyTorch on the explicitly padded input


def _padded_case(data, dilated):
    case = data.draw(test_conventions.padded_cases(dilated=dilated))
    shape, kernel, stride, dilation, padding, pads, ceil, _ = case
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES[1:]), label="dtype")  # torch pads floats
    x = data.draw(arrays_of(dtype, shape), label="x")
    return x, kernel, stride, dilation, padding, pads, ceil


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_padding_modes_against_torch_on_padded_input(profile):
    def body(data):
        op = data.draw(st.sampled_from(["max", "min", "sum", "mean"]), label="op")
        # torch's avg_pool, the sums' oracle, has no dilation
        x, kernel, stride, dilation, padding, pads, ceil = _padded_case(data, op in ("max", "min"))
        nd = len(kernel)
        include_pad = data.draw(st.booleans(), label="count_include_pad")
        xl = data.draw(relayout(x), label="layout")
        batched = native(x) if x.ndim == nd + 2 else native(x)[None]
        unbatch = (lambda a: a) if x.ndim == nd + 2 else (lambda a: a[0])

        if op in ("max", "min"):
            fn = poolnd.max_pool if op == "max" else poolnd.min_pool
            sign = 1 if op == "max" else -1
            values, indices = fn(xl, kernel, stride, padding, dilation, ceil, True)
            ev, ei = test_conventions.torch_padded_max(sign * batched, kernel, stride, pads,
                                                       dilation, ceil)
            if np.isneginf(ev).any():
                # torch on the -inf-padded input cannot tell a padding cell from an input
                # cell of -inf; poolnd (and torch's implicit padding) index the first input
                # cell of such a window: brute force decides those
                _, ref = test_conventions.windows_ref(
                    sign * batched, test_conventions.first_extreme(False, -np.inf), kernel,
                    stride, pads, dilation, ceil)
                ei = np.array([ref[k][1] for k in np.ndindex(*ei.shape)]).reshape(ei.shape)
            assert_identical(values, unbatch(sign * ev))
            assert_identical(indices, unbatch(ei))
            if x.dtype == np.float64 and np.isneginf(ev).any():
                out, pullback = poolnd.vjp(fn, xl, kernel, stride, padding, dilation, ceil)
                g = grad_like(out)  # the brute-force indices decide, as above
                expected = max_pool_grad_ref(g if x.ndim == nd + 2 else g[None], ei,
                                             batched.shape, nd)
                assert_identical(pullback(g), unbatch(expected))
            elif x.dtype == np.float64:
                out, pullback = poolnd.vjp(fn, xl, kernel, stride, padding, dilation, ceil)
                g = grad_like(out)
                t = to_torch(batched).requires_grad_()
                flat = [p for lo_hi in reversed(pads) for p in lo_hi]
                y = getattr(tF, f"max_pool{nd}d")(tF.pad(sign * t, flat, value=-math.inf),
                                                   kernel, stride, 0, dilation, ceil)
                keep = tuple(slice(0, n) for n in out.shape[-nd:])
                (sign * y[(Ellipsis, *keep)]).backward(to_torch(g if x.ndim == nd + 2
                                                                  else g[None]))
                np.testing.assert_array_equal(pullback(g), unbatch(from_torch(t.grad)))
            fn_args = (kernel, stride, padding, dilation, ceil)
        else:
            sums, counts = test_conventions.torch_padded_sums(batched, kernel, stride, pads, ceil)
            if op == "sum":
                got = poolnd.sum_pool(xl, kernel, stride, padding, 1, ceil)
                expected = sums
            else:
                got = poolnd.avg_pool(xl, kernel, stride, padding, ceil, include_pad, ndim=nd)
                if include_pad:
                    sizes = [np.array([min(o * s - lo + k, n + hi) - (o * s - lo)
                                       for o in range(m)])
                             for n, k, s, (lo, hi), m in zip(x.shape[-nd:], kernel, stride,
                                                              pads, got.shape[-nd:])]
                    divisor = math.prod(np.ix_(*sizes)) if nd > 1 else sizes[0]
                else:
                    divisor = counts
                with np.errstate(all="ignore"):
                    expected = sums / divisor.astype(sums.dtype)
            rtol = 1e-5 if x.dtype == np.float32 else 1e-12
            scale = np.nan_to_num(np.abs(batched).astype(np.float64), posinf=0).max(initial=0)
            np.testing.assert_allclose(got, unbatch(expected), rtol=rtol,
                                       atol=rtol * (1 + scale) * math.prod(kernel),
                                       equal_nan=True)
            fn = poolnd.sum_pool if op == "sum" else poolnd.avg_pool
            fn_args = (kernel, stride, padding, ceil) if op == "mean" else (
                kernel, stride, padding, 1, ceil)
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, fn, xl, nd, fn_args, {"ndim": nd}, grad=True,
                                selects=op in ("max", "min"))

    fuzz(profile, "padding_modes", 90, body)


# --------------------------------------------------------------------------------------------
# min, sum and ufunc pooling of every dtype: brute force (PyTorch has no such ops)


UFUNCS = [np.add, np.multiply, np.logical_or, np.logical_and, np.bitwise_xor, np.bitwise_or,
          np.logaddexp]


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_min_sum_ufunc_pooling_against_brute_force(profile):
    def body(data):
        case = data.draw(test_conventions.padded_cases())
        shape, kernel, stride, dilation, padding, pads, ceil, _ = case
        dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
        x = data.draw(relayout(data.draw(arrays_of(dtype, shape, avg=True))), label="x")
        xc = native(x)
        batched = xc if xc.ndim == len(kernel) + 2 else xc[None]
        unbatch = (lambda a: a) if xc.ndim == len(kernel) + 2 else (lambda a: a[0])
        reducer = data.draw(st.sampled_from(["min", "sum", *UFUNCS]), label="reducer")
        if isinstance(reducer, np.ufunc):
            try:
                out_dtype = reducer.resolve_dtypes((xc.dtype, xc.dtype, None))[-1]
            except TypeError:  # e.g. bitwise ops on floats
                with pytest.raises(TypeError, match=r"^pool\(\): the ufunc reducer np\."):
                    poolnd.pool(x, reducer, kernel, stride, padding, dilation, ceil)
                return
            got = poolnd.pool(x, reducer, kernel, stride, padding, dilation, ceil)

            def fold(cells, _):
                acc = np.array(reducer.identity, out_dtype)
                with np.errstate(all="ignore"):
                    for c in cells:
                        acc = reducer(acc, np.array(c, xc.dtype), dtype=out_dtype)
                return acc

            out_shape, ref = test_conventions.windows_ref(batched, fold, kernel, stride, pads,
                                                          dilation, ceil)
            expected = np.array([ref[k] for k in np.ndindex(*out_shape)],
                                out_dtype).reshape(out_shape)
            assert_identical(got, unbatch(expected), max_nan_payloads=False)
        elif reducer == "min":
            values, indices = poolnd.min_pool(x, kernel, stride, padding, dilation, ceil, True)
            highest = np.inf if xc.dtype.kind == "f" else np.iinfo(xc.dtype).max
            out_shape, ref = test_conventions.windows_ref(
                batched, test_conventions.first_extreme(True, xc.dtype.type(highest)), kernel,
                stride, pads, dilation, ceil)
            exp_v = np.array([ref[k][0] for k in np.ndindex(*out_shape)],
                             xc.dtype).reshape(out_shape)
            exp_i = np.array([ref[k][1] for k in np.ndindex(*out_shape)],
                             np.int64).reshape(out_shape)
            assert_identical(values, unbatch(exp_v))
            assert_identical(indices, unbatch(exp_i))
        else:
            got = poolnd.sum_pool(x, kernel, stride, padding, dilation, ceil)
            if xc.dtype.kind == "f":
                acc = np.float64 if xc.dtype == np.float64 else np.float32

                def total(cells, _):
                    s = acc(0)
                    with np.errstate(all="ignore"):
                        for c in cells:
                            s = acc(s + acc(c))
                    return s
            else:
                wrap = 2**64

                def total(cells, _):
                    return sum(int(c) for c in cells) % wrap

            out_shape, ref = test_conventions.windows_ref(batched, total, kernel, stride, pads,
                                                          dilation, ceil)
            want = got.dtype
            if want.kind == "f":
                expected = np.array([ref[k] for k in np.ndindex(*out_shape)]).astype(want)
            else:
                raw = np.array([ref[k] for k in np.ndindex(*out_shape)], np.uint64)
                expected = raw.view(want)
            assert_identical(got, unbatch(expected.reshape(out_shape)), max_nan_payloads=False)

    fuzz(profile, "min_sum_ufunc", 75, body)


# --------------------------------------------------------------------------------------------
# 4 spatial dimensions: max pooling is separable, so torch's 3-d pooling of every slice, then
# torch's 1-d pooling across the slices (first maximum, last NaN) is the oracle


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_max_pool_4d_against_separable_torch(profile):
    def body(data):
        kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(4))
        stride = tuple(data.draw(st.integers(1, 3)) for _ in range(4))
        dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(4))
        padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
        ceil = data.draw(st.booleans())
        spatial = tuple(max(1, (k - 1) * d + 1 - 2 * p) + data.draw(st.integers(0, 3))
                        for k, d, p in zip(kernel, dilation, padding))
        lead = data.draw(st.sampled_from([(1, 2), (2, 1), (1, 1)]))
        dtype = data.draw(st.sampled_from(GRAD_DTYPES))
        x = data.draw(arrays_of(dtype, (*lead, *spatial)))
        assume(not has_empty_window(x.shape, kernel, stride, padding, dilation, ceil))
        xl = data.draw(relayout(x))
        values, indices = poolnd.max_pool(xl, kernel, stride, padding, dilation, ceil, True)

        t = to_torch(x)
        n, c, a = lead[0], lead[1], spatial[0]
        v3, i3 = tF.max_pool3d(t.reshape(n * c * a, 1, *spatial[1:]), kernel[1:], stride[1:],
                               padding[1:], dilation[1:], ceil, return_indices=True)
        o3 = v3.shape[-3:]
        v3 = v3.reshape(n * c, a, -1).transpose(1, 2)  # (n*c, cells3, a)
        i3 = i3.reshape(n * c, a, -1).transpose(1, 2)
        v1, i1 = tF.max_pool1d(v3.reshape(-1, 1, a), kernel[0], stride[0], padding[0],
                               dilation[0], ceil, return_indices=True)
        oa = v1.shape[-1]
        v1 = v1.reshape(n * c, -1, oa)
        i1 = i1.reshape(n * c, -1, oa)
        inner = torch.gather(i3, 2, i1)  # the 3-d index within the chosen slice
        flat = i1 * math.prod(spatial[1:]) + inner
        expected_v = v1.transpose(1, 2).reshape(n, c, oa, *o3)
        expected_i = flat.transpose(1, 2).reshape(n, c, oa, *o3)
        assert_identical(values, from_torch(expected_v))
        assert_identical(indices, from_torch(expected_i))

    fuzz(profile, "max_pool_4d", 45, body)


# --------------------------------------------------------------------------------------------
# LP, adaptive, fractional, unpooling, global pooling: the per-op oracles of their test files


def lp_ulps(p) -> int:
    """test_lp's bound, six times: PyTorch's float32 pow (Sleef) and NumPy's differ by several
    ulps far from 1 with fractional exponents (2622931 ** 1.5 then ** (1 / 1.5): 5 ulps;
    1.5e-20 in a ceil-mode window, p = 1.5: 13 ulps), and the fuzz draws values up to the
    dtype's extremes. Still about 3e-6 relative for float32: a wrong window or divisor is
    far outside it."""
    return 6 * test_lp.ulps_for(p)


def lp_close(actual, expected, ulps: int) -> None:
    """`test_lp.assert_lp_close`, where the spacing of the largest finite value overflows
    (inf: that element's tolerance is unbounded); ``ulps == 0`` (infinite norms) is exact."""
    if ulps == 0:
        assert_identical(actual, expected, max_nan_payloads=False)
        return
    with np.errstate(over="ignore"):
        test_lp.assert_lp_close(actual, expected, ulps)


def grad_close(actual, expected, ulps: int) -> None:
    with np.errstate(over="ignore"):
        test_lp.assert_grad_close(actual, expected, ulps)


def check_lp(x, nd, p, k, s=None, ceil=False, *, grad=True):
    """`test_lp.check_lp` with `lp_ulps`: values and gradients against PyTorch."""
    fn = getattr(F, f"lp_pool{nd}d")
    xc = native(x)
    out = fn(x, p, k, s, ceil)
    if test_lp.torch_supports(xc.dtype, nd):
        lp_close(out, test_lp.torch_lp(xc, nd, p, k, s, ceil), lp_ulps(p))
    else:  # float16 in 3d: torch's float32 result, rounded
        wide = test_lp.torch_lp(xc.astype(np.float32), nd, p, k, s, ceil).astype(np.float16)
        lp_close(out, wide, 8 * max(1, lp_ulps(p)))
    if not grad or xc.dtype.kind != "f":
        return
    values, pullback = poolnd.vjp(fn, x, p, k, s, ceil)
    assert_identical(values, out)
    g = np.random.default_rng(out.size).integers(-3, 4, size=out.shape).astype(xc.dtype)
    got = pullback(g)
    if test_lp.torch_supports(xc.dtype, nd):
        grad_close(got, test_lp.torch_lp_grad(xc, nd, p, k, s, ceil, g), 48)
    else:
        wide = test_lp.torch_lp_grad(xc.astype(np.float32), nd, p, k, s, ceil,
                                     g.astype(np.float32))
        grad_close(got, wide.astype(np.float16), 96)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_lp_pool(profile):
    def body(data):
        nd = data.draw(st.integers(1, 3), label="nd")
        if data.draw(st.integers(0, 4), label="int64?") == 0:  # torch's integer lp_pool
            kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
            spatial = tuple(k + data.draw(st.integers(0, 3)) for k in kernel)
            x = data.draw(arrays_of(np.int64, (2, 2, *spatial)).map(lambda a: a % 4 - 1))
            p = data.draw(st.sampled_from([1, 2, 3]))
            check_lp(data.draw(relayout(x)), nd, p, kernel, None, data.draw(st.booleans()),
                     grad=False)
            return
        x, p, k, s, ceil = data.draw(test_lp.lp_cases(nd))
        x = data.draw(relayout(x), label="layout")
        check_lp(x, nd, p, k, s, ceil)
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, getattr(F, f"lp_pool{nd}d"), x, nd, (p, k, s, ceil), {},
                                grad=x.dtype != np.float16)

    fuzz(profile, "lp_pool", 75, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_adaptive_pool(profile):
    def body(data):
        nd, x, size = data.draw(test_adaptive.adaptive_cases())
        test_adaptive.check_max(x, nd, size)
        if x.size:
            test_adaptive.check_avg(x, nd, size)
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, getattr(F, f"adaptive_max_pool{nd}d"), x, nd, (size,),
                                {"return_indices": True}, grad=True, selects=True)
            check_channels_last(data, getattr(F, f"adaptive_avg_pool{nd}d"), x, nd, (size,),
                                {}, grad=True)

    fuzz(profile, "adaptive_pool", 90, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_fractional_max_pool(profile):
    def body(data):
        nd, x, kernel, size, samples = data.draw(test_fractional.fractional_cases())
        test_fractional.check(x, nd, kernel, output_size=size, samples=samples)
        if data.draw(st.booleans(), label="channels_last"):
            check_channels_last(data, getattr(F, f"fractional_max_pool{nd}d"), x, nd, (kernel,),
                                {"output_size": size, "_random_samples": samples,
                                 "return_indices": True}, grad=True, selects=True)

    fuzz(profile, "fractional_max_pool", 75, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_max_unpool(profile):
    def body(data):
        nd = data.draw(st.integers(1, 3), label="nd")
        x, idx, k, s, p, output_size, spatial = data.draw(test_unpool.unpool_cases(nd))
        xl, il = data.draw(relayout(x), label="x layout"), data.draw(relayout(idx))
        test_unpool.check_unpool(xl, il, nd, k, s, p, output_size, expected_spatial=spatial)
        if data.draw(st.booleans(), label="channels_last"):
            fn = getattr(F, f"max_unpool{nd}d")
            first = fn(x, idx, k, s, p, output_size)
            last = fn(channels_last(x, nd), channels_last(idx, nd), k, s, p, output_size,
                      channels_last=True)
            assert_identical(to_first(last, nd), first)

    fuzz(profile, "max_unpool", 75, body)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_global_pool(profile):
    def body(data):
        ndim = data.draw(st.integers(1, 4), label="ndim")
        spatial = tuple(data.draw(st.integers(1, 5)) for _ in range(ndim))
        lead = data.draw(st.sampled_from([(0, 2), (1, 1), (2, 3), (3, 1)]))
        op = data.draw(st.sampled_from(["max", "avg", "lp"]), label="op")
        dtype = data.draw(st.sampled_from(ALL_DTYPES if op == "max" else FLOAT_DTYPES))
        x = data.draw(relayout(data.draw(arrays_of(dtype, (*lead, *spatial)))), label="x")
        xc = native(x)
        dims = tuple(range(2, 2 + ndim))
        keep = data.draw(st.booleans(), label="keepdims")
        squeeze = (lambda a: a) if keep else (lambda a: a.reshape(a.shape[:2]))
        if op == "max":
            want, _ = test_global._max_expected(xc, ndim)
            assert_identical(poolnd.global_max_pool(x, keepdims=keep), squeeze(want))
            fn, args, exact = poolnd.global_max_pool, (), True
            if ndim <= 3 and xc.dtype in GRAD_DTYPES and xc.size:
                out, pullback = poolnd.vjp(fn, x, keepdims=keep)
                g = grad_like(out)
                t = to_torch(xc).requires_grad_()
                y = getattr(tF, f"adaptive_max_pool{ndim}d")(t, 1)
                y.backward(to_torch(g.reshape(y.shape)))
                assert_identical(pullback(g), from_torch(t.grad))
        else:
            finite = np.isfinite(xc.astype(np.float64))
            scale = float(np.abs(xc.astype(np.float64)[finite]).max(initial=0)) + 1
            if op == "avg":
                fn, args = poolnd.global_avg_pool, ()
                want = from_torch(torch.mean(to_torch(xc), dim=dims, keepdim=keep))
                tol = test_global.TOL[xc.dtype]
                test_global._close(fn(x, keepdims=keep), want, tol, tol * scale)
            else:
                p = data.draw(st.sampled_from(test_global.NORMS), label="norm_type")
                fn, args = poolnd.global_lp_pool, (p,)
                # torch in float64 (its float32 norms overflow on some paths, as 6.98e12 ** 4
                # does, where poolnd's float64 sums do not); where even that overflows on a
                # finite input, the norm in long double
                wide = torch.linalg.vector_norm(to_torch(xc.astype(np.float64)), ord=p,
                                                dim=dims, keepdim=keep).numpy()
                over = np.isinf(wide) & np.isfinite(xc.astype(np.float64)).all(
                    axis=dims, keepdims=keep)
                with np.errstate(over="ignore"):  # a float64 norm beyond float32: inf
                    if over.any():
                        mag = np.abs(xc.astype(np.longdouble))
                        exact = ((mag ** p).sum(axis=dims, keepdims=keep)
                                 ** (1 / np.longdouble(p)))
                        wide = np.where(over, exact, wide)
                    want = wide.astype(xc.dtype)
                rtol = {2: 2e-3, 4: 2e-6, 8: 1e-13}[xc.dtype.itemsize]
                test_global._close(fn(x, p, keepdims=keep), want, rtol, rtol * scale)
            exact = False
        if ndim <= 3 and data.draw(st.booleans(), label="channels_last"):
            first = fn(x, *args, keepdims=keep)
            last = fn(data.draw(relayout(channels_last(xc, ndim))), *args, keepdims=keep,
                      channels_last=True)
            if keep:
                last = to_first(last, ndim)
            if exact:
                assert_identical(last, first)
            else:
                test_global._close(last, first, 1e-5 if xc.dtype != np.float16 else 2e-3)

    fuzz(profile, "global_pool", 75, body)


# --------------------------------------------------------------------------------------------
# layers: torch.nn's layer of the same name, constructed with the same arguments


LAYER_KINDS = ["MaxPool", "AvgPool", "LPPool", "AdaptiveMaxPool", "AdaptiveAvgPool",
               "FractionalMaxPool", "MaxUnpool"]


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_layers_against_torch_nn(profile):
    def body(data):
        kind = data.draw(st.sampled_from(LAYER_KINDS), label="layer")
        nd = data.draw(st.integers(2 if kind == "FractionalMaxPool" else 1, 3), label="nd")
        name = f"{kind}{nd}d"
        dtype = data.draw(st.sampled_from(GRAD_DTYPES), label="dtype")
        extra: tuple = ()
        if kind == "MaxPool":
            case = data.draw(max_cases(nd, max_extra=3, batch=(None, 1, 2)))
            kw = case.args.kw()
            assume(all(p <= k // 2 for k, p in zip(*(case.args.canonical(nd)[i] for i in (0, 2)))))
            assume(not has_empty_window(case.shape, *case.args.canonical(nd)))
            args = (kw.pop("kernel_size"),)
            kw["return_indices"] = data.draw(st.booleans())
            shape = case.shape
        elif kind == "AvgPool":
            case = data.draw(avg_cases(nd, max_extra=3, batch=(None, 1, 2)))
            kw = case.args.kw(nd)
            args = (kw.pop("kernel_size"),)
            shape = case.shape
            if nd == 3:  # torch's avg_pool3d refuses an input smaller than the kernel
                kernel = case.args.canonical(nd)[0]
                assume(all(n >= k for n, k in zip(shape[-3:], kernel)))
        elif kind == "LPPool":
            x, p, k, s, ceil = data.draw(test_lp.lp_cases(nd))
            assume(x.dtype in GRAD_DTYPES)
            args, kw, shape, dtype = (p, test_lp._torch_kernel(k, nd)), {"stride": s,
                                                                        "ceil_mode": ceil}, \
                x.shape, x.dtype
        elif kind.startswith("Adaptive"):
            size = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
            args, kw = (size if nd > 1 else size[0],), {}
            if kind == "AdaptiveMaxPool":
                kw["return_indices"] = data.draw(st.booleans())
            shape = (data.draw(st.sampled_from([1, 2])), 2,
                     *(data.draw(st.integers(1, 7)) for _ in range(nd)))
        elif kind == "FractionalMaxPool":
            _, x, kernel, size, samples = data.draw(test_fractional.fractional_cases().filter(
                lambda c: c[0] == nd and c[1].size > 0 and c[1].ndim == nd + 2))
            args = (kernel,)
            kw = {"output_size": size, "return_indices": data.draw(st.booleans())}
            extra = (samples,)
            shape, dtype = x.shape, x.dtype
        else:  # MaxUnpool: unpooling max pooling's own output
            k = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
            args, kw = (k,), {"stride": data.draw(st.none() | st.just(1))}
            shape = (2, 2, *(kk + data.draw(st.integers(0, 3)) for kk in k))
        x = data.draw(arrays_of(dtype, shape), label="x")
        xc = native(x)
        ours = getattr(poolnd.nn, name)(*args, **kw)
        theirs = getattr(torch.nn, name)(*args, **kw)
        if kind == "FractionalMaxPool":
            ours = getattr(poolnd.nn, name)(*args, **kw, _random_samples=extra[0])
            theirs = getattr(torch.nn, name)(*args, **kw, _random_samples=to_torch(extra[0]))
        assert repr(ours) == repr(theirs)
        t = to_torch(xc).requires_grad_()
        if kind == "MaxUnpool":
            pooled, where = getattr(F, f"max_pool{nd}d")(xc, args[0], kw["stride"],
                                                         return_indices=True)
            size = list(x.shape[-nd:])  # the pooled input's size (SegNet's round trip)
            inputs, t_inputs = (pooled, where, size), (to_torch(pooled).requires_grad_(),
                                                       to_torch(where), size)
            t = t_inputs[0]
        else:
            inputs, t_inputs = (data.draw(relayout(x), label="layout"),), (t,)
        out = ours(*inputs)
        with test_unpool.torch_serial():  # unpooling's duplicate indices: the last write wins
            expected = theirs(*t_inputs)
        values, t_values = (out[0], expected[0]) if isinstance(out, tuple) else (out, expected)
        if kind == "LPPool":
            lp_close(values, from_torch(t_values), lp_ulps(args[0]))
        elif kind == "AdaptiveAvgPool" and all(o == 1 for o in np.atleast_1d(args[0])):
            test_adaptive.assert_mean_close(values, from_torch(t_values), xc, nd)  # torch.mean
        else:
            assert_identical(values, from_torch(t_values), max_nan_payloads=kind != "AvgPool")
        if isinstance(out, tuple):
            assert_identical(out[1], from_torch(expected[1]))
        if values.size == 0 or x.shape[0] == 0:
            return
        g = grad_like(values)
        with test_unpool.torch_serial():
            t_values.backward(to_torch(g))
        got = ours.backward(g)
        if kind == "LPPool":
            grad_close(got, from_torch(t.grad), 48)
        else:
            assert_identical(got, from_torch(t.grad), max_nan_payloads=False)

    fuzz(profile, "layers", 90, body)


# --------------------------------------------------------------------------------------------
# a fixed grid: the same values in every memory layout give the same bits, every op


def _all_layouts(a: np.ndarray) -> list[np.ndarray]:
    rev = (slice(None, None, -1),) * a.ndim
    perm = tuple(reversed(range(a.ndim)))
    big = np.zeros(tuple(2 * n + 1 for n in a.shape), a.dtype)
    big[(slice(1, None, 2),) * a.ndim] = a
    readonly = a.copy()
    readonly.flags.writeable = False
    return [np.asfortranarray(a), a[rev].copy()[rev], a.astype(a.dtype.newbyteorder(">")),
            readonly, big[(slice(1, None, 2),) * a.ndim],
            np.ascontiguousarray(a.transpose(perm)).transpose(perm)]


LAYOUT_GRID = [
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)),
    ("avg_pool3d", lambda x: F.avg_pool3d(x[..., :5], 2, 1, 1, True, False)),
    ("lp_pool2d-third", lambda x: F.lp_pool2d(x, 1 / 3, 2, 1)),
    ("lp_pool1d-2.5", lambda x: F.lp_pool1d(x[..., 0, :], 2.5, 3, 2, True)),
    ("lp_pool2d-inf", lambda x: F.lp_pool2d(x, float("-inf"), 2)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 4), True)),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x[..., :5], 2)),
    ("fractional_max_pool2d", lambda x: F.fractional_max_pool2d(
        x, 2, 3, _random_samples=np.full((x.shape[0], x.shape[1], 2), 0.4, x.dtype))),
    ("min_pool", lambda x: poolnd.min_pool(x, (2, 3), 1, "same", (1, 2))),
    ("sum_pool", lambda x: poolnd.sum_pool(x, (3, 3), 2, ((2, 0), (1, 3)))),
    ("pool-multiply", lambda x: poolnd.pool(x, np.multiply, (2, 2))),
    ("global_lp_pool-3", lambda x: poolnd.global_lp_pool(x, 3)),
    ("global_lp_pool-0.5", lambda x: poolnd.global_lp_pool(x, 0.5)),
    ("global_avg_pool", poolnd.global_avg_pool),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize(("name", "fn"), LAYOUT_GRID, ids=[c[0] for c in LAYOUT_GRID])
def test_results_do_not_depend_on_memory_layout(name, fn, dtype):
    rng = np.random.default_rng(4)
    x = (rng.random((2, 3, 7, 6, 5)) * 9).astype(dtype)[..., 0] if "3d" not in name else \
        (rng.random((2, 3, 7, 6, 5)) * 9).astype(dtype)
    x.flat[::13] = 0
    want = fn(x)
    want = want if isinstance(want, tuple) else (want,)
    for other in _all_layouts(x):
        got = fn(other)
        for a, b in zip(got if isinstance(got, tuple) else (got,), want, strict=True):
            assert_identical(a, b)
