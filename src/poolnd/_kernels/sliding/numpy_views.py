"""NumPy kernel for any reducer: each window seen as one strided view, in blocks of outputs.

A function that reduces over an ``axis=`` tuple (``np.median``, ``np.std``, a user's) cannot be
folded pass by pass as `numpy_passes` folds ufuncs. Here the outputs are cut into blocks (of
planes, then of rows along the first spatial axis); for each block the input cells its
windows read are copied into a small array framed by the padding value, and a zero-copy
strided view of that array, ``(planes, *out_block, *kernel)``, is handed to the function with
``axis`` naming the kernel axes. The function sees every window cell, padding included,
row-major within the window; extra memory is a block, at most about `BLOCK_CELLS` window
cells (plus whatever the function itself allocates for them), never a copy of the input
per kernel offset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from ..._args import Window

__all__ = ["BLOCK_CELLS", "view_forward", "window_blocks"]

# Window cells (outputs times the kernel volume) handed to the reducer at once.
BLOCK_CELLS = 1 << 20

Reduce = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]


def _steps(win: Window, planes: int, budget: int) -> tuple[int, int]:
    """(planes, rows of the first spatial axis) per block, about ``budget`` window cells."""
    row = max(1, math.prod(win.out_shape[1:]) * math.prod(win.kernel))
    rows = win.out_shape[0]
    if row * rows <= budget:
        return max(1, min(planes, budget // (row * rows))), rows
    return 1, max(1, budget // row)


def window_blocks(
    x: np.ndarray, win: Window, fill: object, budget: int | None = None
) -> Iterator[tuple[tuple[slice, slice], np.ndarray]]:
    """``(index, windows)`` per block of outputs of ``x`` (one batch axis, then spatial):
    ``index`` the block's ``(planes, rows)`` slices into the output, ``windows`` a read-only
    ``(planes, *out_block, *kernel)`` view whose cells outside ``x`` hold ``fill``, about
    ``budget`` (default `BLOCK_CELLS`) window cells each.

    Examples
    --------
    >>> from poolnd._args import Window
    >>> win = Window((2,), (2,), (1,), ((1, 0),), (3,), (2,))
    >>> [w.tolist() for _, w in window_blocks(np.array([[1., 2, 3]]), win, -9.)]
    [[[[-9.0, 1.0], [2.0, 3.0]]]]
    """
    nd = win.ndim
    planes = x.shape[0]
    pstep, rstep = _steps(win, planes, BLOCK_CELLS if budget is None else budget)
    for p0 in range(0, planes, pstep):
        p1 = min(p0 + pstep, planes)
        for r0 in range(0, win.out_shape[0], rstep):
            r1 = min(r0 + rstep, win.out_shape[0])
            first = (r0, *(0,) * (nd - 1))
            last = (r1 - 1, *(o - 1 for o in win.out_shape[1:]))
            starts = [f * s - lo for f, s, (lo, _) in zip(first, win.stride, win.pad)]
            stops = [lt * s - lo + (k - 1) * d + 1 for lt, s, (lo, _), k, d in
                     zip(last, win.stride, win.pad, win.kernel, win.dilation)]
            block = np.full((p1 - p0, *(b - a for a, b in zip(starts, stops))), fill, x.dtype)
            src = [slice(max(a, 0), min(b, n)) for a, b, n in zip(starts, stops, win.in_shape)]
            dst = [slice(s.start - a, s.stop - a) for s, a in zip(src, starts)]
            if all(s.stop > s.start for s in src):
                block[(slice(None), *dst)] = x[(slice(p0, p1), *src)]
            st = block.strides
            view = np.lib.stride_tricks.as_strided(
                block,
                shape=(p1 - p0, r1 - r0, *win.out_shape[1:], *win.kernel),
                strides=(st[0], *(st[1 + i] * win.stride[i] for i in range(nd)),
                         *(st[1 + i] * win.dilation[i] for i in range(nd))),
                writeable=False,
            )
            yield (slice(p0, p1), slice(r0, r1)), view


def view_forward(x: np.ndarray, win: Window, reduce: Reduce, fill: object) -> np.ndarray:
    """``reduce(windows, axes)`` over every window of ``x`` (batch axes, then spatial), in
    blocks (`window_blocks`); ``axes`` are the kernel axes of ``windows``. The result has
    the dtype of the first block's; a batch of size 0 asks ``reduce`` of one window of
    ``fill`` for it."""
    lead = x.shape[: x.ndim - win.ndim]
    flat = x.reshape((math.prod(lead), *win.in_shape))
    nd = win.ndim
    axes = tuple(range(1 + nd, 1 + 2 * nd))
    out: np.ndarray | None = None
    for (planes, rows), windows in window_blocks(flat, win, fill):
        part = reduce(windows, axes)
        if out is None:
            out = np.empty((flat.shape[0], *win.out_shape), dtype=part.dtype)
        out[planes, rows] = part
    if out is None:  # no planes
        probe = np.full((1,) * (1 + nd) + win.kernel, fill, dtype=x.dtype)
        out = np.empty((0, *win.out_shape), dtype=reduce(probe, axes).dtype)
    return out.reshape(lead + win.out_shape)
