"""Output-shape arithmetic for windowed pooling: pure integer functions, no arrays.

Every function here works on one spatial dimension at a time and is shared by all
ops and ranks. The rules are PyTorch's (``aten/src/ATen/native/Pool.h``), written for
asymmetric padding ``(lo, hi)`` so that symmetric PyTorch padding is the case ``lo == hi``.
"""

from __future__ import annotations

__all__ = ["effective_kernel", "pooled_length", "window_bounds", "window_sizes"]


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
    ``ceil_mode``); in ceil mode a last window that would start in the high padding is
    dropped, as PyTorch does (pytorch/pytorch#45357). The result may be below 1; callers
    decide whether that is an error.

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
    """
    span = length + pad_lo + pad_hi - effective_kernel(kernel, dilation)
    if ceil_mode:
        span += stride - 1
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= length + pad_lo:
        out -= 1
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


def window_sizes(
    out_len: int, in_len: int, kernel: int, stride: int, pad_lo: int, pad_hi: int
) -> tuple[list[int], list[int]]:
    """Per output position, the window's size counting padding, and its size inside the input.

    The padded size counts the cells of ``[o * stride - pad_lo, o * stride - pad_lo + kernel)``
    that lie inside ``[-pad_lo, in_len + pad_hi)`` (a ceil-mode window's overhang past the high
    padding is not counted, as in PyTorch); the valid size counts those inside ``[0, in_len)``.

    Examples
    --------
    >>> window_sizes(out_len=3, in_len=5, kernel=2, stride=2, pad_lo=0, pad_hi=0)
    ([2, 2, 1], [2, 2, 1])
    >>> window_sizes(out_len=3, in_len=5, kernel=3, stride=2, pad_lo=1, pad_hi=1)
    ([3, 3, 3], [2, 3, 2])
    """
    padded, valid = [], []
    for o in range(out_len):
        start = o * stride - pad_lo
        end = min(start + kernel, in_len + pad_hi)
        padded.append(end - start)
        valid.append(max(0, min(end, in_len) - max(start, 0)))
    return padded, valid
