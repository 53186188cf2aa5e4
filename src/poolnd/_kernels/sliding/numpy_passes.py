"""NumPy kernels: the generic windowed reduction as one strided pass per kernel offset.

For each kernel offset (row-major over the window), the outputs whose window reads the
input through that offset form a box, and the input cells they read form a strided box of
the same shape. One vectorised update per offset combines that input view into the output
accumulator, so the work is ``prod(kernel)`` passes over the output and the extra memory is
a few output-sized arrays: no window copies of the input are ever made.

Every op is a `Reducer` over `passes`; the backward of a windowed sum is `scatter_passes`,
the same passes in reverse order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..._args import Window
from ..._geometry import window_bounds

__all__ = [
    "MaxReducer",
    "NanReducer",
    "Pass",
    "SumReducer",
    "UfuncReducer",
    "lowest",
    "passes",
    "reading_offsets",
    "reduce_windows",
    "scatter_indices",
    "scatter_passes",
]


@dataclass(frozen=True)
class Pass:
    """One kernel offset: the output box it feeds and the strided input box it reads."""

    out_index: tuple[Any, ...]  # Ellipsis, then slices
    in_index: tuple[Any, ...]
    in_starts: tuple[int, ...]
    counts: tuple[int, ...]


def reading_offsets(out_len: int, in_len: int, kernel: int, stride: int, pad_lo: int,
                    dilation: int) -> list[int]:
    """The kernel offsets ``j`` (ascending) through which some output reads the input.

    Output ``o`` reads through ``j`` when ``0 <= o * stride - pad_lo + j * dilation < in_len``:
    an interval of ``j`` per output. A kernel longer than the output is walked output by
    output (the union of those intervals), so that a huge kernel reading mostly padding
    costs nothing for its padding offsets.

    Examples
    --------
    >>> reading_offsets(out_len=2, in_len=3, kernel=10**9, stride=10**9, pad_lo=10**9,
    ...                 dilation=1)
    [0, 1, 2]
    >>> reading_offsets(out_len=3, in_len=5, kernel=3, stride=2, pad_lo=1, dilation=1)
    [0, 1, 2]
    """
    if kernel <= out_len:
        return [j for j in range(kernel)
                if window_bounds(out_len, in_len, stride, pad_lo, dilation, j)[1] > 0]
    found: list[int] = []
    for o in range(out_len - 1, -1, -1):  # ascending intervals
        origin = o * stride - pad_lo
        lo = max(0, -(origin // dilation), found[-1] + 1 if found else 0)
        hi = min(kernel - 1, (in_len - 1 - origin) // dilation)
        found.extend(range(lo, hi + 1))
    return found


def passes(win: Window, *, reverse: bool = False) -> Iterator[Pass]:
    """Kernel offsets in row-major window order (or its reverse) that touch the input."""
    offsets = itertools.product(*(
        reading_offsets(o, n, k, s, lo, d)
        for o, n, k, s, (lo, _), d in zip(
            win.out_shape, win.in_shape, win.kernel, win.stride, win.pad, win.dilation
        )
    ))
    if reverse:
        offsets = reversed(list(offsets))  # type: ignore[assignment]  # any iterable
    for offset in offsets:
        bounds = [
            window_bounds(o, n, s, p[0], d, j)
            for o, n, s, p, d, j in zip(
                win.out_shape, win.in_shape, win.stride, win.pad, win.dilation, offset
            )
        ]
        if any(count == 0 for _, count, _ in bounds):
            continue
        yield Pass(
            out_index=(Ellipsis, *(slice(f, f + c) for f, c, _ in bounds)),
            in_index=(Ellipsis, *(
                slice(a, a + (c - 1) * s + 1, s) for (_, c, a), s in zip(bounds, win.stride)
            )),
            in_starts=tuple(a for _, _, a in bounds),
            counts=tuple(c for _, c, _ in bounds),
        )


class Reducer(Protocol):
    """What a windowed reduction does with each pass."""

    def step(self, x: np.ndarray, pas: Pass) -> None: ...


def reduce_windows(x: np.ndarray, win: Window, reducer: Reducer) -> None:
    """Feed every pass of ``win`` over ``x`` (spatial axes trailing) to ``reducer``."""
    for pas in passes(win):
        reducer.step(x, pas)


def _plane_flat_index(win: Window, pas: Pass) -> np.ndarray:
    """Plane-flat input index of every cell a pass reads, shaped like its output box."""
    plane_strides = np.cumprod((1, *win.in_shape[:0:-1]))[::-1]
    flat = np.zeros((), dtype=np.int64)
    for axis, (start, count, step, pstride) in enumerate(
        zip(pas.in_starts, pas.counts, win.stride, plane_strides)
    ):
        shape = [1] * win.ndim
        shape[axis] = count
        positions = np.arange(start, start + count * step, step, dtype=np.int64)
        flat = flat + (positions * int(pstride)).reshape(shape)
    return flat


def lowest(dtype: np.dtype) -> float | int:
    """The identity of max: ``-inf`` for floats, the minimum for integers."""
    return -np.inf if dtype.kind == "f" else int(np.iinfo(dtype).min)


class MaxReducer:
    """Running maximum: a cell replaces it when greater or NaN; first maximum wins ties.

    With ``with_indices`` it also tracks the plane-flat index of the winner; index -1 marks
    a window that read no input cell (its value stays ``lowest``).
    """

    def __init__(self, x: np.ndarray, win: Window, with_indices: bool) -> None:
        shape = x.shape[: x.ndim - win.ndim] + win.out_shape
        self.win = win
        self.values = np.full(shape, lowest(x.dtype), dtype=x.dtype)
        self.indices = np.full(shape, -1, dtype=np.int64) if with_indices else None
        self._float = x.dtype.kind == "f"

    def step(self, x: np.ndarray, pas: Pass) -> None:
        cur = self.values[pas.out_index]
        new = x[pas.in_index]
        take = new > cur
        if self._float:
            take |= np.isnan(new)
        if self.indices is not None:
            idx = self.indices[pas.out_index]
            take |= idx < 0  # a window's first cell always seeds it
            np.copyto(idx, np.broadcast_to(_plane_flat_index(self.win, pas), idx.shape),
                      where=take)
        np.copyto(cur, new, where=take)


class SumReducer:
    """Sequential sum in ``acc_dtype``, window cells added in row-major order from zero."""

    def __init__(self, x: np.ndarray, win: Window, acc_dtype: np.dtype) -> None:
        shape = x.shape[: x.ndim - win.ndim] + win.out_shape
        self.total = np.zeros(shape, dtype=acc_dtype)

    def step(self, x: np.ndarray, pas: Pass) -> None:
        acc = self.total[pas.out_index]
        np.add(acc, x[pas.in_index], out=acc, casting="unsafe")


def identity(ufunc: np.ufunc, dtype: np.dtype) -> np.generic:
    """``ufunc``'s identity as a value of ``dtype``, as ``ufunc.reduce`` of nothing gives it
    (``np.bitwise_and``'s -1 is all ones: 255 for uint8).

    Examples
    --------
    >>> identity(np.bitwise_and, np.dtype(np.uint8))
    np.uint8(255)
    """
    return ufunc.reduce(np.empty(0, dtype), dtype=dtype)


class NanReducer:
    """NaN-skipping window reductions of floating input: ``'nanmax'``/``'nanmin'`` fold
    `np.fmax`/`np.fmin` from NaN (a window without a number stays NaN), ``'nansum'`` adds the
    non-NaN cells in ``acc_dtype`` from zero, ``'nanmean'`` also counts them (``count``)."""

    def __init__(self, x: np.ndarray, win: Window, how: str, acc_dtype: np.dtype) -> None:
        shape = x.shape[: x.ndim - win.ndim] + win.out_shape
        self.how = how
        if how in ("nanmax", "nanmin"):
            self.total = np.full(shape, np.nan, dtype=x.dtype)
            self.fold = np.fmax if how == "nanmax" else np.fmin
        else:
            self.total = np.zeros(shape, dtype=acc_dtype)
        self.count = np.zeros(shape, np.int64) if how == "nanmean" else None

    def step(self, x: np.ndarray, pas: Pass) -> None:
        acc = self.total[pas.out_index]
        new = x[pas.in_index]
        if self.how in ("nanmax", "nanmin"):
            self.fold(acc, new, out=acc)
            return
        missing = np.isnan(new)
        np.add(acc, np.where(missing, 0, new), out=acc, casting="unsafe")
        if self.count is not None:
            count = self.count[pas.out_index]
            np.add(count, ~missing, out=count, casting="unsafe")


class UfuncReducer:
    """Any binary ufunc with an identity, from the identity, cells in row-major order."""

    def __init__(
        self, x: np.ndarray, win: Window, ufunc: np.ufunc, out_dtype: np.dtype
    ) -> None:
        shape = x.shape[: x.ndim - win.ndim] + win.out_shape
        self.total = np.full(shape, identity(ufunc, out_dtype), dtype=out_dtype)
        self.ufunc = ufunc

    def step(self, x: np.ndarray, pas: Pass) -> None:
        acc = self.total[pas.out_index]
        self.ufunc(acc, x[pas.in_index], out=acc, casting="unsafe")


def scatter_passes(values: np.ndarray, win: Window, lead_shape: tuple[int, ...]) -> np.ndarray:
    """Adjoint of the windowed sum: add every output value to each input cell of its window.

    Each input cell receives its contributions in output raster order (offsets in reverse
    row-major order), accumulated in ``values.dtype``, as PyTorch's backward does.
    """
    grad = np.zeros(lead_shape + win.in_shape, dtype=values.dtype)
    for pas in passes(win, reverse=True):
        target = grad[pas.in_index]
        np.add(target, values[pas.out_index], out=target)
    return grad


def scatter_indices(
    grad_out: np.ndarray, indices: np.ndarray, in_shape: tuple[int, ...]
) -> np.ndarray:
    """Add each output gradient to the input cell its plane-flat index names (-1: nowhere).

    Additions run in output raster order within each plane, in ``grad_out.dtype``.
    """
    lead = grad_out.shape[: grad_out.ndim - len(in_shape)]
    plane = int(np.prod(in_shape))
    planes = int(np.prod(lead))
    grad = np.zeros(planes * plane, dtype=grad_out.dtype)
    per_plane = int(np.prod(indices.shape[len(lead):]))
    flat_idx = indices.reshape(planes, per_plane)
    keep = flat_idx >= 0
    base = (np.arange(planes, dtype=np.int64) * plane)[:, None]
    np.add.at(grad, (flat_idx + base)[keep], grad_out.reshape(planes, per_plane)[keep])
    return grad.reshape(lead + in_shape)
