"""Compute kernels, kept apart from the API: they see canonical `Window` geometry only.

This module picks the kernel for each call: the compiled Numba kernels (`compiled`) for up
to three spatial dimensions and the dtypes they are built for, otherwise the NumPy strided
passes (`strided`), which serve any rank and dtype. Both give identical results.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from ... import _threads as tuning
from ..._args import Window, is_bfloat16
from ..._geometry import output_band
from ..launch import Form, kernels, launch, prewake, read_only
from . import numpy_passes
from .numpy_passes import lowest
from .numpy_views import Reduce, view_forward

__all__ = [
    "Reduce",
    "lp2_forward",
    "max_backward",
    "max_forward",
    "median_forward",
    "min_forward",
    "nan_forward",
    "pullback_index_dtype",
    "scatter_argmax",
    "sum_backward",
    "sum_forward",
    "ufunc_forward",
    "view_forward",
]

_COMPILED_DTYPES = frozenset(
    np.dtype(t)
    for t in (np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.uint16, np.uint32, np.uint64)
)


def _row_kernels() -> Any:
    """The Numba row kernels (`numba_rows`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_rows")


def _phase_kernels() -> Any:
    """The Numba phase-plane sum kernels (`numba_phases`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_phases")


def _tile_kernels() -> Any:
    """The Numba tile kernels (`numba_tiles`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_tiles")


def _gather_kernels() -> Any:
    """The Numba gathered-window kernels (`numba_gathers`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_gathers")


def _select_kernels() -> Any:
    """The Numba order-statistic kernels (`numba_select`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_select")


def _square_kernels() -> Any:
    """The Numba LP kernels (`numba_squares`), loaded on first use."""
    return kernels("poolnd._kernels.sliding.numba_squares")


def _tiles(win: Window) -> tuple[int, int, int, int] | None:
    """``(kd, kh, kw, lanes)`` when the windows tile the input without overlap, padding,
    dilation or partial windows (the `blocks` kernels' case), else None. A last dimension of
    kernel 1 (a channels-last call's channels) becomes ``lanes`` values per cell."""
    n, lanes = win.ndim, 1
    if n >= 2 and win.in_shape[-1] > 1 and \
            (win.kernel[-1], win.stride[-1], win.dilation[-1], win.pad[-1]) == (1, 1, 1, (0, 0)):
        n, lanes = n - 1, win.in_shape[-1]
    if n > 3 or win.kernel[:n] != win.stride[:n] or set(win.dilation[:n]) != {1} or \
            any(lo or hi for lo, hi in win.pad[:n]) or \
            any(o * k > i for o, k, i in zip(win.out_shape, win.kernel, win.in_shape[:n])):
        return None
    kd, kh, kw = (1,) * (3 - n) + win.kernel[:n]
    return kd, kh, kw, lanes


def _tile_kernel(
    kind: str, tiles: tuple[int, int, int, int], out_w: int, acc: np.dtype | None = None
) -> tuple[Form, tuple[int, ...]]:
    """The `numba_tiles` kernel of ``kind`` (``'max'``, ``'argmax'`` or ``'sum'``) for these
    tiles and its tile parameters: the 2-wide form for tiles two cells wide without lanes
    (no branch on either; for sums, on output rows at most `poolnd._threads.SUM2_MAX_WIDTH`
    wide); for max values and sums in ``acc`` (when given) on rows of at most half a vector
    of outputs, the packed form (`numba_tiles.packs`); else the general one."""
    b = _tile_kernels()
    general, two_wide, packed = {"max": (b.BLOCK_MAX, b.BLOCK_MAX2, b.BLOCK_MAX_PACKED),
                                 "argmax": (b.BLOCK_ARGMAX, b.BLOCK_ARGMAX2, None),
                                 "sum": (b.BLOCK_SUM, b.BLOCK_SUM2, b.BLOCK_SUM_PACKED)}[kind]
    kd, kh, kw, lanes = tiles
    if (kw, lanes) == (2, 1) and (kind != "sum" or out_w <= tuning.SUM2_MAX_WIDTH):
        return two_wide, (kd, kh)
    if packed is not None and acc is not None and b.packs(out_w, acc.itemsize, lanes):
        return packed, tiles
    return general, tiles


def _tile_shape(planes: int, spatial: tuple[int, ...], lanes: int) -> tuple[int, ...]:
    """The ``(planes, D, H, W)`` shape a tiled call reads an array of ``planes`` planes of
    ``spatial`` as: with lanes, the last two axes merged into rows."""
    merged = spatial if lanes == 1 else (*spatial[:-2], spatial[-2] * lanes)
    return (planes,) + (1,) * (3 - len(merged)) + merged


class Plan(NamedTuple):
    """One compiled launch chosen for a window and an input's dtype and shape: called on an
    input of that dtype and shape (any strides), it makes the outputs and runs the launch.
    The op layer keeps plans (`poolnd._ops.plans`), so that a call repeated on arrays of
    one shape skips the checks and the choice. It holds no input or output array."""

    form: Form
    work: int
    items: int
    src: tuple[int, ...]  # the shape the input is read as (`_tile_shape`)
    # each output's shape and dtype, and the shape the kernel writes it as
    outs: tuple[tuple[tuple[int, ...], np.dtype, tuple[int, ...]], ...]
    operands: tuple[Any, ...]  # the kernel's operands after the outputs

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, ...] | None:
        """The outputs of this launch on ``x``; None, running nothing, while the kernel is
        being compiled in the background (`launch`)."""
        prewake(self.work)  # (the helpers wake while the outputs are made)
        outs, views = [], []  # (a loop: a comprehension is a call, dear on a cold cache)
        for shape, dtype, view in self.outs:
            out = np.empty(shape, dtype)
            outs.append(out)
            views.append(out.reshape(view))
        # (a view of this call's own, so made read-only here: `launch` need not make another)
        src = (x if x.flags.c_contiguous else np.ascontiguousarray(x)).reshape(self.src)
        src.flags.writeable = False
        return tuple(outs) if launch(self.form, self.work, self.items, src, *views,
                                     *self.operands) else None


def _plan(
    form: Form, x: np.ndarray, win: Window, dtypes: tuple[DTypeLike, ...],
    operands: tuple[Any, ...], lanes: int = 1, whole_planes: bool = False,
) -> Plan:
    """The `Plan` of ``form`` on ``x`` with outputs of ``dtypes``, the input and outputs
    read as `_tile_shape`'s planes (``lanes`` merged into rows for a tiled call, else whole
    planes, `_planes`); its work items are the output rows, or with ``whole_planes`` the
    planes."""
    shape = x.shape[: x.ndim - win.ndim] + win.out_shape
    planes = math.prod(shape[: len(shape) - win.ndim])
    src, view = _tile_shape(planes, win.in_shape, lanes), _tile_shape(planes, win.out_shape, lanes)
    items = planes if whole_planes else view[0] * view[1] * view[2]
    return Plan(form, _work(win, planes), items, src,
                tuple((shape, np.dtype(d), view) for d in dtypes), operands)


def _compiled(win: Window, dtype: np.dtype) -> bool:
    return (win.ndim <= 3 and dtype in _COMPILED_DTYPES
            and max(win.kernel) <= tuning.COMPILED_MAX_KERNEL)


@functools.lru_cache(maxsize=256)
def _geometry(win: Window) -> np.ndarray:
    """``(4, 3)`` int64: kernel, stride, low padding, dilation, padded to three dims; one
    array for each window, which the kernels only read (remembered: building it is a few
    microseconds, a tenth of a small call's Python steps)."""
    lead = 3 - win.ndim
    rows = (win.kernel, win.stride, tuple(lo for lo, _ in win.pad), win.dilation)
    return np.array([(1,) * lead + r if i != 2 else (0,) * lead + r for i, r in enumerate(rows)],
                    dtype=np.int64)


def _planes(a: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous ``(planes, D, H, W)`` view (or copy) of ``a``."""
    planes = math.prod(a.shape[: a.ndim - len(spatial)])
    return np.ascontiguousarray(a).reshape(_tile_shape(planes, spatial, 1))


def _row_kernel(kind: str, win: Window, floating: bool = True, single: bool = False) -> Form:
    """The row kernel of ``kind`` (``'max'`` or ``'sum'``) for this window. Sums: the 3x3
    kernel for undilated 3x3 windows (depth 1, low column padding under 3) at column stride
    2, and at stride 1 for ``floating`` sums, but where `_phases_over_3x3` says (``single``:
    float32 sums); for ``floating`` sums where `_strided_sums` says, the strided kernel;
    else the phase-plane kernel (`numba_phases`).
    Max: `numba_rows`' one max kernel (`_padded_row_fits` says where it applies)."""
    if kind == "sum":
        if win.ndim >= 2 and win.kernel[-2:] == (3, 3) and win.dilation[-2:] == (1, 1) and \
                (win.ndim == 2 or win.kernel[-3] == 1) and win.pad[-1][0] < 3 and \
                (win.stride[-1] == 2 or (win.stride[-1] == 1 and floating)) and \
                not (single and _phases_over_3x3(win)):
            # (the low padding bounds the stride-1 kernel's padded row copies)
            return _row_kernels().SUM_ROWS_3X3
        if floating and _strided_sums(win):
            return _row_kernels().SUM_STRIDED
        return _phase_kernels().SUM_PHASES
    return _row_kernels().MAX_ROWS


def _rows_over_tiles(
    kind: str, win: Window, tiles: tuple[int, int, int, int], dtype: np.dtype
) -> bool:
    """Whether windows that tile the input (``tiles``, `_tiles`) take the row kernels of
    ``kind`` (``'max'``, without indices, or ``'sum'``) rather than the tile kernels: the
    tile kernels read a window row's cells at the stride, in loops LLVM vectorises only on
    long rows (and, for max, not at all beyond 4 cells), where the row kernels fold whole
    rows first. Max: windows 5 wide or more; 3 wide on output rows of at most 192 bytes; 4
    wide of at most 112. Floating sums: windows 3 wide on output rows of at most 192 bytes
    (the tile sums of windows 5 to 7 wide gather their cells, `numba_registers.ADD_TILES`).
    Windows 2 wide, channels-last tiles, kernels too large to compile and rows the tile
    kernels take several at a time (`numba_tiles.packs`: at most half a vector of outputs)
    stay tiled.

    Measured on the Intel Xeon, two threads, alternated processes (two runs each), the row
    kernels against the tile kernels, float32: max 3 wide 0.59-0.68 of their time on rows
    of 19 to 32 outputs, 0.76 of 40, 0.86 of 48, 1.0 of 56, 1.1 of 64 and 74; 4 wide 0.53
    of 16, 0.90 of 24, 1.2 of 32 and 1.3 of 48; 5 and 7 wide 0.27-0.77 everywhere (rows of
    11 to 1638 outputs); float64, uint8 and int16 alike by bytes. Sums 3 wide 0.64-0.72 on
    rows of 19 and 24 outputs, 0.89 of 48; integer sums (uint8) 1.5 on rows of 48."""
    kw, lanes = tiles[2], tiles[3]
    if lanes != 1 or kw == 2 or not _compiled(win, dtype):
        return False
    acc = _sum_dtype(dtype) if kind == "sum" else dtype
    if _tile_kernels().packs(win.out_shape[-1], acc.itemsize):
        return False
    row_bytes = win.out_shape[-1] * dtype.itemsize
    if kind == "max":
        return kw >= 5 or row_bytes <= (192 if kw == 3 else 112)
    return kw == 3 and dtype.kind == "f" and row_bytes <= 192


def _gathered(win: Window, dtype: np.dtype) -> bool:
    """Whether windows take `numba_gathers`' kernels (a vector of outputs at a time, across
    rows and planes, every kernel cell gathered): on output rows of at most 3 outputs, or 4
    without padding (small planes, large strides or windows). Measured on the Intel Xeon,
    two threads, float32, against the row and phase kernels (`benchmarks/sweep.py --small`,
    alternated processes): 0.10-0.91 of their time there on 32x2048x7x7 and 32x512x14x14
    (a lone output a plane: 0.10-0.50); on rows of 4 with padding 0.58-1.26 (3x3 windows at
    stride 2 with padding 1 0.86-1.21, 7x7 at stride 2 with padding 3 0.97-1.26), and
    slower on the longer rows of stride 1 with padding (1.4-2.7)."""
    widest = 4 if all(lo == hi == 0 for lo, hi in win.pad) else 3
    return _compiled(win, dtype) and win.out_shape[-1] <= widest \
        and max(win.kernel) <= GATHER_MAX_KERNEL


GATHER_MAX_KERNEL = 21  # (`numba_registers.AXIS_BITS`: a window offset's bit a lane)


def _phases_over_3x3(win: Window) -> bool:
    """Whether float32 sums over 3x3 windows at column stride 2 take the phase planes rather
    than the 3x3 kernel: on output rows 18 to 48 wide. Measured on the Intel Xeon, two
    threads, alternated processes (two runs each), the phase planes against the 3x3 kernel
    at stride 2 with padding 1 (without on 57-wide planes): 0.74-0.87 of its time on rows of
    18 outputs, 0.70-0.83 of 20, 0.60-0.72 of 28, 0.55-0.66 of 32, 0.53-0.70 of 36,
    0.60-0.70 of 44; 0.71-1.10 of 50 and 0.78-1.02 of 56, and 1.7-2.1 of 16, where a phase
    row's groups fill less than a vector. Float64 sums stay with the 3x3 kernel (the phase
    planes took 1.09-1.63 of its time on rows of 16 to 50)."""
    return win.stride[-1] == 2 and 18 <= win.out_shape[-1] <= 48


def _strided_sums(win: Window) -> bool:
    """Whether `numba_rows`' strided sums beat the phase planes here: undilated columns at
    stride 3 with windows up to 3 wide, or 4 wide without column padding on output rows of
    32 or more; and windows 2 wide at stride 2. Measured on the Intel Xeon, one thread,
    float32, against the phase planes (with their shuffled stride-3 deal and rows taken in
    order) on 57- and 112-wide rows (8x64x57x57, 1x64x112x112), alternated: the strided sums
    took 0.62-0.77 of their time for windows up to 3 wide at stride 3 and 2 wide at stride 2,
    0.87 for 4 wide without padding on the 112-wide rows; 1.13 on the 57-wide rows and 1.27
    with padding, and 1.04-1.45 for windows 5 to 7 wide (which an earlier version, before
    the deal, gave to the strided sums on long rows without padding). A lone column at
    stride 2 does not vectorise well (1.27-4.2 for wider windows there). Since the phase
    fill's rows are taken in one loop and dealt a whole vector at a time, the phase planes
    take 0.88-1.03 of the strided sums' time on the windows given to them (two runs each,
    one thread, alternated processes): the choice is kept, but no longer saves time."""
    kw, sw = win.kernel[-1], win.stride[-1]
    if win.dilation[-1] != 1 or kw < sw:
        return False
    if sw == 2:
        return kw == 2
    plain, long = win.pad[-1] == (0, 0), win.out_shape[-1] >= 32
    return sw == 3 and (kw <= 3 or (kw == 4 and plain and long))


def _padded_row_fits(win: Window) -> bool:
    """Whether the max kernel's padded row (the cells a row of windows reads, padding
    included) is at most twice the input row plus `poolnd._threads.PADDED_ROW_SLACK`
    cells; where it is not, the argmax kernel gives the values."""
    width = (win.out_shape[-1] - 1) * win.stride[-1] + (win.kernel[-1] - 1) * win.dilation[-1] + 1
    return width <= 2 * win.in_shape[-1] + tuning.PADDED_ROW_SLACK


def _work(win: Window, planes: int) -> int:
    """Cells visited: outputs times the kernel volume."""
    return planes * math.prod(win.out_shape) * math.prod(win.kernel)


def _lanes_last(win: Window, dtype: np.dtype) -> bool:
    """A four-dimensional window whose last dimension is kernel-1 channels (a channels-last
    3d call) over a compiled dtype: `_max_by_depth` serves it with the 3d kernels."""
    return (win.ndim == 4 and win.kernel[-1] == 1 and win.stride[-1] == 1
            and win.pad[-1] == (0, 0) and dtype in _COMPILED_DTYPES)


def _max_by_depth(
    x: np.ndarray, win: Window, with_indices: bool
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Max pooling of ``(N, D, H, W, C)`` in place: every depth slice pooled over ``(H, W, C)``
    by the 3d kernels, then each output's depth window folded over those partial results in
    window order (PyTorch's scan is depth-major, and its take-if-greater-or-NaN fold is
    associative, so values and indices are PyTorch's). Extra memory: the partial results,
    the output's size times the depth stride. None while the fold is being compiled."""
    tile_kernels = _tile_kernels()
    lead = x.shape[: x.ndim - 4]
    n = math.prod(lead)
    d, h, w, c = win.in_shape
    inner = Window(kernel=win.kernel[1:], stride=win.stride[1:], dilation=win.dilation[1:],
                   pad=win.pad[1:], in_shape=win.in_shape[1:], out_shape=win.out_shape[1:])
    part_v, part_i = max_forward(x.reshape((n * d, h, w, c)), inner, with_indices)
    cells = math.prod(inner.out_shape)
    part_v = part_v.reshape((n, d, cells))
    part_i = np.zeros((1, 1, 1), np.int64) if part_i is None else \
        part_i.reshape((n, d, cells))  # flat over (H, W, C), like the window's
    out_d = win.out_shape[0]
    values = np.full((n, out_d, cells), lowest(x.dtype), dtype=x.dtype)
    indices = np.full(values.shape if with_indices else (1, 1, 1), -1, np.int64)
    k, s, (lo, _), dil = win.kernel[0], win.stride[0], win.pad[0], win.dilation[0]
    if not launch(tile_kernels.FOLD_DEPTH, values.size * k, n * out_d, part_v, part_i,
                  values, indices, with_indices, k, s, lo, dil, h * w * c):
        return None
    shape = lead + win.out_shape
    return values.reshape(shape), indices.reshape(shape) if with_indices else None


# the dtype of the indices a max kernel writes: int64, or for a pullback's own use the
# narrowest of int16 and int32 that holds a plane's index (`pullback_index_dtype`)
IndexDtype = type[np.int16] | type[np.int32] | type[np.int64]


def pullback_index_dtype(win: Window) -> IndexDtype:
    """The dtype of the indices a max pooling over ``win`` keeps for its pullback alone:
    int16 where a plane has fewer than 2**15 cells, int32 below 2**31, else int64. The
    forward writes them and the pullback reads them, so the narrower they are, the fewer
    bytes both move (Intel Xeon, 2 threads, interleaved rounds with PyTorch's backward:
    8x256x56x56 3x3 at stride 1, the pullback 5.50 -> 5.10 ms with int16 instead of int32;
    32x128x112x112 2x2, the forward with its indices 23.9 -> 19.2 ms)."""
    cells = math.prod(win.in_shape)
    return np.int16 if cells < 2**15 else np.int32 if cells < 2**31 else np.int64


def max_forward(
    x: np.ndarray, win: Window, with_indices: bool, index_dtype: IndexDtype = np.int64
) -> tuple[np.ndarray, np.ndarray | None]:
    """Max over each window of ``x`` (batch axes, then spatial); indices when asked, int64
    or, for a pullback's own use, `pullback_index_dtype`'s (``index_dtype``). A bool ``x``
    is read as uint8 (the max is the logical or).

    The row and tile kernels write int32 or int16 indices themselves: the pullback's
    scatter then reads a half or a quarter of the index bytes (int32, batch-1 scatter, one
    thread, input out of cache: 0.78-0.80 ms -> 0.62-0.66). The other paths give int64,
    cast here."""
    if x.dtype == np.bool_:
        values, indices = max_forward(x.view(np.uint8), win, with_indices, index_dtype)
        return values.view(np.bool_), indices
    compiled = _max_compiled(x, win, with_indices, index_dtype) if x.size else None
    if compiled is not None:
        return compiled[0], _index_as(compiled[1], index_dtype)
    reducer = numpy_passes.MaxReducer(x, win, with_indices)
    numpy_passes.reduce_windows(x, win, reducer)
    return reducer.values, _index_as(reducer.indices, index_dtype)


def _index_as(indices: np.ndarray | None, dtype: IndexDtype) -> np.ndarray | None:
    """``indices`` in ``dtype`` (no copy when they are in it already)."""
    return None if indices is None else indices.astype(dtype, copy=False)


# The integer dtypes whose max is taken as their sign-flipped partner's, so that the max
# kernels are compiled for four integer dtypes, not eight (each costs about 19 s of
# compiling across its forms): flipping the top bit maps int8 onto uint8 (x + 128), int16
# onto uint16, uint32 onto int32 and uint64 onto int64 preserving order, so the maxima map
# back to the same values and the first maximum of each window is at the same index. One
# more pass over the input, a few planes at a time (`_max_of_mapped`); the partners, the
# dtypes images come in (uint8, uint16) and PyTorch's int64 keep their own kernels.
_ORDER_PARTNERS = {np.dtype(a): np.dtype(b) for a, b in (
    (np.int8, np.uint8), (np.int16, np.uint16), (np.uint32, np.int32), (np.uint64, np.int64))}


def _sign_flipped(a: np.ndarray, to: np.dtype) -> np.ndarray:
    """``a`` with its top bit flipped, as ``to`` (an integer dtype of ``a``'s width)."""
    bits = np.dtype(f"u{a.dtype.itemsize}")
    return np.bitwise_xor(a.view(bits), bits.type(1 << (8 * bits.itemsize - 1))).view(to)


_Pooled = tuple[np.ndarray, np.ndarray | None]
_Band = tuple[slice, slice, Window]


def _bands(win: Window, budget: int, row_bytes: int) -> list[_Band] | None:
    """Bands of output rows along the first spatial axis whose input spans hold about
    ``budget`` bytes (``row_bytes`` an input row's), each as ``(input rows, output rows,
    its window)``; None when a band would read padding alone."""
    k, s, d, (lo, _) = win.kernel[0], win.stride[0], win.dilation[0], win.pad[0]
    rows = max(1, budget // max(1, s * row_bytes))
    bands = []
    for first in range(0, win.out_shape[0], rows):
        stop = min(first + rows, win.out_shape[0])
        span = output_band(first, stop, win.in_shape[0], k, s, lo, d)
        if span is None:
            return None
        start, end, band_lo, band_hi = span
        bands.append((slice(start, end), slice(first, stop), dataclasses.replace(
            win, pad=((band_lo, band_hi), *win.pad[1:]), in_shape=(end - start,
            *win.in_shape[1:]), out_shape=(stop - first, *win.out_shape[1:]))))
    return bands


def _banded(win: Window, budget: int, item_bytes: int) -> list[_Band] | None:
    """`_bands` of a plane worked on in ``item_bytes`` a cell when it holds more than
    ``budget`` bytes, else None (whole planes)."""
    cells = math.prod(win.in_shape)
    if cells * item_bytes <= budget:
        return None
    return _bands(win, budget, cells // max(1, win.in_shape[0]) * item_bytes)


_Part = tuple[slice, slice, slice, Window]


def _parts(planes: int, step: int, bands: list[_Band] | None, win: Window) -> list[_Part]:
    """The parts a mapped copy is made in, each ``(planes, input rows, output rows, its
    window)``: ``step`` whole planes at a time, or with ``bands`` one plane a band of rows
    at a time."""
    if bands is not None:
        return [(slice(p, p + 1), rows_in, rows_out, band) for p in range(planes)
                for rows_in, rows_out, band in bands]
    return [(slice(start, min(start + step, planes)), slice(None), slice(None), win)
            for start in range(0, planes, step)]


def _max_of_mapped(
    x: np.ndarray, win: Window, with_indices: bool,
    mapped: Callable[[np.ndarray], np.ndarray], back: Callable[[np.ndarray], np.ndarray],
    forward: Callable[[np.ndarray, Window, bool], _Pooled | None],
) -> _Pooled | None:
    """``back`` of the max (``forward``) of ``mapped(x)``, an order-preserving or -reversing
    map, made a few planes at a time (a plane larger than the budget a band of output rows
    at a time), so that extra memory stays about the output's size;
    None if ``forward`` gives None for any part."""
    lead = x.shape[: x.ndim - win.ndim]
    planes = math.prod(lead)
    flat = x.reshape((planes, *x.shape[len(lead):]))
    values = np.empty((planes, *win.out_shape), dtype=x.dtype)
    indices = np.empty(values.shape, dtype=np.int64) if with_indices else None
    budget = max(tuning.FLIP_BUDGET, values.nbytes)
    step = max(1, budget // max(1, flat[:1].nbytes))
    parts = _parts(planes, step, _banded(win, budget, x.dtype.itemsize), win)
    shift = math.prod(win.in_shape[1:])  # a band's indices count from its first input row
    for part, rows_in, rows_out, band in parts:
        got = forward(mapped(flat[part, rows_in]), band, with_indices)
        if got is None:
            return None
        values[part, rows_out] = back(got[0])
        if indices is not None:
            assert got[1] is not None  # asked for with_indices
            first = (rows_in.start or 0) * shift
            indices[part, rows_out] = got[1] if not first else \
                np.where(got[1] >= 0, got[1] + first, got[1])
    shape = lead + win.out_shape
    return values.reshape(shape), None if indices is None else indices.reshape(shape)


def _max_compiled(
    x: np.ndarray, win: Window, with_indices: bool, index_dtype: IndexDtype = np.int64
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """`max_forward` of a non-empty ``x`` by a compiled kernel, or None where none applies
    or it is not compiled yet; the row and tile kernels write ``index_dtype`` indices, the
    others int64."""
    tiles = _tiles(win)
    partner = _ORDER_PARTNERS.get(x.dtype)
    if partner is not None:
        if tiles is None and not _lanes_last(win, partner) and not _compiled(win, partner):
            return None
        return _max_of_mapped(x, win, with_indices, lambda a: _sign_flipped(a, partner),
                              lambda a: _sign_flipped(a, x.dtype), _max_compiled)
    if tiles is None and _lanes_last(win, x.dtype):
        return _max_by_depth(np.ascontiguousarray(x), win, with_indices)
    plan = max_plan(x, win, with_indices, index_dtype)
    got = None if plan is None else plan(x)
    if got is None:
        return None
    return got[0], got[1] if with_indices else None


def max_plan(
    x: np.ndarray, win: Window, with_indices: bool, index_dtype: IndexDtype = np.int64
) -> Plan | None:
    """The `Plan` of `max_forward` where one launch of a tile or row kernel on ``x`` itself
    gives it (its outputs: the values, then the indices when it writes them), else None.
    Its indices are ``index_dtype``; an argmax kernel writes them even without
    ``with_indices``."""
    if x.dtype not in _COMPILED_DTYPES or x.dtype in _ORDER_PARTNERS or x.size == 0:
        return None
    tiles = _tiles(win)
    if tiles is not None and not with_indices and _rows_over_tiles("max", win, tiles, x.dtype):
        tiles = None
    if tiles is not None:
        form, params = _tile_kernel("argmax" if with_indices else "max", tiles,
                                    win.out_shape[-1], x.dtype)
        dtypes = (x.dtype, index_dtype) if with_indices else (x.dtype,)
        return _plan(form, x, win, dtypes, params, lanes=tiles[3])
    if _lanes_last(win, x.dtype) or not _compiled(win, x.dtype):
        return None
    rows_kernels = _row_kernels()
    if with_indices or not _padded_row_fits(win):
        if math.prod(min(k, i) for k, i in zip(win.kernel[:-1], win.in_shape[:-1])) \
                >= rows_kernels.ARGMAX_MAX_ROWS:  # more window rows than its cell codes hold
            return None
        return _plan(rows_kernels.ARGMAX_ROWS, x, win, (x.dtype, index_dtype),
                     (_geometry(win), lowest(x.dtype)))
    operands = (_geometry(win), lowest(x.dtype), x.dtype.kind == "f")
    if _plane_3x3(win):  # whole planes a loop (`max_plane_3x3`)
        return _plan(rows_kernels.MAX_PLANE_3X3, x, win, (x.dtype,), operands,
                     whole_planes=True)
    if _gathered(win, x.dtype):
        return _plan(_gather_kernels().GATHER_MAX, x, win, (x.dtype,), operands)
    return _plan(_row_kernel("max", win), x, win, (x.dtype,), operands)


def _plane_3x3(win: Window) -> bool:
    """Whether max values of ``win`` take `max_plane_3x3`: 2d 3x3 windows at stride 1 with
    padding 1 on every side, undilated, on planes of at least 3x3 cells."""
    return win.ndim == 2 and win.kernel == (3, 3) and win.stride == (1, 1) and \
        win.dilation == (1, 1) and win.pad == ((1, 1), (1, 1)) and min(win.in_shape) >= 3 and \
        win.out_shape == win.in_shape


def _flip(a: np.ndarray) -> np.ndarray:
    """An order-reversing bijection: ``-a`` for floats (NaN stays NaN), ``~a`` for integers
    (``-a - 1`` or ``max - a``: no overflow)."""
    return np.negative(a) if a.dtype.kind == "f" else np.invert(a)


def min_forward(
    x: np.ndarray, win: Window, with_indices: bool, index_dtype: IndexDtype = np.int64
) -> tuple[np.ndarray, np.ndarray | None]:
    """Min over each window of ``x``: the max of the flipped input, flipped back.

    The first minimum wins ties and NaN propagates, as for max; a window reading no input
    cell gives ``+inf`` (the dtype's maximum for integers) and index -1. The flipped copy is
    made a few planes (or rows of one large plane) at a time, so extra memory stays about
    the output's size. A bool ``x`` is read as uint8 (the min is the logical and).
    """
    if x.dtype == np.bool_:
        values, indices = min_forward(x.view(np.uint8), win, with_indices, index_dtype)
        return values.view(np.bool_), indices
    got = _max_of_mapped(x, win, with_indices, _flip, _flip, max_forward)
    assert got is not None  # max_forward always answers
    return got[0], _index_as(got[1], index_dtype)


def ufunc_forward(x: np.ndarray, win: Window, ufunc: np.ufunc) -> np.ndarray:
    """Reduce each window with a binary ufunc from its identity, cells in row-major order;
    padding cells are the identity. The result has the ufunc's dtype for two ``x``."""
    out_dtype = ufunc.resolve_dtypes((x.dtype, x.dtype, None))[-1]
    reducer = numpy_passes.UfuncReducer(x, win, ufunc, out_dtype)
    with np.errstate(all="ignore"):
        numpy_passes.reduce_windows(x, win, reducer)
    return reducer.total


def median_forward(x: np.ndarray, win: Window, reduce: Reduce, fill: Any) -> np.ndarray:
    """``np.median`` over each window of ``x`` (batch axes, then spatial), cells outside
    ``x`` being ``fill``: by `numba_select` for float32/float64 ``x``, up to three spatial
    dimensions (channels-last ones included) and windows of at most
    `poolnd._threads.MEDIAN_NETWORK_MAX` cells, else by `view_forward` with ``reduce``, the
    ops' call of ``np.median``. The same bits either way."""
    out = _median_compiled(x, win, fill)
    return view_forward(x, win, reduce, fill) if out is None else out


def _median_compiled(x: np.ndarray, win: Window, fill: Any) -> np.ndarray | None:
    """`median_forward` by the compiled kernel, or None where it does not apply (dtype,
    rank, windows of more than `poolnd._threads.MEDIAN_NETWORK_MAX` cells, where NumPy's
    partition is as fast; an empty input; NaNs of several bit patterns) or is not compiled
    yet."""
    if x.dtype not in (np.float32, np.float64) or x.size == 0 or \
            math.prod(win.kernel) > tuning.MEDIAN_NETWORK_MAX or not _one_nan(x, fill):
        return None
    if _lanes_last(win, x.dtype):
        # (N, D, H, W, C): the channels moved before the spatial axes, pooled as planes
        inner = Window(kernel=win.kernel[:3], stride=win.stride[:3],
                       dilation=win.dilation[:3], pad=win.pad[:3], in_shape=win.in_shape[:3],
                       out_shape=win.out_shape[:3])
        out = _median_compiled(np.moveaxis(x, -1, -4), inner, fill)
        return None if out is None else np.ascontiguousarray(np.moveaxis(out, -4, -1))
    if win.ndim > 3:
        return None
    lead = x.shape[: x.ndim - win.ndim]
    out = np.empty(lead + win.out_shape, dtype=x.dtype)
    src, dst = _planes(x, win.in_shape), _planes(out, win.out_shape)
    ran = launch(_select_kernels().MEDIAN_ROWS, _work(win, src.shape[0]),
                 dst.shape[0] * dst.shape[1] * dst.shape[2], src, dst, _geometry(win),
                 x.dtype.type(fill), min(tuning.MEDIAN_LANES, win.out_shape[-1]))
    return out if ran else None


def _one_nan(x: np.ndarray, fill: Any) -> bool:
    """Whether every NaN among the cells of floating ``x`` and ``fill`` has the same bits
    (``np.median`` gives whichever NaN its partition puts last, the kernel any NaN of the
    window)."""
    bits = np.dtype(f"u{x.dtype.itemsize}")
    seen = np.asarray(fill, x.dtype).reshape(1).view(bits) if np.isnan(fill) else None
    if not np.isnan(x.max()):
        return True
    nans = x.view(bits)[np.isnan(x)]
    first = nans[:1] if seen is None else seen
    return bool(np.all(nans == first))


def nan_forward(
    x: np.ndarray, win: Window, how: str, pad: tuple[Any, np.ndarray] | None = None
) -> np.ndarray:
    """``'nanmax'``, ``'nanmin'``, ``'nansum'`` or ``'nanmean'`` over each window of floating
    ``x``, NaN cells skipped (padding adds nothing): one strided pass per kernel offset, extra
    memory a few output-sized arrays. A window without a number gives NaN (0 for
    ``'nansum'``); sums accumulate as `sum_forward`'s, results in ``x``'s dtype. ``pad``,
    ``(value, outside)``, adds ``outside`` (per output) cells of a number ``value`` to the
    sums and counts (the max and min take it afterwards)."""
    acc = _sum_dtype(x.dtype)
    reducer = numpy_passes.NanReducer(x, win, how, acc)
    with np.errstate(all="ignore"):
        numpy_passes.reduce_windows(x, win, reducer)
        if how in ("nanmax", "nanmin"):
            return reducer.total
        if pad is not None:
            value, outside = pad
            reducer.total += (outside * acc.type(value)).astype(acc)
            if reducer.count is not None:
                reducer.count += outside
        if reducer.count is None:
            return reducer.total.astype(x.dtype)
        return (reducer.total / reducer.count.astype(acc)).astype(x.dtype)


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """Accumulator of a window sum: float32 for float16/32, int64 (uint64) for integers."""
    if dtype.kind == "f":
        return np.dtype(np.float64 if dtype == np.float64 else np.float32)
    return np.dtype(np.uint64 if dtype == np.uint64 else np.int64)


_ONE = read_only(np.ones(1, dtype=np.int64))


def _padded3(divisors: list[np.ndarray]) -> list[np.ndarray]:
    """The per-axis divisors, int64 and contiguous, padded with ones to three axes; always
    read-only: Numba compiles a read-only array type apart from a writable one, and the
    divisors come either way (`window_sizes` caches read-only arrays), so a mix would
    compile a kernel up to three times per dtype."""
    return [_ONE] * (3 - len(divisors)) + [
        read_only(np.ascontiguousarray(d, dtype=np.int64)) for d in divisors]


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


def _sum_plans(
    x: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int, dtype: np.dtype
) -> Iterator[Plan]:
    """The `Plan`\\ s that give `sum_forward` of ``x`` (a dtype it sums without widening) in
    one launch, in the order to try them (while one is being compiled in the background,
    the next may run), each built only when asked for: the tile kernels' where the windows
    tile the input, every window has one divisor and `_rows_over_tiles` does not say
    otherwise, then the row kernels'."""
    acc = _sum_dtype(x.dtype)
    if acc == np.uint64 or x.size == 0 or x.dtype not in _COMPILED_DTYPES:
        return
    tiles = _tiles(win)
    if tiles is not None and _rows_over_tiles("sum", win, tiles, x.dtype):
        tiles = None
    if tiles is not None and all(np.all(d == d[0]) for d in divisors):
        form, params = _tile_kernel("sum", tiles, win.out_shape[-1], acc)
        divisor = scale * math.prod(int(d[0]) for d in divisors)
        yield _plan(form, x, win, (dtype,), (
            np.zeros(1, acc), acc.kind == "f", np.array([divisor], acc), *params), lanes=tiles[3])
    if _gathered(win, x.dtype):
        yield _plan(_gather_kernels().GATHER_SUM, x, win, (dtype,), (
            np.zeros(1, acc), acc.kind == "f", _geometry(win), *_padded3(divisors), scale))
    if _compiled(win, x.dtype):
        yield _plan(_row_kernel("sum", win, acc.kind == "f", acc == np.float32), x, win, (dtype,), (
            np.zeros(1, acc), acc.kind == "f", _geometry(win), *_padded3(divisors), scale))


def sum_plan(
    x: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int, dtype: np.dtype
) -> Plan | None:
    """The first of `_sum_plans` (one output: the sums divided, in ``dtype``), or None where
    `sum_forward` takes another path (bool, a widened dtype, uint64 sums, no compiled
    kernel)."""
    if x.dtype == np.bool_ or (x.dtype in _SUM_WIDER and dtype.kind in "iu"):
        return None
    return next(_sum_plans(x, win, divisors, scale, dtype), None)


def lp2_forward(x: np.ndarray, win: Window) -> np.ndarray | None:
    """``sqrt(sum_forward(x * x) * K)`` for float32/float64 ``x`` over windows that tile it
    (``K`` the kernel volume, the sum divided by ``K``), by `squares.lp2_tiles` in one pass,
    or None where the tile kernels do not apply or are not compiled yet. The same bits as
    the separate passes."""
    tiles = _tiles(win)
    if tiles is None or x.dtype not in (np.float32, np.float64) or x.size == 0:
        return None
    two_wide = _tile_kernel("sum", tiles, win.out_shape[-1])[0] is _tile_kernels().BLOCK_SUM2
    got = _plan(_square_kernels().LP2_TILES, x, win, (x.dtype,), (two_wide, *tiles),
                lanes=tiles[3])(x)
    return None if got is None else got[0]


# The integer dtypes whose window sums are taken in a wider one, so that the sum kernels are
# compiled for four integer input dtypes (uint8, uint16, int16, int64), not seven (uint64
# sums take the NumPy passes; each input dtype costs about 10 s of compiling across its
# forms, and a few more with a widened output): int8 widens to int16, int32 and uint32 to
# int64, a few planes at a time (`_sum_of_widened`). The sums
# are the same integers (every sum is taken in int64 anyway), and the quotient is cast to
# the output dtype the same way (keeping its low bits, as the kernels' own cast).
_SUM_WIDER = {np.dtype(a): np.dtype(b) for a, b in (
    (np.int8, np.int16), (np.int32, np.int64), (np.uint32, np.int64))}


def _sum_of_widened(
    x: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int, dtype: np.dtype
) -> np.ndarray:
    """`sum_forward` of ``x`` (a `_SUM_WIDER` dtype) in ``dtype``, each few planes widened
    first, so that extra memory stays about the output's size."""
    wide = _SUM_WIDER[x.dtype]
    # the kernel writes the wide dtype for an output in the input's dtype, else int64 (an
    # unsigned sum's uint64 holds the same bits)
    kernel_dtype = wide if dtype == x.dtype else np.dtype(np.int64)
    lead = x.shape[: x.ndim - win.ndim]
    planes = math.prod(lead)
    out_bytes = planes * math.prod(win.out_shape) * dtype.itemsize
    budget = max(tuning.FLIP_BUDGET, out_bytes)
    step = max(1, budget // max(1, x.nbytes // planes))
    flat = x.reshape((planes, *x.shape[len(lead):]))
    bands = _banded(win, budget, wide.itemsize)
    if bands is None and step >= planes:  # one part: no copy of the output
        whole = sum_forward(x.astype(wide), win, divisors, scale, kernel_dtype)
        return whole.view(dtype) if dtype.itemsize == 8 else whole.astype(dtype)
    out = np.empty((planes, *win.out_shape), dtype=dtype)
    for part, rows_in, rows_out, band in _parts(planes, step, bands, win):
        band_divisors = [divisors[0][rows_out], *divisors[1:]]
        np.copyto(out[part, rows_out], sum_forward(flat[part, rows_in].astype(wide), band,
                                                   band_divisors, scale, kernel_dtype),
                  casting="unsafe")
    return out.reshape(lead + win.out_shape)


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
    if x.dtype == np.bool_:
        x = x.view(np.uint8)
    dtype = x.dtype if out_dtype is None else np.dtype(out_dtype)
    if x.dtype in _SUM_WIDER and dtype.kind in "iu" and x.size:
        return _sum_of_widened(x, win, divisors, scale, dtype)
    for plan in _sum_plans(x, win, divisors, scale, dtype):
        got = plan(x)
        if got is not None:
            return got[0]
    acc = _sum_dtype(x.dtype)
    with np.errstate(all="ignore"):  # inf - inf and float16 overflow, as in PyTorch
        reducer = numpy_passes.SumReducer(x, win, acc)
        numpy_passes.reduce_windows(x, win, reducer)
        return _divide(reducer.total, _outer(divisors, scale), dtype)


def _zero_tails(grad: np.ndarray, win: Window) -> None:
    """Zero the input rows (and planes) past the last tile, which the tile kernels leave."""
    nd = win.ndim
    for axis in range(nd - 1):  # every spatial axis but the last, which the kernels finish
        covered = win.out_shape[axis] * win.kernel[axis]
        if covered < win.in_shape[axis]:
            index = [slice(None)] * grad.ndim
            index[grad.ndim - nd + axis] = slice(covered, None)
            grad[tuple(index)] = 0


def max_backward(g: np.ndarray, indices: np.ndarray, win: Window) -> np.ndarray:
    """Add each output gradient of a max pooling over ``win`` to the input cell its index
    names (-1: nowhere), in output raster order: at stride 1 as a gather over each cell's
    windows (`_gather_offsets`), else as `scatter_argmax`."""
    offsets = _gather_offsets(win)
    if offsets is not None and g.dtype in _COMPILED_DTYPES and g.size:
        # work: each input cell visited once an offset (the helpers wake meanwhile)
        work = _cells(g, win.in_shape) * len(offsets)
        prewake(work)
        grad, g2, idx, grad2 = _selected_planes(g, indices, win.in_shape)
        if launch(_row_kernels().GATHER_ARGMAX, work, g2.shape[0], g2,
                  idx, grad2, np.zeros(1, g.dtype), offsets,
                  np.arange(grad2.shape[1], dtype=idx.dtype)):
            return grad
    return scatter_argmax(g, indices, win.in_shape)


def scatter_argmax(g: np.ndarray, indices: np.ndarray, in_shape: tuple[int, ...]) -> np.ndarray:
    """Scatter-add each output gradient to the input cell its plane-flat index names (-1:
    nowhere), in output raster order, whatever windows chose the indices (adaptive and
    fractional max pooling use it too): ``(*lead, *in_shape)`` zeros, then the additions."""
    if g.dtype in _COMPILED_DTYPES and g.size:  # the scatter is flat: any rank
        # work: the outputs scattered and the input cells zeroed
        work = g.size + _cells(g, in_shape)
        prewake(work)
        grad, g2, idx, grad2 = _selected_planes(g, indices, in_shape)
        if launch(_row_kernels().SCATTER_ARGMAX, work, g2.shape[0], g2, idx, grad2):
            return grad
    with np.errstate(all="ignore"):
        return numpy_passes.scatter_indices(g, indices, tuple(in_shape))


def _cells(g: np.ndarray, in_shape: tuple[int, ...]) -> int:
    """The cells of the input gradient of ``g`` (its leading axes, planes of ``in_shape``)."""
    return math.prod(g.shape[: g.ndim - len(in_shape)]) * math.prod(in_shape)


def _selected_planes(
    g: np.ndarray, indices: np.ndarray, in_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The operands of a selecting op's pullback kernel: ``(grad, g, indices, grad)``, the
    input gradient ``(*lead, *in_shape)`` (uninitialised: the kernels zero each plane)
    followed by ``g``, ``indices`` and that gradient as contiguous ``(planes, cells)``."""
    lead = g.shape[: g.ndim - len(in_shape)]
    planes = math.prod(lead)
    grad = np.empty(lead + tuple(in_shape), dtype=g.dtype)
    return (grad, np.ascontiguousarray(g).reshape(planes, -1),
            np.ascontiguousarray(indices).reshape(planes, -1), grad.reshape(planes, -1))


def _gather_offsets(win: Window) -> np.ndarray | None:
    """The plane-flat offsets ``d`` (ascending) from an input cell ``c`` to the outputs
    ``c + d`` whose windows may hold it, where the max backward gathers
    (`numba_rows.gather_argmax`): stride 1 and no dilation, output sizes equal to the
    input's after the first spatial axis (so outputs and cells share a grid), kernels no
    wider than the input there, and at most `poolnd._threads.GATHER_MAX_CELLS` cells a
    window; else None (the scatter)."""
    if set(win.stride) != {1} or set(win.dilation) != {1} or \
            win.out_shape[1:] != win.in_shape[1:] or \
            any(k > n for k, n in zip(win.kernel[1:], win.in_shape[1:])) or \
            math.prod(win.kernel) > tuning.GATHER_MAX_CELLS:
        return None
    steps = [math.prod(win.in_shape[i + 1:]) for i in range(win.ndim)]
    offsets = [sum((lo - a) * step for a, (lo, _), step in zip(cell, win.pad, steps))
               for cell in itertools.product(*(range(k - 1, -1, -1) for k in win.kernel))]
    return np.array(offsets, dtype=np.int64)


def sum_backward(
    g: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int
) -> np.ndarray:
    """Adjoint of `sum_forward` for floating ``g``: each ``g / divisor`` spread on its window.

    Float16 and bfloat16 ``g`` take the NumPy passes, which add in ``g.dtype`` (each
    addition rounded, cells receiving their terms in output raster order, as PyTorch)."""
    lead = g.shape[: g.ndim - win.ndim]
    if _compiled(win, g.dtype) and g.size:
        compiled = _sum_backward_compiled(g, win, divisors, scale, lead)
        if compiled is not None:
            return compiled
    shares = _outer(divisors, scale)
    if is_bfloat16(g.dtype):  # C++'s BFloat16 / int64_t converts the int to bfloat16
        with np.errstate(all="ignore"):
            wide = g.astype(np.float32) / shares.astype(g.dtype).astype(np.float32)
        return numpy_passes.scatter_passes(wide.astype(g.dtype), win, lead)
    with np.errstate(all="ignore"):
        delta = (g / shares.astype(_sum_dtype(g.dtype))).astype(g.dtype)
        return numpy_passes.scatter_passes(delta, win, lead)


def _sum_backward_compiled(
    g: np.ndarray, win: Window, divisors: list[np.ndarray], scale: int, lead: tuple[int, ...]
) -> np.ndarray | None:
    """`sum_backward` by a compiled kernel, or None while it is not compiled yet."""
    tiles = _tiles(win)
    if tiles is not None and (tiles[3] != 1 or not all(np.all(d == d[0]) for d in divisors)):
        tiles = None  # (the spread takes tilings of one divisor, without lanes)
    # work: each input cell written once (the spread), else the windows' cell visits
    work = _cells(g, win.in_shape) if tiles is not None else _work(win, math.prod(lead))
    prewake(work)
    grad = np.empty(lead + win.in_shape, dtype=g.dtype)  # the kernel zeroes each plane
    dst = _planes(grad, win.in_shape)
    if tiles is not None:
        src = _planes(g, win.out_shape)
        divisor = scale * math.prod(int(d[0]) for d in divisors)
        if not launch(
                _tile_kernels().BLOCK_SPREAD, work, src.shape[0] * src.shape[1] * src.shape[2],
                src, dst, np.zeros(1, g.dtype), np.array([divisor], g.dtype), *tiles[:3]):
            return None
        _zero_tails(grad, win)
        return grad
    if not launch(
            _row_kernels().SCATTER_WINDOWS, work, dst.shape[0],
            _planes(g, win.out_shape), dst, _geometry(win), *_padded3(divisors), scale):
        return None
    return grad
