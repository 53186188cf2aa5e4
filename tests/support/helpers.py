"""Shared test helpers: torch conversion, oracle checks against torch / the reference, strategies.

Expected values always come from torch 2.13 CPU or from the slow reference in ``reference.py``
(never from poolnd itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as tF
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import (
    avg_pool_grad_ref,
    avg_pool_ref,
    has_empty_window,
    max_pool_grad_ref,
    max_pool_ref,
)

import poolnd

FLOAT_DTYPES = [np.dtype(t) for t in (np.float16, np.float32, np.float64)]
INT_DTYPES = [
    np.dtype(t)
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES
GRAD_DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]

# What torch 2.13 CPU implements (checked by hand; see the research note's dtype matrix).
TORCH_MAX_DTYPES = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8,
                                          np.int16, np.int32, np.int64, np.uint8)}


def torch_avg_supports(dtype: np.dtype, nd: int) -> bool:
    """avg_pool: float32/64 and int64 everywhere, float16 in 1d/2d only."""
    dtype = np.dtype(dtype)
    if dtype in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)):
        return True
    return dtype == np.float16 and nd < 3


# --------------------------------------------------------------------------------------------
# conversion and comparison


def native(a: np.ndarray) -> np.ndarray:
    """A fresh C-contiguous, writeable, native-endian copy with the same values."""
    a = np.asarray(a)
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)


def to_torch(a: Any) -> torch.Tensor:
    """A torch tensor holding a copy of ``a`` (never shares memory, never warns)."""
    return torch.from_numpy(native(np.asarray(a)))


def from_torch(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def assert_identical(
    actual: Any, expected: Any, *, bitwise: bool = True, max_nan_payloads: bool = True
) -> None:
    """Same shape, same dtype (up to byte order), same values; NaN == NaN.

    ``bitwise`` also requires identical bit patterns (so signed zeros match, and NaN
    payloads too unless ``max_nan_payloads`` is off); without it, floats must still agree
    on the sign of zeros. Max pooling selects an input cell, so its NaNs keep their
    payload; an average's NaN comes out of arithmetic (inf - inf, NaN + x), whose payload
    depends on operand order inside the CPU's adder, which the contract does not fix.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert isinstance(actual, np.ndarray)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype.newbyteorder("="), (actual.dtype, expected.dtype)
    expected = expected.astype(actual.dtype, copy=False)
    if actual.dtype.kind == "f":
        assert np.array_equal(actual, expected, equal_nan=True), (actual, expected)
        both = ~np.isnan(expected)
        assert np.array_equal(np.signbit(actual[both]), np.signbit(expected[both]))
        if bitwise:
            view = np.dtype(f"u{actual.dtype.itemsize}")
            assert np.array_equal(actual[both].view(view), expected[both].view(view)), (
                actual,
                expected,
            )
            if max_nan_payloads:
                nan_bits = actual[~both].view(view), expected[~both].view(view)
                assert np.array_equal(*nan_bits), (actual, expected)
    else:
        assert np.array_equal(actual, expected), (actual, expected)


def expand(value: Any, nd: int) -> tuple[int, ...]:
    """An int / 1-element / nd-element argument as an nd-tuple of ints."""
    if isinstance(value, (list, tuple)):
        return tuple(value) * nd if len(value) == 1 else tuple(value)
    return (int(value),) * nd


# --------------------------------------------------------------------------------------------
# oracle checks


@dataclass
class MaxArgs:
    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False

    def kw(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation, ceil_mode=self.ceil_mode)

    def canonical(self, nd: int):
        k = expand(self.kernel_size, nd)
        s = None if self.stride is None else expand(self.stride, nd)
        return k, s, expand(self.padding, nd), expand(self.dilation, nd), self.ceil_mode


