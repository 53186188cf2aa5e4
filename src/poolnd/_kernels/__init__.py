"""Compute kernels, kept apart from the API: they see canonical `Window` geometry only.

This module picks the kernel for each call: the compiled Numba kernels (`compiled`) for up
to three spatial dimensions and the dtypes they are built for, otherwise the NumPy strided
passes (`strided`), which serve any rank and dtype. Both give identical results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import Window
from . import strided
from .launch import launch
from .strided import lowest

__all__ = [
    "max_backward",
    "max_forward",
    "min_forward",
    "sum_backward",
    "sum_forward",
    "ufunc_forward",
]

_COMPILED_DTYPES = frozenset(
    np.dtype(t)
    for t in (np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.uint16, np.uint32, np.uint64)
)


def _run(name: str, work: int, total: int, *args: Any) -> None:
    launch("compiled", name, work, total, *args)


# Wider kernels run on the NumPy passes, which visit only the kernel offsets that read the
# input: the compiled kernels keep a table entry per kernel column and scan every kernel
# offset of a window, which for a kernel of 10**9 (with padding pairs) is memory and time
# spent on padding.
_COMPILED_MAX_KERNEL = 1 << 16


def _compiled(win: Window, dtype: np.dtype) -> bool:
    return (win.ndim <= 3 and dtype in _COMPILED_DTYPES
            and max(win.kernel) <= _COMPILED_MAX_KERNEL)


def _geometry(win: Window) -> np.ndarray:
    """``(4, 3)`` int64: kernel, stride, low padding, dilation, padded to three dims."""
    lead = 3 - win.ndim
    rows = (win.kernel, win.stride, tuple(lo for lo, _ in win.pad), win.dilation)
    return np.array([(1,) * lead + r if i != 2 else (0,) * lead + r for i, r in enumerate(rows)],
                    dtype=np.int64)


def _planes(a: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous ``(planes, D, H, W)`` view (or copy) of ``a``."""
    planes = int(np.prod(a.shape[: a.ndim - len(spatial)]))
    return np.ascontiguousarray(a).reshape((planes,) + (1,) * (3 - len(spatial)) + spatial)


def _work(win: Window, planes: int) -> int:
    """Cells visited: outputs times the kernel volume."""
    return planes * int(np.prod(win.out_shape)) * int(np.prod(win.kernel))


