"""ONNX pooling semantics composed from poolnd's own ops (the evaluators behind `run_node`).

Nothing here knows about ``onnx`` protobufs: `poolnd.onnx` reads and checks a node's
attributes and inputs, then calls one evaluator with plain ints and arrays.

Windowed ops (MaxPool, AveragePool, LpPool) share one geometry, `onnx_geometry`: the
spec's padding (explicit ``pads``, or ``auto_pad``), the spec's output size (floor, or ceil
mode, which drops a last window that would start in the end padding from opset 22 on, and
keeps it before), and the padding of one floor-mode poolnd call whose first windows are
exactly the spec's (`Geometry.call_pads`; the result is cropped to the spec's size). The
ceil-mode overhang past the end padding is padding to the poolnd call, so that it never wins
a maximum and adds nothing to a sum; only AveragePool's ``count_include_pad`` divisor must
not count it, and is composed from `poolnd.sum_pool` and the window sizes then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._args import same_pads
from .._geometry import effective_kernel, window_sizes
from .global_pool import global_avg_pool, global_lp_pool, global_max_pool
from .pooling import max_pool
from .reduce import pool, sum_pool
from .unpool import max_unpool1d

__all__ = [
    "Geometry",
    "average_pool",
    "global_pool",
    "lp_pool",
    "max_pool_with_indices",
    "max_unpool",
    "onnx_geometry",
]

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


@dataclass(frozen=True)
class Geometry:
    """Windows of one ONNX pooling node, per spatial dimension.

    Attributes
    ----------
    kernel, strides, dilations : tuple of int
        The node's window.
    pads : tuple of (int, int)
        The spec's padding ``(begin, end)`` (explicit, or resolved from ``auto_pad``).
    out : tuple of int
        The spec's output size (0 in some dimension: an empty output).
    call_pads : tuple of (int, int)
        Padding of a floor-mode poolnd call whose first ``out`` windows are the node's:
        ``pads`` with the end extended by the ceil-mode overhang when there is one.
    """

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    out: tuple[int, ...]
    call_pads: tuple[tuple[int, int], ...]

    @property
    def empty(self) -> bool:
        """Whether some spatial output size is 0."""
        return 0 in self.out

    def crop(self, a: np.ndarray) -> np.ndarray:
        """A poolnd result cut to the spec's output size."""
        crop: tuple[Any, ...] = (..., *(slice(0, o) for o in self.out))
        return a[crop]


def _length(
    n: int, k: int, s: int, d: int, lo: int, hi: int, ceil_mode: bool, drop_last: bool
) -> int:
    """The spec's output size along one dimension for explicit padding ``(lo, hi)``."""
    span = n + lo + hi - effective_kernel(k, d)
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if drop_last and (out - 1) * s >= n + lo:
        out -= 1  # the last window would start in the end padding (opset 22)
    return out