@dataclass
class AvgArgs:
    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    def kw(self, nd: int) -> dict[str, Any]:
        kw = dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                  ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)
        if nd != 1:
            kw["divisor_override"] = self.divisor_override
        else:
            assert self.divisor_override is None
        return kw

    def canonical(self, nd: int):
        k = expand(self.kernel_size, nd)
        s = None if self.stride is None else expand(self.stride, nd)
        return (k, s, expand(self.padding, nd), self.ceil_mode, self.count_include_pad,
                self.divisor_override)


def padding_departure(kernel, padding, dilation) -> bool:
    """poolnd accepts padding up to half the dilated kernel where torch wants <= k // 2."""
    return any(p > k // 2 for k, p in zip(kernel, padding)) and all(
        p <= ((k - 1) * d + 1) // 2 for k, p, d in zip(kernel, padding, dilation)
    )


def torch_max(x: np.ndarray, nd: int, args: MaxArgs, return_indices: bool):
    """torch's (values, indices or None); raises RuntimeError where torch rejects the args."""
    fn = getattr(tF, f"max_pool{nd}d")
    with_indices = return_indices or (nd == 1 and x.dtype.kind in "iu")  # ints need that path
    res = fn(to_torch(x), **args.kw(), return_indices=with_indices)
    if with_indices:
        return from_torch(res[0]), (from_torch(res[1]) if return_indices else None)
    return from_torch(res), None


def torch_max_grad(x: np.ndarray, nd: int, args: MaxArgs, g: np.ndarray) -> np.ndarray:
    """torch autograd's input gradient. Never call it with an empty window (torch corrupts)."""
    assert not has_empty_window(x.shape, *args.canonical(nd))
    t = to_torch(x).requires_grad_()
    getattr(tF, f"max_pool{nd}d")(t, **args.kw()).backward(to_torch(g))
    return from_torch(t.grad)


def torch_avg(x: np.ndarray, nd: int, args: AvgArgs) -> np.ndarray:
    return from_torch(getattr(tF, f"avg_pool{nd}d")(to_torch(x), **args.kw(nd)))


def torch_avg_grad(x: np.ndarray, nd: int, args: AvgArgs, g: np.ndarray) -> np.ndarray:
    t = to_torch(x).requires_grad_()
    getattr(tF, f"avg_pool{nd}d")(t, **args.kw(nd)).backward(to_torch(g))
    return from_torch(t.grad)


def grad_like(out: np.ndarray, seed: int = 0) -> np.ndarray:
    """A float gradient with small integer-valued entries (exact sums) shaped like ``out``."""
    rng = np.random.default_rng(seed)
    return rng.integers(-4, 5, size=out.shape).astype(out.dtype.newbyteorder("="))


def check_max(x: np.ndarray, nd: int, args: MaxArgs, *, return_indices: bool = True,
              grad: bool = False) -> str:
    """Compare poolnd.functional.max_pool{nd}d on ``x`` with torch (or the reference).

    torch is called with the same ``return_indices`` (so its separate values-only max_pool1d
    kernel is covered too), except for integer 1d input, which only its indices path takes.
    Returns which oracle decided: "torch", "reference" or "both-reject".
    """
    fn = getattr(poolnd.functional, f"max_pool{nd}d")
    xc = native(x)
    k, s, p, d, ceil = args.canonical(nd)
    oracle = "torch"
    if xc.dtype in TORCH_MAX_DTYPES:
        try:
            tv, ti = torch_max(xc, nd, args, return_indices)
        except RuntimeError:
            try:
                fn(x, **args.kw(), return_indices=return_indices)
            except ValueError:
                return "both-reject"
            assert padding_departure(k, p, d), "poolnd accepts arguments that torch rejects"
            oracle = "reference"
    else:
        oracle = "reference"
    empty = has_empty_window(xc.shape, k, s, p, d, ceil)
    ri = None
    if oracle == "reference" or empty:
        rv, ri = max_pool_ref(xc, k, s, p, d, ceil)
    if oracle == "reference":
        tv, ti = rv, ri
    elif empty and return_indices:
        ti = ri  # poolnd's documented departure: index -1 (torch: out of range)

    res = fn(x, **args.kw(), return_indices=return_indices)
    if return_indices:
        assert isinstance(res, tuple) and len(res) == 2
        assert_identical(res[0], tv)
        assert_identical(res[1], ti)
    else:
        assert_identical(res, tv)

    if grad and xc.dtype in GRAD_DTYPES:
        out, pullback = poolnd.vjp(fn, x, **args.kw(), return_indices=return_indices)
        values = out[0] if return_indices else out
        g = grad_like(values)
        if ri is None:
            expected = torch_max_grad(xc, nd, args, g)
        else:  # never torch's backward with an empty window: it writes out of bounds
            expected = max_pool_grad_ref(g, ri, xc.shape, nd)
        assert_identical(pullback(g), expected)
    return oracle


