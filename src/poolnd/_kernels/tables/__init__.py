"""Table-driven windowed reduction: windows listed per output position instead of strided.

Adaptive and fractional pooling put their windows where no affine rule ``o * stride - pad``
does. Here each spatial dimension has a `Table`: for every output position, where its window
starts and how many cells it spans, shared by all planes or given per plane (fractional
pooling draws its windows per ``(n, c)`` plane).

The NumPy reduction makes one pass per kernel offset ``j`` (row-major over the largest
window): each pass gathers ``x`` at ``start + j`` for every output whose window is longer
than ``j`` (`table_passes`), so each window is read in row-major order and the extra memory is
a few output-sized arrays; no window copies of the input are made. Max and sum combine a
pass exactly as `strided.MaxReducer` and `strided.SumReducer` combine a strided pass; the
backward of a windowed sum is `table_scatter`, whose passes hand every input cell its
contributions in output raster order. The compiled kernels (`tables_compiled`, loaded on
first use) serve up to three spatial dimensions in float32 and float64 and give identical
results: row kernels, and plane-minor kernels for many small planes sharing one table (a
network's head). `mean_forward` is the one place where the summation order is free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import _threads as tuning
from ..launch import kernels, launch
from ..sliding import scatter_argmax
from ..sliding.numpy_passes import lowest
from .numpy_passes import (
    Table,
    TablePass,
    _along,
    _as_planes,
    _check_rows,
    _max_numpy,
    _sum_numpy,
    table_passes,
    table_scatter,
)

__all__ = [
    "Table",
    "TablePass",
    "avg_backward",
    "avg_forward",
    "max_backward",
    "max_forward",
    "mean_backward",
    "mean_forward",
    "table_passes",
    "table_scatter",
]

_COMPILED_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


# --------------------------------------------------------------------------------------------
# NumPy reductions


# --------------------------------------------------------------------------------------------
# dispatch: compiled kernels for up to three dimensions, NumPy otherwise


def _compiled(tables: Sequence[Table], dtype: np.dtype) -> Any:
    """The Numba table kernels (`numba_rows`) where they serve these tables and dtype (loaded
    on first use), else None."""
    if len(tables) <= 3 and dtype in _COMPILED_DTYPES:
        return kernels("poolnd._kernels.tables.numba_rows")
    return None


def _padded3(tables: Sequence[Table]) -> list[Table]:
    unit = Table.shared([0], [1], 1)
    return [unit] * (3 - len(tables)) + list(tables)


def _grid(a: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous ``(planes, D, H, W)`` view (or copy) of ``a``."""
    planes = math.prod(a.shape[: a.ndim - len(spatial)])
    return np.ascontiguousarray(a).reshape((planes,) + (1,) * (3 - len(spatial)) + spatial)


def _table_args(tables: Sequence[Table], dtype: np.dtype | None = None) -> list[np.ndarray]:
    """start, size (and size as ``dtype``, the divisors) per dimension, padded to three."""
    args = []
    for t in _padded3(tables):
        args += [np.ascontiguousarray(t.start), np.ascontiguousarray(t.size)]
        if dtype is not None:
            args.append(t.size.astype(dtype))
    return args


def _lanes(tables: Sequence[Table], planes: int, dtype: np.dtype, max_window: float) -> int:
    """Block size for the plane-minor kernels, or 0 for the row kernels: those serve
    per-plane tables, few planes, planes too large for a block to stay in cache, and windows
    of more than ``max_window`` cells on average (the transposes then cost more than the
    vectorised window loops save; measured on 2d cases)."""
    lanes = tuning.LANE_BYTES // dtype.itemsize
    cells = math.prod(t.in_len for t in tables)
    outputs = math.prod(t.out_len for t in tables)
    shared = all(t.rows == 1 for t in tables)
    fits = cells * lanes * dtype.itemsize <= tuning.LANE_BUFFER
    return lanes if shared and planes >= lanes and fits and cells <= max_window * outputs else 0


