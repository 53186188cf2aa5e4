"""A slow, obvious reference for tests/ops: every window of a call gathered cell by cell."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from poolnd._ops.pooling import sliding_window


def window_of(x: np.ndarray, kwargs: dict, nd: int):
    """poolnd's canonical window of ``pool(x, ..., **kwargs)`` over ``nd`` trailing axes."""
    return sliding_window("pool", x, kwargs, nd)


def gather(x: np.ndarray, win, fill) -> np.ndarray:
    """``(*lead, *out_shape, *kernel)``: each window's cells, those outside ``x`` ``fill``."""
    nd = win.ndim
    lead = x.shape[: x.ndim - nd]
    dtype = np.result_type(x.dtype, np.asarray(fill).dtype) if fill is not None else x.dtype
    out = np.zeros(lead + win.out_shape + win.kernel, dtype=dtype)
    for o in itertools.product(*map(range, win.out_shape)):
        for j in itertools.product(*map(range, win.kernel)):
            pos = [oi * s - lo + ji * d for oi, ji, s, (lo, _), d in
                   zip(o, j, win.stride, win.pad, win.dilation)]
            inside = all(0 <= p < n for p, n in zip(pos, win.in_shape))
            out[(..., *o, *j)] = x[(..., *pos)] if inside else fill
    return out


def inside_cells(x: np.ndarray, win) -> list:
    """Per output (row-major over ``(*lead, *out_shape)``), its window's input cells in
    row-major window order."""
    nd = win.ndim
    lead = x.shape[: x.ndim - nd]
    cells = []
    for b in itertools.product(*map(range, lead)):
        for o in itertools.product(*map(range, win.out_shape)):
            got = []
            for j in itertools.product(*map(range, win.kernel)):
                pos = [oi * s - lo + ji * d for oi, ji, s, (lo, _), d in
                       zip(o, j, win.stride, win.pad, win.dilation)]
                if all(0 <= p < n for p, n in zip(pos, win.in_shape)):
                    got.append(x[(*b, *pos)])
            cells.append(np.array(got, dtype=x.dtype))
    return cells


@st.composite
def geometries(draw, nd: int | None = None, *, max_size: int = 6):
    """``(shape, kwargs)`` of a small ``pool`` call: batch (N, C), any geometry, with
    per-side padding pairs (any size) or PyTorch's ints, ceil mode, channels first."""
    nd = nd or draw(st.integers(1, 2))
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": pads, "dilation": dilation,
              "ceil_mode": draw(st.booleans())}
    shape = (draw(st.integers(1, 2)), 2, *spatial)
    try:
        window_of(np.zeros(shape), kwargs, nd)
    except ValueError:
        assume(False)
    return shape, kwargs