def onnx_geometry(
    op: str,
    in_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    auto_pad: str,
    ceil_mode: bool,
    drop_last: bool,
) -> Geometry:
    """Resolve ``auto_pad`` and compute the spec's output size and the poolnd call's padding.

    ``SAME_UPPER``/``SAME_LOWER`` give ``ceil(n / stride)`` outputs whatever ``ceil_mode``,
    with total padding ``(out - 1) * stride + dilated kernel - n`` (none when that is
    negative), its odd cell at the end (UPPER) or the start (LOWER); ``VALID`` is no
    padding, then the explicit-padding rule (ceil mode included, as onnx's shape inference and
    onnxruntime do). ``drop_last`` is the opset-22 ceil-mode rule.

    Examples
    --------
    >>> g = onnx_geometry("MaxPool", (5,), (2,), (2,), (1,), ((0, 0),), "SAME_LOWER", False,
    ...                   True)
    >>> g.pads, g.out
    (((1, 0),), (3,))
    >>> g = onnx_geometry("MaxPool", (5,), (2,), (2,), (1,), ((0, 0),), "NOTSET", True, True)
    >>> g.out, g.call_pads
    ((3,), ((0, 1),))
    >>> onnx_geometry("MaxPool", (2,), (1,), (2,), (1,), ((0, 0),), "NOTSET", True, False).out
    (2,)
    """
    resolved, out, call = [], [], []
    for i, (n, k, s, d) in enumerate(zip(in_shape, kernel, strides, dilations)):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            lo, hi = same_pads(n, k, s, d, lower=auto_pad == "SAME_LOWER")
            size = -(-n // s)
        else:
            lo, hi = (0, 0) if auto_pad == "VALID" else pads[i]
            size = _length(n, k, s, d, lo, hi, ceil_mode, drop_last)
        if size < 0:
            raise ValueError(
                f"run_node(): {op} input X is too small for its window in spatial dimension {i}: "
                f"size {n} with kernel_shape {k}, strides {s}, dilations {d} and pads "
                f"({lo}, {hi}) gives output size {size}"
            )
        needed_hi = (size - 1) * s + effective_kernel(k, d) - n - lo
        resolved.append((lo, hi))
        out.append(size)
        call.append((lo, max(hi, needed_hi)))
    return Geometry(
        kernel=kernel,
        strides=strides,
        dilations=dilations,
        pads=tuple(resolved),
        out=tuple(out),
        call_pads=tuple(call),
    )


def _empty(x: np.ndarray, g: Geometry, dtype: np.dtype) -> np.ndarray:
    return np.empty(x.shape[:2] + g.out, dtype=dtype)


def global_indices(plane_indices: np.ndarray, in_shape: tuple[int, ...], column_major: bool
                   ) -> np.ndarray:
    """poolnd's per-plane row-major indices as ONNX's: flat over the whole ``(N, C, *spatial)``
    tensor, the spatial part column-major when ``column_major`` (``storage_order=1``).

    -1 (a window of padding only) stays -1.

    Examples
    --------
    >>> idx = np.array([[[[1, 3]]], [[[0, 2]]]])  # N=2, C=1, per-plane indices in a 2x2 plane
    >>> global_indices(idx, (2, 1, 2, 2), column_major=False)[:, 0, 0]
    array([[1, 3],
           [4, 6]])
    >>> global_indices(idx, (2, 1, 2, 2), column_major=True)[:, 0, 0]
    array([[2, 3],
           [4, 5]])
    """
    spatial = in_shape[2:]
    plane = math.prod(spatial)
    missing = plane_indices < 0
    flat = plane_indices
    if column_major:
        coords = np.unravel_index(np.where(missing, 0, plane_indices), spatial)
        flat = np.ravel_multi_index(coords, spatial, order="F")
    n, c = in_shape[:2]
    offsets = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * len(spatial))
    return np.where(missing, np.int64(-1), flat + offsets)


