"""Output-shape arithmetic for windowed pooling: pure integer functions, no arrays.

(The window-table functions at the end serve adaptive and fractional pooling;
`fractional_starts` alone takes an array, of random samples, computing in their dtype.)

Every function here works on one spatial dimension at a time and is shared by all
ops and ranks. The rules are PyTorch's (``aten/src/ATen/native/Pool.h``), written for
asymmetric padding ``(lo, hi)`` so that symmetric PyTorch padding is the case ``lo == hi``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "adaptive_table",
    "adaptive_window",
    "effective_kernel",
    "fractional_starts",
    "pooled_length",
    "window_bounds",
    "window_sizes",
]


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span of a dilated window: ``(kernel - 1) * dilation + 1`` cells.

    Examples
    --------
    >>> effective_kernel(3, 2)
    5
    """
    return (kernel - 1) * dilation + 1


def pooled_length(
    length: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of windows along one dimension.

    ``floor((length + pad_lo + pad_hi - effective_kernel) / stride) + 1`` (``ceil`` when
    ``ceil_mode``); in ceil mode the extra last window is dropped when it would start in the
    high padding, as PyTorch does (pytorch/pytorch#45357); windows that floor mode counts are
    always kept. The result may be below 1; callers decide whether that is an error.

    Parameters
    ----------
    length : int
        Input length along the dimension.
    kernel, stride, dilation : int
        Positive window parameters.
    pad_lo, pad_hi : int
        Non-negative padding before and after the input.
    ceil_mode : bool
        Round the window count up instead of down.

    Returns
    -------
    int
        The output length (possibly ``<= 0`` for impossible configurations).

    Examples
    --------
    >>> pooled_length(8, 2, 2, 0, 0)
    4
    >>> pooled_length(5, 2, 2, 0, 0, ceil_mode=True)
    3
    >>> pooled_length(5, 3, 2, 1, 1, ceil_mode=True)
    3
    >>> pooled_length(1, 1, 1, 0, 1, ceil_mode=True)  # the second window is all padding
    2
    """
    span = length + pad_lo + pad_hi - effective_kernel(kernel, dilation)
    floor = span // stride + 1
    if not ceil_mode:
        return floor
    out = (span + stride - 1) // stride + 1
    if out > floor and (out - 1) * stride >= length + pad_lo:
        out -= 1  # only the window ceil mode adds is dropped (large per-side padding)
    return out


def window_bounds(
    out_len: int, in_len: int, stride: int, pad_lo: int, dilation: int, offset: int
) -> tuple[int, int, int]:
    """Outputs whose window reads the input through kernel ``offset``.

    Output ``o`` reads input position ``o * stride - pad_lo + offset * dilation``. Returns
    ``(first, count, in_start)``: outputs ``first .. first + count - 1`` read positions inside
    ``[0, in_len)``, the first of them ``in_start``; ``count`` is 0 when none does.

    Examples
    --------
    >>> window_bounds(out_len=3, in_len=5, stride=2, pad_lo=1, dilation=1, offset=0)
    (1, 2, 1)
    """
    shift = offset * dilation - pad_lo
    first = max(0, -(shift // stride))  # smallest o with o*stride + shift >= 0
    last = min(out_len - 1, (in_len - 1 - shift) // stride)
    count = max(0, last - first + 1)
    return first, count, first * stride + shift


def output_band(
    first: int, stop: int, in_len: int, kernel: int, stride: int, pad_lo: int, dilation: int
) -> tuple[int, int, int, int] | None:
    """The input span that outputs ``first .. stop - 1`` read, as a pooling of its own.

    Returns ``(in_start, in_stop, band_lo, band_hi)``: pooling input positions
    ``in_start .. in_stop - 1`` with padding ``(band_lo, band_hi)`` (and the same kernel,
    stride and dilation, without ceil mode) gives exactly those ``stop - first`` windows over
    the same cells, ``band_lo`` never more than ``pad_lo``. None when the windows' span holds
    no input position (a band of padding alone).

    Examples
    --------
    >>> output_band(0, 2, in_len=9, kernel=3, stride=2, pad_lo=1, dilation=1)
    (0, 4, 1, 0)
    >>> output_band(2, 5, in_len=9, kernel=3, stride=2, pad_lo=1, dilation=1)
    (3, 9, 0, 1)
    """
    start = first * stride - pad_lo
    end = (stop - 1) * stride - pad_lo + effective_kernel(kernel, dilation)
    in_start, in_stop = max(0, start), min(in_len, end)
    if in_stop <= in_start:
        return None
    return in_start, in_stop, in_start - start, end - in_stop


@functools.lru_cache(maxsize=256)
def window_sizes(
    out_len: int,
    in_len: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Per output position, the window's size counting padding, and its size inside the input.

    The padded size counts the cells ``o * stride - pad_lo + j * dilation`` (``j < kernel``)
    that lie inside ``[-pad_lo, in_len + pad_hi)`` (a ceil-mode window's overhang past the high
    padding is not counted, as in PyTorch); the valid size counts those inside ``[0, in_len)``.
    Computed for all outputs at once in int64 (the arguments are held to
    `poolnd._args.GEOMETRY_LIMIT`, so nothing overflows), and remembered for the next call
    with the same arguments (the arrays are read-only).

    Examples
    --------
    >>> window_sizes(out_len=3, in_len=5, kernel=2, stride=2, pad_lo=0, pad_hi=0)
    (array([2, 2, 1]), array([2, 2, 1]))
    >>> window_sizes(out_len=3, in_len=5, kernel=3, stride=2, pad_lo=1, pad_hi=1)
    (array([3, 3, 3]), array([2, 3, 2]))
    >>> window_sizes(out_len=2, in_len=4, kernel=2, stride=1, pad_lo=1, pad_hi=0, dilation=2)
    (array([2, 2]), array([1, 2]))
    """
    start = np.arange(out_len, dtype=np.int64) * stride - pad_lo
    end = np.minimum(start + ((kernel - 1) * dilation + 1), in_len + pad_hi)  # one past the last
    padded = _cells(start, end, dilation, start)
    valid = _cells(np.maximum(start, 0), np.minimum(end, in_len), dilation, start)
    padded.flags.writeable = valid.flags.writeable = False
    return padded, valid


def _cells(lo: np.ndarray, hi: np.ndarray, step: int, origin: np.ndarray) -> np.ndarray:
    """How many of ``origin + j * step`` lie in ``[lo, hi)``, elementwise."""
    first = origin + -((origin - lo) // step) * step  # the first such cell at or after lo
    return np.where(first < hi, (hi - 1 - first) // step + 1, 0)


# --------------------------------------------------------------------------------------------
# Window tables: adaptive and fractional pooling, whose windows are not ``o * stride - pad``.
# A table lists, per output position, where its window starts and how many cells it spans.


def adaptive_window(index: int, in_len: int, out_len: int) -> tuple[int, int]:
    """Input range ``[start, end)`` of adaptive output ``index`` of ``out_len`` over ``in_len``.

    ``start = floor(index * in_len / out_len)`` and ``end = ceil((index + 1) * in_len /
    out_len)``, PyTorch's ``start_index`` / ``end_index`` (``AdaptivePooling.h``). Windows
    are never empty, may overlap, and repeat cells when ``out_len > in_len``.

    Parameters
    ----------
    index : int
        Output position, ``0 <= index < out_len``.
    in_len, out_len : int
        Positive input and output lengths.

    Returns
    -------
    tuple of int
        ``(start, end)``.

    Examples
    --------
    >>> [adaptive_window(i, 5, 3) for i in range(3)]
    [(0, 2), (1, 4), (3, 5)]
    >>> [adaptive_window(i, 2, 3) for i in range(3)]
    [(0, 1), (0, 2), (1, 2)]
    """
    start = (index * in_len) // out_len
    end = -((-(index + 1) * in_len) // out_len)
    return start, end


def adaptive_table(in_len: int, out_len: int) -> tuple[list[int], list[int]]:
    """Starts and sizes of all ``out_len`` adaptive windows over ``in_len`` cells.

    Examples
    --------
    >>> adaptive_table(7, 3)
    ([0, 2, 4], [3, 3, 3])
    >>> adaptive_table(10, 4)
    ([0, 2, 5, 7], [3, 3, 3, 3])
    >>> adaptive_table(4, 0)
    ([], [])
    """
    if out_len == 0:
        return [], []
    # adaptive_window for every index at once, in int64: callers keep out_len * in_len < 2**63
    index = np.arange(out_len, dtype=np.int64)
    start = (index * in_len) // out_len
    end = -((-(index + 1) * in_len) // out_len)
    return start.tolist(), (end - start).tolist()


_INT32_MIN = -(2**31)


def _c_int(values: np.ndarray) -> np.ndarray:
    """C++'s ``static_cast<int>`` of a floating array, as int64: truncation toward zero; NaN
    and values outside the int32 range give INT32_MIN, what the x86 conversion instruction
    (``cvttss2si``) returns where C++ leaves the result undefined."""
    with np.errstate(invalid="ignore"):
        inside = np.abs(values) < 2.0**31  # False for NaN
    truncated = np.trunc(np.where(inside, values, 0)).astype(np.int64)
    return np.where(inside, truncated, _INT32_MIN)


def fractional_starts(samples: np.ndarray, in_len: int, out_len: int, pool: int) -> np.ndarray:
    """Window starts of fractional max pooling along one dimension, one row per sample.

    PyTorch's ``generate_intervals`` (``FractionalMaxPooling.h``), in the samples' floating
    dtype (float16 arithmetic rounds every operation to float16, as ``c10::Half`` does): with
    ``alpha = (in_len - pool) / (out_len - 1)``, output ``i < out_len - 1`` starts at
    ``int((i + u) * alpha) - int(u * alpha)`` and the last output at ``in_len - pool``.

    Parameters
    ----------
    samples : ndarray
        1-D floating array of samples ``u`` (usually in ``[0, 1)``), one per plane.
    in_len, out_len, pool : int
        Input length, output length (``>= 0``) and window size.

    Returns
    -------
    ndarray
        int64 ``(len(samples), out_len)``: window ``[start, start + pool)`` per output. The
        difference of two truncations is taken in 32-bit ints, as in C++.

    Examples
    --------
    >>> import numpy as np
    >>> fractional_starts(np.array([0.5], dtype=np.float32), 10, 4, 2)
    array([[0, 3, 5, 8]])
    >>> fractional_starts(np.array([0.0, 0.5]), 5, 3, 2)
    array([[0, 1, 3],
           [0, 2, 3]])
    """
    u = np.asarray(samples)
    dtype = u.dtype.type
    starts = np.empty((u.shape[0], out_len), dtype=np.int64)
    if out_len > 1:
        alpha = dtype(in_len - pool) / dtype(out_len - 1)
        index = np.arange(out_len - 1).astype(u.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            first = _c_int(u * alpha)
            rest = _c_int((index + u[:, None]) * alpha)
        diff = rest - first[:, None]
        starts[:, :-1] = (diff - _INT32_MIN) % 2**32 + _INT32_MIN  # int32 wrap-around
    if out_len > 0:
        starts[:, -1] = in_len - pool
    return starts