def check_avg(x: np.ndarray, nd: int, args: AvgArgs, *, grad: bool = False) -> str:
    """Compare poolnd.functional.avg_pool{nd}d on ``x`` with torch (or the reference).

    Float results are compared bit for bit: poolnd sums in torch's order and accumulator
    type, so they are exactly equal in practice (float16 included: one rounding at the end).
    """
    fn = getattr(poolnd.functional, f"avg_pool{nd}d")
    xc = native(x)
    canon = args.canonical(nd)
    oracle = "torch" if torch_avg_supports(xc.dtype, nd) else "reference"
    if oracle == "torch":
        try:
            expected = torch_avg(xc, nd, args)
        except RuntimeError as exc:
            if nd == 3 and "smaller than kernel size" in str(exc):
                # documented departure: avg_pool3d pools inputs smaller than the kernel when
                # padding makes the output valid, as torch's avg_pool1d/2d do
                oracle = "reference"
                expected = avg_pool_ref(xc, *canon)
            else:
                try:
                    fn(x, **args.kw(nd))
                except ValueError:
                    return "both-reject"
                raise AssertionError(
                    "poolnd accepts avg-pool arguments that torch rejects"
                ) from None
    else:
        expected = avg_pool_ref(xc, *canon)
    assert_identical(fn(x, **args.kw(nd)), expected, max_nan_payloads=False)

    if grad and xc.dtype in GRAD_DTYPES:
        out, pullback = poolnd.vjp(fn, x, **args.kw(nd))
        g = grad_like(out)
        if oracle == "torch":
            eg = torch_avg_grad(xc, nd, args, g)
        else:
            eg = avg_pool_grad_ref(g, xc.shape, *canon)
        assert_identical(pullback(g), eg, max_nan_payloads=False)
    return oracle


# --------------------------------------------------------------------------------------------
# Hypothesis strategies

SPECIAL_FLOATS = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0]