def _work(tables: Sequence[Table], planes: int) -> int:
    return planes * math.prod(t.out_len for t in tables) * math.prod(
        t.max_size for t in tables
    )


def max_forward(
    x: np.ndarray, tables: Sequence[Table], with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max over each window of ``x`` (lead axes, then one spatial axis per table).

    Returns ``(values, indices)``: values in ``x.dtype``, plane-flat int64 indices of the
    first maximum (NaN counts as greater) when ``with_indices``, else None.
    """
    nd = len(tables)
    lead = x.shape[: x.ndim - nd]
    out_shape = tuple(t.out_len for t in tables)
    planes = math.prod(lead)
    _check_rows(tables, planes)
    if x.size == 0 or 0 in out_shape:
        values = np.empty(lead + out_shape, dtype=x.dtype)
        return values, (np.empty(values.shape, dtype=np.int64) if with_indices else None)
    compiled = _compiled(tables, x.dtype)
    if compiled is not None:
        values = np.empty(lead + out_shape, dtype=x.dtype)
        indices = np.empty(values.shape if with_indices else (1,) * 4, dtype=np.int64)
        src = _grid(x, tuple(t.in_len for t in tables))
        dst = _grid(values, out_shape)
        idx = _grid(indices, out_shape) if with_indices else indices
        args = (src, dst, idx, with_indices, *_table_args(tables), x.dtype.type(lowest(x.dtype)))
        lanes = _lanes(tables, planes, x.dtype, math.inf)
        if lanes:
            ran = launch(compiled.LANES_MAX, _work(tables, planes), -(-planes // lanes), *args,
                         lanes)
        else:
            ran = launch(compiled.TABLE_MAX, _work(tables, planes),
                         dst.shape[0] * dst.shape[1] * dst.shape[2], *args)
        if ran:
            return values, (indices if with_indices else None)
    passes, found = _max_numpy(_as_planes(x, nd), tables, with_indices)
    return passes.reshape(lead + out_shape), (
        None if found is None else found.reshape(lead + out_shape)
    )


def avg_forward(x: np.ndarray, tables: Sequence[Table], acc: np.dtype) -> np.ndarray:
    """Each window's sum (row-major, from zero, in ``acc``) divided by the window's extent in
    each dimension in turn, ``sum / size_0 / size_1 / ...`` in ``acc``; cast to ``x.dtype``.

    The tables must be shared by all planes.
    """
    nd = len(tables)
    acc = np.dtype(acc)
    lead = x.shape[: x.ndim - nd]
    out_shape = tuple(t.out_len for t in tables)
    if x.size == 0 or 0 in out_shape:
        return np.empty(lead + out_shape, dtype=x.dtype)
    compiled = _compiled(tables, x.dtype) if acc == x.dtype else None
    if compiled is not None:
        out = np.empty(lead + out_shape, dtype=x.dtype)
        src = _grid(x, tuple(t.in_len for t in tables))
        dst = _grid(out, out_shape)
        planes = src.shape[0]
        args = (src, dst, np.zeros(1, acc), *_table_args(tables, acc))
        lanes = _lanes(tables, planes, x.dtype, tuning.LANE_AVG_WINDOW)
        if lanes:
            ran = launch(compiled.LANES_AVG, _work(tables, planes), -(-planes // lanes), *args,
                         lanes)
        else:
            ran = launch(compiled.TABLE_AVG, _work(tables, planes),
                         dst.shape[0] * dst.shape[1] * dst.shape[2], *args)
        if ran:
            return out
    with np.errstate(all="ignore"):  # inf - inf, float16 overflow: as in PyTorch
        total = _sum_numpy(_as_planes(x, nd), tables, acc)
        for axis, t in enumerate(tables):
            total /= _along(t.size.astype(acc), axis, nd)
    return total.astype(x.dtype, copy=False).reshape(lead + out_shape)


def avg_backward(g: np.ndarray, tables: Sequence[Table]) -> np.ndarray:
    """Adjoint of `avg_forward` in ``g.dtype``: each output's ``g / size_0 / size_1 / ...``
    (divided in ``g.dtype``) added to every cell of its window, outputs in raster order."""
    nd = len(tables)
    lead = g.shape[: g.ndim - nd]
    in_shape = tuple(t.in_len for t in tables)
    if g.size == 0:
        return np.zeros(lead + in_shape, dtype=g.dtype)
    compiled = _compiled(tables, g.dtype)
    if compiled is not None:
        grad = np.zeros(lead + in_shape, dtype=g.dtype)
        dst = _grid(grad, in_shape)
        if launch(compiled.TABLE_SCATTER, _work(tables, dst.shape[0]), dst.shape[0],
                  _grid(g, g.shape[g.ndim - nd:]), dst, *_table_args(tables, g.dtype)):
            return grad
    delta = _as_planes(g, nd).reshape((-1, *g.shape[g.ndim - nd:])).copy()
    with np.errstate(all="ignore"):
        for axis, t in enumerate(tables):
            delta /= _along(t.size.astype(g.dtype), axis, nd)
        return table_scatter(delta, tables).reshape(lead + in_shape)


def max_backward(g: np.ndarray, indices: np.ndarray, in_shape: tuple[int, ...]) -> np.ndarray:
    """Add each output gradient to the input cell its plane-flat index names, in output
    raster order (the strided kernels' index scatter, which ignores window geometry)."""
    return scatter_argmax(g, indices, tuple(in_shape))


def mean_forward(x: np.ndarray, nd: int, acc: np.dtype) -> np.ndarray:
    """Mean over the trailing ``nd`` axes, summed in ``acc``, divided once, cast to ``x.dtype``.

    PyTorch computes this case (adaptive average pooling to size 1) with ``torch.mean``,
    whose vectorised sum has its own order, so only the accumulator type is fixed here: the
    compiled kernel lets the compiler reorder the sum (vectorised), NumPy sums pairwise.
    Results agree with PyTorch's within float rounding, not bit for bit.
    """
    acc = np.dtype(acc)
    lead = x.shape[: x.ndim - nd]
    count = math.prod(x.shape[x.ndim - nd:])
    if x.size == 0:
        return np.empty(lead, dtype=x.dtype)
    x2 = _as_planes(x, nd)
    if not (nd <= 3 and x.dtype in _COMPILED_DTYPES and acc == x.dtype):
        with np.errstate(all="ignore"):
            total = np.add.reduce(x2, axis=1, dtype=acc)
            return (total / acc.type(count)).astype(x.dtype, copy=False).reshape(lead)
    # compiled even in the background mode's first calls (waiting for it): its sum order
    # is the compiler's, which NumPy's pairwise sum does not give bit for bit
    compiled = kernels("poolnd._kernels.tables.numba_rows")
    out = np.empty(x2.shape[0], dtype=x.dtype)
    launch(compiled.PLANE_MEAN, x.size, x2.shape[0], np.ascontiguousarray(x2), out,
           np.zeros(1, acc), acc.type(count), wait=True)
    return out.reshape(lead)


def mean_backward(g: np.ndarray, in_shape: tuple[int, ...], acc: np.dtype) -> np.ndarray:
    """Adjoint of `mean_forward`: every cell gets ``g / count`` (divided in ``acc``, rounded
    once to ``g.dtype``), as PyTorch's mean backward does."""
    count = math.prod(in_shape)
    with np.errstate(all="ignore"):
        delta = (g.astype(acc) / np.dtype(acc).type(count)).astype(g.dtype)
    target = g.shape + tuple(in_shape)
    return np.array(np.broadcast_to(delta.reshape(g.shape + (1,) * len(in_shape)), target))
