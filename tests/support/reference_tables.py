"""Slow, obviously-correct references for adaptive and fractional pooling: explicit loops.

Written from PyTorch's rules (``shared/research/pytorch-pooling-semantics.md`` §7-8 and
``AdaptivePooling.h`` / ``FractionalMaxPooling.h``), sharing no code with poolnd. Arrays are
``(*lead, *spatial)`` with ``len(output_size)`` trailing spatial axes; each function loops
over the leading axes plane by plane and over every window cell one at a time.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import ceil, floor

import numpy as np

__all__ = [
    "adaptive_avg_grad_ref",
    "adaptive_avg_ref",
    "adaptive_bounds_ref",
    "adaptive_max_ref",
    "fractional_max_ref",
    "fractional_starts_ref",
    "window_max_ref",
]


def adaptive_bounds_ref(in_len: int, out_len: int) -> list[tuple[int, int]]:
    """``[floor(i * L / O), ceil((i + 1) * L / O))`` per output, with exact fractions."""
    return [
        (floor(Fraction(i * in_len, out_len)), ceil(Fraction((i + 1) * in_len, out_len)))
        for i in range(out_len)
    ]


def window_max_ref(plane: np.ndarray, ranges: list[range]) -> tuple[object, int]:
    """PyTorch's scan of one window: running max from -inf (dtype min for integers), index
    seeded with the window's first cell, replaced when a cell is greater or NaN."""
    floating = plane.dtype.kind == "f"
    best = plane.dtype.type(-np.inf if floating else np.iinfo(plane.dtype).min)
    best_index = int(np.ravel_multi_index(tuple(r[0] for r in ranges), plane.shape))
    for pos in itertools.product(*ranges):
        v = plane[pos]
        if v > best or (floating and np.isnan(v)):
            best, best_index = v, int(np.ravel_multi_index(pos, plane.shape))
    return best, best_index


def _planes(x: np.ndarray, nd: int):
    lead = x.shape[: x.ndim - nd]
    for li in np.ndindex(*lead):
        yield li, x[li]


def adaptive_max_ref(x, output_size):
    """Adaptive max pooling by brute force: ``(values, int64 plane-flat indices)``."""
    x = np.asarray(x)
    nd = len(output_size)
    spatial = x.shape[x.ndim - nd:]
    bounds = [adaptive_bounds_ref(n, o) for n, o in zip(spatial, output_size)]
    shape = x.shape[: x.ndim - nd] + tuple(output_size)
    values = np.empty(shape, dtype=x.dtype)
    indices = np.empty(shape, dtype=np.int64)
    for li, plane in _planes(x, nd):
        for o in np.ndindex(*output_size):
            ranges = [range(*bounds[d][o[d]]) for d in range(nd)]
            values[li + o], indices[li + o] = window_max_ref(plane, ranges)
    return values, indices


def adaptive_avg_ref(x, output_size, acc=None):
    """Adaptive average by brute force: cells summed one at a time in row-major order in
    ``acc`` (float32, float64 for float64 input), then divided by the window's extent in
    each dimension in turn, in ``acc``; one rounding to the input dtype at the end."""
    x = np.asarray(x)
    nd = len(output_size)
    if acc is None:
        acc = np.float64 if x.dtype == np.float64 else np.float32
    spatial = x.shape[x.ndim - nd:]
    bounds = [adaptive_bounds_ref(n, o) for n, o in zip(spatial, output_size)]
    out = np.empty(x.shape[: x.ndim - nd] + tuple(output_size), dtype=x.dtype)
    with np.errstate(all="ignore"):
        for li, plane in _planes(x, nd):
            for o in np.ndindex(*output_size):
                ranges = [range(*bounds[d][o[d]]) for d in range(nd)]
                total = acc(0)
                for pos in itertools.product(*ranges):
                    total = acc(total + acc(plane[pos]))
                for r in ranges:
                    total = acc(total / acc(len(r)))
                out[li + o] = total
    return out


def adaptive_avg_grad_ref(grad_out, in_shape, output_size):
    """Per output in raster order, ``g / k_0 / k_1 / ...`` (in g's dtype) added to each cell
    of its window, in g's dtype."""
    grad_out = np.asarray(grad_out)
    t = grad_out.dtype.type
    nd = len(output_size)
    spatial = tuple(in_shape[len(in_shape) - nd:])
    bounds = [adaptive_bounds_ref(n, o) for n, o in zip(spatial, output_size)]
    grad = np.zeros(tuple(in_shape), dtype=grad_out.dtype)
    with np.errstate(all="ignore"):
        for li in np.ndindex(*in_shape[: len(in_shape) - nd]):
            for o in np.ndindex(*output_size):
                ranges = [range(*bounds[d][o[d]]) for d in range(nd)]
                delta = grad_out[li + o]
                for r in ranges:
                    delta = t(delta / t(len(r)))
                for pos in itertools.product(*ranges):
                    grad[li + pos] = t(grad[li + pos] + delta)
    return grad


def _c_int(v) -> int:
    """C++ ``static_cast<int>`` as x86 computes it: truncation toward zero, and INT_MIN for
    NaN or values out of the int32 range."""
    f = float(v)
    if f != f or not -(2.0**31) < f < 2.0**31:
        return -(2**31)
    return int(f)


def _wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def fractional_starts_ref(u, in_len: int, out_len: int, pool: int) -> list[int]:
    """``generate_intervals`` one scalar operation at a time in ``u``'s NumPy dtype."""
    t = type(u)
    starts = [0] * out_len
    if out_len > 1:
        with np.errstate(all="ignore"):
            alpha = t(t(in_len - pool) / t(out_len - 1))
            for i in range(out_len - 1):
                a = _c_int(t(t(t(i) + u) * alpha))
                b = _c_int(t(u * alpha))
                starts[i] = _wrap32(a - b)
    if out_len > 0:
        starts[-1] = in_len - pool
    return starts


def fractional_max_ref(x, kernel, output_size, samples):
    """Fractional max pooling by brute force. ``samples`` is ``(N or more, C, nd)`` in x's
    dtype; 2d: sample 0 drives the width, 1 the height; 3d: 0 time, 1 height, 2 width.
    ``x`` is ``(N, C, *spatial)``."""
    x = np.asarray(x)
    nd = len(kernel)
    column = (1, 0) if nd == 2 else (0, 1, 2)
    spatial = x.shape[2:]
    shape = x.shape[:2] + tuple(output_size)
    values = np.empty(shape, dtype=x.dtype)
    indices = np.empty(shape, dtype=np.int64)
    for n, c in np.ndindex(*x.shape[:2]):
        starts = [
            fractional_starts_ref(samples[n, c, column[d]], spatial[d], output_size[d], kernel[d])
            for d in range(nd)
        ]
        for o in np.ndindex(*output_size):
            ranges = [range(starts[d][o[d]], starts[d][o[d]] + kernel[d]) for d in range(nd)]
            values[(n, c, *o)], indices[(n, c, *o)] = window_max_ref(x[n, c], ranges)
    return values, indices
