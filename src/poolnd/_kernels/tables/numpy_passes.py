"""NumPy forms of the table-driven reduction: one pass per kernel offset.

`Table` lists each spatial dimension's windows; `table_passes` walks them one kernel offset at
a time (row-major over the largest window), gathering ``x`` at ``start + j`` for every output
whose window is longer than ``j``, so each window is read in row-major order and the extra
memory is a few output-sized arrays. `table_scatter` is the adjoint of a windowed sum.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..sliding.numpy_passes import lowest

__all__ = ["Table", "TablePass", "table_passes", "table_scatter"]


@dataclass(frozen=True)
class Table:
    """The windows of one spatial dimension.

    Output ``o`` of plane ``p`` reads input cells ``start[p, o] .. start[p, o] + size[p, o] - 1``
    (row 0 for every plane when the table has one row).

    Attributes
    ----------
    start, size : ndarray
        int64 ``(P, out_len)``, ``P`` 1 (shared) or the number of planes; every window lies in
        ``[0, in_len)``.
    in_len : int
        Input length along the dimension.
    """

    start: np.ndarray
    size: np.ndarray
    in_len: int

    @classmethod
    def shared(cls, starts: Sequence[int], sizes: Sequence[int], in_len: int) -> Table:
        """One row of windows used by every plane."""
        return cls(
            np.asarray(starts, dtype=np.int64).reshape(1, -1),
            np.asarray(sizes, dtype=np.int64).reshape(1, -1),
            in_len,
        )

    @property
    def out_len(self) -> int:
        return int(self.start.shape[1])

    @property
    def rows(self) -> int:
        return int(self.start.shape[0])

    @property
    def max_size(self) -> int:
        return int(self.size.max(initial=0))


def _plane_strides(in_shape: tuple[int, ...]) -> list[int]:
    return [int(s) for s in np.cumprod((1, *in_shape[:0:-1]))[::-1]]


def _along(a: np.ndarray, axis: int, nd: int) -> np.ndarray:
    """A table's ``(P, O)`` array shaped ``(P, 1, .., O, .., 1)`` with ``O`` on spatial ``axis``."""
    shape = [a.shape[0]] + [1] * nd
    shape[1 + axis] = a.shape[1]
    return a.reshape(shape)


@dataclass(frozen=True)
class TablePass:
    """One kernel offset: the plane-flat input cell each output reads, and which outputs read.

    ``cell`` is int64 ``(P, *out_shape)``; ``valid`` (same shape, bool) is None when every
    output's window reaches this offset. Cells of outputs that do not read are in bounds
    (their window's first cell), so a gather never needs masking.
    """

    cell: np.ndarray
    valid: np.ndarray | None


def table_passes(tables: Sequence[Table]) -> Iterator[TablePass]:
    """Kernel offsets ``j`` in row-major order, ``0 <= j_d < max size`` in every dimension."""
    nd = len(tables)
    strides = _plane_strides(tuple(t.in_len for t in tables))
    for offset in itertools.product(*(range(t.max_size) for t in tables)):
        cell = np.zeros((1,) * (nd + 1), dtype=np.int64)
        valid = None
        for axis, (t, j, stride) in enumerate(zip(tables, offset, strides)):
            reads = t.size > j
            cell = cell + _along((t.start + np.where(reads, j, 0)) * stride, axis, nd)
            if not reads.all():
                mask = _along(reads, axis, nd)
                valid = mask if valid is None else valid & mask
        yield TablePass(cell, valid)