def max_pool_with_indices(
    x: np.ndarray, g: Geometry, with_indices: bool, column_major: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """MaxPool: values and (``with_indices``) ONNX indices.

    A window of padding only (dilation, or a ceil-mode window kept before opset 22) gives
    the dtype's lowest value (-inf for floats) and index -1.
    """
    if g.empty:
        return _empty(x, g, x.dtype), (_empty(x, g, np.dtype(np.int64)) if with_indices else None)
    res = max_pool(x, g.kernel, g.strides, g.call_pads, g.dilations, False, with_indices)
    if not with_indices:
        return g.crop(res), None
    values, indices = res
    return g.crop(values), global_indices(g.crop(indices), x.shape, column_major)


def _padded_counts(x: np.ndarray, g: Geometry) -> np.ndarray:
    """Per output, the window's cells inside the input or its padding (not the ceil-mode
    overhang past the end padding), as an array broadcasting against the output."""
    counts = np.ones((1, 1) + (1,) * len(g.out), dtype=np.int64)
    for axis, (o, n, k, s, (lo, hi), d) in enumerate(
        zip(g.out, x.shape[2:], g.kernel, g.strides, g.pads, g.dilations)
    ):
        shape = [1] * counts.ndim
        shape[2 + axis] = o
        sizes = np.asarray(window_sizes(o, n, k, s, lo, hi, d)[0], dtype=np.int64)
        counts = counts * sizes.reshape(shape)
    return counts


def _accumulator(dtype: np.dtype) -> np.dtype:
    """float64 for float64 input, float32 otherwise (float16 sums accumulate in float32)."""
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


def average_pool(x: np.ndarray, g: Geometry, count_include_pad: bool) -> np.ndarray:
    """AveragePool: the window's sum over its cell count, without or with the padding cells.

    ``count_include_pad`` never counts the ceil-mode overhang past the end padding (as
    onnxruntime and PyTorch). A window without input cells (and, with ``count_include_pad``,
    without padding cells) gives NaN.
    """
    if g.empty:
        return _empty(x, g, x.dtype)
    if not count_include_pad or g.call_pads == g.pads:
        y = pool(x, "mean", g.kernel, g.strides, g.call_pads, g.dilations,
                 count_include_pad=count_include_pad)
        return g.crop(y)
    acc = _accumulator(x.dtype)
    sums = g.crop(sum_pool(x.astype(acc, copy=False), g.kernel, g.strides, g.call_pads,
                           g.dilations))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (sums / _padded_counts(x, g).astype(acc)).astype(x.dtype)


def lp_pool(x: np.ndarray, g: Geometry, p: int | float) -> np.ndarray:
    """LpPool: ``(sum of |x| ** p over the window's input cells) ** (1 / p)``.

    Powers and sums in float32 (float64 for float64 input); padding adds nothing, and so
    does the ceil-mode overhang (onnxruntime's rule; onnx's reference scales partial windows
    by the kernel volume instead).
    """
    if g.empty:
        return _empty(x, g, x.dtype)
    acc = _accumulator(x.dtype)
    with np.errstate(over="ignore"):
        powered = np.power(np.abs(x.astype(acc, copy=False)), acc.type(p))
    sums = g.crop(sum_pool(powered, g.kernel, g.strides, g.call_pads, g.dilations))
    with np.errstate(over="ignore"):
        return np.power(sums, acc.type(1.0 / p)).astype(x.dtype)


def global_pool(op: str, x: np.ndarray, p: int | float = 2) -> np.ndarray:
    """GlobalMaxPool, GlobalAveragePool, GlobalLpPool: every spatial axis kept, of size 1."""
    rank = x.ndim - 2
    if op == "GlobalMaxPool":
        return global_max_pool(x, ndim=rank, keepdims=True)
    if op == "GlobalAveragePool":
        return global_avg_pool(x, ndim=rank, keepdims=True)
    return global_lp_pool(x, float(p), ndim=rank, keepdims=True)


def max_unpool(x: np.ndarray, indices: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    """MaxUnpool: zeros of ``out_shape`` with each ``x`` value at its flat index.

    ONNX's indices are flat over the whole output tensor (N and C included), so the tensor
    is unpooled as one plane by `poolnd.functional.max_unpool1d`: the flattened ``x`` and
    ``indices`` with a window whose default output size is the tensor's size (stride 1,
    kernel ``total - size + 1``, or kernel 1 with end padding ``size - total``). Where
    indices repeat, the last value in row-major order wins. Indices must already be checked
    to lie in ``[0, prod(out_shape))``.
    """
    total, size = math.prod(out_shape), x.size
    if size == 0:
        return np.zeros(out_shape, dtype=x.dtype)
    kernel = max(total - size + 1, 1)
    end_pad = max(size - total, 0)
    flat = max_unpool1d(x.reshape(1, 1, size), indices.reshape(1, 1, size), kernel, 1,
                        ((0, end_pad),))
    return flat.reshape(out_shape)