def max_forward(
    x: np.ndarray, win: Window, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max over each window of ``x`` (batch axes, then spatial); indices when asked."""
    lead = x.shape[: x.ndim - win.ndim]
    if not _compiled(win, x.dtype) or x.size == 0:
        reducer = strided.MaxReducer(x, win, with_indices)
        strided.reduce_windows(x, win, reducer)
        return reducer.values, reducer.indices
    values = np.empty(lead + win.out_shape, dtype=x.dtype)
    src, dst = _planes(x, win.in_shape), _planes(values, win.out_shape)
    work, rows = _work(win, src.shape[0]), dst.shape[0] * dst.shape[1] * dst.shape[2]
    if with_indices:
        indices = np.empty(values.shape, dtype=np.int64)
        _run("argmax_rows", work, rows, src, dst, _planes(indices, win.out_shape),
             _geometry(win), lowest(x.dtype))
        return values, indices
    _run("max_rows", work, rows, src, dst, _geometry(win), lowest(x.dtype), x.dtype.kind == "f")
    return values, None


# The largest flipped copy `min_forward` makes at once, unless the output is larger still.
_FLIP_BUDGET = 1 << 24


def _flip(a: np.ndarray) -> np.ndarray:
    """An order-reversing bijection: ``-a`` for floats (NaN stays NaN), ``~a`` for integers
    (``-a - 1`` or ``max - a``: no overflow)."""
    return np.negative(a) if a.dtype.kind == "f" else np.invert(a)


def min_forward(
    x: np.ndarray, win: Window, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Min over each window of ``x``: the max of the flipped input, flipped back.

    The first minimum wins ties and NaN propagates, as for max; a window reading no input
    cell gives ``+inf`` (the dtype's maximum for integers) and index -1. The flipped copy is
    made a few planes at a time, so extra memory stays about the output's size.
    """
    lead = x.shape[: x.ndim - win.ndim]
    planes = int(np.prod(lead))
    flat = x.reshape((planes, *x.shape[len(lead):]))
    values = np.empty((planes, *win.out_shape), dtype=x.dtype)
    indices = np.empty(values.shape, dtype=np.int64) if with_indices else None
    plane_bytes = max(1, flat[:1].nbytes)
    step = max(1, max(_FLIP_BUDGET, values.nbytes) // plane_bytes)
    for start in range(0, planes, step):
        part = slice(start, min(start + step, planes))
        v, i = max_forward(_flip(flat[part]), win, with_indices)
        values[part] = _flip(v)
        if indices is not None:
            indices[part] = i
    shape = lead + win.out_shape
    return values.reshape(shape), None if indices is None else indices.reshape(shape)


def ufunc_forward(x: np.ndarray, win: Window, ufunc: np.ufunc) -> np.ndarray:
    """Reduce each window with a binary ufunc from its identity, cells in row-major order;
    padding cells are the identity. The result has the ufunc's dtype for two ``x``."""
    out_dtype = ufunc.resolve_dtypes((x.dtype, x.dtype, None))[-1]
    reducer = strided.UfuncReducer(x, win, ufunc, out_dtype)
    with np.errstate(all="ignore"):
        strided.reduce_windows(x, win, reducer)
    return reducer.total


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """Accumulator of a window sum: float32 for float16/32, int64 (uint64) for integers."""
    if dtype.kind == "f":
        return np.dtype(np.float64 if dtype == np.float64 else np.float32)
    return np.dtype(np.uint64 if dtype == np.uint64 else np.int64)


def _padded3(divisors: list[np.ndarray]) -> list[np.ndarray]:
    one = np.ones(1, dtype=np.int64)
    return [one] * (3 - len(divisors)) + [np.ascontiguousarray(d, dtype=np.int64) for d in divisors]


def _outer(divisors: list[np.ndarray], scale: int) -> np.ndarray:
    div = np.asarray(scale, dtype=np.int64)
    for axis, d in enumerate(divisors):
        shape = [1] * len(divisors)
        shape[axis] = d.size
        div = div * d.reshape(shape)
    return div


def _divide(total: np.ndarray, divisor: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``total / divisor`` cast to ``dtype``; integers truncate toward zero like C++.

    Float results get ``+ 0``: PyTorch adds them into a zeroed output, so a quotient that
    is (or rounds to) ``-0.0`` comes out ``+0.0``.
    """
    div = divisor.astype(total.dtype)
    if dtype.kind == "f":
        out = (total / div).astype(dtype)
        return np.add(out, 0, out=out)
    if total.dtype.kind == "u":
        return (total // div).astype(dtype, copy=False)
    quotient = np.abs(total) // np.abs(div)
    return np.where((total < 0) != (div < 0), -quotient, quotient).astype(dtype, copy=False)


def sum_forward(
    x: np.ndarray,
    win: Window,
    divisors: list[np.ndarray],
    scale: int,
    out_dtype: np.dtype | None = None,
) -> np.ndarray:
    """Each window's sum divided by ``scale`` times the outer product of ``divisors``, in
    ``out_dtype`` (default: the input's). A zero divisor (a window reading no input cell,
    counted without padding) gives NaN for floats and 0 for integers."""
    acc = _sum_dtype(x.dtype)
    dtype = x.dtype if out_dtype is None else np.dtype(out_dtype)
    if not _compiled(win, x.dtype) or acc == np.uint64 or x.size == 0:
        with np.errstate(all="ignore"):  # inf - inf and float16 overflow, as in PyTorch
            reducer = strided.SumReducer(x, win, acc)
            strided.reduce_windows(x, win, reducer)
            return _divide(reducer.total, _outer(divisors, scale), dtype)
    lead = x.shape[: x.ndim - win.ndim]
    out = np.empty(lead + win.out_shape, dtype=dtype)
    src, dst = _planes(x, win.in_shape), _planes(out, win.out_shape)
    _run("sum_rows", _work(win, src.shape[0]), dst.shape[0] * dst.shape[1] * dst.shape[2],
         src, dst, np.zeros(1, acc), acc.kind == "f", _geometry(win), *_padded3(divisors),
         scale)
    return out


def max_backward(g: np.ndarray, indices: np.ndarray, win: Window) -> np.ndarray:
    """Scatter-add each output gradient to the input cell its index names (-1: nowhere)."""
    lead = g.shape[: g.ndim - win.ndim]
    if not _compiled(win, g.dtype) or g.size == 0:
        with np.errstate(all="ignore"):
            return strided.scatter_indices(g, indices, win.in_shape)
    grad = np.empty(lead + win.in_shape, dtype=g.dtype)  # the kernel zeroes each plane
    planes = int(np.prod(lead))
    _run("scatter_argmax", g.size, planes, np.ascontiguousarray(g).reshape(planes, -1),
         np.ascontiguousarray(indices).reshape(planes, -1), grad.reshape(planes, -1))
    return grad


def sum_backward(
    g: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int
) -> np.ndarray:
    """Adjoint of `sum_forward` for floating ``g``: each ``g / divisor`` spread on its window."""
    lead = g.shape[: g.ndim - win.ndim]
    if not _compiled(win, g.dtype) or g.size == 0:
        with np.errstate(all="ignore"):
            delta = (g / _outer(divisors, scale).astype(_sum_dtype(g.dtype))).astype(g.dtype)
            return strided.scatter_passes(delta, win, lead)
    grad = np.empty(lead + win.in_shape, dtype=g.dtype)  # the kernel zeroes each plane
    dst = _planes(grad, win.in_shape)
    _run("scatter_windows", _work(win, dst.shape[0]), dst.shape[0],
         _planes(g, win.out_shape), dst, _geometry(win), *_padded3(divisors), scale)
    return grad