def _gather(x2: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """``x2[p, cell[p or 0, ...]]`` for every plane ``p`` of ``x2`` (planes, plane size)."""
    if cell.shape[0] == 1:
        return np.take(x2, cell[0], axis=1)
    flat = cell.reshape(cell.shape[0], -1)
    return np.take_along_axis(x2, flat, axis=1).reshape((x2.shape[0], *cell.shape[1:]))


def _as_planes(a: np.ndarray, nd: int) -> np.ndarray:
    """``(planes, prod(spatial))`` view (or copy) of ``a``, spatial axes trailing."""
    lead = a.shape[: a.ndim - nd]
    return a.reshape(math.prod(lead), math.prod(a.shape[a.ndim - nd:]))


def _check_rows(tables: Sequence[Table], planes: int) -> None:
    for t in tables:
        if t.rows not in (1, planes):
            raise ValueError(f"a window table has {t.rows} rows for {planes} planes")


def _max_numpy(
    x2: np.ndarray, tables: Sequence[Table], with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Running maximum per pass: a cell replaces it when greater or NaN (first max wins)."""
    shape = (x2.shape[0], *(t.out_len for t in tables))
    values = np.full(shape, lowest(x2.dtype), dtype=x2.dtype)
    indices = np.full(shape, -1, dtype=np.int64) if with_indices else None
    floating = x2.dtype.kind == "f"
    for pas in table_passes(tables):
        new = _gather(x2, pas.cell)
        take = new > values
        if floating:
            take |= np.isnan(new)
        if indices is not None:
            take |= indices < 0  # a window's first cell always seeds it
        if pas.valid is not None:
            take &= pas.valid
        np.copyto(values, new, where=take)
        if indices is not None:
            np.copyto(indices, np.broadcast_to(pas.cell, shape), where=take)
    return values, indices


def _sum_numpy(x2: np.ndarray, tables: Sequence[Table], acc: np.dtype) -> np.ndarray:
    """Window sums in ``acc``, cells added in row-major order from zero."""
    total = np.zeros((x2.shape[0], *(t.out_len for t in tables)), dtype=acc)
    for pas in table_passes(tables):
        where = True if pas.valid is None else pas.valid
        np.add(total, _gather(x2, pas.cell), out=total, where=where, casting="unsafe")
    return total


def _scatter_groups(t: Table) -> list[tuple[np.ndarray, np.ndarray]]:
    """One dimension's scatter passes: ``(outputs, input cells)``, ordered so that each cell
    receives its outputs in ascending order, and no cell twice in one pass.

    Output ``o`` reaches cell ``start[o] + j``. Starts never decrease with ``o``, so for one
    cell a later output has a smaller ``j``, or the same ``j`` and the same start, where
    ``rank`` (position among outputs sharing its start) orders it: passes run by descending
    ``j``, then ascending ``rank``.
    """
    start, size = t.start[0], t.size[0]
    rank = np.arange(t.out_len) - np.searchsorted(start, start, side="left")
    groups = []
    for j in reversed(range(t.max_size)):
        for r in range(int(rank.max(initial=-1)) + 1):
            outs = np.flatnonzero((size > j) & (rank == r))
            if outs.size:
                groups.append((outs, start[outs] + j))
    return groups


def table_scatter(delta: np.ndarray, tables: Sequence[Table]) -> np.ndarray:
    """Adjoint of the windowed sum over shared tables: add each output value to every cell of
    its window. Each cell receives its contributions in output raster order, accumulated in
    ``delta.dtype``, as PyTorch's backward loops do. ``delta`` is ``(planes, *out_shape)``."""
    nd = len(tables)
    in_shape = tuple(t.in_len for t in tables)
    in_strides = _plane_strides(in_shape)
    out_strides = _plane_strides(tuple(t.out_len for t in tables))
    grad = np.zeros((delta.shape[0], math.prod(in_shape)), dtype=delta.dtype)
    flat = delta.reshape(delta.shape[0], -1)
    for combo in itertools.product(*(_scatter_groups(t) for t in tables)):
        cells = np.zeros((1,) * nd, dtype=np.int64)
        outs = np.zeros((1,) * nd, dtype=np.int64)
        for axis, ((o, c), si, so) in enumerate(zip(combo, in_strides, out_strides)):
            shape = [1] * nd
            shape[axis] = o.size
            cells = cells + (c * si).reshape(shape)
            outs = outs + (o * so).reshape(shape)
        grad[:, cells.ravel()] += flat[:, outs.ravel()]  # distinct cells: no lost updates
    return grad.reshape((delta.shape[0], *in_shape))