def elements_for(dtype: np.dtype, *, avg: bool = False) -> st.SearchStrategy:
    """Mostly small integers (ties), some specials and arbitrary values of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        width = 8 * dtype.itemsize
        return st.one_of(
            st.integers(-3, 3).map(float),
            st.sampled_from(SPECIAL_FLOATS),
            st.floats(width=width, allow_nan=True, allow_infinity=True),
        )
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    if avg and dtype.itemsize == 8:  # keep int64/uint64 window sums clear of overflow
        lo, hi = max(lo, -(2**40)), min(hi, 2**40)
    return st.one_of(
        st.integers(max(lo, -3), min(hi, 3)),
        st.sampled_from(sorted({lo, hi, lo + 1, hi - 1, 0})),
        st.integers(lo, hi),
    )


@st.composite
def arrays_of(draw, dtype, shape, *, avg: bool = False):
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=elements_for(dtype, avg=avg)))


LAYOUTS = ["c", "fortran", "transposed", "sliced", "negative", "bigendian", "readonly"]


@st.composite
def relayout(draw, a: np.ndarray):
    """The same values as ``a`` in another memory layout / byte order / writeability."""
    kind = draw(st.sampled_from(LAYOUTS))
    if kind == "c":
        out = a.copy()
    elif kind == "fortran":
        out = np.asfortranarray(a)
    elif kind == "transposed":
        perm = draw(st.permutations(range(a.ndim)))
        out = np.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))
    elif kind == "sliced":
        big = np.zeros(tuple(2 * n + 1 for n in a.shape), dtype=a.dtype)
        big[(slice(1, None, 2),) * a.ndim] = a
        out = big[(slice(1, None, 2),) * a.ndim]
    elif kind == "negative":
        rev = (slice(None, None, -1),) * a.ndim
        out = a[rev].copy()[rev]
    elif kind == "bigendian":
        out = a.astype(a.dtype.newbyteorder(">"))
    else:
        out = a.copy()
        out.flags.writeable = False
    assert np.array_equal(out, a, equal_nan=a.dtype.kind == "f")
    return out


def int_arg(draw, values: tuple[int, ...]):
    """One way of spelling a per-dimension int argument: int, tuple, list, 1-list."""
    forms = [tuple(values), list(values)]
    if len(set(values)) == 1:
        forms += [values[0], [values[0]], (values[0],)]
    return draw(st.sampled_from(forms))


@dataclass
class Case:
    nd: int
    shape: tuple[int, ...]
    args: Any


@st.composite
def max_cases(draw, nd: int, *, max_extra: int = 5, batch=(None, 0, 1, 2), channels=3):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(nd))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 3)] * nd))
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    # mostly torch's padding rule (p <= k // 2), sometimes poolnd's wider one
    padding = tuple(
        draw(st.integers(0, k // 2) | st.integers(0, e // 2)) for k, e in zip(kernel, span)
    )
    ceil = draw(st.booleans())
    sizes = tuple(
        max(1, e - 2 * p) + draw(st.integers(0, max_extra)) for e, p in zip(span, padding)
    )
    n = draw(st.sampled_from(batch))
    c = draw(st.integers(1, channels))
    shape = ((n,) if n is not None else ()) + (c, *sizes)
    args = MaxArgs(
        kernel_size=int_arg(draw, kernel),
        stride=None if stride is None else int_arg(draw, stride),
        padding=int_arg(draw, padding),
        dilation=int_arg(draw, dilation),
        ceil_mode=ceil,
    )
    return Case(nd, shape, args)


@st.composite
def avg_cases(draw, nd: int, *, max_extra: int = 5, batch=(None, 0, 1, 2), channels=3):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 3)] * nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil = draw(st.booleans())
    # avg_pool3d: torch also wants every unpadded size >= the kernel; poolnd does not (a
    # documented departure), and check_avg compares such draws with the reference
    sizes = tuple(
        max(1, k - 2 * p) + draw(st.integers(0, max_extra)) for k, p in zip(kernel, padding)
    )
    n = draw(st.sampled_from(batch))
    c = draw(st.integers(1, channels))
    shape = ((n,) if n is not None else ()) + (c, *sizes)
    divisor = None if nd == 1 else draw(st.sampled_from([None, None, 1, 3, -2, 7]))
    args = AvgArgs(
        kernel_size=int_arg(draw, kernel),
        stride=None if stride is None else int_arg(draw, stride),
        padding=int_arg(draw, padding),
        ceil_mode=ceil,
        count_include_pad=draw(st.booleans()),
        divisor_override=divisor,
    )
    return Case(nd, shape, args)


def launched_forms(monkeypatch: Any) -> list[str]:
    """The names of the kernel forms the sliding-window selector launches from now on
    (`poolnd._kernels.launch.Form.name`), appended as each launch is asked for."""
    import poolnd._kernels.sliding as sliding

    names: list[str] = []
    real = sliding.launch
    monkeypatch.setattr(sliding, "launch", lambda form, *a, **k: names.append(form.name)
                        or real(form, *a, **k))
    return names
